//! The WebAuthn side of the login page: begin a passkey registration for a user (the options the
//! browser's `navigator.credentials.create()` takes) and verify what the authenticator answered.
//! `webauthn-rs` does the verification (origin, RP ID hash, challenge, user presence and
//! verification, signature); this module only maps the login page's terms onto it.

use sha2::{Digest, Sha256};
use url::Url;
use webauthn_rs::prelude::{
    AuthenticatorAttachment, PasskeyRegistration, RegisterPublicKeyCredential, Uuid,
    WebauthnBuilder,
};

/// A registration begun on `GET` and finished on `POST`: ZITADEL's not-ready passkey.
pub(crate) struct Ceremony {
    /// The origin the options were made for (the page must be posted back from it).
    origin: Url,
    /// The RP ID, the origin's host.
    rp_id: String,
    state: PasskeyRegistration,
}

/// The challenge and the rest of the ceremony's state stay out of logs.
impl std::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremony")
            .field("origin", &self.origin.as_str())
            .field("rp_id", &self.rp_id)
            .finish_non_exhaustive()
    }
}

/// Which authenticators the page asks for (`requestPlatformType` of the link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Attachment {
    /// `platform` or `1`: the device's own authenticator (Windows Hello, Face ID).
    Platform,
    /// `crossPlatform` or `2`: a security key or a phone.
    CrossPlatform,
    /// Anything else, or nothing: the browser lets the user choose.
    #[default]
    Unspecified,
}

impl Attachment {
    /// ZITADEL's reading of `requestPlatformType`: unknown values mean "unspecified", never an error.
    pub(crate) fn parse(value: Option<&str>) -> Self {
        match value {
            Some("platform" | "1") => Attachment::Platform,
            Some("crossPlatform" | "2") => Attachment::CrossPlatform,
            _ => Attachment::Unspecified,
        }
    }

    /// The form value the page posts back.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Attachment::Platform => "platform",
            Attachment::CrossPlatform => "crossPlatform",
            Attachment::Unspecified => "unspecified",
        }
    }
}

/// Why a ceremony could not begin or did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CeremonyError {
    /// The origin's host is an IP address (or there is none): WebAuthn needs a domain as RP ID.
    NoDomain,
    /// The authenticator's answer did not decode or did not verify (the reason, for the page).
    Rejected(String),
}

/// A registered credential: its ID, which later registrations exclude.
#[derive(Debug, Clone)]
pub(crate) struct Registered {
    pub credential_id: Vec<u8>,
}

/// The relying party name the authenticator may show.
const RP_NAME: &str = "ZITADEL (mock)";

/// Begins a passkey registration for `user_id` on `origin` (the RP ID is its host), excluding
/// the user's existing credentials; returns the JSON of the creation options
/// (`{"publicKey": {...}}`) and the state to verify the answer with.
pub(crate) fn begin(
    origin: &Url,
    user_id: &str,
    // Credential IDs (webauthn-rs's `CredentialID` is the bytes).
    exclude: Vec<Vec<u8>>,
    attachment: Attachment,
) -> Result<(String, Ceremony), CeremonyError> {
    let rp_id = rp_id(origin)?;
    let webauthn = WebauthnBuilder::new(&rp_id, origin)
        .and_then(|builder| builder.rp_name(RP_NAME).build())
        .map_err(|_| CeremonyError::NoDomain)?;
    let (mut options, state) = webauthn
        .start_passkey_registration(
            user_handle(user_id),
            user_id,
            user_id,
            (!exclude.is_empty()).then_some(exclude),
        )
        .map_err(|e| CeremonyError::Rejected(e.to_string()))?;
    // webauthn-rs leaves the attachment open; ZITADEL sets it from `requestPlatformType`.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.authenticator_attachment = match attachment {
            Attachment::Platform => Some(AuthenticatorAttachment::Platform),
            Attachment::CrossPlatform => Some(AuthenticatorAttachment::CrossPlatform),
            Attachment::Unspecified => None,
        };
    }
    let json =
        serde_json::to_string(&options).map_err(|e| CeremonyError::Rejected(e.to_string()))?;
    Ok((
        json,
        Ceremony {
            origin: origin.clone(),
            rp_id,
            state,
        },
    ))
}

