//! The login page's registration form against forged passkeys: a real link is created and opened
//! on `localhost` (which begins a WebAuthn registration), then its form is posted back with a
//! credential the fuzzer made. Mostly a structured one: JSON with `id`, `rawId`, `type` and a
//! `response` whose `clientDataJSON` embeds the page's real challenge and origin (or pieces of
//! the fuzzer's) and whose `attestationObject` is CBOR built from fuzzed parts; sometimes raw
//! bytes. The fuzzer also picks how `credentialData` is spelled, the CSRF token and cookie, the
//! name, and the link's fields.
//!
//! The page asks for no attestation, so a registration carries no signature the mock could
//! check: whoever holds the page's challenge can build a credential that verifies (a software
//! authenticator does exactly that). What must hold is that the mock registers a passkey only
//! for a registration that meets every requirement of the ceremony, and for nothing a fuzzer
//! could make without the page: see [`Verdict`].

use std::net::SocketAddr;

use arbitrary::{Arbitrary, Unstructured};
use url::Url;
use zitadel_passkey::proto::http_rules::auth_service::ADD_MY_PASSWORDLESS_LINK;
use zitadel_passkey_mock::MockServer;
use zitadel_passkey_mock::login::LOGIN_PATH;

use super::{TOKEN, mock, request_on};
use crate::harness::{block_on, body_of, http1_exchange, status_of};

/// The CSRF field of the page's form, and the cookie the mock checks it against.
const CSRF_FIELD: &str = "gorilla.csrf.Token";
const CSRF_COOKIE: &str = "zitadel.csrf";

/// SHA-256 of `localhost`, the RP ID of a page opened on `localhost:PORT`: what the
/// authenticator data's first 32 bytes must be.
const LOCALHOST_HASH: [u8; 32] = [
    0x49, 0x96, 0x0d, 0xe5, 0x88, 0x0e, 0x8c, 0x68, 0x74, 0x34, 0x17, 0x0f, 0x64, 0x76, 0x60, 0x5b,
    0x8f, 0xe4, 0xae, 0xb9, 0xa2, 0x86, 0x32, 0xc7, 0x99, 0x5c, 0xf3, 0xba, 0x83, 0x1d, 0x97, 0x63,
];

/// A public key that is a valid point of P-256: the curve's base point (SEC 2), whose private
/// key is 1. Any point on the curve does; this one needs no key generation.
const P256_X: [u8; 32] = [
    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
    0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
];
const P256_Y: [u8; 32] = [
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
    0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
];

/// The credential ID an authenticator reports when the fuzzer does not pick one.
const DEFAULT_CREDENTIAL_ID: &[u8; 16] = b"fuzz-credential!";

/// Authenticator data flags: user present, user verified, backup eligible, backed up, attested
/// credential data.
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// How deep fuzzed JSON and CBOR values nest at most (deeper parts are written as `null`).
const MAX_DEPTH: usize = 8;

/// One input: the form as posted, then the credential. Every choice's first variant (and a
/// zero) is the right one, so an input of zeros is a registration that must succeed.
#[derive(Arbitrary, Debug)]
struct LoginInput {
    /// `requestPlatformType` added to the link when it is opened.
    open_platform: Option<String>,
    user_id: Param,
    org_id: Param,
    code_id: Param,
    code: Param,
    platform: Option<String>,
    csrf_field: CsrfField,
    cookie: Cookie,
    name: Option<String>,
    credential_data: Outer,
    credential: Credential,
    /// Form text appended after the form's fields (it may repeat one of them).
    extra_form: Option<String>,
}

/// A field of the link as the form posts it back.
#[derive(Arbitrary, Debug)]
enum Param {
    Link,
    Absent,
    Suffixed(String),
    Upper,
    Any(String),
}

