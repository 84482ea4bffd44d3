//! Where the status travels, as ZITADEL's server libraries put it (docs/wire-contract.md §4), seen
//! header block by header block: gRPC as grpc-go's `ServeHTTP` sends it (HEADERS without a status,
//! then a trailers block with it, for errors and successes alike), gRPC-web as improbable-eng's
//! wrapper does (a unary error in the headers with an empty body; a message frame, then the
//! `0x80` trailer frame), and the CORS preflights of rs/cors.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use http::{Method, Version};
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::{Code, Fault, MockServer};

/// A gRPC call over h2c, answered as (first HEADERS, trailers block).
async fn grpc(mock: &MockServer, path: &str, auth: Option<&str>, body: Vec<u8>) -> Reply {
    let mut headers = vec![("content-type", "application/grpc"), ("te", "trailers")];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    send(
        mock.local_addr(),
        Version::HTTP_2,
        Method::POST,
        path,
        &headers,
        body,
    )
    .await
    .unwrap()
}

/// The first HEADERS block carries no status and announces the trailers; the trailers block
/// carries the status.
fn assert_grpc_go_framing(reply: &Reply, code: &str, what: &str) {
    assert_eq!(reply.status, 200, "{what}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/grpc"),
        "{what}"
    );
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(
            !reply.headers.contains_key(name),
            "{what}: {name} in the first HEADERS block: {:?}",
            reply.headers
        );
    }
    let announced: Vec<_> = reply
        .headers
        .get_all("trailer")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        announced,
        ["Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"],
        "{what}"
    );
    let trailers = reply
        .trailers
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: no trailers block (trailers-only?)"));
    assert_eq!(trailers["grpc-status"], code, "{what}");
}

#[tokio::test]
async fn grpc_status_always_in_a_trailers_block() {
    let mock = MockServer::start().await.unwrap();
    let add = message_frame(&AddMyPasswordlessLinkRequest {});

    let ok = grpc(&mock, ADD_PATH, Some("Bearer t"), add.clone()).await;
    assert_grpc_go_framing(&ok, "0", "success");
    assert_eq!(frames(&ok.body).unwrap().len(), 1, "one message");

    for (auth, code, id) in [
        (None, "16", None),
        (Some("Basic x"), "16", Some("AUTH-7fs1e")),
        (Some("Bearer "), "16", Some("AUTH-7fs1e")),
    ] {
        let error = grpc(&mock, ADD_PATH, auth, add.clone()).await;
        assert_grpc_go_framing(&error, code, &format!("{auth:?}"));
        assert!(error.body.is_empty(), "{auth:?}: {:?}", error.body);
        let trailers = error.trailers.as_ref().unwrap();
        // grpc-go's spelling of the message: a literal space.
        assert!(
            !trailers["grpc-message"].to_str().unwrap().contains("%20"),
            "{trailers:?}"
        );
        assert_eq!(
            trailers.contains_key("grpc-status-details-bin"),
            id.is_some(),
            "{auth:?}"
        );
    }

    // Every RPC, the same.
    for path in [SEND_PATH, LIST_PATH, REMOVE_PATH] {
        let error = grpc(
            &mock,
            path,
            Some("Basic x"),
            message_frame(&ListMyPasswordlessRequest {}),
        )
        .await;
        assert_grpc_go_framing(&error, "16", path);
    }

    // Errors tonic raises itself (an unknown method, a deadline) and a scripted error fault.
    let unknown = grpc(
        &mock,
        "/zitadel.auth.v1.AuthService/Nope",
        Some("Bearer t"),
        add.clone(),
    )
    .await;
    assert_grpc_go_framing(&unknown, "12", "unknown method");
    mock.push_fault(Fault::error(Code::Unavailable, "MOCK-down", "down"));
    let fault = grpc(&mock, ADD_PATH, Some("Bearer t"), add.clone()).await;
    assert_grpc_go_framing(&fault, "14", "fault");
    mock.push_fault(Fault::delay(std::time::Duration::from_millis(500)));
    let late = send(
        mock.local_addr(),
        Version::HTTP_2,
        Method::POST,
        ADD_PATH,
        &[
            ("content-type", "application/grpc"),
            ("authorization", "Bearer t"),
            ("grpc-timeout", "50m"),
        ],
        add,
    )
    .await
    .unwrap();
    assert_grpc_go_framing(&late, "4", "deadline");
}

