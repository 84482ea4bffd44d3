//! Every error of docs/wire-contract.md §3 over every transport: code, id, message, details, HTTP status,
//! `WWW-Authenticate`.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::{Code, Fault, MockServer, Transport};

const USER: &str = "218000000000000001";
const ORG: &str = "318000000000000001";

async fn add(
    mock: &MockServer,
    via: Via,
    headers: &[(&'static str, &str)],
) -> Result<AddMyPasswordlessLinkResponse, CallError> {
    call(
        &mock.uri(),
        via,
        ADD,
        AddMyPasswordlessLinkRequest {},
        headers,
        "",
    )
    .await
}

fn check(error: &CallError, via: Via, code: i32, id: Option<&str>, message: &str, http: u16) {
    assert_eq!(error.code, code, "{via:?}: {error:?}");
    assert_eq!(error.id(), id, "{via:?}");
    match id {
        Some(id) => {
            assert_eq!(error.message, format!("{message} ({id})"), "{via:?}");
            assert_eq!(error.detail.as_ref().unwrap().message, message, "{via:?}");
        }
        None => assert_eq!(error.message, message, "{via:?}"),
    }
    if matches!(via, Via::JsonH1 | Via::JsonH2) {
        assert_eq!(error.http_status, Some(http), "{via:?}");
        if code == 16 {
            let challenge = error
                .www_authenticate
                .as_deref()
                .expect("WWW-Authenticate on 401");
            // grpc-gateway's default error handler: the status message, not a challenge.
            assert_eq!(challenge, error.message, "{via:?}");
        } else {
            assert!(error.www_authenticate.is_none());
        }
    }
}

#[tokio::test]
async fn missing_auth_header() {
    let mock = MockServer::start().await.unwrap();
    for via in ALL_VIAS {
        let error = add(&mock, via, &[]).await.unwrap_err();
        check(&error, via, 16, None, "auth header missing", 401);
        assert!(error.detail.is_none());
    }
    assert!(mock.live_codes().is_empty());
    for entry in mock.journal() {
        assert_eq!(entry.code, Some(Code::Unauthenticated));
        assert_eq!(entry.error_id, None);
        assert_eq!(entry.token_fingerprint, None);
    }
}

#[tokio::test]
async fn malformed_auth_header() {
    let mock = MockServer::start().await.unwrap();
    for header in [
        "Basic dXNlcjpwdw==",
        "bearer abc",
        "Bearer",
        "BEARER abc",
        "Token abc",
        "Bearerabc",
        "Bearer a Bearer b",
        "Bearer Bearer abc",
    ] {
        for via in ALL_VIAS {
            let error = add(&mock, via, &[("authorization", header)])
                .await
                .unwrap_err();
            check(
                &error,
                via,
                16,
                Some("AUTH-7fs1e"),
                "invalid auth header",
                401,
            );
        }
    }
    assert!(mock.live_codes().is_empty());
}

#[tokio::test]
async fn invalid_tokens() {
    // Strict: only configured tokens.
    let mock = MockServer::builder()
        .strict(true)
        .user("good", USER, ORG)
        .start()
        .await
        .unwrap();
    for via in ALL_VIAS {
        let error = add(&mock, via, &[("authorization", "Bearer unknown")])
            .await
            .unwrap_err();
        check(
            &error,
            via,
            16,
            Some("AUTH-7fs1e"),
            "Errors.Token.Invalid",
            401,
        );
        add(&mock, via, &[("authorization", "Bearer good")])
            .await
            .unwrap();
    }
    // Non-strict: tokens that are not well-formed.
    let mock = MockServer::start().await.unwrap();
    for header in ["Bearer a b", "Bearer  x", "Bearer \u{7f}x"] {
        for via in ALL_VIAS {
            let Ok(value) = http::HeaderValue::from_str(header) else {
                continue;
            };
            let value = value.to_str().unwrap().to_owned();
            let error = add(&mock, via, &[("authorization", &value)])
                .await
                .unwrap_err();
            check(
                &error,
                via,
                16,
                Some("AUTH-7fs1e"),
                "Errors.Token.Invalid",
                401,
            );
        }
    }
    let long = format!("Bearer {}", "x".repeat(9000));
    let error = add(&mock, Via::JsonH1, &[("authorization", &long)])
        .await
        .unwrap_err();
    check(
        &error,
        Via::JsonH1,
        16,
        Some("AUTH-7fs1e"),
        "Errors.Token.Invalid",
        401,
    );
}

#[tokio::test]
async fn unknown_organisation() {
    let mock = MockServer::builder()
        .user("tok", USER, ORG)
        .start()
        .await
        .unwrap();
    for via in ALL_VIAS {
        let error = add(
            &mock,
            via,
            &[
                ("authorization", "Bearer tok"),
                ("x-zitadel-orgid", "999999999999999999"),
            ],
        )
        .await
        .unwrap_err();
        check(
            &error,
            via,
            7,
            Some("AUTH-Bs7Ds"),
            "Organisation doesn't exist",
            403,
        );
        // A known org (any org the mock knows) is accepted and does not change the link's orgID.
        let ok = add(
            &mock,
            via,
            &[
                ("authorization", "Bearer tok"),
                (
                    "x-zitadel-orgid",
                    zitadel_passkey_mock::state::DEFAULT_ORG_ID,
                ),
            ],
        )
        .await
        .unwrap();
        assert_eq!(link_params(&ok.link)["orgID"], ORG);
    }
    let journal = mock.journal();
    assert_eq!(journal[0].org_id.as_deref(), Some("999999999999999999"));
    assert_eq!(journal[0].code, Some(Code::PermissionDenied));
    assert_eq!(journal[0].error_id.as_deref(), Some("AUTH-Bs7Ds"));
}

#[tokio::test]
async fn token_without_user() {
    let mock = MockServer::builder()
        .user("service", "", ORG)
        .start()
        .await
        .unwrap();
    for via in ALL_VIAS {
        let error = add(&mock, via, &[("authorization", "Bearer service")])
            .await
            .unwrap_err();
        check(
            &error,
            via,
            9,
            Some("COMMAND-GVfg3"),
            "Errors.IDMissing",
            400,
        );
    }
}

#[tokio::test]
async fn checks_run_in_contract_order() {
    let mock = MockServer::builder()
        .strict(true)
        .user("service", "", ORG)
        .start()
        .await
        .unwrap();
    // A bad token wins over a bad org; a bad org wins over a missing user ID.
    let error = add(
        &mock,
        Via::Grpc,
        &[("authorization", "Bearer nope"), ("x-zitadel-orgid", "1")],
    )
    .await
    .unwrap_err();
    assert_eq!(error.id(), Some("AUTH-7fs1e"));
    let error = add(
        &mock,
        Via::Grpc,
        &[
            ("authorization", "Bearer service"),
            ("x-zitadel-orgid", "1"),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(error.id(), Some("AUTH-Bs7Ds"));
}

#[tokio::test]
async fn every_rpc_checks_auth() {
    let mock = MockServer::start().await.unwrap();
    for via in ALL_VIAS {
        let e = call::<_, SendMyPasswordlessLinkResponse>(
            &mock.uri(),
            via,
            SEND,
            SendMyPasswordlessLinkRequest {},
            &[],
            "",
        )
        .await
        .unwrap_err();
        check(&e, via, 16, None, "auth header missing", 401);
        let e = call::<_, ListMyPasswordlessResponse>(
            &mock.uri(),
            via,
            LIST,
            ListMyPasswordlessRequest {},
            &[("authorization", "Basic x")],
            "",
        )
        .await
        .unwrap_err();
        check(&e, via, 16, Some("AUTH-7fs1e"), "invalid auth header", 401);
        let e = call::<_, RemoveMyPasswordlessResponse>(
            &mock.uri(),
            via,
            REMOVE,
            RemoveMyPasswordlessRequest {
                token_id: "1".into(),
            },
            &[("authorization", "Bearer t"), ("x-zitadel-orgid", "x")],
            "1",
        )
        .await
        .unwrap_err();
        check(
            &e,
            via,
            7,
            Some("AUTH-Bs7Ds"),
            "Organisation doesn't exist",
            403,
        );
    }
    assert!(mock.outbox().is_empty());
}

#[tokio::test]
async fn scripted_errors_look_like_zitadel_errors() {
    let mock = MockServer::start().await.unwrap();
    for via in ALL_VIAS {
        mock.push_fault(Fault::error(
            Code::Unavailable,
            "MOCK-down",
            "Errors.Internal",
        ));
        let error = add(&mock, via, &[("authorization", "Bearer t")])
            .await
            .unwrap_err();
        check(&error, via, 14, Some("MOCK-down"), "Errors.Internal", 503);
        mock.push_fault(Fault::error(Code::ResourceExhausted, "", "quota exceeded"));
        let error = add(&mock, via, &[("authorization", "Bearer t")])
            .await
            .unwrap_err();
        check(&error, via, 8, None, "quota exceeded", 429);
    }
    assert!(
        mock.live_codes().is_empty(),
        "an injected error runs no handler"
    );
    let journal = mock.journal();
    assert_eq!(journal[0].fault, Some("error"));
    assert_eq!(journal[0].code, Some(Code::Unavailable));
    assert_eq!(journal[0].error_id.as_deref(), Some("MOCK-down"));
    let _ = Transport::Grpc;
}

#[tokio::test]
async fn grpc_web_errors_come_trailers_only_with_200() {
    let mock = MockServer::start().await.unwrap();
    let reply = send(
        mock.local_addr(),
        http::Version::HTTP_11,
        http::Method::POST,
        ADD_PATH,
        &[
            ("content-type", "application/grpc-web+proto"),
            ("authorization", "Bearer a b"),
        ],
        message_frame(&AddMyPasswordlessLinkRequest {}),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200);
    let web = parse_grpc_web(&reply);
    assert!(web.trailers_only, "{reply:?}");
    let status = grpc_status(&web.trailers);
    assert_eq!(status.code, 16);
    assert_eq!(status.message, "Errors.Token.Invalid (AUTH-7fs1e)");
    assert_eq!(status.details_count, 1);
    // grpc-message is percent-encoded on the wire as grpc-go (ZITADEL) does it: only bytes
    // outside printable ASCII, and `%`, are escaped.
    assert_eq!(
        reply.header("grpc-message"),
        Some("Errors.Token.Invalid (AUTH-7fs1e)")
    );
}

#[tokio::test]
async fn grpc_message_is_escaped_as_grpc_go_does() {
    let mock = MockServer::start().await.unwrap();
    for (version, content_type) in [
        (http::Version::HTTP_2, "application/grpc"),
        (http::Version::HTTP_11, "application/grpc-web+proto"),
        (http::Version::HTTP_2, "application/grpc-web+proto"),
    ] {
        mock.push_fault(Fault::error(
            Code::Unavailable,
            "",
            "50% down: \"übel\"\n{retry?} <soon>",
        ));
        let reply = send(
            mock.local_addr(),
            version,
            http::Method::POST,
            ADD_PATH,
            &[
                ("content-type", content_type),
                ("authorization", "Bearer t"),
            ],
            message_frame(&AddMyPasswordlessLinkRequest {}),
        )
        .await
        .unwrap();
        // gRPC: in the trailers block (grpc-go never answers trailers-only); gRPC-web: headers.
        let message = match &reply.trailers {
            Some(trailers) => trailers.get("grpc-message").and_then(|v| v.to_str().ok()),
            None => reply.header("grpc-message"),
        };
        assert_eq!(
            message,
            Some("50%25 down: \"%C3%BCbel\"%0A{retry?} <soon>"),
            "{content_type} over {version:?}: {reply:?}"
        );
        let status = match &reply.trailers {
            Some(trailers) => trailers.get("grpc-status").and_then(|v| v.to_str().ok()),
            None => reply.header("grpc-status"),
        };
        assert_eq!(status, Some("14"));
    }
}
