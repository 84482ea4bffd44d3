//! A real browser through the whole passkey journey: Debian's Chromium, headless, driven by
//! chromedriver over W3C WebDriver (fantoccini), with a virtual WebAuthn authenticator from
//! ChromeDriver's WebAuthn extension commands. The app's side is the SDK: it gets the link, the
//! browser registers a passkey on the mock's login page, and the SDK lists it over every
//! transport. Then a second link with the same authenticator is refused (its credential is
//! excluded: `InvalidStateError`), a used link shows "Code is invalid", and a page on another
//! origin calls the mock's REST and gRPC-web APIs with `fetch`, CORS enforced by the browser.
//! A second test signs the person in first, on the mock's `/device` page, while the app waits
//! with the SDK's device authorization, and registers the passkey with the link the app gets
//! for that person's token.
//!
//! Needs `chromium` and `chromedriver` on PATH (`.ci/install-tools`); skips with the reason when
//! either is missing, except under CI, where it fails. Screenshots of the registration page and
//! of the end page, and chromedriver's log, go to `target/browser-test/`.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use http::Method;
use hyper_util::client::legacy::connect::HttpConnector;
use prost::Message;
use serde_json::{Value, json};
use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
use zitadel_passkey::proto::zitadel::user::v1::AuthFactorState;
use zitadel_passkey::{Client, DeviceAuthorization, Transport};
use zitadel_passkey_mock::MockServer;
use zitadel_passkey_mock::login::LOGIN_PATH;

use crate::common::{ADD_PATH, REST_ADD, frames, get, trailer_block};

const TOKEN: &str = "browser-test-token";
const USER: &str = "218000000000000042";
const ORG: &str = "318000000000000042";
const KEY_NAME: &str = "Chromium test key";

