"""Tests of the Python bindings against the mock, run with pytest from the installed wheel by
`cargo xtask bindings python`.

Reads ZP_MOCK_URL, ZP_TOKEN, ZP_USER_ID, ZP_ORG_ID, ZP_NO_USER_TOKEN and ZP_CLIENT_ID from the
environment.
Faults are scripted through the mock's admin API (/__mock).
"""

import asyncio
import json
import os
import socket
import time
import unittest
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from zitadel_passkey import (
    CallOptions,
    CancellationToken,
    ClientConfig,
    DeviceAuthorization,
    PasskeyClient,
    PasskeyError,
    PasskeyState,
    SignInConfig,
    SignInError,
    SignInTokens,
    TokenProvider,
    TokenProviderError,
    TokensRefreshed,
    Transport,
)

MOCK = os.environ["ZP_MOCK_URL"]
TOKEN = os.environ["ZP_TOKEN"]
USER_ID = os.environ["ZP_USER_ID"]
ORG_ID = os.environ["ZP_ORG_ID"]
NO_USER_TOKEN = os.environ["ZP_NO_USER_TOKEN"]
CLIENT_ID = os.environ["ZP_CLIENT_ID"]
TRANSPORTS = [Transport.GRPC, Transport.GRPC_WEB, Transport.JSON]
WIRE_NAME = {Transport.GRPC: "grpc", Transport.GRPC_WEB: "grpc-web", Transport.JSON: "json"}


