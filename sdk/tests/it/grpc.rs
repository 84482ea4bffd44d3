//! gRPC over HTTP/2 (h2c) against a scripted h2 server: the happy path, the wire format, and
//! every hostile answer the issue lists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use zitadel_passkey::{Client, Code, RetryPolicy, Transport};

fn client(url: &str) -> Client {
    Client::builder(url)
        .transport(Transport::Grpc)
        .token(TOKEN)
        .org_id("165947650742997249")
        .accept_language("de")
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn add_link_over_h2c_sends_the_contract_headers() {
    let fake = H2Fake::always(ok_steps(&link_response())).await;
    let link = client(&fake.url()).add_passkey_link().await.unwrap();
    assert_eq!(link.url(), LINK);
    assert_eq!(link.user_id(), "182156264229306625");
    assert_eq!(link.org_id(), "165947650742997249");
    assert_eq!(link.code_id(), "200949504189388947");
    assert_eq!(link.expires_in(), Duration::from_secs(3600));
    assert_eq!(link.details().sequence, 2);
    let seen = &fake.requests()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.path,
        "/zitadel.auth.v1.AuthService/AddMyPasswordlessLink"
    );
    let header = |name: &str| {
        seen.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/grpc"));
    assert_eq!(header("te").as_deref(), Some("trailers"));
    assert_eq!(header("authorization"), Some(format!("Bearer {TOKEN}")));
    assert_eq!(
        header("x-zitadel-orgid").as_deref(),
        Some("165947650742997249")
    );
    assert_eq!(header("accept-language").as_deref(), Some("de"));
    assert!(
        header("user-agent")
            .unwrap()
            .starts_with("zitadel-passkey-rust/")
    );
    let timeout = header("grpc-timeout").unwrap();
    assert!(
        timeout.ends_with('m') || timeout.ends_with('u'),
        "{timeout}"
    );
    // An empty request message: a 5-byte frame of length 0, with its length (allowed on
    // HTTP/2; grpc-go reads the frames and does not need it).
    assert_eq!(&seen.body[..], &[0, 0, 0, 0, 0]);
    assert_eq!(header("content-length").as_deref(), Some("5"));
}

#[tokio::test]
async fn an_endpoint_with_a_path_puts_it_before_the_method() {
    let fake = H2Fake::always(ok_steps(&link_response())).await;
    for endpoint in ["/base", "/base/"] {
        client(&format!("{}{endpoint}", fake.url()))
            .add_passkey_link()
            .await
            .unwrap();
    }
    for seen in fake.requests() {
        assert_eq!(
            seen.path,
            "/base/zitadel.auth.v1.AuthService/AddMyPasswordlessLink"
        );
    }
}

#[tokio::test]
async fn one_connection_is_shared_by_calls_and_clones() {
    let fake = H2Fake::always(ok_steps(&link_response())).await;
    let client = client(&fake.url());
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.add_passkey_link().await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    client.add_passkey_link().await.unwrap();
    assert_eq!(fake.requests().len(), 5);
    assert_eq!(fake.connections.load(Ordering::SeqCst), 1);
}

fn with_retries(url: &str, sleep: RecordingSleep) -> Client {
    Client::builder(url)
        .transport(Transport::Grpc)
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_sleep(sleep),
        )
        .build()
        .unwrap()
}

async fn add_error(steps: Vec<Step>) -> zitadel_passkey::Error {
    let fake = H2Fake::always(steps).await;
    client(&fake.url()).add_passkey_link().await.unwrap_err()
}