/// How long a wait for the page (an element, a text, a navigation) may take.
const WAIT: Duration = Duration::from_secs(10);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// The flags the brief of this test asks Chromium for (root in a container: no sandbox, no GPU,
/// a small /dev/shm), and a window big enough for readable screenshots.
const CHROMIUM_ARGS: [&str; 5] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1024,768",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_registers_a_passkey_from_a_link() {
    let Some(tools) = browser_tools() else {
        return;
    };
    let started = Instant::now();
    let artifacts = artifacts_dir();

    // 1. The mock and the app's SDK clients, on `localhost` (an IP cannot be a WebAuthn RP ID).
    let mock = MockServer::builder()
        .strict(true)
        .user(TOKEN, USER, ORG)
        .start()
        .await
        .unwrap();
    let endpoint = format!("http://localhost:{}", mock.local_addr().port());
    let clients: Vec<(Transport, Client)> = [Transport::Grpc, Transport::GrpcWeb, Transport::Json]
        .into_iter()
        .map(|transport| {
            let client = Client::builder(&endpoint)
                .transport(transport)
                .token(TOKEN)
                .timeout(WAIT)
                .build()
                .unwrap();
            (transport, client)
        })
        .collect();
    let first = clients[0].1.add_passkey_link().await.unwrap();
    let login_page = format!("{endpoint}{LOGIN_PATH}?");
    assert!(
        first.url().starts_with(&login_page),
        "the link points to the login page on localhost: {}",
        first.redacted_url()
    );

    // 2. Chromium through chromedriver, with a virtual platform authenticator.
    let driver = Chromedriver::start(&tools.chromedriver, artifacts.join("chromedriver.log")).await;
    let session = Session::open(driver, &tools.chromium).await;
    let authenticator = session.add_virtual_authenticator().await;

    // 3. Open the link, name the device, register.
    session.goto(first.url()).await;
    session.wait_for_heading("Passwordless setup").await;
    let title = session.browser.title().await.unwrap();
    if title != "Passwordless setup" {
        session.fail(&format!("page title {title:?}")).await;
    }
    let name = session.wait_for_element("#name").await;
    name.send_keys(KEY_NAME).await.unwrap();
    session
        .screenshot(&artifacts.join("registration-page.png"))
        .await;
    session
        .wait_for_element("#btn-register")
        .await
        .click()
        .await
        .unwrap();
    session.wait_for_heading("Passwordless set up").await;
    let text = session.body_text().await;
    if !(text.contains("Device for passwordless successfully added")
        && text.contains("You can now close this window."))
    {
        session
            .fail(&format!("the end page lacks its sentences: {text:?}"))
            .await;
    }
    session.screenshot(&artifacts.join("end-page.png")).await;

    // 4. The app sees the passkey on every transport; the authenticator holds one credential,
    //    the one the mock registered.
    for (transport, client) in &clients {
        let passkeys = client
            .list_passkeys()
            .await
            .unwrap_or_else(|e| panic!("{transport}: list_passkeys: {e}"));
        assert_eq!(passkeys.len(), 1, "{transport}: {passkeys:?}");
        assert_eq!(passkeys[0].name(), KEY_NAME, "{transport}");
        assert_eq!(
            passkeys[0].state(),
            AuthFactorState::Ready,
            "{transport}: {passkeys:?}"
        );
    }
    let credentials = session.credentials(&authenticator).await;
    if credentials.len() != 1 {
        session
            .fail(&format!(
                "the authenticator holds {} credentials: {credentials:?}",
                credentials.len()
            ))
            .await;
    }
    assert_eq!(credentials[0]["rpId"], "localhost", "{credentials:?}");
    let in_authenticator = credentials[0]["credentialId"].as_str().unwrap_or_default();
    let user = mock
        .users()
        .into_iter()
        .find(|u| u.user_id == USER)
        .unwrap();
    let in_mock = user.passkeys[0]
        .credential_id
        .as_deref()
        .unwrap_or_default();
    assert_eq!(
        base64url_bytes(in_mock),
        base64url_bytes(in_authenticator),
        "the mock registered the authenticator's credential"
    );

    // 5. A second link, same browser and authenticator: the credential is excluded, the browser
    //    refuses to create another one, nothing reaches the mock.
    let second = clients[1].1.add_passkey_link().await.unwrap();
    session.register(second.url(), "Second key").await;
    let cause = session
        .wait_for_text("#wa-error .cause", "error from create()", |text| {
            !text.is_empty()
        })
        .await;
    if !cause.starts_with("InvalidStateError") {
        session
            .fail(&format!("create() failed otherwise: {cause:?}"))
            .await;
    }
    for (transport, client) in &clients {
        let passkeys = client.list_passkeys().await.unwrap();
        assert_eq!(passkeys.len(), 1, "{transport}: {passkeys:?}");
    }
    assert_eq!(session.credentials(&authenticator).await.len(), 1);
    assert!(
        mock.live_codes()
            .iter()
            .any(|code| code.code_id == second.code_id()),
        "the refused registration leaves the second code live"
    );

    // 6. The used link: "Code is invalid", HTTP 200.
    let reply = get(first.url()).await.unwrap();
    assert_eq!(reply.status, 200, "a used code's page is HTTP 200");
    assert!(
        String::from_utf8_lossy(&reply.body).contains("Code is invalid"),
        "{reply:?}"
    );
    session.goto(first.url()).await;
    session.wait_for_heading("Passwordless setup").await;
    let error = session
        .wait_for_text("#error .error-message", "error", |text| !text.is_empty())
        .await;
    if error != "Code is invalid" {
        session.fail(&format!("error {error:?}")).await;
    }
    if session.browser.find(Locator::Css("#name")).await.is_ok() {
        session.fail("a used code's page has a name field").await;
    }

    // 7. CORS: a page on another origin calls the mock with fetch.
    let other = OtherOrigin::start().await;
    session.goto(&other.url).await;
    session.wait_for_heading("Another origin").await;
    cors_from_the_browser(&session, &endpoint).await;

    session.close().await;
    drop(other);
    mock.shutdown().await;
    eprintln!(
        "browser journey passed in {:.1?}; screenshots in {}",
        started.elapsed(),
        artifacts.display()
    );
}

