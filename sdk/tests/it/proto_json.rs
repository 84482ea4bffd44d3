//! Golden tests for the canonical proto3 JSON of every message (docs/wire-contract.md §1): what a real ZITADEL
//! sends must parse, and what we write must be canonical.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use zitadel_passkey::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse, ListMyPasswordlessResponse,
    RemoveMyPasswordlessRequest, RemoveMyPasswordlessResponse, SendMyPasswordlessLinkResponse,
};
use zitadel_passkey::proto::zitadel::user::v1::{AuthFactorState, WebAuthNToken};
use zitadel_passkey::proto::zitadel::v1::{ErrorDetail, ObjectDetails};
use zitadel_passkey::wkt::{Duration, Timestamp};

/// The example on the "Add passkey link" API page, byte for byte.
const API_PAGE_EXAMPLE: &str = r#"{"details":{"sequence":"2","creationDate":"2023-05-12","changeDate":"2023-05-12","resourceOwner":"69629023906488334"},"link":"https://acme.com/ui/login/login/passwordless/init?userID=182156264229306625&orgID=165947650742997249&codeID=200949504189388947&code=kFfsO8OizZPS","expiration":"3600s"}"#;

const LINK: &str = "https://acme.com/ui/login/login/passwordless/init?userID=182156264229306625&orgID=165947650742997249&codeID=200949504189388947&code=kFfsO8OizZPS";

fn created_response() -> AddMyPasswordlessLinkResponse {
    AddMyPasswordlessLinkResponse {
        details: Some(ObjectDetails {
            sequence: 2,
            // 2023-05-12T08:30:15.120Z
            creation_date: Some(Timestamp::new(1_683_880_215, 120_000_000).unwrap()),
            change_date: None,
            resource_owner: "165947650742997249".into(),
        }),
        link: LINK.into(),
        expiration: Some(Duration::from_secs(3600).unwrap()),
    }
}

#[test]
fn the_api_page_example_parses() {
    let response: AddMyPasswordlessLinkResponse = serde_json::from_str(API_PAGE_EXAMPLE).unwrap();
    let details = response.details.as_ref().unwrap();
    assert_eq!(details.sequence, 2);
    assert_eq!(details.resource_owner, "69629023906488334");
    assert_eq!(
        details.creation_date.unwrap().to_string(),
        "2023-05-12T00:00:00Z"
    );
    assert_eq!(
        details.change_date.unwrap().to_string(),
        "2023-05-12T00:00:00Z"
    );
    assert_eq!(response.link, LINK);
    assert_eq!(
        response.expiration,
        Some(Duration::from_secs(3600).unwrap())
    );
}

#[test]
fn add_link_response_is_written_canonically() {
    let text = serde_json::to_string(&created_response()).unwrap();
    assert_eq!(
        text,
        format!(
            r#"{{"details":{{"sequence":"2","creationDate":"2023-05-12T08:30:15.120Z","resourceOwner":"165947650742997249"}},"link":"{LINK}","expiration":"3600s"}}"#
        )
    );
}

#[test]
fn canonical_output_round_trips() {
    let response = created_response();
    let text = serde_json::to_string(&response).unwrap();
    let back: AddMyPasswordlessLinkResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(back, response);
}

#[test]
fn proto_field_names_and_numeric_uint64_parse_too() {
    let text = json!({
        "details": {
            "sequence": 2,
            "creation_date": "2023-05-12T10:30:15.12+02:00",
            "resource_owner": "165947650742997249"
        },
        "link": LINK,
        "expiration": "3600.000s"
    });
    let response: AddMyPasswordlessLinkResponse = serde_json::from_value(text).unwrap();
    assert_eq!(response, created_response());
}

#[test]
fn unknown_fields_are_ignored_at_every_level() {
    let text = json!({
        "details": {"sequence": "2", "resourceOwner": "1", "futureField": {"nested": [1, 2]}},
        "link": LINK,
        "somethingNew": true,
        "expiration": "60s"
    });
    let response: AddMyPasswordlessLinkResponse = serde_json::from_value(text).unwrap();
    assert_eq!(response.details.unwrap().sequence, 2);
    assert_eq!(response.expiration.unwrap().seconds, 60);
}