#[tokio::test]
async fn zitadel_errors_carry_code_message_and_error_id_padded_or_not() {
    let bytes = status_bytes(
        16,
        "Errors.Token.Invalid (AUTH-7fs1e)",
        "AUTH-7fs1e",
        "Errors.Token.Invalid",
    );
    for details in [b64(&bytes), b64_unpadded(&bytes)] {
        let error = add_error(error_steps(vec![
            ("grpc-status", "16".into()),
            ("grpc-message", "Errors.Token.Invalid%20(AUTH-7fs1e)".into()),
            ("grpc-status-details-bin", details),
        ]))
        .await;
        assert_eq!(error.code(), Code::Unauthenticated);
        assert_eq!(error.error_id(), Some("AUTH-7fs1e"));
        assert_eq!(error.message(), "Errors.Token.Invalid");
        assert_eq!(
            error.to_string(),
            "UNAUTHENTICATED (AUTH-7fs1e): Errors.Token.Invalid"
        );
        assert_eq!(error.transport(), Some(Transport::Grpc));
        assert!(!error.is_outcome_unknown());
        assert!(!error.is_timeout());
    }
}

#[tokio::test]
async fn an_error_in_the_trailers_after_headers_is_read_too() {
    let mut trailers = error_headers(
        7,
        Some(("AUTH-Bs7Ds", "Organisation doesn't exist")),
        "Organisation doesn't exist (AUTH-Bs7Ds)",
    );
    trailers.retain(|(k, _)| *k != "content-type");
    let error = add_error(vec![
        Step::Headers(
            200,
            vec![("content-type", "application/grpc".into())],
            false,
        ),
        Step::Trailers(trailers),
    ])
    .await;
    assert_eq!(error.code(), Code::PermissionDenied);
    assert_eq!(error.error_id(), Some("AUTH-Bs7Ds"));
    assert_eq!(error.message(), "Organisation doesn't exist");
}

#[tokio::test]
async fn invalid_base64_details_do_not_panic_and_keep_the_status() {
    for bad in ["!!!not base64!!!", "YWJj=", "====", "YQ=\"x"] {
        let error = add_error(error_steps(vec![
            ("grpc-status", "16".into()),
            ("grpc-message", "invalid%20auth%20header".into()),
            ("grpc-status-details-bin", bad.into()),
        ]))
        .await;
        assert_eq!(error.code(), Code::Unauthenticated, "{bad}");
        assert_eq!(error.message(), "invalid auth header");
        assert_eq!(error.error_id(), None);
    }
    // In trailers as well.
    let error = add_error(vec![
        Step::Headers(
            200,
            vec![("content-type", "application/grpc".into())],
            false,
        ),
        Step::Trailers(vec![
            ("grpc-status", "5".into()),
            ("grpc-status-details-bin", "%%%".into()),
        ]),
    ])
    .await;
    assert_eq!(error.code(), Code::NotFound);
}

fn ok_head() -> Step {
    Step::Headers(
        200,
        vec![("content-type", "application/grpc".into())],
        false,
    )
}

fn status_ok() -> Step {
    Step::Trailers(vec![("grpc-status", "0".into())])
}

fn assert_malformed(error: &zitadel_passkey::Error, what: &str) {
    assert!(error.is_outcome_unknown(), "{what}: {error:?}");
    assert!(!error.is_not_sent(), "{what}");
    assert!(!error.is_timeout(), "{what}: {error:?}");
    assert_eq!(error.transport(), Some(Transport::Grpc), "{what}");
}

