"""An independent gRPC peer for the mock: Python grpcio with stubs generated from our proto/.

Usage: grpcio_client.py PROTO_DIR OUT_DIR HOST:PORT

The mock must know the token "py-token" (user 218000000000000077 in org 318000000000000077) and
run in strict mode. Prints "ok" when every check passed; exits non-zero otherwise.
"""

import os
import sys

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test-support", "python")
)
from proto_stubs import check, generate  # noqa: E402  (found through the path above)


def main():
    proto_dir, out_dir, target = sys.argv[1:4]
    generate(proto_dir, out_dir)

    import grpc
    from urllib.parse import urlparse, parse_qs
    from zitadel import auth_pb2, auth_pb2_grpc, message_pb2
    from google.rpc import status_pb2

    with grpc.insecure_channel(target) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)

        # Success.
        response = stub.AddMyPasswordlessLink(
            auth_pb2.AddMyPasswordlessLinkRequest(),
            metadata=[("authorization", "Bearer py-token"), ("x-zitadel-orgid", "318000000000000077")],
            timeout=10,
        )
        link = urlparse(response.link)
        params = {k: v[0] for k, v in parse_qs(link.query).items()}
        check(link.path == "/ui/login/login/passwordless/init", response.link)
        check(params["userID"] == "218000000000000077", params)
        check(params["orgID"] == "318000000000000077", params)
        check(len(params["codeID"]) == 18 and params["codeID"].isdigit(), params)
        check(len(params["code"]) == 12 and params["code"].isalnum(), params)
        first = response.details.sequence
        check(first >= 2, response.details)
        check(response.details.resource_owner == "318000000000000077", response.details)
        check(response.details.HasField("creation_date"), "creation_date set")
        check(not response.details.HasField("change_date"), "change_date absent")
        check(response.expiration.seconds == 3600, response.expiration)

        second = stub.AddMyPasswordlessLink(
            auth_pb2.AddMyPasswordlessLinkRequest(), metadata=[("authorization", "Bearer py-token")], timeout=10
        )
        check(second.details.sequence == first + 1, "sequence grows")
        check(second.link != response.link, "not idempotent")

        # No header: UNAUTHENTICATED without details.
        try:
            stub.AddMyPasswordlessLink(auth_pb2.AddMyPasswordlessLinkRequest(), timeout=10)
            raise SystemExit("expected UNAUTHENTICATED")
        except grpc.RpcError as error:
            check(error.code() == grpc.StatusCode.UNAUTHENTICATED, error.code())
            check(error.details() == "auth header missing", error.details())
            trailers = dict(error.trailing_metadata() or ())
            check("grpc-status-details-bin" not in trailers, trailers)

        # Unknown token: ZITADEL's error detail in grpc-status-details-bin.
        try:
            stub.AddMyPasswordlessLink(
                auth_pb2.AddMyPasswordlessLinkRequest(), metadata=[("authorization", "Bearer nope")], timeout=10
            )
            raise SystemExit("expected UNAUTHENTICATED")
        except grpc.RpcError as error:
            check(error.code() == grpc.StatusCode.UNAUTHENTICATED, error.code())
            check(error.details() == "Errors.Token.Invalid (AUTH-7fs1e)", error.details())
            trailers = dict(error.trailing_metadata() or ())
            status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
            check(status.code == 16, status)
            check(len(status.details) == 1, status)
            check(status.details[0].type_url == "type.googleapis.com/zitadel.v1.ErrorDetail", status)
            detail = message_pb2.ErrorDetail.FromString(status.details[0].value)
            check(detail.id == "AUTH-7fs1e" and detail.message == "Errors.Token.Invalid", detail)

        # Unknown org.
        try:
            stub.ListMyPasswordless(
                auth_pb2.ListMyPasswordlessRequest(),
                metadata=[("authorization", "Bearer py-token"), ("x-zitadel-orgid", "1")],
                timeout=10,
            )
            raise SystemExit("expected PERMISSION_DENIED")
        except grpc.RpcError as error:
            check(error.code() == grpc.StatusCode.PERMISSION_DENIED, error.code())
            check(error.details() == "Organisation doesn't exist (AUTH-Bs7Ds)", error.details())

        # The neighbours.
        sent = stub.SendMyPasswordlessLink(
            auth_pb2.SendMyPasswordlessLinkRequest(), metadata=[("authorization", "Bearer py-token")], timeout=10
        )
        check(sent.details.sequence == first + 2, sent.details)
        listed = stub.ListMyPasswordless(
            auth_pb2.ListMyPasswordlessRequest(), metadata=[("authorization", "Bearer py-token")], timeout=10
        )
        check([t.name for t in listed.result] == ["python key"], listed)
        removed = stub.RemoveMyPasswordless(
            auth_pb2.RemoveMyPasswordlessRequest(token_id=listed.result[0].id),
            metadata=[("authorization", "Bearer py-token")],
            timeout=10,
        )
        check(removed.details.HasField("change_date") and not removed.details.HasField("creation_date"), removed)
    print("ok")


if __name__ == "__main__":
    main()
