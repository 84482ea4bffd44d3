"""The contract suite's gRPC peer: Python grpcio with stubs generated at run time from proto/.

Usage: grpcio_peer.py PROTO_DIR OUT_DIR HOST:PORT USER_ID ORG_ID   (token in $CONTRACT_TOKEN)

Prints "ok" when every check held; exits non-zero with the failed check otherwise.
"""

import os
import sys
from urllib.parse import parse_qs, urlparse

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test-support", "python")
)
from proto_stubs import check, generate  # noqa: E402  (found through the path above)


def main():
    proto_dir, out_dir, target, user_id, org_id = sys.argv[1:6]
    token = os.environ["CONTRACT_TOKEN"]
    generate(proto_dir, out_dir)

    import grpc
    from google.rpc import status_pb2
    from zitadel import auth_pb2, auth_pb2_grpc, message_pb2

    auth = [("authorization", f"Bearer {token}")]

    def error_of(call, metadata):
        try:
            call(metadata)
        except grpc.RpcError as error:
            return error
        raise SystemExit("check failed: the call succeeded")

    def detail_id(error):
        for key, value in error.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                check(len(status.details) == 1, f"one detail: {status}")
                check(
                    status.details[0].type_url == "type.googleapis.com/zitadel.v1.ErrorDetail",
                    status.details[0].type_url,
                )
                detail = message_pb2.ErrorDetail.FromString(status.details[0].value)
                check(error.details() == f"{detail.message} ({detail.id})", error.details())
                return detail.id
        return None

    with grpc.insecure_channel(target) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        add = lambda md: stub.AddMyPasswordlessLink(auth_pb2.AddMyPasswordlessLinkRequest(), metadata=md, timeout=10)

        first = add(auth)
        second = add(auth)
        for response in (first, second):
            query = {k: v[0] for k, v in parse_qs(urlparse(response.link).query).items()}
            check(urlparse(response.link).path == "/ui/login/login/passwordless/init", response.link)
            check(sorted(query) == ["code", "codeID", "orgID", "userID"], sorted(query))
            check(query["userID"] == user_id, query["userID"])
            check(query["orgID"] == org_id, query["orgID"])
            check(len(query["code"]) == 12 and query["code"].isalnum(), "code shape")
            check(response.details.resource_owner == org_id, response.details.resource_owner)
            check(response.details.HasField("creation_date"), "creation_date")
            check(not response.details.HasField("change_date"), "change_date set")
            check(response.expiration.seconds == 3600, response.expiration)
        check(second.details.sequence == first.details.sequence + 1, "sequence + 1")
        check(first.link != second.link, "two calls, one link")

        missing = error_of(add, [])
        check(missing.code() == grpc.StatusCode.UNAUTHENTICATED, missing.code())
        check(missing.details() == "auth header missing", missing.details())
        check(detail_id(missing) is None, "details on auth header missing")

        scheme = error_of(add, [("authorization", f"Basic {token}")])
        check(scheme.code() == grpc.StatusCode.UNAUTHENTICATED, scheme.code())
        check(detail_id(scheme) == "AUTH-7fs1e", detail_id(scheme))

        invalid = error_of(add, [("authorization", "Bearer not-a-known-token")])
        check(invalid.code() == grpc.StatusCode.UNAUTHENTICATED, invalid.code())
        check(detail_id(invalid) == "AUTH-7fs1e", detail_id(invalid))
        check(invalid.details() == "Errors.Token.Invalid (AUTH-7fs1e)", invalid.details())

        org = error_of(add, auth + [("x-zitadel-orgid", "999999999999999999")])
        check(org.code() == grpc.StatusCode.PERMISSION_DENIED, org.code())
        check(detail_id(org) == "AUTH-Bs7Ds", detail_id(org))

        listed = stub.ListMyPasswordless(auth_pb2.ListMyPasswordlessRequest(), metadata=auth, timeout=10)
        check(len(listed.result) == 1 and listed.result[0].state == 2, listed)
        removed = stub.RemoveMyPasswordless(
            auth_pb2.RemoveMyPasswordlessRequest(token_id=listed.result[0].id), metadata=auth, timeout=10
        )
        check(removed.details.HasField("change_date"), "remove sets change_date")
        sent = stub.SendMyPasswordlessLink(auth_pb2.SendMyPasswordlessLinkRequest(), metadata=auth, timeout=10)
        check(sent.details.sequence > removed.details.sequence, "send after remove")
    print("ok")


if __name__ == "__main__":
    main()
