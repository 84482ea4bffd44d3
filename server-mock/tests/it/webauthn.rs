//! The whole journey without a browser: a software authenticator (1Password's passkey-rs, a
//! WebAuthn client and a CTAP2 authenticator in Rust) registers a passkey over the mock's real
//! login pages, and the mock verifies it; then ListMyPasswordless shows it READY, a second
//! registration with the same authenticator is refused, and RemoveMyPasswordless removes it.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passkey::authenticator::{Authenticator, MemoryStore, UiHint, UserCheck, UserValidationMethod};
use passkey::client::{Client, DefaultClientData, WebauthnError};
use passkey::crypto::rust_crypto::RustCryptoBackend;
use passkey::types::Passkey;
use passkey::types::ctap2::{Aaguid, Ctap2Error};
use passkey::types::webauthn::CredentialCreationOptions;
use url::Url;
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::MockServer;

use super::login_page::*;
use crate::common::*;

/// A user who is present and verified (face, fingerprint or PIN) whenever asked, on an
/// authenticator that refuses to register itself twice (an excluded credential).
struct AlwaysYes;

#[async_trait::async_trait]
impl UserValidationMethod for AlwaysYes {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        // The authenticator asks its user interface to say "already registered" and stop.
        if let UiHint::InformExcludedCredentialFound(_) = hint {
            return Err(Ctap2Error::CredentialExcluded);
        }
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }
}

type SoftClient =
    Client<MemoryStore, AlwaysYes, RustCryptoBackend, public_suffix::PublicSuffixList, ()>;

/// A client with an empty software authenticator; `localhost` over http is a secure context,
/// as in browsers.
fn software_authenticator() -> SoftClient {
    let authenticator = Authenticator::new(
        Aaguid::new_empty(),
        MemoryStore::new(),
        AlwaysYes,
        RustCryptoBackend,
    );
    Client::new(authenticator).allows_insecure_localhost(true)
}

/// A registration page, opened as a browser on `localhost` opens it.
struct OpenedPage {
    html: String,
    cookie: String,
    form: Vec<(String, String)>,
}

async fn open(mock: &MockServer, link: &str) -> OpenedPage {
    let reply = get_page(mock, &localhost(mock), &path_of(link), None).await;
    let html = text(&reply);
    assert!(html.contains("id=\"btn-register\""), "{html}");
    let cookie = csrf_cookie(&reply);
    let form = [
        "gorilla.csrf.Token",
        "userID",
        "orgID",
        "codeID",
        "code",
        "requestPlatformType",
    ]
    .iter()
    .map(|name| ((*name).to_owned(), field(&html, name).unwrap()))
    .collect();
    OpenedPage { html, cookie, form }
}

impl OpenedPage {
    fn options(&self) -> serde_json::Value {
        creation_options(&self.html)
    }

    /// What the page's script does: `navigator.credentials.create()` with the page's options,
    /// on `origin`; the credential as the page posts it (base64url JSON).
    async fn create(
        &self,
        client: &mut SoftClient,
        options: serde_json::Value,
        origin: &str,
    ) -> Result<String, WebauthnError> {
        let request: CredentialCreationOptions = serde_json::from_value(options).unwrap();
        let origin = Url::parse(origin).unwrap();
        let credential = client.register(&origin, request, DefaultClientData).await?;
        // The JSON the page's script posts (passkey-rs's own serde form writes bytes as arrays).
        let json = serde_json::json!({
            "id": credential.id,
            "rawId": URL_SAFE_NO_PAD.encode(&*credential.raw_id),
            "type": "public-key",
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(&*credential.response.attestation_object),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&*credential.response.client_data_json),
            },
        });
        Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap()))
    }

    async fn submit(&self, mock: &MockServer, credential: &str, name: &str) -> String {
        let mut form: Vec<(&str, &str)> = self
            .form
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("credentialData", credential));
        form.push(("name", name));
        text(&post_form(mock, &localhost(mock), &form, Some(&self.cookie)).await)
    }
}

fn origin_of(mock: &MockServer) -> String {
    format!("http://localhost:{}", mock.local_addr().port())
}

