//! Every RPC's success path over every transport, with raw clients.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey::proto::zitadel::user::v1::AuthFactorState;
use zitadel_passkey_mock::{Code, MockServer};

const USER: &str = "218000000000000001";
const ORG: &str = "318000000000000001";

async fn mock() -> MockServer {
    MockServer::builder()
        .user("tok-1", USER, ORG)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn add_link_over_every_transport() {
    let mock = mock().await;
    let uri = mock.uri();
    let mut previous_sequence = 1;
    let mut code_ids = Vec::new();
    for via in ALL_VIAS {
        let response: AddMyPasswordlessLinkResponse = call(
            &uri,
            via,
            ADD,
            AddMyPasswordlessLinkRequest {},
            &[("authorization", "Bearer tok-1")],
            "",
        )
        .await
        .unwrap_or_else(|e| panic!("{via:?}: {e:?}"));
        let details = response.details.unwrap();
        assert_eq!(
            details.sequence,
            previous_sequence + 1,
            "{via:?}: sequence grows per user"
        );
        previous_sequence = details.sequence;
        assert_eq!(details.resource_owner, ORG);
        let created = details.creation_date.expect("creationDate set");
        let now = zitadel_passkey::wkt::Timestamp::now();
        assert!((now.seconds - created.seconds).abs() < 60);
        assert!(details.change_date.is_none(), "changeDate absent on create");
        assert_eq!(response.expiration.unwrap().to_string(), "3600s");

        let prefix = format!("{uri}/ui/login/login/passwordless/init?");
        assert!(
            response.link.starts_with(&prefix),
            "{via:?}: {}",
            response.link
        );
        let query = &response.link[prefix.len()..];
        let keys: Vec<&str> = query
            .split('&')
            .map(|kv| kv.split('=').next().unwrap())
            .collect();
        assert_eq!(keys, ["userID", "orgID", "codeID", "code"]);
        let params = link_params(&response.link);
        assert_eq!(params["userID"], USER);
        assert_eq!(params["orgID"], ORG);
        assert_id(&params["codeID"]);
        let code = &params["code"];
        assert_eq!(code.len(), 12);
        assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
        code_ids.push(params["codeID"].clone());
    }
    // Not idempotent: one new live code per call.
    let live: Vec<String> = mock.live_codes().into_iter().map(|c| c.code_id).collect();
    assert_eq!(live, code_ids);
    let journal = mock.journal();
    assert_eq!(journal.len(), ALL_VIAS.len());
    for (entry, via) in journal.iter().zip(ALL_VIAS) {
        assert_eq!(entry.transport.as_str(), via.transport());
        assert_eq!(entry.http_version, via.http_version(), "{via:?}");
        assert_eq!(entry.method, "AddMyPasswordlessLink");
        assert_eq!(entry.code, Some(Code::Ok));
        assert_eq!(
            entry.token_fingerprint.as_deref(),
            Some(zitadel_passkey_mock::token_fingerprint("tok-1").as_str())
        );
    }
}

#[tokio::test]
async fn generated_tonic_client_gets_a_link() {
    let mock = mock().await;
    let mut client = tonic_client(&mock.uri()).await;
    let response = client
        .add_my_passwordless_link(request(
            AddMyPasswordlessLinkRequest {},
            &[("authorization", "Bearer tok-1"), ("x-zitadel-orgid", ORG)],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.details.unwrap().sequence, 2);
    assert_eq!(link_params(&response.link)["userID"], USER);
    assert_eq!(mock.journal()[0].org_id.as_deref(), Some(ORG));
}

#[tokio::test]
async fn rest_accepts_empty_body_unknown_fields_and_no_content_type() {
    let mock = mock().await;
    let addr = mock.local_addr();
    for (body, content_type) in [
        ("", Some("application/json")),
        ("{}", None),
        (
            "{\"unknownField\": 1, \"other\": [true]}",
            Some("application/json; charset=utf-8"),
        ),
        ("  \n", Some("application/json")),
    ] {
        let mut headers = vec![("authorization", "Bearer tok-1")];
        if let Some(ct) = content_type {
            headers.push(("content-type", ct));
        }
        let reply = send(
            addr,
            http::Version::HTTP_11,
            http::Method::POST,
            REST_ADD,
            &headers,
            body,
        )
        .await
        .unwrap();
        assert_eq!(reply.status, 200, "body {body:?}: {:?}", reply.body);
        let json = reply.json();
        assert!(json["link"].as_str().unwrap().contains("code="));
        assert_eq!(json["expiration"], "3600s");
        assert!(
            json["details"]["sequence"].is_string(),
            "uint64 as a string"
        );
        assert!(json["details"].get("changeDate").is_none());
        let created = json["details"]["creationDate"].as_str().unwrap();
        assert!(created.ends_with('Z'), "{created}");
    }
}

#[tokio::test]
async fn link_origin_follows_the_request_or_public_origin() {
    let mock = MockServer::builder()
        .public_origin("https://auth.example.com/")
        .start()
        .await
        .unwrap();
    let response: AddMyPasswordlessLinkResponse = call(
        &mock.uri(),
        Via::JsonH1,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer any-token")],
        "",
    )
    .await
    .unwrap();
    assert!(
        response
            .link
            .starts_with("https://auth.example.com/ui/login/login/passwordless/init?")
    );

    // Without a public origin, the Host the request came in on.
    let mock = MockServer::start().await.unwrap();
    let reply = send(
        mock.local_addr(),
        http::Version::HTTP_11,
        http::Method::POST,
        REST_ADD,
        &[("authorization", "Bearer t"), ("host", "login.test:1234")],
        "{}",
    )
    .await
    .unwrap();
    assert!(
        reply.json()["link"]
            .as_str()
            .unwrap()
            .starts_with("http://login.test:1234/ui/")
    );
}

#[tokio::test]
async fn code_ttl_sets_expiration() {
    let mock = MockServer::builder()
        .code_ttl(std::time::Duration::from_secs(90))
        .start()
        .await
        .unwrap();
    for via in ALL_VIAS {
        let response: AddMyPasswordlessLinkResponse = call(
            &mock.uri(),
            via,
            ADD,
            AddMyPasswordlessLinkRequest {},
            &[("authorization", "Bearer t")],
            "",
        )
        .await
        .unwrap();
        assert_eq!(response.expiration.unwrap().to_string(), "90s", "{via:?}");
    }
}

#[tokio::test]
async fn non_strict_tokens_map_to_stable_users() {
    let mock = MockServer::start().await.unwrap();
    let mut users = Vec::new();
    for token in ["alpha", "beta", "alpha"] {
        let auth = format!("Bearer {token}");
        let response: AddMyPasswordlessLinkResponse = call(
            &mock.uri(),
            Via::Grpc,
            ADD,
            AddMyPasswordlessLinkRequest {},
            &[("authorization", &auth)],
            "",
        )
        .await
        .unwrap();
        let params = link_params(&response.link);
        assert_id(&params["userID"]);
        assert_eq!(params["orgID"], zitadel_passkey_mock::state::DEFAULT_ORG_ID);
        users.push(params["userID"].clone());
    }
    assert_eq!(users[0], users[2]);
    assert_ne!(users[0], users[1]);
    // A second mock derives the same user from the same token.
    let other = MockServer::start().await.unwrap();
    let response: AddMyPasswordlessLinkResponse = call(
        &other.uri(),
        Via::JsonH1,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer alpha")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(link_params(&response.link)["userID"], users[0]);
}

#[tokio::test]
async fn send_link_goes_to_the_outbox() {
    let mock = mock().await;
    for (i, via) in ALL_VIAS.into_iter().enumerate() {
        let response: SendMyPasswordlessLinkResponse = call(
            &mock.uri(),
            via,
            SEND,
            SendMyPasswordlessLinkRequest {},
            &[("authorization", "Bearer tok-1")],
            "",
        )
        .await
        .unwrap_or_else(|e| panic!("{via:?}: {e:?}"));
        let details = response.details.unwrap();
        assert_eq!(details.sequence, i as u64 + 2);
        assert!(details.creation_date.is_some());
        assert!(details.change_date.is_none());
        assert_eq!(details.resource_owner, ORG);
        let outbox = mock.outbox();
        assert_eq!(outbox.len(), i + 1);
        let message = outbox.last().unwrap();
        assert_eq!(message.user_id, USER);
        let params = link_params(&message.link);
        assert_eq!(params["codeID"], message.code_id);
        let live = mock.live_codes();
        assert!(live.iter().any(|c| c.code_id == message.code_id && c.sent));
    }
}

#[tokio::test]
async fn list_and_remove_passkeys() {
    let mock = mock().await;
    let uri = mock.uri();
    let mut ids = Vec::new();
    for via in ALL_VIAS {
        ids.push((via, mock.add_passkey(USER, &format!("key {via:?}"))));
    }
    // adding passkeys moved the user's sequence: 1 + 6
    for via in ALL_VIAS {
        let list: ListMyPasswordlessResponse = call(
            &uri,
            via,
            LIST,
            ListMyPasswordlessRequest {},
            &[("authorization", "Bearer tok-1")],
            "",
        )
        .await
        .unwrap();
        assert!(
            list.result
                .iter()
                .all(|t| t.state == AuthFactorState::Ready as i32)
        );
        assert!(!list.result.is_empty());
    }
    let mut expected_sequence = 1 + ALL_VIAS.len() as u64;
    for (via, id) in &ids {
        assert_id(id);
        let response: RemoveMyPasswordlessResponse = call(
            &uri,
            *via,
            REMOVE,
            RemoveMyPasswordlessRequest {
                token_id: id.clone(),
            },
            &[("authorization", "Bearer tok-1")],
            id,
        )
        .await
        .unwrap_or_else(|e| panic!("{via:?}: {e:?}"));
        expected_sequence += 1;
        let details = response.details.unwrap();
        assert_eq!(details.sequence, expected_sequence);
        assert!(
            details.creation_date.is_none(),
            "remove sets changeDate, not creationDate"
        );
        assert!(details.change_date.is_some());
        assert_eq!(details.resource_owner, ORG);
        let list: ListMyPasswordlessResponse = call(
            &uri,
            Via::Grpc,
            LIST,
            ListMyPasswordlessRequest {},
            &[("authorization", "Bearer tok-1")],
            "",
        )
        .await
        .unwrap();
        assert!(list.result.iter().all(|t| &t.id != id));
    }
    // Removing again: NOT_FOUND on every transport.
    for (via, id) in &ids {
        let error = call::<_, RemoveMyPasswordlessResponse>(
            &uri,
            *via,
            REMOVE,
            RemoveMyPasswordlessRequest {
                token_id: id.clone(),
            },
            &[("authorization", "Bearer tok-1")],
            id,
        )
        .await
        .unwrap_err();
        assert_eq!(error.code, 5, "{via:?}");
        if let Some(status) = error.http_status {
            assert_eq!(status, 404);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_get_distinct_codes_and_gapless_sequences() {
    let mock = mock().await;
    let uri = mock.uri();
    let calls: Vec<_> = (0..60)
        .map(|i| {
            let uri = uri.clone();
            let via = ALL_VIAS[i % ALL_VIAS.len()];
            tokio::spawn(async move {
                let response: AddMyPasswordlessLinkResponse = call(
                    &uri,
                    via,
                    ADD,
                    AddMyPasswordlessLinkRequest {},
                    &[("authorization", "Bearer tok-1")],
                    "",
                )
                .await
                .unwrap();
                response
            })
        })
        .collect();
    let mut sequences = Vec::new();
    let mut code_ids = std::collections::HashSet::new();
    for call in calls {
        let response = call.await.unwrap();
        sequences.push(response.details.unwrap().sequence);
        assert!(code_ids.insert(link_params(&response.link)["codeID"].clone()));
    }
    sequences.sort_unstable();
    assert_eq!(sequences, (2..62).collect::<Vec<u64>>());
    assert_eq!(mock.live_codes().len(), 60);
    assert_eq!(mock.journal().len(), 60);
}