impl Param {
    fn value(&self, link: &str) -> Option<String> {
        match self {
            Param::Link => Some(link.to_owned()),
            Param::Absent => None,
            Param::Suffixed(suffix) => Some(format!("{link}{suffix}")),
            Param::Upper => Some(link.to_ascii_uppercase()),
            Param::Any(value) => Some(value.clone()),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum CsrfField {
    /// The page's token.
    Page,
    Absent,
    /// The fuzzer's own well-formed token (see [`Cookie::Chosen`]).
    Chosen([u8; 32]),
    Any(String),
}

#[derive(Arbitrary, Debug)]
enum Cookie {
    /// The cookie the page set.
    Page,
    Absent,
    /// `zitadel.csrf=` with the fuzzer's own well-formed token.
    Chosen([u8; 32]),
    /// `zitadel.csrf=` with any value.
    Token(String),
    /// Other cookies, then the page's.
    Among(String),
    /// The whole header.
    Raw(String),
}

/// How `credentialData` spells the credential's JSON.
#[derive(Arbitrary, Debug)]
enum Outer {
    UrlSafe,
    UrlSafePadded,
    Standard,
    StandardUnpadded,
    /// URL-safe, in blanks.
    Spaced(u8),
    /// URL-safe with a character put in at a position.
    Broken(u16, char),
    /// The fuzzer's own text instead.
    Text(String),
    Absent,
}

/// How a binary field inside the credential's JSON is spelled.
#[derive(Arbitrary, Debug)]
enum Spelling {
    UrlSafe,
    UrlSafePadded,
    Standard,
    StandardPadded,
    /// The fuzzer's own text instead.
    Text(String),
    Absent,
    NotString(Json),
}

impl Spelling {
    fn value(&self, bytes: &[u8]) -> Option<serde_json::Value> {
        let text = match self {
            Spelling::UrlSafe => encode_base64(bytes, true, false),
            Spelling::UrlSafePadded => encode_base64(bytes, true, true),
            Spelling::Standard => encode_base64(bytes, false, false),
            Spelling::StandardPadded => encode_base64(bytes, false, true),
            Spelling::Text(text) => text.clone(),
            Spelling::Absent => return None,
            Spelling::NotString(json) => return Some(json.value(0)),
        };
        Some(serde_json::Value::String(text))
    }

    /// Whether the field carries the bytes given (as far as the harness can tell).
    fn carries_bytes(&self) -> bool {
        matches!(
            self,
            Spelling::UrlSafe
                | Spelling::UrlSafePadded
                | Spelling::Standard
                | Spelling::StandardPadded
        )
    }
}

#[derive(Arbitrary, Debug)]
enum Credential {
    Shaped(Box<Shape>),
    /// Bytes of the fuzzer's: they cannot hold the page's fresh challenge.
    Raw(Vec<u8>),
}

/// A `PublicKeyCredential` as the page's script posts it.
#[derive(Arbitrary, Debug)]
struct Shape {
    id: Id,
    raw_id: RawId,
    kind: Kind,
    client_data: ClientData,
    client_data_spelling: Spelling,
    attestation: Attestation,
    attestation_spelling: Spelling,
    transports: Transports,
    extension_results: ExtensionResults,
    /// More members of `response`, and of the credential (the known ones win).
    response_extra: Vec<(String, Json)>,
    extra: Vec<(String, Json)>,
    pretty: bool,
    /// Byte edits of the JSON text once written.
    tweaks: Vec<Tweak>,
}

#[derive(Arbitrary, Debug)]
enum Id {
    /// base64url of the credential ID, as browsers send it.
    OfCredential,
    Absent,
    Any(String),
    NotString(Json),
}

#[derive(Arbitrary, Debug)]
enum RawId {
    OfCredential,
    Bytes(Vec<u8>),
    Text(String),
    Absent,
}

#[derive(Arbitrary, Debug)]
enum Kind {
    PublicKey,
    Absent,
    Any(String),
}

#[derive(Arbitrary, Debug)]
enum Transports {
    Absent,
    Known(Vec<u8>),
    Any(Vec<String>),
    Other(Json),
}

#[derive(Arbitrary, Debug)]
enum ExtensionResults {
    Absent,
    CredProps(Option<bool>),
    /// Under the alias `extensions`.
    Alias(Json),
    Any(Json),
}

#[derive(Arbitrary, Debug)]
enum Tweak {
    Insert(u16, Vec<u8>),
    Remove(u16, u8),
    Set(u16, u8),
}

/// The client data the authenticator signs over (here: hashes, with no signature).
#[derive(Arbitrary, Debug)]
enum ClientData {
    Built(ClientDataFields),
    /// Bytes of the fuzzer's: they cannot hold the page's fresh challenge.
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct ClientDataFields {
    kind: ClientKind,
    challenge: Challenge,
    origin: Origin,
    cross_origin: CrossOrigin,
    token_binding: Option<Json>,
    /// More members (the known ones win).
    extra: Vec<(String, Json)>,
    pretty: bool,
}

#[derive(Arbitrary, Debug)]
enum ClientKind {
    Create,
    Get,
    Absent,
    Any(String),
    NotString(Json),
}

#[derive(Arbitrary, Debug)]
enum Challenge {
    /// The page's, base64url as browsers write it.
    Page,
    PagePadded,
    PageStandard,
    /// The page's, cut to this many characters.
    Truncated(u8),
    /// The page's with one bit of one byte flipped.
    FlippedBit(u8),
    Other([u8; 32]),
    Absent,
    Any(String),
    NotString(Json),
}

#[derive(Arbitrary, Debug)]
enum Origin {
    /// `http://localhost:PORT`, the page's origin.
    Page,
    PageSlash,
    PageUpper,
    PagePath(String),
    OtherPort(u16),
    Https,
    Loopback,
    Subdomain(String),
    Absent,
    Any(String),
    NotString(Json),
}

#[derive(Arbitrary, Debug)]
enum CrossOrigin {
    Absent,
    False,
    True,
    Other(Json),
}

/// The attestation object: CBOR `{fmt, attStmt, authData}`.
#[derive(Arbitrary, Debug)]
enum Attestation {
    Built(Box<AttestationFields>),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct AttestationFields {
    fmt: Fmt,
    statement: Statement,
    auth_data: AuthDataChoice,
    /// More entries, written before or after the known ones.
    extra: Vec<(Cbor, Cbor)>,
    extra_first: bool,
    reversed: bool,
}

#[derive(Arbitrary, Debug)]
enum Fmt {
    None,
    Packed,
    FidoU2f,
    Tpm,
    AndroidKey,
    AndroidSafetynet,
    Apple,
    Absent,
    Any(String),
    NotText(Cbor),
}

impl Fmt {
    fn name(&self) -> Option<&str> {
        Some(match self {
            Fmt::None => "none",
            Fmt::Packed => "packed",
            Fmt::FidoU2f => "fido-u2f",
            Fmt::Tpm => "tpm",
            Fmt::AndroidKey => "android-key",
            Fmt::AndroidSafetynet => "android-safetynet",
            Fmt::Apple => "apple",
            Fmt::Any(name) => name,
            Fmt::Absent | Fmt::NotText(_) => return None,
        })
    }
}

#[derive(Arbitrary, Debug)]
enum Statement {
    Empty,
    /// Packed self attestation: `{alg, sig}`.
    SelfSigned(i64, Vec<u8>),
    /// `{alg, sig, x5c: [certificates]}`.
    Certified(i64, Vec<u8>, Vec<Vec<u8>>),
    Absent,
    Any(Cbor),
}

#[derive(Arbitrary, Debug)]
enum AuthDataChoice {
    Built(AuthData),
    Raw(Vec<u8>),
    Absent,
    NotBytes(Cbor),
}

#[derive(Arbitrary, Debug)]
struct AuthData {
    rp_id_hash: RpIdHash,
    /// The flags as a difference from UP | UV | AT.
    flags: u8,
    counter: u32,
    attested: Attested,
    extensions: Extensions,
    trailing: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum RpIdHash {
    Localhost,
    FlippedBit(u8),
    Any([u8; 32]),
    Short(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Attested {
    Present(AttestedData),
    Absent,
}

#[derive(Arbitrary, Debug)]
struct AttestedData {
    aaguid: [u8; 16],
    credential_id: CredentialId,
    /// A length prefix that differs from the ID's length.
    wrong_length: Option<u16>,
    key: CoseKey,
}

#[derive(Arbitrary, Debug)]
enum CredentialId {
    Default,
    Bytes(Vec<u8>),
    /// This many bytes (the parser's limit is 1,023).
    Long(u16),
}

impl CredentialId {
    fn bytes(&self) -> Vec<u8> {
        match self {
            CredentialId::Default => DEFAULT_CREDENTIAL_ID.to_vec(),
            CredentialId::Bytes(bytes) => bytes.clone(),
            CredentialId::Long(len) => vec![0xc1; usize::from(*len % 1100)],
        }
    }
}

#[derive(Arbitrary, Debug)]
enum CoseKey {
    /// A valid ES256 key.
    P256,
    /// EC2 with any algorithm, curve and coordinates.
    Ec2(i64, i64, Vec<u8>, Vec<u8>),
    /// The valid key's point on another algorithm and curve.
    P256As(i64, i64),
    /// RS256 with a modulus and exponent (the modulus padded to 256 bytes, or not).
    Rsa(Vec<u8>, Vec<u8>, bool),
    /// OKP (EdDSA) with a curve and a point.
    Okp(i64, Vec<u8>),
    Any(Cbor),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Extensions {
    Absent,
    CredProtect(u8),
    HmacSecret(bool),
    Any(Vec<(Cbor, Cbor)>),
    Raw(Vec<u8>),
}

/// A JSON value.
#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn value(&self, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => Value::from(*i),
            Json::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Json::Str(s) => Value::String(s.clone()),
            Json::Array(items) => items.iter().map(|item| item.value(depth + 1)).collect(),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(key, value)| (key.clone(), value.value(depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// A CBOR item, or raw bytes where one is expected.
#[derive(Arbitrary, Debug)]
enum Cbor {
    Unsigned(u64),
    /// `-1 - n`.
    Negative(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Tag(u64, Box<Cbor>),
    False,
    True,
    Null,
    Undefined,
    Float(f64),
    Simple(u8),
    IndefiniteBytes(Vec<Vec<u8>>),
    IndefiniteArray(Vec<Cbor>),
    Raw(Vec<u8>),
}

impl Cbor {
    fn write(&self, out: &mut Vec<u8>, depth: usize) {
        if depth > MAX_DEPTH {
            out.push(0xf6);
            return;
        }
        match self {
            Cbor::Unsigned(n) => head(out, 0, *n),
            Cbor::Negative(n) => head(out, 1, *n),
            Cbor::Bytes(bytes) => cbor_bytes(out, bytes),
            Cbor::Text(text) => cbor_text(out, text),
            Cbor::Array(items) => {
                head(out, 4, len(items.len()));
                for item in items {
                    item.write(out, depth + 1);
                }
            }
            Cbor::Map(entries) => {
                head(out, 5, len(entries.len()));
                for (key, value) in entries {
                    key.write(out, depth + 1);
                    value.write(out, depth + 1);
                }
            }
            Cbor::Tag(tag, item) => {
                head(out, 6, *tag);
                item.write(out, depth + 1);
            }
            Cbor::False => out.push(0xf4),
            Cbor::True => out.push(0xf5),
            Cbor::Null => out.push(0xf6),
            Cbor::Undefined => out.push(0xf7),
            Cbor::Float(f) => {
                out.push(0xfb);
                out.extend_from_slice(&f.to_be_bytes());
            }
            Cbor::Simple(v) if *v < 24 => out.push(0xe0 | v),
            Cbor::Simple(v) => out.extend_from_slice(&[0xf8, *v]),
            Cbor::IndefiniteBytes(chunks) => {
                out.push(0x5f);
                for chunk in chunks {
                    cbor_bytes(out, chunk);
                }
                out.push(0xff);
            }
            Cbor::IndefiniteArray(items) => {
                out.push(0x9f);
                for item in items {
                    item.write(out, depth + 1);
                }
                out.push(0xff);
            }
            Cbor::Raw(bytes) => out.extend_from_slice(bytes),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out, 0);
        out
    }
}

/// A CBOR head: major type and argument, in the shortest form.
fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let major = major << 5;
    if let Ok(small) = u8::try_from(n) {
        if small < 24 {
            out.push(major | small);
        } else {
            out.extend_from_slice(&[major | 24, small]);
        }
    } else if let Ok(n) = u16::try_from(n) {
        out.push(major | 25);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(major | 26);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn len(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn cbor_int(out: &mut Vec<u8>, i: i64) {
    match u64::try_from(i) {
        Ok(n) => head(out, 0, n),
        // -1 - i, which is what `!i` is for a negative i.
        Err(_) => head(out, 1, u64::try_from(!i).unwrap_or(0)),
    }
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    head(out, 2, len(bytes.len()));
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    head(out, 3, len(text.len()));
    out.extend_from_slice(text.as_bytes());
}

impl CoseKey {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Entries are written in the order COSE examples use: kty, alg, then the key's own.
        let ec2 = |out: &mut Vec<u8>, alg: i64, crv: i64, x: &[u8], y: &[u8]| {
            head(out, 5, 5);
            for (key, value) in [(1, 2), (3, alg), (-1, crv)] {
                cbor_int(out, key);
                cbor_int(out, value);
            }
            cbor_int(out, -2);
            cbor_bytes(out, x);
            cbor_int(out, -3);
            cbor_bytes(out, y);
        };
        match self {
            CoseKey::P256 => ec2(&mut out, -7, 1, &P256_X, &P256_Y),
            CoseKey::Ec2(alg, crv, x, y) => ec2(&mut out, *alg, *crv, x, y),
            CoseKey::P256As(alg, crv) => ec2(&mut out, *alg, *crv, &P256_X, &P256_Y),
            CoseKey::Rsa(n, e, pad) => {
                let mut n = n.clone();
                if *pad {
                    n.resize(256, 0xa5);
                }
                head(&mut out, 5, 4);
                for (key, value) in [(1, 3), (3, -257)] {
                    cbor_int(&mut out, key);
                    cbor_int(&mut out, value);
                }
                cbor_int(&mut out, -1);
                cbor_bytes(&mut out, &n);
                cbor_int(&mut out, -2);
                cbor_bytes(&mut out, e);
            }
            CoseKey::Okp(crv, x) => {
                head(&mut out, 5, 4);
                for (key, value) in [(1, 1), (3, -8), (-1, *crv)] {
                    cbor_int(&mut out, key);
                    cbor_int(&mut out, value);
                }
                cbor_int(&mut out, -2);
                cbor_bytes(&mut out, x);
            }
            CoseKey::Any(cbor) => cbor.write(&mut out, 0),
            CoseKey::Raw(bytes) => out.extend_from_slice(bytes),
        }
        out
    }
}

impl Extensions {
    fn bytes(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match self {
            Extensions::Absent => return None,
            Extensions::CredProtect(policy) => {
                head(&mut out, 5, 1);
                cbor_text(&mut out, "credProtect");
                head(&mut out, 0, u64::from(*policy));
            }
            Extensions::HmacSecret(on) => {
                head(&mut out, 5, 1);
                cbor_text(&mut out, "hmac-secret");
                out.push(if *on { 0xf5 } else { 0xf4 });
            }
            Extensions::Any(entries) => {
                head(&mut out, 5, len(entries.len()));
                for (key, value) in entries {
                    key.write(&mut out, 1);
                    value.write(&mut out, 1);
                }
            }
            Extensions::Raw(bytes) => out.extend_from_slice(bytes),
        }
        Some(out)
    }
}

/// What the harness knows about the authenticator data it wrote.
struct AuthFacts {
    /// The bytes, as the parser reads them: rpIdHash, then flags.
    bytes: Vec<u8>,
    /// The credential ID in the attested data, if it is there as written.
    credential_id: Option<Vec<u8>>,
    canonical: bool,
}

impl AuthData {
    fn write(&self) -> AuthFacts {
        let mut bytes = Vec::new();
        let mut canonical = true;
        match &self.rp_id_hash {
            RpIdHash::Localhost => bytes.extend_from_slice(&LOCALHOST_HASH),
            RpIdHash::FlippedBit(bit) => {
                let mut hash = LOCALHOST_HASH;
                hash[usize::from(bit / 8) % 32] ^= 1 << (bit % 8);
                bytes.extend_from_slice(&hash);
            }
            RpIdHash::Any(hash) => bytes.extend_from_slice(hash),
            RpIdHash::Short(short) => {
                bytes.extend_from_slice(&short[..short.len().min(31)]);
                canonical = false;
            }
        }
        let flags = self.flags ^ (UP | UV | AT);
        // Right: present, verified, attested; backup eligible or not, backed up only if eligible.
        canonical &= [UP | UV | AT, UP | UV | AT | BE, UP | UV | AT | BE | BS].contains(&flags);
        bytes.push(flags);
        bytes.extend_from_slice(&self.counter.to_be_bytes());
        let mut credential_id = None;
        match &self.attested {
            Attested::Present(data) => {
                let id = data.credential_id.bytes();
                let length = u16::try_from(id.len()).unwrap_or(u16::MAX);
                let length = match data.wrong_length {
                    Some(wrong) if wrong != length => {
                        canonical = false;
                        wrong
                    }
                    _ => {
                        credential_id = Some(id.clone());
                        length
                    }
                };
                canonical &= id.len() <= 1023 && matches!(data.key, CoseKey::P256);
                bytes.extend_from_slice(&data.aaguid);
                bytes.extend_from_slice(&length.to_be_bytes());
                bytes.extend_from_slice(&id);
                bytes.extend_from_slice(&data.key.bytes());
            }
            Attested::Absent => canonical = false,
        }
        if let Some(extensions) = self.extensions.bytes() {
            bytes.extend_from_slice(&extensions);
            canonical = false;
        }
        canonical &= self.trailing.is_empty();
        bytes.extend_from_slice(&self.trailing);
        AuthFacts {
            bytes,
            credential_id,
            canonical,
        }
    }
}

/// What the harness knows about the attestation object it wrote.
struct AttestationFacts {
    bytes: Vec<u8>,
    /// `fmt` and the authenticator data as the mock reads them, when the object has each once.
    fmt: Option<String>,
    auth: Option<AuthFacts>,
    canonical: bool,
}

impl AttestationFields {
    fn write(&self) -> AttestationFacts {
        let known = ["fmt", "attStmt", "authData"];
        let collides = self
            .extra
            .iter()
            .any(|(key, _)| matches!(key, Cbor::Text(text) if known.contains(&text.as_str())));
        let mut entries: Vec<Vec<u8>> = Vec::new();
        let mut fmt = None;
        let mut auth = None;
        let mut canonical = !collides && self.extra.is_empty();
        match &self.fmt {
            Fmt::Absent => canonical = false,
            Fmt::NotText(value) => {
                canonical = false;
                entries.push(entry("fmt", &value.bytes()));
            }
            named => {
                let name = named.name().unwrap_or_default();
                canonical &= name == "none";
                fmt = Some(name.to_owned());
                let mut value = Vec::new();
                cbor_text(&mut value, name);
                entries.push(entry("fmt", &value));
            }
        }
        let mut statement = Vec::new();
        match &self.statement {
            Statement::Empty => head(&mut statement, 5, 0),
            Statement::SelfSigned(alg, sig) => {
                head(&mut statement, 5, 2);
                cbor_text(&mut statement, "alg");
                cbor_int(&mut statement, *alg);
                cbor_text(&mut statement, "sig");
                cbor_bytes(&mut statement, sig);
            }
            Statement::Certified(alg, sig, certificates) => {
                head(&mut statement, 5, 3);
                cbor_text(&mut statement, "alg");
                cbor_int(&mut statement, *alg);
                cbor_text(&mut statement, "sig");
                cbor_bytes(&mut statement, sig);
                cbor_text(&mut statement, "x5c");
                head(&mut statement, 4, len(certificates.len()));
                for certificate in certificates {
                    cbor_bytes(&mut statement, certificate);
                }
            }
            Statement::Absent => {}
            Statement::Any(value) => value.write(&mut statement, 0),
        }
        canonical &= matches!(self.statement, Statement::Empty);
        if !statement.is_empty() {
            entries.push(entry("attStmt", &statement));
        }
        match &self.auth_data {
            AuthDataChoice::Built(data) => {
                let facts = data.write();
                let mut value = Vec::new();
                cbor_bytes(&mut value, &facts.bytes);
                entries.push(entry("authData", &value));
                canonical &= facts.canonical;
                auth = Some(facts);
            }
            AuthDataChoice::Raw(bytes) => {
                let mut value = Vec::new();
                cbor_bytes(&mut value, bytes);
                entries.push(entry("authData", &value));
                canonical = false;
                auth = Some(AuthFacts {
                    bytes: bytes.clone(),
                    credential_id: None,
                    canonical: false,
                });
            }
            AuthDataChoice::Absent => canonical = false,
            AuthDataChoice::NotBytes(value) => {
                canonical = false;
                entries.push(entry("authData", &value.bytes()));
            }
        }
        if self.reversed {
            entries.reverse();
        }
        let extra: Vec<Vec<u8>> = self
            .extra
            .iter()
            .map(|(key, value)| {
                let mut bytes = key.bytes();
                value.write(&mut bytes, 0);
                bytes
            })
            .collect();
        if self.extra_first {
            entries.splice(0..0, extra);
        } else {
            entries.extend(extra);
        }
        let mut bytes = Vec::new();
        head(&mut bytes, 5, len(entries.len()));
        for entry in entries {
            bytes.extend_from_slice(&entry);
        }
        if collides {
            fmt = None;
            auth = None;
        }
        AttestationFacts {
            bytes,
            fmt,
            auth,
            canonical,
        }
    }
}

/// A map entry with a text key.
fn entry(key: &str, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    cbor_text(&mut out, key);
    out.extend_from_slice(value);
    out
}

/// What the harness knows about the client data it wrote: the members as the mock reads them.
struct ClientFacts {
    bytes: Vec<u8>,
    members: Option<serde_json::Map<String, serde_json::Value>>,
    canonical: bool,
}

impl ClientDataFields {
    fn write(&self, page: &Page) -> ClientFacts {
        use serde_json::Value;
        let mut canonical = self.extra.is_empty() && self.token_binding.is_none();
        let mut members: serde_json::Map<String, Value> = self
            .extra
            .iter()
            .map(|(key, value)| (key.clone(), value.value(0)))
            .collect();
        let kind = match &self.kind {
            ClientKind::Create => Some(Value::from("webauthn.create")),
            ClientKind::Get => Some(Value::from("webauthn.get")),
            ClientKind::Absent => None,
            ClientKind::Any(kind) => Some(Value::from(kind.as_str())),
            ClientKind::NotString(json) => Some(json.value(0)),
        };
        canonical &= matches!(self.kind, ClientKind::Create);
        let challenge = &page.challenge;
        let challenge = match &self.challenge {
            Challenge::Page => Some(Value::from(encode_base64(challenge, true, false))),
            Challenge::PagePadded => Some(Value::from(encode_base64(challenge, true, true))),
            Challenge::PageStandard => Some(Value::from(encode_base64(challenge, false, false))),
            Challenge::Truncated(keep) => {
                let text = encode_base64(challenge, true, false);
                let keep = usize::from(*keep).min(text.len());
                Some(Value::from(&text[..keep]))
            }
            Challenge::FlippedBit(bit) => {
                let mut flipped = challenge.clone();
                if let Some(byte) = flipped.get_mut(usize::from(bit / 8)) {
                    *byte ^= 1 << (bit % 8);
                }
                Some(Value::from(encode_base64(&flipped, true, false)))
            }
            Challenge::Other(bytes) => Some(Value::from(encode_base64(bytes, true, false))),
            Challenge::Absent => None,
            Challenge::Any(text) => Some(Value::from(text.as_str())),
            Challenge::NotString(json) => Some(json.value(0)),
        };
        canonical &= matches!(self.challenge, Challenge::Page);
        let port = page.origin.port().unwrap_or(80);
        let origin = page.origin.as_str().trim_end_matches('/');
        let origin = match &self.origin {
            Origin::Page => Some(Value::from(origin)),
            Origin::PageSlash => Some(Value::from(format!("{origin}/"))),
            Origin::PageUpper => Some(Value::from(origin.to_ascii_uppercase())),
            Origin::PagePath(path) => Some(Value::from(format!("{origin}/{path}"))),
            Origin::OtherPort(other) => Some(Value::from(format!("http://localhost:{other}"))),
            Origin::Https => Some(Value::from(format!("https://localhost:{port}"))),
            Origin::Loopback => Some(Value::from(format!("http://127.0.0.1:{port}"))),
            Origin::Subdomain(sub) => Some(Value::from(format!("http://{sub}.localhost:{port}"))),
            Origin::Absent => None,
            Origin::Any(text) => Some(Value::from(text.as_str())),
            Origin::NotString(json) => Some(json.value(0)),
        };
        canonical &= matches!(self.origin, Origin::Page);
        let cross_origin = match &self.cross_origin {
            CrossOrigin::Absent => None,
            CrossOrigin::False => Some(Value::Bool(false)),
            CrossOrigin::True => Some(Value::Bool(true)),
            CrossOrigin::Other(json) => Some(json.value(0)),
        };
        canonical &= matches!(self.cross_origin, CrossOrigin::Absent | CrossOrigin::False);
        for (key, value) in [
            ("type", kind),
            ("challenge", challenge),
            ("origin", origin),
            ("crossOrigin", cross_origin),
            (
                "tokenBinding",
                self.token_binding.as_ref().map(|j| j.value(0)),
            ),
        ] {
            if let Some(value) = value {
                members.insert(key.to_owned(), value);
            }
        }
        let bytes = if self.pretty {
            serde_json::to_vec_pretty(&members)
        } else {
            serde_json::to_vec(&members)
        }
        .unwrap_or_default();
        ClientFacts {
            bytes,
            members: Some(members),
            canonical,
        }
    }
}

/// What the harness knows about the credential it wrote.
struct CredentialFacts {
    json: Vec<u8>,
    /// `None` when the JSON was edited after it was written (nothing is known of it then).
    client: Option<ClientFacts>,
    attestation: Option<AttestationFacts>,
    /// The fuzzer's own bytes stand where the client data goes.
    client_is_raw: bool,
    canonical: bool,
}

impl Shape {
    fn write(&self, page: &Page) -> CredentialFacts {
        use serde_json::Value;
        let mut canonical = self.extra.is_empty()
            && self.response_extra.is_empty()
            && self.tweaks.is_empty()
            && matches!(self.transports, Transports::Absent)
            && matches!(self.extension_results, ExtensionResults::Absent);
        let client = match &self.client_data {
            ClientData::Built(fields) => fields.write(page),
            ClientData::Raw(bytes) => ClientFacts {
                bytes: bytes.clone(),
                members: None,
                canonical: false,
            },
        };
        let attestation = match &self.attestation {
            Attestation::Built(fields) => fields.write(),
            Attestation::Raw(bytes) => AttestationFacts {
                bytes: bytes.clone(),
                fmt: None,
                auth: None,
                canonical: false,
            },
        };
        canonical &= client.canonical
            && attestation.canonical
            && matches!(self.client_data_spelling, Spelling::UrlSafe)
            && matches!(self.attestation_spelling, Spelling::UrlSafe);
        let credential_id = attestation
            .auth
            .as_ref()
            .and_then(|auth| auth.credential_id.clone())
            .unwrap_or_else(|| DEFAULT_CREDENTIAL_ID.to_vec());

        let mut response: serde_json::Map<String, Value> = self
            .response_extra
            .iter()
            .map(|(key, value)| (key.clone(), value.value(0)))
            .collect();
        if let Some(value) = self.client_data_spelling.value(&client.bytes) {
            response.insert("clientDataJSON".to_owned(), value);
        }
        if let Some(value) = self.attestation_spelling.value(&attestation.bytes) {
            response.insert("attestationObject".to_owned(), value);
        }
        match &self.transports {
            Transports::Absent => {}
            Transports::Known(picks) => {
                let names = ["usb", "nfc", "ble", "internal", "hybrid", "test"];
                let list = picks
                    .iter()
                    .map(|&i| Value::from(names[usize::from(i) % names.len()]))
                    .collect();
                response.insert("transports".to_owned(), Value::Array(list));
            }
            Transports::Any(list) => {
                let list = list.iter().map(|s| Value::from(s.as_str())).collect();
                response.insert("transports".to_owned(), Value::Array(list));
            }
            Transports::Other(json) => {
                response.insert("transports".to_owned(), json.value(0));
            }
        }

        let mut credential: serde_json::Map<String, Value> = self
            .extra
            .iter()
            .map(|(key, value)| (key.clone(), value.value(0)))
            .collect();
        let id = match &self.id {
            Id::OfCredential => Some(Value::from(encode_base64(&credential_id, true, false))),
            Id::Absent => None,
            Id::Any(text) => Some(Value::from(text.as_str())),
            Id::NotString(json) => Some(json.value(0)),
        };
        canonical &= matches!(self.id, Id::OfCredential | Id::Any(_));
        let raw_id = match &self.raw_id {
            RawId::OfCredential => Some(encode_base64(&credential_id, true, false)),
            RawId::Bytes(bytes) => Some(encode_base64(bytes, true, false)),
            RawId::Text(text) => Some(text.clone()),
            RawId::Absent => None,
        };
        canonical &= matches!(self.raw_id, RawId::OfCredential | RawId::Bytes(_));
        let kind = match &self.kind {
            Kind::PublicKey => Some("public-key".to_owned()),
            Kind::Absent => None,
            Kind::Any(kind) => Some(kind.clone()),
        };
        canonical &= !matches!(self.kind, Kind::Absent);
        let extension_results = match &self.extension_results {
            ExtensionResults::Absent => None,
            ExtensionResults::CredProps(rk) => {
                let mut props = serde_json::Map::new();
                if let Some(rk) = rk {
                    props.insert("rk".to_owned(), Value::Bool(*rk));
                }
                let mut results = serde_json::Map::new();
                results.insert("credProps".to_owned(), Value::Object(props));
                Some(("clientExtensionResults", Value::Object(results)))
            }
            ExtensionResults::Alias(json) => Some(("extensions", json.value(0))),
            ExtensionResults::Any(json) => Some(("clientExtensionResults", json.value(0))),
        };
        for (key, value) in [
            ("id", id),
            ("rawId", raw_id.map(Value::from)),
            ("type", kind.map(Value::from)),
            ("response", Some(Value::Object(response))),
        ] {
            if let Some(value) = value {
                credential.insert(key.to_owned(), value);
            }
        }
        if let Some((key, value)) = extension_results {
            credential.insert(key.to_owned(), value);
        }
        let mut json = if self.pretty {
            serde_json::to_vec_pretty(&credential)
        } else {
            serde_json::to_vec(&credential)
        }
        .unwrap_or_default();
        let written = json.clone();
        for tweak in &self.tweaks {
            tweak.apply(&mut json);
        }
        let intact = json == written;
        // A client data of the fuzzer's, or in a spelling that does not carry it, holds no
        // challenge; an edited JSON text may hold anything.
        let client_is_raw = matches!(self.client_data, ClientData::Raw(_))
            || !self.client_data_spelling.carries_bytes();
        let client_known = self.client_data_spelling.carries_bytes() && intact;
        let attestation_known = self.attestation_spelling.carries_bytes() && intact;
        CredentialFacts {
            json,
            client: Some(client).filter(|_| client_known),
            attestation: Some(attestation).filter(|_| attestation_known),
            client_is_raw: client_is_raw && intact,
            canonical,
        }
    }
}

impl Tweak {
    fn apply(&self, json: &mut Vec<u8>) {
        let at = |i: u16, json: &Vec<u8>| usize::from(i) % (json.len() + 1);
        match self {
            Tweak::Insert(i, bytes) => {
                let at = at(*i, json);
                json.splice(at..at, bytes.iter().copied());
            }
            Tweak::Remove(i, n) => {
                let at = at(*i, json);
                let end = (at + usize::from(*n)).min(json.len());
                json.drain(at..end);
            }
            Tweak::Set(i, byte) => {
                let at = at(*i, json);
                if let Some(slot) = json.get_mut(at) {
                    *slot = *byte;
                }
            }
        }
    }
}

/// The page of a fresh link, opened on `localhost:PORT`.
#[derive(Debug)]
struct Page {
    user_id: String,
    org_id: String,
    code_id: String,
    code: String,
    csrf: String,
    /// The `zitadel.csrf=...` pair of its `set-cookie`.
    cookie: String,
    challenge: Vec<u8>,
    origin: Url,
}

/// Creates a link (AddMyPasswordlessLink over REST, from `localhost:PORT`) and opens it there,
/// with `platform` as `requestPlatformType`. The page must have its form: the link is right.
async fn open_page(addr: SocketAddr, host: &str, platform: Option<&str>) -> Page {
    let fields = [
        (
            "authorization".to_owned(),
            format!("Bearer {TOKEN}").into_bytes(),
        ),
        ("content-type".to_owned(), b"application/json".to_vec()),
    ];
    let request = request_on(host, "POST", ADD_MY_PASSWORDLESS_LINK.path, &fields, b"{}");
    let answer = http1_exchange(addr, &request, false).await;
    assert_eq!(
        status_of(&answer),
        Some(200),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let body: serde_json::Value =
        serde_json::from_slice(body_of(&answer)).expect("AddMyPasswordlessLink answers JSON");
    let link = body["link"].as_str().expect("a link");
    let link = Url::parse(link).expect("the link is a URL");
    assert_eq!(link.path(), LOGIN_PATH, "{link}");
    let param = |key: &str| {
        link.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("the link has no {key}: {link}"))
    };
    let (user_id, org_id, code_id, code) = (
        param("userID"),
        param("orgID"),
        param("codeID"),
        param("code"),
    );
    let mut target = format!("{}?{}", link.path(), link.query().unwrap_or_default());
    if let Some(platform) = platform {
        target.push_str("&requestPlatformType=");
        target.extend(url::form_urlencoded::byte_serialize(platform.as_bytes()));
    }
    let request = request_on(host, "GET", &target, &[], b"");
    let answer = http1_exchange(addr, &request, false).await;
    assert_eq!(
        status_of(&answer),
        Some(200),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let html = String::from_utf8_lossy(body_of(&answer)).into_owned();
    assert!(
        html.contains("id=\"btn-register\""),
        "a right link without a form: {html}"
    );
    let csrf = field(&html, CSRF_FIELD).expect("the page's CSRF token");
    let cookie = header_values(&answer, "set-cookie")
        .into_iter()
        .find_map(|value| {
            let pair = value.split(';').next()?.trim().to_owned();
            pair.starts_with(&format!("{CSRF_COOKIE}=")).then_some(pair)
        })
        .expect("the page sets the CSRF cookie");
    assert_eq!(
        cookie,
        format!("{CSRF_COOKIE}={csrf}"),
        "cookie and form disagree"
    );
    let options = field(&html, "credentialCreationData").expect("the creation options");
    let options = decode_base64(&options).expect("the options are base64url");
    let options: serde_json::Value =
        serde_json::from_slice(&options).expect("the options are JSON");
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost", "{options}");
    let challenge = options["publicKey"]["challenge"]
        .as_str()
        .and_then(decode_base64)
        .expect("the options carry a challenge");
    Page {
        user_id,
        org_id,
        code_id,
        code,
        csrf,
        cookie,
        challenge,
        origin: Url::parse(&format!("http://{host}")).expect("the page's origin"),
    }
}

/// Why a registration must not succeed, as far as the harness can tell from what it sent; and
/// whether everything it sent was right, so that the registration must succeed.
#[derive(Debug, Default)]
struct Verdict {
    reasons: Vec<String>,
    canonical: bool,
    /// The credential ID the authenticator data carries, when it is known.
    credential_id: Option<Vec<u8>>,
    /// The names the passkey may get: the form's (trimmed), or the default.
    names: Vec<String>,
}

impl LoginInput {
    /// The request body and `cookie` header of the form post, and the verdict on them.
    fn form(&self, page: &Page) -> (Vec<u8>, Option<String>, Verdict) {
        let mut verdict = Verdict::default();
        let mut canonical = true;
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (key, param, link) in [
            ("userID", &self.user_id, &page.user_id),
            ("orgID", &self.org_id, &page.org_id),
            ("codeID", &self.code_id, &page.code_id),
            ("code", &self.code, &page.code),
        ] {
            canonical &= matches!(param, Param::Link);
            if let Some(value) = param.value(link) {
                pairs.push((key, value));
            }
        }
        if let Some(platform) = &self.platform {
            pairs.push(("requestPlatformType", platform.clone()));
        }
        let chosen = |token: &[u8; 32]| encode_base64(token, true, false);
        match &self.csrf_field {
            CsrfField::Page => pairs.push((CSRF_FIELD, page.csrf.clone())),
            CsrfField::Absent => {}
            CsrfField::Chosen(token) => pairs.push((CSRF_FIELD, chosen(token))),
            CsrfField::Any(value) => pairs.push((CSRF_FIELD, value.clone())),
        }
        canonical &= matches!(self.csrf_field, CsrfField::Page);
        if let Some(name) = &self.name {
            pairs.push(("name", name.clone()));
        }
        let (json, facts) = match &self.credential {
            Credential::Shaped(shape) => {
                let facts = shape.write(page);
                (facts.json.clone(), Some(facts))
            }
            Credential::Raw(bytes) => (bytes.clone(), None),
        };
        let encoded = encode_base64(&json, true, false);
        let credential_data = match &self.credential_data {
            Outer::UrlSafe => Some(encoded),
            Outer::UrlSafePadded => Some(encode_base64(&json, true, true)),
            Outer::Standard => Some(encode_base64(&json, false, true)),
            Outer::StandardUnpadded => Some(encode_base64(&json, false, false)),
            Outer::Spaced(blanks) => {
                let blank = [" ", "\t", "\n", "\r\n"][usize::from(blanks % 4)];
                Some(format!("{blank}{encoded}{blank}"))
            }
            Outer::Broken(at, c) => {
                let mut text = encoded;
                let at = usize::from(*at) % (text.len() + 1);
                if text.is_char_boundary(at) {
                    text.insert(at, *c);
                }
                Some(text)
            }
            Outer::Text(text) => Some(text.clone()),
            Outer::Absent => None,
        };
        canonical &= matches!(
            self.credential_data,
            Outer::UrlSafe | Outer::UrlSafePadded | Outer::Standard | Outer::StandardUnpadded
        );
        if let Some(data) = credential_data {
            pairs.push(("credentialData", data));
        }
        let mut body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        if let Some(extra) = &self.extra_form {
            body.push('&');
            body.push_str(extra);
            let known = [
                "userID",
                "orgID",
                "codeID",
                "code",
                CSRF_FIELD,
                "name",
                "credentialData",
            ];
            canonical &= !url::form_urlencoded::parse(extra.as_bytes())
                .any(|(key, _)| known.contains(&key.as_ref()));
        }

        let cookie = match &self.cookie {
            Cookie::Page => Some(page.cookie.clone()),
            Cookie::Absent => None,
            Cookie::Chosen(token) => Some(format!("{CSRF_COOKIE}={}", chosen(token))),
            Cookie::Token(value) => Some(format!("{CSRF_COOKIE}={value}")),
            Cookie::Among(others) => Some(format!("{others}; {}", page.cookie)),
            Cookie::Raw(value) => Some(value.clone()),
        };
        // A value hyper would refuse to parse (a control character) is not sent.
        let cookie = cookie.filter(|value| {
            value
                .bytes()
                .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
        });
        canonical &= matches!(self.cookie, Cookie::Page);

        // What the mock reads, by any reading of the form: every value each key has.
        let sent: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let values = |key: &str| -> Vec<&str> {
            sent.iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        for (key, link) in [
            ("userID", &page.user_id),
            ("orgID", &page.org_id),
            ("codeID", &page.code_id),
            ("code", &page.code),
        ] {
            if !values(key).contains(&link.as_str()) {
                verdict
                    .reasons
                    .push(format!("the form's {key} is not the link's"));
            }
        }
        let cookie_tokens: Vec<&str> = cookie
            .iter()
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == CSRF_COOKIE)
            .map(|(_, token)| token)
            .collect();
        if !values(CSRF_FIELD).iter().any(|t| cookie_tokens.contains(t)) {
            verdict
                .reasons
                .push("the CSRF field matches no zitadel.csrf cookie".to_owned());
        }
        verdict.names = values("name")
            .iter()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .chain(["passkey".to_owned()])
            .collect();
        let data = values("credentialData");
        let derived_from_json = matches!(
            self.credential_data,
            Outer::UrlSafe
                | Outer::UrlSafePadded
                | Outer::Standard
                | Outer::StandardUnpadded
                | Outer::Spaced(_)
                | Outer::Broken(..)
        );
        if data.is_empty() || !derived_from_json {
            verdict.reasons.push(
                "credentialData is missing or the fuzzer's own text, without the challenge"
                    .to_owned(),
            );
        }
        match facts {
            None => verdict
                .reasons
                .push("the credential is the fuzzer's bytes, without the challenge".to_owned()),
            Some(facts) => {
                canonical &= facts.canonical;
                self.judge(&facts, page, &mut verdict);
            }
        }
        verdict.canonical = canonical;
        (body.into_bytes(), cookie, verdict)
    }

    /// The reasons a structured credential gives, from what the harness wrote into it.
    fn judge(&self, facts: &CredentialFacts, page: &Page, verdict: &mut Verdict) {
        // Broken base64 may still decode to JSON, but not to JSON the harness knows.
        let intact_outer = !matches!(self.credential_data, Outer::Broken(..));
        if facts.client_is_raw && intact_outer {
            verdict.reasons.push(
                "clientDataJSON is missing or the fuzzer's own bytes or text, without the challenge"
                    .to_owned(),
            );
        }
        if let Some(members) = facts
            .client
            .as_ref()
            .filter(|_| intact_outer)
            .and_then(|c| c.members.as_ref())
        {
            let text = |key: &str| members.get(key).and_then(serde_json::Value::as_str);
            if text("type") != Some("webauthn.create") {
                verdict
                    .reasons
                    .push("the client data's type is not webauthn.create".to_owned());
            }
            if text("challenge").and_then(decode_base64).as_deref() != Some(&page.challenge[..]) {
                verdict
                    .reasons
                    .push("the client data's challenge is not the page's".to_owned());
            }
            let origin_matches = text("origin")
                .and_then(|origin| Url::parse(origin).ok())
                .is_some_and(|origin| origin.origin() == page.origin.origin());
            if !origin_matches {
                verdict
                    .reasons
                    .push("the client data's origin is not the page's".to_owned());
            }
            if members.get("crossOrigin") == Some(&serde_json::Value::Bool(true)) {
                verdict
                    .reasons
                    .push("the client data says crossOrigin".to_owned());
            }
        }
        let Some(attestation) = facts.attestation.as_ref().filter(|_| intact_outer) else {
            return;
        };
        if let Some(fmt) = &attestation.fmt
            && fmt != "none"
        {
            // Every other format is verified by a signature the harness never makes.
            verdict.reasons.push(format!(
                "the attestation format is {fmt:?}, with a signature nobody made"
            ));
        }
        if let Some(auth) = &attestation.auth {
            if auth.bytes.get(..32) != Some(&LOCALHOST_HASH[..]) {
                verdict
                    .reasons
                    .push("the RP ID hash is not SHA-256 of localhost".to_owned());
            }
            let flags = auth.bytes.get(32).copied().unwrap_or(0);
            if flags & UP == 0 {
                verdict.reasons.push("the user was not present".to_owned());
            }
            if flags & UV == 0 {
                verdict.reasons.push("the user was not verified".to_owned());
            }
            verdict.credential_id.clone_from(&auth.credential_id);
        }
    }
}

/// A registration the fuzzer made, posted back to the page of a fresh link. The answer comes
/// within the harness's bound, HTTP 200 with an HTML page. A passkey is registered only for the
/// link's user, at most one, and only when nothing the harness sent rules it out: the form's
/// code, codeID, userID and orgID are the link's, a CSRF field matches a `zitadel.csrf` cookie,
/// the credential came from the harness (not the fuzzer's raw bytes or text: those cannot hold
/// the page's fresh challenge), and — as far as the harness wrote them — the client data has
/// type `webauthn.create`, the page's challenge and origin and no `crossOrigin`, the
/// authenticator data has the RP ID hash of `localhost` and the user present and verified, and
/// the format is `none` (any other needs a signature nobody made). A registration with every
/// piece right must succeed. The page says "successfully added" exactly when a passkey was
/// registered, under the name given (or `passkey`) and with the credential's ID; otherwise it
/// shows an error and no form, and the code is still live.
pub(crate) fn login(data: &[u8]) {
    let Ok(input) = LoginInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mock = mock();
    let addr = mock.local_addr();
    let host = format!("localhost:{}", addr.port());
    let page = block_on(open_page(addr, &host, input.open_platform.as_deref()));
    let (body, cookie, verdict) = input.form(&page);
    let mut fields = vec![(
        "content-type".to_owned(),
        b"application/x-www-form-urlencoded".to_vec(),
    )];
    if let Some(cookie) = cookie {
        fields.push(("cookie".to_owned(), cookie.into_bytes()));
    }
    let request = request_on(&host, "POST", LOGIN_PATH, &fields, &body);
    let answer = block_on(http1_exchange(addr, &request, false));
    check_answer(mock, &page, &verdict, &answer);
}

fn check_answer(mock: &MockServer, page: &Page, verdict: &Verdict, answer: &[u8]) {
    let shown = String::from_utf8_lossy(answer);
    assert_eq!(status_of(answer), Some(200), "{shown}");
    let content_type = header_values(answer, "content-type");
    assert!(
        content_type.iter().any(|v| v.starts_with("text/html")),
        "not an HTML page: {shown}"
    );
    let html = String::from_utf8_lossy(body_of(answer));
    assert!(html.contains("<html"), "not an HTML page: {shown}");

    let users = mock.users();
    let passkeys: Vec<_> = users
        .iter()
        .flat_map(|user| user.passkeys.iter().map(move |p| (&user.user_id, p)))
        .collect();
    let done = html.contains("Device for passwordless successfully added");
    let code_live = mock
        .live_codes()
        .iter()
        .any(|code| code.code_id == page.code_id);
    match passkeys.as_slice() {
        [] => {
            assert!(!done, "the page says added, but no passkey was: {html}");
            assert!(
                !verdict.canonical,
                "a registration with every piece right was refused: {html}"
            );
            assert!(html.contains("role=\"alert\""), "no error shown: {html}");
            assert!(
                !html.contains("id=\"btn-register\""),
                "a form after a failed post: {html}"
            );
            assert!(code_live, "the code is gone after a failed registration");
        }
        [(user, passkey)] => {
            assert!(
                verdict.reasons.is_empty(),
                "a passkey was registered although {:?}: {passkey:?}",
                verdict.reasons
            );
            assert_eq!(**user, page.user_id, "a passkey for another user");
            assert!(done, "a passkey was registered, but the page says: {html}");
            assert!(
                verdict.names.contains(&passkey.name),
                "the passkey's name {:?} is none of {:?}",
                passkey.name,
                verdict.names
            );
            if let Some(id) = &verdict.credential_id {
                let id = encode_base64(id, true, false);
                assert_eq!(passkey.credential_id.as_deref(), Some(id.as_str()));
            }
            assert!(!code_live, "the code is still live after the registration");
        }
        more => panic!("one form post registered {} passkeys: {more:?}", more.len()),
    }
    // The state is still readable.
    let _ = (mock.journal(), mock.live_codes(), mock.pending_faults());
}

/// The values of the header `name` in the answer's head.
fn header_values(answer: &[u8], name: &str) -> Vec<String> {
    let end = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or(answer.len());
    String::from_utf8_lossy(&answer[..end])
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_owned())
        .collect()
}

/// The value of the form's hidden field `name`, unescaped.
fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let len = html[start..].find('"')?;
    let mut value = html[start..start + len].to_owned();
    for (escaped, c) in [
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&amp;", "&"),
    ] {
        value = value.replace(escaped, c);
    }
    Some(value)
}

/// Base64 in either alphabet, padded or not.
fn encode_base64(bytes: &[u8], url_safe: bool, padded: bool) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    match (url_safe, padded) {
        (true, false) => URL_SAFE_NO_PAD.encode(bytes),
        (true, true) => URL_SAFE.encode(bytes),
        (false, false) => STANDARD_NO_PAD.encode(bytes),
        (false, true) => STANDARD.encode(bytes),
    }
}

// Written by hand: the verdict needs a reader as lenient as any the mock might use (both
// alphabets in one string, padding optional, leftover bits ignored), which no base64 engine is.
/// Base64 in either alphabet (even mixed), padded or not, leftover bits ignored: it accepts at
/// least what any base64 reader does, with the same bytes.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let sextet = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap_or(0));
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_in_every_spelling() {
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len).map(|i: u8| 0xf0 ^ i.wrapping_mul(37)).collect();
            for url_safe in [true, false] {
                for padded in [true, false] {
                    let text = encode_base64(&bytes, url_safe, padded);
                    assert_eq!(decode_base64(&text), Some(bytes.clone()), "{text}");
                }
            }
        }
        assert_eq!(encode_base64(b"\xfb\xff", true, false), "-_8");
        assert_eq!(encode_base64(b"\xfb\xff", false, true), "+/8=");
        assert_eq!(decode_base64("a b"), None);
    }

    #[test]
    fn cbor_heads_are_shortest() {
        let mut out = Vec::new();
        for n in [0, 23, 24, 255, 256, 65_536, u64::MAX] {
            head(&mut out, 0, n);
        }
        cbor_int(&mut out, -1);
        cbor_int(&mut out, i64::MIN);
        assert_eq!(
            out,
            [
                &[0x00, 0x17, 0x18, 0x18, 0x18, 0xff, 0x19, 0x01, 0x00][..],
                &[0x1a, 0x00, 0x01, 0x00, 0x00],
                &[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                &[0x20],
                &[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ]
            .concat()
        );
    }
}
