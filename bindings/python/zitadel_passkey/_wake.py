"""How an ``await`` on the library resumes: through a pipe the event loop watches, not the GIL.

uniffi's generated driver of async calls has the library's thread call back into Python to
resume the task: that thread takes the GIL, makes itself a Python thread state and calls
``loop.call_soon_threadsafe``, and the two threads then hand the GIL back and forth. That cost
about 80-100 us per wake-up, two or three wake-ups per call. This driver gives the library a
callback written in Rust (``bindings/src/python_wake.rs``) that writes a 9-byte record to a pipe
of the task's event loop; the loop reads it with ``add_reader`` and resumes the task on its own
thread. Semantics are the generated driver's: poll until ready, then complete and free; a
cancelled task frees (and so drops) the Rust future.

Hand-written because uniffi has no such option; it replaces the generated module's
``_uniffi_rust_call_async`` (looked up by name on every call) and falls back to it where a loop
cannot watch a file descriptor or ``uniffi_set_event_loop`` was used.
"""

import asyncio
import os
import threading
import weakref

_RECORD = 9  # the callback data (u64, little-endian), then the poll code (one byte)
_READ_SIZE = _RECORD * 512  # a multiple of the record, so a read never splits one

# Each event loop's channel, or None for a loop the generated driver serves. Loops on other
# threads add theirs under the lock; a loop's own thread reads its entry without it.
channels = weakref.WeakKeyDictionary()
_adding = threading.Lock()


class _Channel:
    """One event loop's pipe and the futures waiting on it."""

    def __init__(self, ffi, loop):
        self.index = ffi.python_wake_channel_open()
        self._fd = ffi.python_wake_channel_fd(self.index)
        self._waiting = {}
        self._next_key = 0
        self._partial = b""
        try:
            # Non-blocking, so that the driver can look for a record right after a poll.
            os.set_blocking(self._fd, False)
            loop.add_reader(self._fd, self.read)
        except BaseException:
            ffi.python_wake_channel_close(self.index)
            raise
        # The pipe lives as long as the loop object (asyncio.run makes a new loop each time).
        weakref.finalize(loop, ffi.python_wake_channel_close, self.index)

    def wait(self, future):
        """The callback data that resumes ``future``, and its key to forget it."""
        key = self._next_key
        self._next_key = (key + 1) & 0xFFFFFFFF
        self._waiting[key] = future
        return (self.index << 32) | key, key

    def forget(self, key):
        self._waiting.pop(key, None)

    def waiting(self):
        """How many futures wait for a record."""
        return len(self._waiting)

    def read(self):
        """Resumes the futures whose records have arrived."""
        try:
            data = self._partial + os.read(self._fd, _READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        whole = len(data) - len(data) % _RECORD
        self._partial = data[whole:]
        for start in range(0, whole, _RECORD):
            key = int.from_bytes(data[start : start + 4], "little")
            future = self._waiting.pop(key, None)
            # A wake-up for a task that was cancelled meanwhile finds nothing to resume.
            if future is not None and not future.done():
                future.set_result(data[start + 8])


def install(ffi):
    """Replaces the generated module's async driver with this one (POSIX only)."""
    if os.name != "posix" or not hasattr(ffi, "python_wake_channel_open"):
        return
    generated = ffi._uniffi_rust_call_async
    ready = ffi._UNIFFI_RUST_FUTURE_POLL_READY
    continuation = ffi._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK(ffi.python_wake_continuation())

    def channel_of(loop):
        try:
            return channels[loop]
        except KeyError:
            pass
        except TypeError:
            return None  # a loop that takes no weak reference: the generated driver serves it
        try:
            channel = _Channel(ffi, loop)
        except (NotImplementedError, OSError, AttributeError, TypeError):
            channel = None  # e.g. a loop without add_reader: the generated driver serves it
        with _adding:
            channels[loop] = channel
        return channel

    async def rust_call_async(rust_future, ffi_poll, ffi_complete, ffi_free, lift, error):
        # uniffi_set_event_loop names a loop for calls from threads that run none: its driver.
        loop = None if ffi._UNIFFI_GLOBAL_EVENT_LOOP is not None else asyncio.get_running_loop()
        channel = None if loop is None else channel_of(loop)
        if channel is None:
            return await generated(rust_future, ffi_poll, ffi_complete, ffi_free, lift, error)
        try:
            woken = False
            while True:
                future = loop.create_future()
                data, key = channel.wait(future)
                ffi_poll(rust_future, continuation, data)
                if woken:
                    # A future polled again after a wake-up has mostly finished during the poll
                    # and written its record then: read it now rather than after a turn of the
                    # loop.
                    channel.read()
                woken = True
                try:
                    poll_code = await future
                except BaseException:
                    channel.forget(key)
                    raise
                if poll_code == ready:
                    break
            return lift(ffi._uniffi_rust_call_with_error(error, ffi_complete, rust_future))
        finally:
            ffi_free(rust_future)

    ffi._uniffi_rust_call_async = rust_call_async