/// Verifies the authenticator's answer (the JSON of a `PublicKeyCredential`) against the
/// ceremony it answers.
pub(crate) fn finish(
    ceremony: &Ceremony,
    credential_json: &[u8],
) -> Result<Registered, CeremonyError> {
    let credential: RegisterPublicKeyCredential =
        serde_json::from_slice(credential_json).map_err(|e| {
            CeremonyError::Rejected(format!(
                "the credential is not valid JSON of a PublicKeyCredential: {e}"
            ))
        })?;
    let webauthn = WebauthnBuilder::new(&ceremony.rp_id, &ceremony.origin)
        .and_then(|builder| builder.rp_name(RP_NAME).build())
        .map_err(|_| CeremonyError::NoDomain)?;
    let passkey = webauthn
        .finish_passkey_registration(&credential, &ceremony.state)
        .map_err(|e| CeremonyError::Rejected(e.to_string()))?;
    Ok(Registered {
        credential_id: passkey.cred_id().to_vec(),
    })
}

/// The RP ID for an origin: its host, which must be a domain (`localhost` is one; an IP is not).
fn rp_id(origin: &Url) -> Result<String, CeremonyError> {
    match origin.host() {
        Some(url::Host::Domain(domain)) => Ok(domain.to_owned()),
        _ => Err(CeremonyError::NoDomain),
    }
}

/// The WebAuthn user handle: stable per user, and not the user ID itself (the spec asks for an
/// opaque handle); webauthn-rs takes it as a UUID, so the first 16 bytes of the ID's SHA-256.
fn user_handle(user_id: &str) -> Uuid {
    let digest = Sha256::digest(user_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn platform_types_read_like_zitadel() {
        assert_eq!(Attachment::parse(Some("platform")), Attachment::Platform);
        assert_eq!(Attachment::parse(Some("1")), Attachment::Platform);
        assert_eq!(
            Attachment::parse(Some("crossPlatform")),
            Attachment::CrossPlatform
        );
        assert_eq!(Attachment::parse(Some("2")), Attachment::CrossPlatform);
        for other in [
            None,
            Some(""),
            Some("toaster"),
            Some("0"),
            Some("unspecified"),
        ] {
            assert_eq!(
                Attachment::parse(other),
                Attachment::Unspecified,
                "{other:?}"
            );
        }
    }

    #[test]
    fn options_carry_the_rp_user_attachment_and_exclusions() {
        let (json, ceremony) = begin(
            &origin("http://localhost:8080"),
            "218000000000000001",
            vec![vec![1, 2, 3]],
            Attachment::Platform,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let options: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        let public_key = &options["publicKey"];
        assert_eq!(public_key["rp"]["id"], "localhost");
        assert_eq!(public_key["user"]["name"], "218000000000000001");
        assert_eq!(public_key["attestation"], "none");
        let selection = &public_key["authenticatorSelection"];
        assert_eq!(selection["authenticatorAttachment"], "platform");
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(public_key["excludeCredentials"][0]["id"], "AQID");
        assert!(
            public_key["challenge"]
                .as_str()
                .is_some_and(|c| c.len() >= 43)
        );
        assert!(!format!("{ceremony:?}").contains(public_key["challenge"].as_str().unwrap_or("-")));
    }

    #[test]
    fn an_ip_address_is_no_rp_id() {
        for text in ["http://127.0.0.1:8080", "http://[::1]:8080"] {
            let result = begin(&origin(text), "1", Vec::new(), Attachment::Unspecified);
            assert_eq!(result.err(), Some(CeremonyError::NoDomain), "{text}");
        }
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        let (_, ceremony) = begin(
            &origin("http://localhost"),
            "1",
            Vec::new(),
            Attachment::Unspecified,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        for input in [&b""[..], b"{}", b"not json", br#"{"id":"x","rawId":"eA","type":"public-key","response":{"attestationObject":"oA","clientDataJSON":"e30"}}"#] {
            match finish(&ceremony, input) {
                Err(CeremonyError::Rejected(reason)) => assert!(!reason.is_empty()),
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }
}