def admin(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        MOCK + "/__mock" + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def fault(transport, **spec):
    spec.setdefault("method", "AddMyPasswordlessLink")
    spec["transport"] = WIRE_NAME[transport]
    admin("POST", "/faults", spec)


def live_code_ids():
    return {code["code_id"] for code in admin("GET", "/codes")}


def client(transport, token=TOKEN, **config):
    return PasskeyClient.with_token(ClientConfig(endpoint=MOCK, transport=transport, **config), token)


def code_of(url):
    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["code"][0]


class Bindings(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        admin("POST", "/reset")

    def assert_hidden(self, *texts, secrets):
        for text in texts:
            for secret in secrets:
                self.assertNotIn(secret, text)

    def assert_error(self, error, kind, grpc_code, error_id=None):
        self.assertIsInstance(error, PasskeyError)
        self.assertIsInstance(error, kind)
        self.assertEqual(error.grpc_code, grpc_code, repr(error))
        if error_id is not None:
            self.assertEqual(error.error_id, error_id, repr(error))
        self.assertIsInstance(error.description, str)
        self.assert_hidden(str(error), repr(error), error.description, secrets=[TOKEN])

    async def test_add_send_list_remove_on_every_transport(self):
        for transport in TRANSPORTS:
            with self.subTest(transport=transport):
                c = client(transport)
                self.assertEqual(c.transport(), transport)
                link = await c.add_passkey_link()
                url = link.url()
                code = code_of(url)
                self.assertTrue(url.startswith(MOCK + "/ui/login/login/passwordless/init?"), url)
                self.assertEqual((link.user_id(), link.org_id()), (USER_ID, ORG_ID))
                self.assertIn(link.code_id(), live_code_ids())
                self.assertEqual(link.expires_in(), timedelta(hours=1))
                self.assertIsInstance(link.expires_at(), datetime)
                details = link.details()
                self.assertEqual(details.resource_owner, ORG_ID)
                self.assertGreater(details.sequence, 0)
                self.assertIsNotNone(details.creation_date)
                self.assertIsNone(details.change_date)
                # Neither the code nor the token in any string form.
                self.assertIn("code=***", str(link))
                self.assertEqual(str(link), link.redacted_url())
                self.assertIn("PasskeyClient", repr(c))
                self.assert_hidden(str(link), repr(link), str(details), str(c), repr(c), secrets=[code, TOKEN])

                sent = await c.send_passkey_link()
                self.assertIsNotNone(sent.creation_date)
                self.assertEqual(len(admin("GET", "/outbox")), 1)

                created = admin("POST", f"/users/{USER_ID}/passkeys", {"name": "Pixel " + WIRE_NAME[transport]})
                passkeys = await c.list_passkeys()
                self.assertEqual([(p.id, p.name, p.state) for p in passkeys],
                                 [(created["id"], "Pixel " + WIRE_NAME[transport], PasskeyState.READY)])
                removed = await c.remove_passkey(created["id"])
                self.assertIsNotNone(removed.change_date)
                self.assertEqual(await c.list_passkeys(), [])
                admin("POST", "/reset")

    async def test_server_errors_map_to_kinds_on_every_transport(self):
        for transport in TRANSPORTS:
            with self.subTest(transport=transport):
                with self.assertRaises(PasskeyError) as caught:
                    await client(transport, token="not-a-known-token").add_passkey_link()
                self.assert_error(caught.exception, PasskeyError.Unauthenticated, 16, "AUTH-7fs1e")
                self.assertEqual(caught.exception.description, "Errors.Token.Invalid")

                with self.assertRaises(PasskeyError) as caught:
                    await client(transport).add_passkey_link(CallOptions(org_id="999999999999999999"))
                self.assert_error(caught.exception, PasskeyError.PermissionDenied, 7, "AUTH-Bs7Ds")

                with self.assertRaises(PasskeyError) as caught:
                    await client(transport).remove_passkey("123456789")
                self.assert_error(caught.exception, PasskeyError.NotFound, 5)

                fault(transport, kind="error", code=3, id="MOCK-inv01", message="Errors.Invalid")
                with self.assertRaises(PasskeyError) as caught:
                    await client(transport).add_passkey_link()
                self.assert_error(caught.exception, PasskeyError.InvalidArgument, 3, "MOCK-inv01")

                fault(transport, kind="error", code=14, id="", message="upstream down")
                with self.assertRaises(PasskeyError) as caught:
                    await client(transport).add_passkey_link()
                self.assert_error(caught.exception, PasskeyError.Unavailable, 14)

                with self.assertRaises(PasskeyError) as caught:
                    await client(transport, token=NO_USER_TOKEN).add_passkey_link()
                self.assert_error(caught.exception, PasskeyError.Other, 9, "COMMAND-GVfg3")

                fault(transport, kind="delay", millis=3000)
                with self.assertRaises(PasskeyError) as caught:
                    await client(transport).add_passkey_link(CallOptions(timeout=timedelta(milliseconds=200)))
                self.assert_error(caught.exception, PasskeyError.Timeout, 4)

                fault(transport, kind="drop_after_handler")
                with self.assertRaises(PasskeyError) as caught:
                    await client(transport).add_passkey_link()
                self.assert_error(caught.exception, PasskeyError.OutcomeUnknown, caught.exception.grpc_code)
                admin("POST", "/reset")

    async def test_local_errors(self):
        with self.assertRaises(PasskeyError) as caught:
            PasskeyClient.with_token(ClientConfig(endpoint="not a url", transport=Transport.JSON), TOKEN)
        self.assert_error(caught.exception, PasskeyError.InvalidArgument, 3)

        # Nothing listens on a port just closed: UNAVAILABLE, nothing sent.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        for transport in TRANSPORTS:
            with self.subTest(transport=transport):
                c = PasskeyClient.with_token(ClientConfig(endpoint=f"http://127.0.0.1:{port}", transport=transport), TOKEN)
                with self.assertRaises(PasskeyError) as caught:
                    await c.add_passkey_link()
                self.assert_error(caught.exception, PasskeyError.Unavailable, 14)

    async def test_a_deeply_nested_answer_is_an_error_not_a_crash(self):
        # A hostile server's error body with details nested a million levels deep: the library's
        # JSON parser stops at its nesting limit instead of recursing until the stack overflows,
        # and the answer reads as one that is not ZITADEL's.
        body = b'{"code":3,"message":"m","details":' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"
        answer = (
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]

        def serve_once():
            connection, _ = server.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(answer)

        serving = asyncio.get_running_loop().run_in_executor(None, serve_once)
        try:
            c = PasskeyClient.with_token(ClientConfig(endpoint=f"http://127.0.0.1:{port}", transport=Transport.JSON), TOKEN)
            with self.assertRaises(PasskeyError) as caught:
                await c.add_passkey_link()
            self.assert_error(caught.exception, PasskeyError.Other, 13)
            self.assertIn("not an answer of ZITADEL", caught.exception.description)
            await serving
        finally:
            server.close()
        # Still alive, and the library still works.
        self.assertTrue((await client(Transport.JSON).add_passkey_link()).url())

    async def test_token_provider_refreshes_after_unauthenticated(self):
        class Refreshing(TokenProvider):
            def __init__(self):
                self.calls = []

            async def token(self, refresh):
                self.calls.append(refresh)
                await asyncio.sleep(0)  # a real provider would call its identity provider here
                return TOKEN if refresh else "stale-token"

        for transport in TRANSPORTS:
            with self.subTest(transport=transport):
                provider = Refreshing()
                c = PasskeyClient.with_token_provider(ClientConfig(endpoint=MOCK, transport=transport), provider)
                link = await c.add_passkey_link()
                self.assertEqual(link.user_id(), USER_ID)
                self.assertEqual(provider.calls, [False, True])

    async def test_token_provider_failure_is_unauthenticated_and_sends_nothing(self):
        class NoSession(TokenProvider):
            async def token(self, refresh):
                raise TokenProviderError.Failed("no session")

        class Broken(TokenProvider):
            async def token(self, refresh):
                raise RuntimeError("bug in the app")

        for provider, text in [(NoSession(), "no session"), (Broken(), "bug in the app")]:
            c = PasskeyClient.with_token_provider(ClientConfig(endpoint=MOCK, transport=Transport.JSON), provider)
            with self.assertRaises(PasskeyError) as caught:
                await c.add_passkey_link()
            self.assert_error(caught.exception, PasskeyError.Unauthenticated, 16)
            self.assertIn(text, caught.exception.description)
        self.assertEqual(admin("GET", "/journal"), [])

    async def test_cancelling_the_task_drops_the_call(self):
        # A user of its own, so that delayed calls of other tests cannot add codes for it.
        user_id, token = "200000000000000009", "cancel-token-Xy7q"
        admin("POST", "/users", {"token": token, "user_id": user_id, "org_id": ORG_ID})
        for transport in TRANSPORTS:
            with self.subTest(transport=transport):
                fault(transport, kind="delay", millis=4000)
                task = asyncio.create_task(client(transport, token=token).add_passkey_link())
                await asyncio.sleep(0.3)
                started = time.monotonic()
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
                self.assertLess(time.monotonic() - started, 2.0)
                if transport == Transport.GRPC:
                    # HTTP/2: the stream is reset, the mock drops the handler before it creates a code.
                    await asyncio.sleep(4.5)
                    self.assertEqual([c for c in admin("GET", "/codes") if c["user_id"] == user_id], [])

    async def test_cancellation_token(self):
        for transport in TRANSPORTS:
            with self.subTest(transport=transport):
                fault(transport, kind="delay", millis=5000)
                cancel = CancellationToken()
                asyncio.get_running_loop().call_later(0.2, cancel.cancel)
                started = time.monotonic()
                with self.assertRaises(PasskeyError) as caught:
                    await client(transport).add_passkey_link(CallOptions(cancel=cancel))
                self.assertLess(time.monotonic() - started, 3.0)
                self.assertTrue(cancel.is_cancelled())
                self.assert_error(caught.exception, PasskeyError.Cancelled, 1)
                # A cancelled token fails later calls at once.
                with self.assertRaises(PasskeyError.Cancelled):
                    await client(transport).list_passkeys(CallOptions(cancel=cancel))
                admin("POST", "/reset")

    async def test_readme_example(self):
        import readme_example

        os.environ["ZITADEL_URL"] = MOCK
        os.environ["ZITADEL_TOKEN"] = TOKEN
        url = await readme_example.passkey_link_for_current_user()
        self.assertIn(urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["codeID"][0], live_code_ids())


if __name__ == "__main__":
    unittest.main(verbosity=2)


class KeepTokens(TokensRefreshed):
    def __init__(self):
        self.seen = []

    def refreshed(self, tokens):
        self.seen.append(tokens)


class SignIn(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        admin("POST", "/reset")

    async def test_device_sign_in_then_calls_that_refresh(self):
        flow = DeviceAuthorization(SignInConfig(issuer=MOCK, client_id=CLIENT_ID))
        pending = await flow.start()
        code = pending.user_code()
        self.assertRegex(code, r"^[A-Z]{4}-[A-Z]{4}$")
        self.assertEqual(pending.verification_uri(), MOCK + "/device")
        self.assertIn(code, pending.verification_uri_complete())
        self.assertNotIn(code, repr(pending) + str(pending))
        admin("POST", "/device/approve", {"user_code": code, "user_id": USER_ID})
        tokens = await pending.wait_for_tokens()
        secrets = [tokens.access_token(), tokens.refresh_token()]
        self.assertTrue(all(secrets))
        for text in (repr(tokens), str(tokens)):
            for secret in secrets:
                self.assertNotIn(secret, text)

        listener = KeepTokens()
        client = PasskeyClient.with_sign_in(
            ClientConfig(endpoint=MOCK, transport=Transport.JSON), flow, tokens, listener
        )
        link = await client.add_passkey_link()
        self.assertEqual(link.user_id(), USER_ID)
        # 13 h on the mock's clock: the 12 h access token is refused, refreshed, the call retried.
        admin("POST", "/clock/advance", {"seconds": 13 * 3600})
        self.assertEqual(await client.list_passkeys(), [])
        self.assertEqual(len(listener.seen), 1)
        self.assertNotEqual(listener.seen[0].access_token(), tokens.access_token())

        # Tokens rebuilt from an app's store work the same way.
        kept = listener.seen[0]
        stored = SignInTokens(
            access_token=kept.access_token(),
            refresh_token=kept.refresh_token(),
            expires_at=kept.expires_at(),
            scope=kept.scope(),
        )
        again = PasskeyClient.with_sign_in(ClientConfig(endpoint=MOCK, transport=Transport.GRPC), flow, stored)
        self.assertEqual(await again.list_passkeys(), [])

    async def test_denied_cancelled_and_invalid(self):
        flow = DeviceAuthorization(SignInConfig(issuer=MOCK, client_id=CLIENT_ID))
        pending = await flow.start()
        admin("POST", "/device/deny", {"user_code": pending.user_code()})
        with self.assertRaises(SignInError.Denied) as caught:
            await pending.wait_for_tokens()
        self.assertEqual(caught.exception.oauth_error, "access_denied")

        cancel = CancellationToken()
        cancel.cancel()
        with self.assertRaises(SignInError.Cancelled):
            await (await flow.start()).wait_for_tokens(cancel)
        # Cancelling the task drops the wait too.
        task = asyncio.ensure_future((await flow.start()).wait_for_tokens())
        await asyncio.sleep(0.2)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task

        with self.assertRaises(SignInError.InvalidArgument):
            DeviceAuthorization(SignInConfig(issuer="http://example.com", client_id="x"))