#[tokio::test]
async fn hostile_framing_becomes_a_typed_error() {
    let message = message_frame(&link_response());
    let mut two = message.clone();
    two.extend(message.clone());
    let cases: Vec<(&str, Vec<Step>)> = vec![
        (
            "truncated then status",
            vec![
                ok_head(),
                Step::Data(message[..10].to_vec(), false),
                status_ok(),
            ],
        ),
        (
            "truncated then end",
            vec![ok_head(), Step::Data(message[..10].to_vec(), true)],
        ),
        (
            "truncated header",
            vec![ok_head(), Step::Data(vec![0, 0], false), status_ok()],
        ),
        (
            "two messages",
            vec![ok_head(), Step::Data(two, false), status_ok()],
        ),
        (
            "no status at all",
            vec![ok_head(), Step::Data(message.clone(), true)],
        ),
        (
            "non-numeric status",
            vec![
                ok_head(),
                Step::Data(message.clone(), false),
                Step::Trailers(vec![("grpc-status", "zero".into())]),
            ],
        ),
        (
            "empty status",
            vec![
                ok_head(),
                Step::Data(message.clone(), false),
                Step::Trailers(vec![("grpc-status", "".into())]),
            ],
        ),
        (
            "non-numeric trailers-only status",
            error_steps(vec![("grpc-status", "sixteen".into())]),
        ),
        ("no message", vec![ok_head(), status_ok()]),
        (
            // A status in the head ends the answer: what follows it is not read.
            "success in the head, message after it",
            vec![
                Step::Headers(
                    200,
                    vec![
                        ("content-type", "application/grpc".into()),
                        ("grpc-status", "0".into()),
                    ],
                    false,
                ),
                Step::Data(message.clone(), false),
                status_ok(),
            ],
        ),
        (
            "two statuses",
            vec![
                ok_head(),
                Step::Data(message.clone(), false),
                Step::Trailers(vec![
                    ("grpc-status", "0".into()),
                    ("grpc-status", "7".into()),
                ]),
            ],
        ),
        (
            "not protobuf",
            vec![
                ok_head(),
                Step::Data(frame(0, &[0xff, 0xff, 0xff]), false),
                status_ok(),
            ],
        ),
        (
            "compressed without negotiation",
            vec![
                ok_head(),
                Step::Data(frame(1, &[1, 2, 3]), false),
                status_ok(),
            ],
        ),
        (
            "web trailer frame in gRPC",
            vec![
                ok_head(),
                Step::Data(message.clone(), false),
                Step::Data(frame(0x80, b"grpc-status: 0\r\n"), false),
                status_ok(),
            ],
        ),
        (
            "html from a proxy",
            vec![
                Step::Headers(200, vec![("content-type", "text/html".into())], false),
                Step::Data(b"<html>".to_vec(), true),
            ],
        ),
    ];
    for (what, steps) in cases {
        let error = add_error(steps).await;
        assert_malformed(&error, what);
    }
}