#[tokio::test]
async fn grpc_web_error_in_headers_success_in_a_trailer_frame() {
    let mock = MockServer::start().await.unwrap();
    let add = message_frame(&AddMyPasswordlessLinkRequest {});
    for version in [Version::HTTP_11, Version::HTTP_2] {
        let call = async |auth: &'static str| {
            send(
                mock.local_addr(),
                version,
                Method::POST,
                ADD_PATH,
                &[
                    ("content-type", "application/grpc-web+proto"),
                    ("authorization", auth),
                ],
                add.clone(),
            )
            .await
        };
        let error = call("Basic x").await.unwrap();
        assert_eq!(error.status, 200);
        assert_eq!(error.header("grpc-status"), Some("16"), "{version:?}");
        assert!(error.header("grpc-status-details-bin").is_some());
        assert!(error.body.is_empty(), "{version:?}: {:?}", error.body);
        assert!(error.trailers.is_none());

        let ok = call("Bearer t").await.unwrap();
        assert_eq!(ok.status, 200);
        assert!(ok.header("grpc-status").is_none(), "{version:?}");
        let frames = frames(&ok.body).unwrap();
        assert_eq!(frames.len(), 2, "{version:?}: {frames:?}");
        assert_eq!(frames[0].0, 0x00, "message first");
        assert_eq!(frames[1].0, 0x80, "then the trailer frame");
        assert_eq!(trailer_block(&frames[1].1)["grpc-status"], "0");
    }
}

#[tokio::test]
async fn preflights_as_rs_cors_answers_them() {
    let mock = MockServer::start().await.unwrap();
    let addr = mock.local_addr();
    for version in [Version::HTTP_11, Version::HTTP_2] {
        // REST: ZITADEL's options in front of the gateway. 204, echoes, no max-age.
        let requested = "authorization,content-type,x-zitadel-orgid";
        let rest = send(
            addr,
            version,
            Method::OPTIONS,
            REST_ADD,
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", requested),
            ],
            "",
        )
        .await
        .unwrap();
        assert_eq!(rest.status, 204, "{version:?}: {rest:?}");
        assert!(rest.body.is_empty());
        assert_eq!(
            rest.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(rest.header("access-control-allow-methods"), Some("POST"));
        assert_eq!(rest.header("access-control-allow-headers"), Some(requested));
        assert_eq!(
            rest.header("access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(rest.header("access-control-max-age"), None);
        assert_eq!(
            rest.header("vary"),
            Some("Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
        );

        // gRPC-web: the wrapper's own answer, claimed by `x-grpc-web`. Max-age 600.
        let requested = "content-type,x-grpc-web,x-user-agent";
        let web = send(
            addr,
            version,
            Method::OPTIONS,
            ADD_PATH,
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", requested),
            ],
            "",
        )
        .await
        .unwrap();
        assert_eq!(web.status, 204, "{version:?}: {web:?}");
        assert_eq!(
            web.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(web.header("access-control-allow-headers"), Some(requested));
        assert_eq!(web.header("access-control-max-age"), Some("600"));

        // No `Origin`: no CORS headers at all, on either.
        for (path, requested) in [(REST_ADD, "authorization"), (ADD_PATH, "x-grpc-web")] {
            let bare = send(
                addr,
                version,
                Method::OPTIONS,
                path,
                &[
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", requested),
                ],
                "",
            )
            .await
            .unwrap();
            assert_eq!(bare.status, 204);
            assert!(
                !bare
                    .headers
                    .keys()
                    .any(|name| name.as_str().starts_with("access-control-")),
                "{path}: {:?}",
                bare.headers
            );
        }
        // Nor on an actual REST answer.
        let plain = send(addr, version, Method::POST, REST_ADD, &[], "{}")
            .await
            .unwrap();
        assert_eq!(plain.status, 401);
        assert!(
            !plain
                .headers
                .keys()
                .any(|name| name.as_str().starts_with("access-control-")),
            "{:?}",
            plain.headers
        );
    }
}