/// The person's whole side in the browser: sign in on the mock's `/device` page (the app waits
/// with the SDK's device authorization), then register a passkey from the link the app gets
/// with the person's own token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_on_the_device_page_then_registers_a_passkey() {
    let Some(tools) = browser_tools() else {
        return;
    };
    let artifacts = artifacts_dir();
    let mock = MockServer::builder()
        .strict(true)
        .user(TOKEN, USER, ORG)
        .client_id("browser-test-app")
        .device_interval(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let endpoint = format!("http://localhost:{}", mock.local_addr().port());

    // The app starts a sign-in and shows the code; the person opens the page in the browser.
    let flow = DeviceAuthorization::builder(&endpoint, "browser-test-app")
        .timeout(WAIT)
        .build()
        .unwrap();
    let pending = flow.start().await.unwrap();
    let page = pending.verification_uri_complete().unwrap().to_owned();
    let driver = Chromedriver::start(
        &tools.chromedriver,
        artifacts.join("chromedriver-device.log"),
    )
    .await;
    let session = Session::open(driver, &tools.chromium).await;
    session.goto(&page).await;
    session.wait_for_heading("Device Authorization").await;
    let code = session
        .wait_for_element("#user_code")
        .await
        .prop("value")
        .await
        .unwrap();
    if code.as_deref() != Some(pending.user_code()) {
        session
            .fail(&format!("the page has the code {code:?}"))
            .await;
    }
    // The user ID field holds the mock's first configured user.
    let user = session
        .wait_for_element("#user_id")
        .await
        .prop("value")
        .await
        .unwrap();
    if user.as_deref() != Some(USER) {
        session
            .fail(&format!("the page names the user {user:?}"))
            .await;
    }
    session.screenshot(&artifacts.join("device-page.png")).await;
    session
        .wait_for_element("#btn-allow")
        .await
        .click()
        .await
        .unwrap();
    session
        .wait_for_heading("Device authorization approved")
        .await;

    // The app gets the person's tokens and a link for them.
    let tokens = tokio::time::timeout(WAIT, pending.wait())
        .await
        .unwrap()
        .unwrap();
    let client = Client::builder(&endpoint)
        .transport(Transport::GrpcWeb)
        .token_provider(flow.token_provider(tokens))
        .timeout(WAIT)
        .build()
        .unwrap();
    let link = client.add_passkey_link().await.unwrap();
    assert!(
        link.url().contains(&format!("userID={USER}")),
        "{}",
        link.redacted_url()
    );

    // The person registers the passkey; the app lists it with the same token.
    session.add_virtual_authenticator().await;
    session.register(link.url(), KEY_NAME).await;
    session.wait_for_heading("Passwordless set up").await;
    let passkeys = client.list_passkeys().await.unwrap();
    assert_eq!(passkeys.len(), 1, "{passkeys:?}");
    assert_eq!(passkeys[0].name(), KEY_NAME);
    assert_eq!(passkeys[0].state(), AuthFactorState::Ready);

    session.close().await;
    mock.shutdown().await;
}

