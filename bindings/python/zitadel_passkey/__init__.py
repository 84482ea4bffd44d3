"""ZITADEL passkey links from Python: uniffi bindings of the zitadel-passkey Rust SDK.

Every name of the generated module is re-exported here; ``await client.add_passkey_link()`` runs
the call on the library's own threads and resumes the asyncio task when it is done.
"""

import atexit as _atexit
import threading as _threading
import time as _time

# maturin lays the generated module out as zitadel_passkey/zitadel_passkey_ffi/zitadel_passkey_ffi.py
# next to the library.
from .zitadel_passkey_ffi import zitadel_passkey_ffi as _ffi
from .zitadel_passkey_ffi.zitadel_passkey_ffi import *  # noqa: F401,F403
from . import _speedups, _wake

# The generated module's python_wake_* functions serve _wake.py alone: not part of the API.
__all__ = [name for name in _ffi.__all__ if not name.startswith("python_wake_")]
for _name in set(_ffi.__all__) - set(__all__):
    del globals()[_name]

# Why this exists: the library's threads resume an awaiting task through a ctypes callback that
# calls `loop.call_soon_threadsafe`, which releases the GIL while it wakes the loop. If the task
# then finishes the program before that callback has taken the GIL back, CPython is already
# finalizing and ends the library's thread with `pthread_exit`, whose forced unwind Rust cannot
# pass: the process aborts ("FATAL: exception not rethrown") after the program's last line ran.
# So every callback is counted while it runs, and at exit (atexit handlers run before CPython
# starts finalizing) we wait, with the GIL released, until none is left inside one.
_ORIGINAL_CONTINUATION = _ffi._uniffi_continuation_callback
_EXIT_WAIT_SECONDS = 2.0
_running = 0
_running_lock = _threading.Lock()


@_ffi._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK
def _counted_continuation(future_handle, poll_code):
    global _running
    with _running_lock:
        _running += 1
    try:
        _ORIGINAL_CONTINUATION(future_handle, poll_code)
    finally:
        with _running_lock:
            _running -= 1


def _wait_for_callbacks():
    deadline = _time.monotonic() + _EXIT_WAIT_SECONDS
    while _running and _time.monotonic() < deadline:
        _time.sleep(0.001)


# The generated code looks the callback up by this global name on every poll.
_ffi._uniffi_continuation_callback = _counted_continuation
_atexit.register(_wait_for_callbacks)

# Leaner call and buffer helpers in place of the generated ones (see _speedups.py).
_speedups.install(_ffi)

# Async calls resume through a pipe the event loop watches instead (see _wake.py); the counted
# callback above still serves loops that cannot watch a file descriptor.
_wake.install(_ffi)
