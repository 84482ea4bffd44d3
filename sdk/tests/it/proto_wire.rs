//! Byte-level check that our messages use ZITADEL's field numbers (docs/wire-contract.md §1), so binary
//! gRPC and gRPC-web payloads interoperate with a real instance.

#![allow(clippy::unwrap_used)]

use prost::Message;
use zitadel_passkey::proto::google::rpc::Status;
use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
use zitadel_passkey::proto::zitadel::v1::{ErrorDetail, ObjectDetails};
use zitadel_passkey::wkt::{Duration, Timestamp};

#[test]
fn add_link_response_uses_the_contract_field_numbers() {
    let response = AddMyPasswordlessLinkResponse {
        details: Some(ObjectDetails {
            sequence: 2,
            creation_date: Some(Timestamp {
                seconds: 1,
                nanos: 2,
            }),
            change_date: Some(Timestamp {
                seconds: 3,
                nanos: 0,
            }),
            resource_owner: "o".into(),
        }),
        link: "L".into(),
        expiration: Some(Duration {
            seconds: 3600,
            nanos: 0,
        }),
    };
    let expected: &[u8] = &[
        0x0a, 15, // 1: details, 15 bytes
        0x08, 2, //    1: sequence = 2
        0x12, 4, 0x08, 1, 0x10, 2, //    2: creation_date { seconds: 1, nanos: 2 }
        0x1a, 2, 0x08, 3, //    3: change_date { seconds: 3 }
        0x22, 1, b'o', //    4: resource_owner = "o"
        0x12, 1, b'L', // 2: link = "L"
        0x1a, 3, 0x08, 0x90, 0x1c, // 3: expiration { seconds: 3600 }
    ];
    assert_eq!(response.encode_to_vec(), expected);
    assert_eq!(
        AddMyPasswordlessLinkResponse::decode(expected).unwrap(),
        response
    );
}

#[test]
fn error_detail_packs_with_zitadels_type_url() {
    let detail = ErrorDetail {
        id: "AUTH-7fs1e".into(),
        message: "Errors.Token.Invalid".into(),
    };
    let any = prost_types::Any::from_msg(&detail).unwrap();
    assert_eq!(any.type_url, "type.googleapis.com/zitadel.v1.ErrorDetail");
    let status = Status {
        code: 16,
        message: "Errors.Token.Invalid (AUTH-7fs1e)".into(),
        details: vec![any],
    };
    let decoded = Status::decode(status.encode_to_vec().as_slice()).unwrap();
    assert_eq!(decoded.details[0].to_msg::<ErrorDetail>().unwrap(), detail);
}