/// The `fetch` calls of step 7, from the page on the other origin, asserted here.
async fn cors_from_the_browser(session: &Session, endpoint: &str) {
    let rest = format!("{endpoint}{REST_ADD}");
    let grpc_web = format!("{endpoint}{ADD_PATH}");
    let json_headers = |authorization: Option<&str>| {
        let mut headers = json!({"content-type": "application/json"});
        if let Some(authorization) = authorization {
            headers["authorization"] = json!(authorization);
        }
        headers
    };
    let bearer = format!("Bearer {TOKEN}");

    // REST with the token: the link, as JSON.
    let ok = session
        .fetch(&rest, json_headers(Some(&bearer)), b"{}")
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let link = ok.json()["link"].as_str().unwrap_or_default().to_owned();
    assert!(
        link.starts_with(&format!("{endpoint}{LOGIN_PATH}?")),
        "REST answers a link: {ok:?}"
    );

    // REST with a wrong token and without one: 401, the status JSON readable from the script.
    let bad = session
        .fetch(&rest, json_headers(Some("Bearer not-a-user")), b"{}")
        .await;
    assert_eq!(bad.status, 401, "{bad:?}");
    let status = bad.json();
    assert_eq!(status["code"], 16, "{bad:?}");
    assert_eq!(status["details"][0]["id"], "AUTH-7fs1e", "{bad:?}");
    let none = session.fetch(&rest, json_headers(None), b"{}").await;
    assert_eq!(none.status, 401, "{none:?}");
    let status = none.json();
    assert_eq!(status["code"], 16, "{none:?}");
    assert_eq!(status["message"], "auth header missing", "{none:?}");

    // gRPC-web with the token: HTTP 200, the message frame and the trailer frame in the body.
    let grpc_web_headers = |authorization: &str| {
        json!({
            "authorization": authorization,
            "content-type": "application/grpc-web+proto",
            "x-grpc-web": "1",
        })
    };
    let empty_message = [0u8, 0, 0, 0, 0];
    let ok = session
        .fetch(&grpc_web, grpc_web_headers(&bearer), &empty_message)
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let body_frames = frames(&ok.body).unwrap_or_else(|e| panic!("{e}: {ok:?}"));
    assert_eq!(body_frames.len(), 2, "a message and the trailers: {ok:?}");
    assert_eq!(body_frames[0].0, 0x00, "{ok:?}");
    let answer = AddMyPasswordlessLinkResponse::decode(body_frames[0].1.as_slice()).unwrap();
    assert!(
        answer.link.starts_with(&format!("{endpoint}{LOGIN_PATH}?")),
        "gRPC-web answers a link"
    );
    assert_eq!(body_frames[1].0, 0x80, "{ok:?}");
    let trailers = trailer_block(&body_frames[1].1);
    assert_eq!(
        trailers.get("grpc-status").map(String::as_str),
        Some("0"),
        "{trailers:?}"
    );

    // gRPC-web with a wrong token: the status in the headers, which the script can read.
    let bad = session
        .fetch(
            &grpc_web,
            grpc_web_headers("Bearer not-a-user"),
            &empty_message,
        )
        .await;
    assert_eq!(bad.status, 200, "{bad:?}");
    assert_eq!(bad.headers["grpc-status"], "16", "exposed: {bad:?}");
    assert_eq!(
        bad.grpc_status.as_deref(),
        Some("16"),
        "response.headers.get('grpc-status') from the script: {bad:?}"
    );
    assert!(
        bad.grpc_message
            .as_deref()
            .is_some_and(|m| m.contains("Errors.Token.Invalid")),
        "{bad:?}"
    );
    assert!(bad.body.is_empty(), "{bad:?}");
}

/// The browser and the driver behind it, with what explains a failure.
struct Session {
    browser: Browser,
    driver: Chromedriver,
}