#[test]
fn empty_fields_are_left_out() {
    assert_eq!(
        serde_json::to_string(&AddMyPasswordlessLinkRequest {}).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_string(&AddMyPasswordlessLinkResponse::default()).unwrap(),
        "{}"
    );
    let details = ObjectDetails {
        sequence: 0,
        resource_owner: String::new(),
        ..Default::default()
    };
    assert_eq!(serde_json::to_string(&details).unwrap(), "{}");
    // An empty request body and `{}` are both valid requests.
    let _: AddMyPasswordlessLinkRequest = serde_json::from_str("{}").unwrap();
    let _: AddMyPasswordlessLinkRequest = serde_json::from_str(r#"{"whatever": 1}"#).unwrap();
}

#[test]
fn remove_response_has_change_date_only() {
    let response = RemoveMyPasswordlessResponse {
        details: Some(ObjectDetails {
            sequence: 7,
            creation_date: None,
            change_date: Some(Timestamp::new(1_700_000_000, 0).unwrap()),
            resource_owner: "1".into(),
        }),
    };
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"details": {"sequence": "7", "changeDate": "2023-11-14T22:13:20Z", "resourceOwner": "1"}})
    );
}

#[test]
fn send_and_remove_requests() {
    let request: RemoveMyPasswordlessRequest =
        serde_json::from_value(json!({"token_id": "123"})).unwrap();
    assert_eq!(request.token_id, "123");
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"tokenId": "123"})
    );
    let sent: SendMyPasswordlessLinkResponse =
        serde_json::from_value(json!({"details": {"sequence": "3"}})).unwrap();
    assert_eq!(sent.details.unwrap().sequence, 3);
}

#[test]
fn passkey_list_uses_enum_names_and_accepts_numbers() {
    let list = ListMyPasswordlessResponse {
        result: vec![WebAuthNToken {
            id: "2".into(),
            state: AuthFactorState::Ready as i32,
            name: "Windows Hello".into(),
        }],
    };
    let value = serde_json::to_value(&list).unwrap();
    assert_eq!(
        value,
        json!({"result": [{"id": "2", "state": "AUTH_FACTOR_STATE_READY", "name": "Windows Hello"}]})
    );
    let numeric: ListMyPasswordlessResponse = serde_json::from_value(
        json!({"result": [{"id": "2", "state": 2, "name": "Windows Hello"}]}),
    )
    .unwrap();
    assert_eq!(numeric, list);
}

#[test]
fn error_detail_parses_and_writes() {
    let detail: ErrorDetail =
        serde_json::from_value(json!({"id": "AUTH-7fs1e", "message": "Errors.Token.Invalid"}))
            .unwrap();
    assert_eq!(detail.id, "AUTH-7fs1e");
    assert_eq!(detail.message, "Errors.Token.Invalid");
    assert_eq!(
        serde_json::to_value(&detail).unwrap(),
        json!({"id": "AUTH-7fs1e", "message": "Errors.Token.Invalid"})
    );
}

/// Parses `value` as an `AddMyPasswordlessLinkResponse` and returns the error text.
fn rejection(value: Value) -> String {
    match serde_json::from_value::<AddMyPasswordlessLinkResponse>(value) {
        Ok(parsed) => panic!("accepted {parsed:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn out_of_range_values_are_errors_not_panics() {
    let cases = [
        (json!({"expiration": "315576000001s"}), "out of range"),
        (json!({"expiration": "-315576000001s"}), "out of range"),
        (
            json!({"expiration": "99999999999999999999999s"}),
            "out of range",
        ),
        (json!({"expiration": 3600}), "duration"),
        (
            json!({"details": {"creationDate": "10000-01-01T00:00:00Z"}}),
            "timestamp",
        ),
        (
            json!({"details": {"creationDate": "0000-12-31T23:59:59Z"}}),
            "timestamp",
        ),
        (
            json!({"details": {"creationDate": "2023-02-30T00:00:00Z"}}),
            "timestamp",
        ),
        (json!({"details": {"sequence": "18446744073709551616"}}), ""),
        (json!({"details": {"sequence": "-1"}}), ""),
        (json!({"details": {"sequence": 1.5}}), ""),
        (json!({"link": 5}), ""),
    ];
    for (value, expected) in cases {
        let error = rejection(value.clone());
        assert!(error.contains(expected), "{value}: {error}");
    }
    // The largest uint64 is fine, as a string or a number.
    for sequence in [
        json!("18446744073709551615"),
        json!(18_446_744_073_709_551_615_u64),
    ] {
        let parsed: ObjectDetails = serde_json::from_value(json!({"sequence": sequence})).unwrap();
        assert_eq!(parsed.sequence, u64::MAX);
    }
}

#[test]
fn out_of_range_values_cannot_be_written() {
    let response = AddMyPasswordlessLinkResponse {
        expiration: Some(Duration {
            seconds: i64::MAX,
            nanos: 0,
        }),
        ..Default::default()
    };
    assert!(serde_json::to_string(&response).is_err());
    let details = ObjectDetails {
        creation_date: Some(Timestamp {
            seconds: 0,
            nanos: -5,
        }),
        ..Default::default()
    };
    assert!(serde_json::to_string(&details).is_err());
}