#[tokio::test]
async fn a_software_authenticator_registers_a_passkey_through_the_pages() {
    let mock = mock_with_user(false).await;
    let mut client = software_authenticator();
    let link = new_link(&mock).await;
    let page = open(&mock, &link).await;
    let credential = page
        .create(&mut client, page.options(), &origin_of(&mock))
        .await
        .unwrap();
    let done = page.submit(&mock, &credential, "Soft key").await;
    assert!(done.contains("<h1>Passwordless set up</h1>"), "{done}");
    assert!(
        done.contains("Device for passwordless successfully added"),
        "{done}"
    );
    assert!(done.contains("You can now close this window."), "{done}");
    assert!(mock.live_codes().is_empty(), "the code is used up");

    let listed = passkeys(&mock).await;
    assert_eq!(listed.len(), 1);
    let (id, name, state) = &listed[0];
    assert_eq!(
        (name.as_str(), *state),
        ("Soft key", 2),
        "READY with its name"
    );
    // The admin API shows the credential ID the authenticator made.
    let user = mock
        .users()
        .into_iter()
        .find(|u| u.user_id == USER)
        .unwrap();
    let stored = user.passkeys[0].credential_id.clone().unwrap();
    let made =
        serde_json::from_slice::<serde_json::Value>(&URL_SAFE_NO_PAD.decode(&credential).unwrap())
            .unwrap()["rawId"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(stored, made);

    // A second link for the same user excludes the credential: the authenticator refuses.
    let second = open(&mock, &new_link(&mock).await).await;
    let exclude = &second.options()["publicKey"]["excludeCredentials"];
    assert_eq!(
        exclude[0]["id"].as_str(),
        Some(stored.as_str()),
        "{exclude}"
    );
    let refused = second
        .create(&mut client, second.options(), &origin_of(&mock))
        .await;
    assert!(
        refused.is_err(),
        "the excluded authenticator made a credential"
    );

    // RemoveMyPasswordless removes it.
    let _: RemoveMyPasswordlessResponse = call(
        &mock.uri(),
        Via::JsonH1,
        REMOVE,
        RemoveMyPasswordlessRequest {
            token_id: id.clone(),
        },
        &[("authorization", "Bearer tok")],
        id,
    )
    .await
    .unwrap();
    assert!(passkeys(&mock).await.is_empty());
}

#[tokio::test]
async fn a_credential_is_verified_against_the_pages_origin_and_challenge() {
    let mock = mock_with_user(false).await;
    let mut client = software_authenticator();
    let link = new_link(&mock).await;

    // Made on another origin (a phishing page with the same options): refused.
    let page = open(&mock, &link).await;
    let elsewhere = format!("http://localhost:{}", mock.local_addr().port() ^ 1);
    let credential = page
        .create(&mut client, page.options(), &elsewhere)
        .await
        .unwrap();
    let html = page.submit(&mock, &credential, "k").await;
    assert!(html.contains("MOCK-webauthn"), "{html}");
    assert_no_form(&html);

    // Answering the challenge of an earlier opening: the latest opening's challenge counts.
    let stale = open(&mock, &link).await;
    let latest = open(&mock, &link).await;
    let credential = stale
        .create(&mut client, stale.options(), &origin_of(&mock))
        .await
        .unwrap();
    let html = latest.submit(&mock, &credential, "k").await;
    assert!(html.contains("MOCK-webauthn"), "{html}");

    // A right credential after all that still registers; replaying it does not.
    let page = open(&mock, &link).await;
    let credential = page
        .create(&mut client, page.options(), &origin_of(&mock))
        .await
        .unwrap();
    let html = page.submit(&mock, &credential, "k").await;
    assert!(html.contains("Passwordless set up"), "{html}");
    let replay = page.submit(&mock, &credential, "k").await;
    assert!(replay.contains("Code is invalid"), "{replay}");
    assert_eq!(passkeys(&mock).await.len(), 1);
}

#[tokio::test]
async fn the_attested_credential_id_is_the_one_kept() {
    let mock = mock_with_user(false).await;
    let mut client = software_authenticator();
    let page = open(&mock, &new_link(&mock).await).await;
    let credential = page
        .create(&mut client, page.options(), &origin_of(&mock))
        .await
        .unwrap();
    let mut json: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&credential).unwrap()).unwrap();
    let attested = json["rawId"].as_str().unwrap().to_owned();
    // A client that claims another ID than the authenticator attested (signed) does not
    // choose what is stored: the ID in the signed authenticator data is.
    let claimed = URL_SAFE_NO_PAD.encode([9u8; 16]);
    json["id"] = claimed.clone().into();
    json["rawId"] = claimed.clone().into();
    let swapped = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap());
    let html = page.submit(&mock, &swapped, "k").await;
    assert!(html.contains("Passwordless set up"), "{html}");
    let user = mock
        .users()
        .into_iter()
        .find(|u| u.user_id == USER)
        .unwrap();
    assert_eq!(
        user.passkeys[0].credential_id.as_deref(),
        Some(attested.as_str())
    );
}