impl Session {
    async fn open(driver: Chromedriver, chromium: &Path) -> Session {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": CHROMIUM_ARGS}),
        );
        // The page's console, read back when a step fails.
        capabilities.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        capabilities.insert(
            "timeouts".into(),
            json!({"pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64}),
        );
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let browser = match builder.connect(&driver.url).await {
            Ok(browser) => browser,
            Err(error) => panic!(
                "no Chromium session: {error}\nchromedriver log:\n{}",
                driver.log_tail()
            ),
        };
        Session { browser, driver }
    }

    /// Adds a CTAP2 platform authenticator with resident keys and user verification that
    /// always succeeds; returns its ID.
    async fn add_virtual_authenticator(&self) -> String {
        let id = self
            .extension(
                Method::POST,
                "webauthn/authenticator".to_owned(),
                Some(json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserVerified": true,
                })),
            )
            .await;
        match id.as_str() {
            Some(id) => id.to_owned(),
            None => self.fail(&format!("authenticator ID {id:?}")).await,
        }
    }

    /// The credentials the virtual authenticator holds.
    async fn credentials(&self, authenticator: &str) -> Vec<Value> {
        let list = self
            .extension(
                Method::GET,
                format!("webauthn/authenticator/{authenticator}/credentials"),
                None,
            )
            .await;
        match list {
            Value::Array(list) => list,
            other => self.fail(&format!("credentials {other:?}")).await,
        }
    }

    async fn extension(&self, method: Method, path: String, body: Option<Value>) -> Value {
        let command = Extension { method, path, body };
        let shown = format!("{command:?}");
        match self.browser.issue_cmd(command).await {
            Ok(value) => value,
            Err(error) => self.fail(&format!("{shown}: {error}")).await,
        }
    }

    async fn goto(&self, url: &str) {
        if let Err(error) = self.browser.goto(url).await {
            self.fail(&format!("navigation failed: {error}")).await;
        }
    }

    async fn wait_for_element(&self, css: &str) -> fantoccini::elements::Element {
        let browser = &self.browser;
        let found = poll(|| async move { browser.find(Locator::Css(css)).await.ok() }).await;
        match found {
            Some(element) => element,
            None => self.fail(&format!("no {css} within {WAIT:?}")).await,
        }
    }

    /// Waits until the visible text of `css` passes `accept` (`expected` says what it wants);
    /// returns it.
    async fn wait_for_text(
        &self,
        css: &str,
        expected: &str,
        accept: impl Fn(&str) -> bool,
    ) -> String {
        let browser = &self.browser;
        let accept = &accept;
        let text = |css| async move {
            browser
                .find(Locator::Css(css))
                .await
                .ok()?
                .text()
                .await
                .ok()
        };
        let found = poll(|| async move { text(css).await.filter(|t| accept(t)) }).await;
        match found {
            Some(found) => found,
            None => {
                let last = text(css).await;
                self.fail(&format!(
                    "{css}: no {expected} within {WAIT:?}, last seen {last:?}"
                ))
                .await
            }
        }
    }

    async fn wait_for_heading(&self, heading: &str) {
        self.wait_for_text("h1", &format!("heading {heading:?}"), |text| {
            text == heading
        })
        .await;
    }

    /// Opens a link's registration page, names the device and presses the button.
    async fn register(&self, link: &str, name: &str) {
        self.goto(link).await;
        self.wait_for_heading("Passwordless setup").await;
        self.wait_for_element("#name")
            .await
            .send_keys(name)
            .await
            .unwrap();
        self.wait_for_element("#btn-register")
            .await
            .click()
            .await
            .unwrap();
    }

    async fn body_text(&self) -> String {
        match self.browser.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(error) => self.fail(&format!("no body: {error}")).await,
        }
    }

    async fn screenshot(&self, path: &Path) {
        match self.browser.screenshot().await {
            Ok(png) => std::fs::write(path, png)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display())),
            Err(error) => self.fail(&format!("screenshot: {error}")).await,
        }
    }

    /// `fetch(url, {method: "POST", headers, body})` from the current page; what the script
    /// could read of the answer.
    async fn fetch(&self, url: &str, headers: Value, body: &[u8]) -> Fetched {
        const SCRIPT: &str = r#"
            const [url, headers, body, done] = arguments;
            fetch(url, {method: "POST", mode: "cors", headers, body: new Uint8Array(body)})
              .then(async (response) => {
                const seen = {};
                response.headers.forEach((value, name) => { seen[name] = value; });
                done({
                  status: response.status,
                  headers: seen,
                  grpcStatus: response.headers.get("grpc-status"),
                  grpcMessage: response.headers.get("grpc-message"),
                  body: Array.from(new Uint8Array(await response.arrayBuffer())),
                });
              }, (error) => done({error: String(error)}));
        "#;
        let args = vec![json!(url), headers, json!(body)];
        let answer = match self.browser.execute_async(SCRIPT, args).await {
            Ok(answer) => answer,
            Err(error) => self.fail(&format!("fetch {url}: {error}")).await,
        };
        if let Some(error) = answer.get("error") {
            self.fail(&format!("fetch {url} failed in the browser: {error}"))
                .await;
        }
        let text = |key: &str| answer[key].as_str().map(str::to_owned);
        Fetched {
            status: answer["status"].as_u64().unwrap_or_default(),
            headers: answer["headers"].clone(),
            grpc_status: text("grpcStatus"),
            grpc_message: text("grpcMessage"),
            body: answer["body"]
                .as_array()
                .map(|bytes| {
                    bytes
                        .iter()
                        .map(|b| b.as_u64().unwrap_or_default() as u8)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Panics with `what` and everything that explains it: the page's URL, text and HTML, the
    /// browser's console, the tail of chromedriver's log.
    async fn fail(&self, what: &str) -> ! {
        let url = self
            .browser
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| format!("({e})"));
        let text = match self.browser.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_else(|e| format!("({e})")),
            Err(error) => format!("({error})"),
        };
        let html = self
            .browser
            .source()
            .await
            .unwrap_or_else(|e| format!("({e})"));
        let console = self
            .browser
            .issue_cmd(Extension {
                method: Method::POST,
                path: "se/log".to_owned(),
                body: Some(json!({"type": "browser"})),
            })
            .await
            .map(|log| log.to_string())
            .unwrap_or_else(|e| format!("({e})"));
        panic!(
            "{what}\n--- page {url}\n--- text:\n{text}\n--- HTML:\n{html}\n--- console:\n{console}\n\
             --- chromedriver log (tail):\n{}",
            self.driver.log_tail()
        );
    }

    /// Ends the WebDriver session (chromedriver quits Chromium).
    async fn close(self) {
        let Session { browser, driver } = self;
        if let Err(error) = browser.close().await {
            panic!(
                "closing the session: {error}\nchromedriver log:\n{}",
                driver.log_tail()
            );
        }
    }
}

/// What a script could read of a `fetch` answer.
#[derive(Debug)]
struct Fetched {
    status: u64,
    /// The headers visible to the script (CORS-safelisted or exposed).
    headers: Value,
    grpc_status: Option<String>,
    grpc_message: Option<String>,
    body: Vec<u8>,
}

impl Fetched {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// One of ChromeDriver's extension commands (`/session/{id}/{path}`).
#[derive(Debug)]
struct Extension {
    method: Method,
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for Extension {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// A chromedriver we started, on a port of its own; killed (with the Chromium it started) on drop.
struct Chromedriver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Chromedriver {
    async fn start(binary: &Path, log: PathBuf) -> Chromedriver {
        let _ = std::fs::remove_file(&log);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let mut command = Command::new(binary);
        command
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that drop ends Chromium too when the session never closed.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let mut driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let status = format!("{}/status", driver.url);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(reply) = get(&status).await
                && reply.status == 200
                && reply.try_json().is_ok_and(|s| s["value"]["ready"] == true)
            {
                return driver;
            }
            if let Ok(Some(exit)) = driver.child.try_wait() {
                panic!("chromedriver exited ({exit}):\n{}", driver.log_tail());
            }
            if Instant::now() >= deadline {
                panic!(
                    "chromedriver not ready within {WAIT:?}:\n{}",
                    driver.log_tail()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The last lines of its log.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium it started (by the group's ID, ours).
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The page on another origin (`127.0.0.1`, while the mock is `localhost`) for step 7.
struct OtherOrigin {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl OtherOrigin {
    async fn start() -> OtherOrigin {
        const PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                            <title>Another origin</title></head><body><h1>Another origin</h1>\
                            </body></html>";
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(|| async { axum::response::Html(PAGE) }),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        OtherOrigin { url, task }
    }
}

impl Drop for OtherOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where Chromium and chromedriver are.
struct BrowserTools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

/// Both tools from PATH; `None` (after saying why) when one is missing, a panic under CI.
fn browser_tools() -> Option<BrowserTools> {
    let chromium = on_path("chromium");
    let chromedriver = on_path("chromedriver");
    if let (Some(chromium), Some(chromedriver)) = (&chromium, &chromedriver) {
        return Some(BrowserTools {
            chromium: chromium.clone(),
            chromedriver: chromedriver.clone(),
        });
    }
    let missing: Vec<&str> = [("chromium", &chromium), ("chromedriver", &chromedriver)]
        .into_iter()
        .filter(|(_, path)| path.is_none())
        .map(|(name, _)| name)
        .collect();
    let reason = format!("{} not on PATH", missing.join(" and "));
    // As the other tool-backed tests: skip locally, fail in CI (any `CI` but empty, 0 or false).
    if std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false")) {
        panic!("CI is set but {reason}: run .ci/install-tools");
    }
    eprintln!("SKIPPED: {reason}; run .ci/install-tools (Debian: chromium, chromium-driver)");
    None
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `$CARGO_TARGET_DIR/browser-test` (else the workspace's `target/browser-test`), created.
fn artifacts_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let dir = target.join("browser-test");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir.canonicalize().unwrap_or(dir)
}

/// A credential ID (base64url or base64, padded or not) as bytes.
fn base64url_bytes(text: &str) -> Vec<u8> {
    let normalised: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD
        .decode(normalised)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Runs `probe` until it gives a value, for at most [`WAIT`].
async fn poll<T, F, Fut>(mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}