// Real time on purpose (here and in the deadline test below): the client talks to the fake over a
// real socket, and a paused tokio clock jumps to the next timer whenever no socket is ready at
// that instant, which could fire the client's deadline before the fake's bytes were read.
#[tokio::test]
async fn a_4_gib_length_prefix_fails_at_once() {
    let started = Instant::now();
    let error = add_error(vec![
        ok_head(),
        Step::Data(vec![0, 0xff, 0xff, 0xff, 0xff], false),
        Step::Hang,
    ])
    .await;
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    assert!(error.is_outcome_unknown());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn out_of_range_duration_or_timestamp_is_an_error() {
    let mut response = link_response();
    response.expiration = Some(zitadel_passkey::wkt::Duration {
        seconds: i64::MAX,
        nanos: 0,
    });
    let error = add_error(ok_steps(&response)).await;
    assert_malformed(&error, "duration");
    let mut response = link_response();
    response.details.as_mut().unwrap().creation_date = Some(zitadel_passkey::wkt::Timestamp {
        seconds: 0,
        nanos: -5,
    });
    let error = add_error(ok_steps(&response)).await;
    assert_malformed(&error, "timestamp");
}

#[tokio::test]
async fn a_proxy_error_without_grpc_status_is_outcome_unknown() {
    for status in [502u16, 503, 504] {
        let error = add_error(vec![Step::Headers(
            status,
            vec![("content-type", "text/plain".into())],
            true,
        )])
        .await;
        assert!(error.is_outcome_unknown(), "{status}");
        assert_eq!(error.http_status(), Some(status));
    }
}

#[tokio::test]
async fn the_deadline_ends_the_call_when_the_server_hangs_or_drips() {
    for steps in [
        vec![Step::Hang],
        vec![ok_head(), Step::Drip(Duration::from_millis(20))],
    ] {
        let fake = H2Fake::always(steps).await;
        let client = client(&fake.url());
        let started = Instant::now();
        let error = client
            .add_passkey_link_with(
                zitadel_passkey::CallOptions::new().timeout(Duration::from_millis(300)),
            )
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(error.is_timeout(), "{error:?}");
        assert!(error.is_outcome_unknown());
        assert_eq!(error.code(), Code::DeadlineExceeded);
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        // The server holds its answer far longer: ending within a few seconds shows the 300 ms
        // deadline ended the call. How late a timer fires on a loaded machine is not behaviour
        // (the client's paused-clock test pins the deadline exactly).
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        let sent = fake.requests()[0]
            .headers
            .get("grpc-timeout")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let sent = grpc_timeout(&sent).unwrap_or_else(|| panic!("grpc-timeout {sent:?}"));
        assert!(sent <= Duration::from_millis(300), "{sent:?}");
        assert!(sent > Duration::from_millis(200), "{sent:?}");
    }
}

/// A timeout longer than `grpc-timeout` can say (tonic's own writer panics there) is sent as the
/// longest one there is.
#[tokio::test]
async fn a_timeout_of_millennia_is_sent_as_the_longest_there_is() {
    let fake = H2Fake::always(ok_steps(&link_response())).await;
    let twenty_thousand_years = Duration::from_secs(20_000 * 365 * 86_400);
    client(&fake.url())
        .add_passkey_link_with(zitadel_passkey::CallOptions::new().timeout(twenty_thousand_years))
        .await
        .unwrap();
    let sent = fake.requests()[0].headers.get("grpc-timeout").cloned();
    assert_eq!(
        sent.as_ref().and_then(|v| v.to_str().ok()),
        Some("99999999H")
    );
}

#[tokio::test]
async fn a_reset_after_sending_is_never_retried() {
    let sleep = RecordingSleep::default();
    let fake = H2Fake::always(vec![ok_head(), Step::Reset(h2::Reason::INTERNAL_ERROR)]).await;
    let error = with_retries(&fake.url(), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(fake.requests().len(), 1);
    assert!(sleep.waits.lock().unwrap().is_empty());
    // Reset before the response head: the same.
    let fake = H2Fake::always(vec![Step::Reset(h2::Reason::CANCEL)]).await;
    let error = with_retries(&fake.url(), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_stream_is_retried_then_succeeds() {
    let sleep = RecordingSleep::default();
    let fake = H2Fake::start(|index, _| {
        if index == 0 {
            vec![Step::Reset(h2::Reason::REFUSED_STREAM)]
        } else {
            ok_steps(&link_response())
        }
    })
    .await;
    let link = with_retries(&fake.url(), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap();
    assert_eq!(link.url(), LINK);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(sleep.waits.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_goaway_not_covering_the_stream_is_retried_one_covering_it_is_not() {
    let sleep = RecordingSleep::default();
    let (addr, requests) = goaway_server(0).await;
    let error = with_retries(&format!("http://{addr}"), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap_err();
    assert!(error.is_not_sent(), "{error:?}");
    assert!(!error.is_outcome_unknown());
    assert_eq!(requests.load(Ordering::SeqCst), 3, "three attempts");
    assert_eq!(sleep.waits.lock().unwrap().len(), 2);

    let sleep = RecordingSleep::default();
    let (addr, requests) = goaway_server(1).await;
    let error = with_retries(&format!("http://{addr}"), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(requests.load(Ordering::SeqCst), 1, "no retry");
}

#[tokio::test]
async fn connection_refused_is_retried_and_succeeds_once_the_server_is_up() {
    let addr = dead_port().await;
    let started = std::sync::Arc::new(tokio::sync::OnceCell::new());
    let cell = started.clone();
    let sleep = RecordingSleep::with_hook(move || {
        let cell = cell.clone();
        Box::pin(async move {
            cell.get_or_init(|| H2Fake::start_on(addr, |_, _| ok_steps(&link_response())))
                .await;
        })
    });
    let link = with_retries(&format!("http://{addr}"), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap();
    assert_eq!(link.code_id(), "200949504189388947");
    assert_eq!(sleep.waits.lock().unwrap().len(), 1);
    assert_eq!(started.get().unwrap().requests().len(), 1);
}

#[tokio::test]
async fn connection_refused_without_a_server_gives_up_after_the_policy() {
    let addr = dead_port().await;
    let sleep = RecordingSleep::default();
    let error = with_retries(&format!("http://{addr}"), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap_err();
    assert!(error.is_not_sent(), "{error:?}");
    assert_eq!(error.code(), Code::Unavailable);
    assert_eq!(sleep.waits.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_proxy_5xx_carrying_a_grpc_status_is_outcome_unknown_not_a_rejection() {
    // A gRPC server answers every status with HTTP 200; a 5xx with `grpc-status: 16` came from
    // something in between that may have forwarded the request. Taking it for ZITADEL's
    // rejection would refresh the token and send the non-idempotent call again.
    for status in [502u16, 503] {
        let mut headers = vec![("content-type", "application/grpc".to_owned())];
        headers.extend(error_headers(16, None, "upstream auth failed"));
        let error = add_error(vec![Step::Headers(status, headers, true)]).await;
        assert!(error.is_outcome_unknown(), "{status}: {error:?}");
        assert_ne!(error.code(), Code::Unauthenticated, "{status}");
        assert_eq!(error.http_status(), Some(status));
    }
}

/// An HTTP/2 peer that answers the handshake and then vanishes: it reads whatever comes and
/// writes nothing more, not even the acknowledgement of a PING. On threads of its own, outside
/// the test's runtime and its paused clock. Counts the connections it accepted.
fn vanishing_h2_peer() -> (String, Arc<AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                // Its SETTINGS (empty) and the acknowledgement of the client's.
                let handshake = [0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0];
                let _ = socket.write_all(&handshake);
                let mut sink = [0u8; 4096];
                while matches!(socket.read(&mut sink), Ok(read) if read > 0) {}
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), accepted)
}

/// One call of `client`, which must fail; returns its error and how long it took.
async fn call_until_it_ends(client: &Client) -> (zitadel_passkey::Error, Duration) {
    let started = tokio::time::Instant::now();
    // A call left hanging fails the test when the paused clock reaches ten minutes.
    let error = tokio::time::timeout(Duration::from_secs(600), client.add_passkey_link())
        .await
        .expect("the call still hangs after 600 s")
        .unwrap_err();
    (error, started.elapsed())
}

fn vanishing_peer_client(url: &str, deadline: Option<Duration>) -> Client {
    let builder = Client::builder(url)
        .transport(Transport::Grpc)
        .token(TOKEN)
        .retry_policy(RetryPolicy::none());
    match deadline {
        Some(deadline) => builder.timeout(deadline),
        None => builder.no_timeout(),
    }
    .build()
    .unwrap()
}

// Paused time, which moves whenever the client waits: the keep-alive's 30 s and 10 s and the
// deadline pass at once, and exactly.
#[tokio::test(start_paused = true)]
async fn keep_alive_pings_end_calls_to_a_vanished_peer_and_the_next_call_reconnects() {
    // Without a deadline, or with a long one: on a connection that read nothing for 30 s, a
    // PING; 10 s without its answer close the connection and fail its call.
    for deadline in [None, Some(Duration::from_secs(120))] {
        let (url, accepted) = vanishing_h2_peer();
        let client = vanishing_peer_client(&url, deadline);
        for call in 1..=2 {
            let (error, elapsed) = call_until_it_ends(&client).await;
            assert!(error.is_outcome_unknown(), "{deadline:?}: {error:?}");
            assert!(!error.is_timeout(), "{deadline:?}: {error:?}");
            assert_eq!(elapsed.as_secs(), 40, "{deadline:?}: {elapsed:?}");
            // The closed connection is not reused: each call opened its own.
            assert_eq!(accepted.load(Ordering::SeqCst), call, "{deadline:?}");
        }
    }
    // The default deadline (30 s) ends a call on a fresh connection first.
    let (url, _) = vanishing_h2_peer();
    let client = vanishing_peer_client(&url, Some(zitadel_passkey::DEFAULT_TIMEOUT));
    let (error, elapsed) = call_until_it_ends(&client).await;
    assert!(error.is_timeout(), "{error:?}");
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(elapsed.as_secs(), 30, "{elapsed:?}");
}
