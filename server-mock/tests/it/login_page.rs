//! The link works: the login page accepts a live, right code and refuses wrong, expired and
//! removed ones; three wrong tries remove the code.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use http::{Method, Version};
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::MockServer;

async fn new_link(mock: &MockServer) -> String {
    let response: AddMyPasswordlessLinkResponse = call(
        &mock.uri(),
        Via::Grpc,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer t")],
        "",
    )
    .await
    .unwrap();
    response.link
}

async fn visit(mock: &MockServer, link: &str) -> Reply {
    let url = url::Url::parse(link).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::GET,
        &path,
        &[],
        "",
    )
    .await
    .unwrap()
}

fn with_param(link: &str, key: &str, value: &str) -> String {
    let mut url = url::Url::parse(link).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    url.query_pairs_mut().clear();
    for (k, v) in pairs {
        url.query_pairs_mut()
            .append_pair(&k, if k == key { value } else { &v });
    }
    url.to_string()
}

#[tokio::test]
async fn live_right_code_shows_the_page() {
    let mock = MockServer::start().await.unwrap();
    let link = new_link(&mock).await;
    let reply = visit(&mock, &link).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let body = String::from_utf8(reply.body.to_vec()).unwrap();
    assert!(body.contains("passkey"));
    assert!(body.contains("<form method=\"post\">"), "{body}");
    // Visiting does not use the code up; the platform type parameter is accepted.
    for platform in ["platform", "crossPlatform", "unspecified"] {
        let reply = visit(&mock, &format!("{link}&requestPlatformType={platform}")).await;
        assert_eq!(reply.status, 200);
    }
    let reply = visit(&mock, &format!("{link}&requestPlatformType=toaster")).await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn three_wrong_tries_remove_the_code() {
    let mock = MockServer::start().await.unwrap();
    let link = new_link(&mock).await;
    let wrong = with_param(&link, "code", "AAAAAAAAAAAA");
    for attempt in 1..=3 {
        let reply = visit(&mock, &wrong).await;
        assert_eq!(reply.status, 400, "attempt {attempt}");
        let live = mock.live_codes();
        if attempt < 3 {
            assert_eq!(live[0].failed_attempts, attempt);
        } else {
            assert!(live.is_empty(), "removed after the third wrong try");
        }
    }
    // Now even the right code is refused.
    assert_eq!(visit(&mock, &link).await.status, 404);
}

#[tokio::test]
async fn wrong_user_or_org_counts_as_a_wrong_try() {
    let mock = MockServer::start().await.unwrap();
    let link = new_link(&mock).await;
    assert_eq!(
        visit(&mock, &with_param(&link, "userID", "100000000000000000"))
            .await
            .status,
        400
    );
    assert_eq!(
        visit(&mock, &with_param(&link, "orgID", "100000000000000000"))
            .await
            .status,
        400
    );
    assert_eq!(mock.live_codes()[0].failed_attempts, 2);
    assert_eq!(visit(&mock, &link).await.status, 200);
}

#[tokio::test]
async fn expired_unknown_and_incomplete_links_are_refused() {
    let mock = MockServer::builder()
        .code_ttl(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let link = new_link(&mock).await;
    let other = new_link(&mock).await;
    assert_eq!(visit(&mock, &link).await.status, 200);
    mock.advance_clock(Duration::from_secs(61));
    assert!(mock.live_codes().is_empty(), "expired codes are not live");
    assert_eq!(visit(&mock, &link).await.status, 410);
    assert_eq!(
        visit(&mock, &link).await.status,
        404,
        "an expired code is removed"
    );
    assert_eq!(
        visit(&mock, &with_param(&other, "codeID", "123456789012345678"))
            .await
            .status,
        404
    );
    let reply = send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::GET,
        "/ui/login/login/passwordless/init?userID=1",
        &[],
        "",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn removed_by_reset() {
    let mock = MockServer::start().await.unwrap();
    let link = new_link(&mock).await;
    mock.reset();
    assert_eq!(visit(&mock, &link).await.status, 404);
}

#[tokio::test]
async fn posting_the_form_registers_a_passkey_and_uses_the_code_up() {
    let mock = MockServer::builder()
        .user("tok", "218000000000000005", "318000000000000005")
        .start()
        .await
        .unwrap();
    let response: AddMyPasswordlessLinkResponse = call(
        &mock.uri(),
        Via::JsonH1,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer tok")],
        "",
    )
    .await
    .unwrap();
    let query = url::Url::parse(&response.link)
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    let post = |body: String| {
        let addr = mock.local_addr();
        async move {
            send(
                addr,
                Version::HTTP_11,
                Method::POST,
                zitadel_passkey_mock::login::LOGIN_PATH,
                &[("content-type", "application/x-www-form-urlencoded")],
                body,
            )
            .await
            .unwrap()
        }
    };
    // A wrong code counts as a wrong try on POST too.
    let wrong = query.replace("&code=", "&code=x");
    assert_eq!(post(wrong).await.status, 400);
    assert_eq!(mock.live_codes()[0].failed_attempts, 1);
    let reply = post(format!("{query}&name=Pixel%208")).await;
    assert_eq!(reply.status, 200);
    assert!(mock.live_codes().is_empty(), "the code is used up");
    assert_eq!(post(query).await.status, 404);
    let list: ListMyPasswordlessResponse = call(
        &mock.uri(),
        Via::Grpc,
        LIST,
        ListMyPasswordlessRequest {},
        &[("authorization", "Bearer tok")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(list.result.len(), 1);
    assert_eq!(list.result[0].name, "Pixel 8");
    assert_id(&list.result[0].id);
}
