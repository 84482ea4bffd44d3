"""The package's async driver (zitadel_passkey/_wake.py): how awaits resume on event loops.

Run by `cargo xtask bindings python` with pytest, from the installed wheel, against the mock
(ZP_* environment variables), like test_bindings.py.
"""

import asyncio
import gc
import os
import threading
import unittest

from zitadel_passkey import ClientConfig, PasskeyClient, PasskeyError, Transport, _wake
from zitadel_passkey.zitadel_passkey_ffi import zitadel_passkey_ffi as _ffi

MOCK = os.environ["ZP_MOCK_URL"]
TOKEN = os.environ["ZP_TOKEN"]
TRANSPORTS = [Transport.GRPC, Transport.GRPC_WEB, Transport.JSON]


def client(transport):
    return PasskeyClient.with_token(ClientConfig(endpoint=MOCK, transport=transport), TOKEN)


async def one_link_per_transport():
    """A link from every transport, and the channel of the loop that awaited them."""
    links = [await client(transport).add_passkey_link() for transport in TRANSPORTS]
    return links, _wake.channels.get(asyncio.get_running_loop())


class NoDescriptorLoop(asyncio.SelectorEventLoop):
    """An event loop that cannot watch file descriptors (as some embedders' loops cannot)."""

    def add_reader(self, fd, callback, *args):
        raise NotImplementedError("no add_reader here")


class EventLoops(unittest.TestCase):
    def test_the_python_only_functions_are_not_exported(self):
        import zitadel_passkey

        self.assertFalse([name for name in dir(zitadel_passkey) if name.startswith("python_wake_")])
        self.assertTrue(callable(_ffi.python_wake_channel_open))

    def test_each_loop_has_a_channel_that_closes_with_it(self):
        gc.collect()  # earlier tests' loops, so that their slots are free before this one counts
        indexes = []
        for _ in range(3):
            links, channel = asyncio.run(one_link_per_transport())
            self.assertEqual(len({link.code_id() for link in links}), len(TRANSPORTS))
            self.assertIsNotNone(channel)
            self.assertEqual(channel.waiting(), 0)
            indexes.append(channel.index)
            del channel
            gc.collect()
            # The loop is gone, and with it its pipe: the channel is closed and its slot free.
            self.assertEqual(_ffi.python_wake_channel_fd(indexes[-1]), -1)
        # Freed slots are reused rather than piling up.
        self.assertEqual(len(set(indexes)), 1, indexes)

    def test_many_calls_at_once_on_one_loop(self):
        async def many():
            clients = {transport: client(transport) for transport in TRANSPORTS}
            calls = [clients[TRANSPORTS[i % 3]].add_passkey_link() for i in range(96)]
            links = await asyncio.gather(*calls)
            return links, _wake.channels[asyncio.get_running_loop()].waiting()

        links, waiting = asyncio.run(many())
        self.assertEqual(len({link.code_id() for link in links}), 96)
        self.assertEqual(waiting, 0)

    def test_loops_on_two_threads_at_once(self):
        results, errors = [], []

        def on_a_thread():
            try:
                results.append(asyncio.run(one_link_per_transport())[0])
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=on_a_thread) for _ in range(2)]
        for thread in threads:
            thread.start()
        mine = asyncio.run(one_link_per_transport())[0]
        for thread in threads:
            thread.join(timeout=30)
        self.assertEqual(errors, [])
        codes = {link.code_id() for link in mine + results[0] + results[1]}
        self.assertEqual(len(codes), 3 * len(TRANSPORTS))

    def test_a_loop_that_cannot_watch_descriptors_uses_the_generated_driver(self):
        loop = NoDescriptorLoop()
        try:
            links, channel = loop.run_until_complete(one_link_per_transport())
        finally:
            loop.close()
        self.assertIsNone(channel)
        self.assertEqual(len(links), len(TRANSPORTS))

    def test_errors_and_cancellation_leave_nothing_waiting(self):
        async def failing_then_cancelled():
            loop = asyncio.get_running_loop()
            bad = PasskeyClient.with_token(
                ClientConfig(endpoint=MOCK, transport=Transport.GRPC), "not-a-known-token"
            )
            with self.assertRaises(PasskeyError.Unauthenticated):
                await bad.add_passkey_link()
            task = asyncio.create_task(client(Transport.GRPC).add_passkey_link())
            await asyncio.sleep(0)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.2)  # a late record for the dropped call finds nothing
            await client(Transport.JSON).add_passkey_link()
            return _wake.channels[loop].waiting()

        self.assertEqual(asyncio.run(failing_then_cancelled()), 0)


if __name__ == "__main__":
    unittest.main()
