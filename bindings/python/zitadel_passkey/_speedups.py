"""Leaner versions of the generic helpers in uniffi's generated module, installed over them.

Every call through the generated module lowers its arguments into a RustBuffer, calls the
library with a status struct, and lifts what comes back. uniffi's helpers for that are written
for clarity: a status struct built field by field, a context manager made from a generator for
every buffer, a ctypes ``memmove`` and ``struct.pack`` for every value written, a pointer slice
for every value read. Measured in one process on this package (``bench/findings.md``): lowering the
``None`` of ``add_passkey_link()``'s options cost 22 us, cloning the client's handle 8 us, about
30 us a call in all; these versions do the same work in a third of that.

What changes is only how the bytes are moved, never which bytes, calls or frees happen:

- a status struct comes zeroed from ctypes (``CALL_SUCCESS``, an empty error buffer: what
  ``default()`` builds), and is only examined further when its code is not success;
- a buffer is written into a ``bytearray`` and copied into a RustBuffer of exactly its size in
  one allocation and one ``memmove`` (uniffi grows the RustBuffer as it writes: nothing is
  allocated in Rust before the bytes are complete, so an error while writing leaks nothing);
- a buffer is read from one ``bytes`` copy of it with ``struct.unpack_from``, and freed on the
  way out as before, with the same "junk data left" check.

Hand-written because uniffi offers no faster runtime. If its template renames what this
replaces, ``install`` leaves the generated helpers in place and says so in ``INSTALLED``; the
package's tests check that it is ``True``, so an upgrade that breaks it fails there.
"""

import ctypes
import struct

# Whether install() replaced the generated helpers (checked by the package's tests).
INSTALLED = False
# The generated buffer builder and stream, kept for the tests that compare the two.
GENERATED = {}

# What install() uses or replaces in the generated module.
_REQUIRED = (
    "_uniffi_rust_call",
    "_uniffi_rust_call_with_error",
    "_uniffi_check_call_status",
    "_UniffiRustBuffer",
    "_UniffiRustCallStatus",
    "InternalError",
    "_UniffiRustBufferBuilder",
    "_UniffiRustBufferStream",
)


# uniffi's fixed-size values: the suffix of its `write_*`/`read_*` methods, and their struct
# format (big-endian, as uniffi's wire format has them). `write_c_size_t`, written only and in
# the platform's layout, is added apart.
_FIXED_SIZE = {
    "i8": ">b",
    "u8": ">B",
    "i16": ">h",
    "u16": ">H",
    "i32": ">i",
    "u32": ">I",
    "i64": ">q",
    "u64": ">Q",
    "float": ">f",
    "double": ">d",
}


def _writer(pack, fmt):
    def write(self, value):
        self._bytes += pack(fmt, value)

    return write


def _reader(size, fmt):
    def read(self):
        return self._unpack(size, fmt)

    return read


def install(ffi):
    """Replaces the generated module's call and buffer helpers with the ones below."""
    global INSTALLED
    if not all(hasattr(ffi, name) for name in _REQUIRED):
        return
    rust_buffer = ffi._UniffiRustBuffer
    if not all(
        hasattr(rust_buffer, name)
        for name in ("alloc", "free", "alloc_with_builder", "consume_with_stream", "read_with_stream")
    ):
        return

    status_type = ffi._UniffiRustCallStatus
    check_call_status = ffi._uniffi_check_call_status
    internal_error = ffi.InternalError
    byref = ctypes.byref
    memmove = ctypes.memmove
    string_at = ctypes.string_at
    pack = struct.pack
    unpack_from = struct.unpack_from

    def rust_call_with_error(error_ffi_converter, fn, *args):
        status = status_type()
        result = fn(*args, byref(status))
        if status.code:
            check_call_status(error_ffi_converter, status)
        return result

    def rust_call(fn, *args):
        return rust_call_with_error(None, fn, *args)

    class Builder:
        """Writes a buffer's bytes, then hands them to Rust in one RustBuffer."""

        __slots__ = ("_bytes",)

        def __init__(self):
            self._bytes = bytearray()

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False  # nothing allocated in Rust yet: nothing to discard

        def finalize(self):
            data = self._bytes
            if data is None:
                return None  # finalized already, as the generated builder answers then
            self._bytes = None
            size = len(data)
            rbuf = rust_buffer.alloc(size)
            if size:
                memmove(rbuf.data, bytes(data), size)
            rbuf.len = size
            return rbuf

        def discard(self):
            self._bytes = bytearray()

        def write(self, value):
            self._bytes += value

    class Stream:
        """Reads a buffer from one copy of its bytes; frees the buffer on exit if it owns it."""

        __slots__ = ("_data", "_len", "_offset", "_owned")

        def __init__(self, rbuf, owned):
            size = rbuf.len
            try:
                self._data = string_at(rbuf.data, size) if size else b""
            except BaseException:
                if owned:
                    rbuf.free()  # consumed even when it cannot be read, as uniffi's frees it
                raise
            self._len = size
            self._offset = 0
            self._owned = rbuf if owned else None

        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc, traceback):
            owned = self._owned
            if owned is not None:
                self._owned = None
                owned.free()
            if exc_type is None and self._offset != self._len:
                way = "consume_with_stream" if owned is not None else "read_with_stream"
                raise RuntimeError(f"junk data left in buffer at end of {way} {self.remaining()}")
            return False

        def remaining(self):
            return self._len - self._offset

        def _unpack(self, size, fmt):
            offset = self._offset
            if offset + size > self._len:
                raise internal_error("read past end of rust buffer")
            self._offset = offset + size
            return unpack_from(fmt, self._data, offset)[0]

        def read(self, size):
            offset = self._offset
            if offset + size > self._len:
                raise internal_error("read past end of rust buffer")
            self._offset = offset + size
            return self._data[offset : offset + size]

    # The fixed-size values uniffi reads and writes, by the suffix of its method names.
    for suffix, fmt in _FIXED_SIZE.items():
        setattr(Builder, "write_" + suffix, _writer(pack, fmt))
        setattr(Stream, "read_" + suffix, _reader(struct.calcsize(fmt), fmt))
    Builder.write_c_size_t = _writer(pack, "@N")  # written only, in the platform's layout

    GENERATED["builder"] = ffi._UniffiRustBufferBuilder
    GENERATED["stream"] = ffi._UniffiRustBufferStream
    ffi._uniffi_rust_call = rust_call
    ffi._uniffi_rust_call_with_error = rust_call_with_error
    ffi._UniffiRustBufferBuilder = Builder
    rust_buffer.alloc_with_builder = staticmethod(lambda *args: Builder())
    rust_buffer.consume_with_stream = lambda self: Stream(self, owned=True)
    rust_buffer.read_with_stream = lambda self: Stream(self, owned=False)
    INSTALLED = True
