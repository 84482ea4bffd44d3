"""The package's leaner call and buffer helpers (zitadel_passkey/_speedups.py): installed, and
moving exactly the bytes uniffi's generated helpers move."""

import ctypes
import datetime
import unittest

import zitadel_passkey
from zitadel_passkey import _speedups
from zitadel_passkey.zitadel_passkey_ffi import zitadel_passkey_ffi as _ffi


def _contents(rbuf):
    return ctypes.string_at(rbuf.data, rbuf.len) if rbuf.len else b""


# (converter, value) pairs of the kinds of value the package sends and receives: strings (with
# non-ASCII), optionals present and absent, records, enums, durations, sequences, booleans.
# Every fixed-size writer and reader is checked on its own below.
CASES = [
    (_ffi._UniffiFfiConverterString, ""),
    (_ffi._UniffiFfiConverterString, "zitadel ✓ ü 🔑"),
    (_ffi._UniffiFfiConverterOptionalTypeCallOptions, None),
    (
        _ffi._UniffiFfiConverterOptionalTypeCallOptions,
        zitadel_passkey.CallOptions(timeout=datetime.timedelta(seconds=2, microseconds=5), org_id="org-ü"),
    ),
    (
        _ffi._UniffiFfiConverterTypeClientConfig,
        zitadel_passkey.ClientConfig(
            endpoint="https://example.zitadel.cloud",
            transport=zitadel_passkey.Transport.GRPC_WEB,
            org_id="42",
            timeout=datetime.timedelta(milliseconds=1500),
            accept_language="de-CH",
            allow_insecure_http=True,
        ),
    ),
    (
        _ffi._UniffiFfiConverterSequenceTypePasskey,
        [
            zitadel_passkey.Passkey(id="1", name="Face ID", state=zitadel_passkey.PasskeyState.READY),
            zitadel_passkey.Passkey(id="2", name="", state=zitadel_passkey.PasskeyState.NOT_READY),
        ],
    ),
]


class Speedups(unittest.TestCase):
    def test_installed_over_the_generated_helpers(self):
        self.assertTrue(_speedups.INSTALLED)
        self.assertIsNot(_ffi._UniffiRustBufferBuilder, _speedups.GENERATED["builder"])

    def test_writes_the_bytes_the_generated_builder_writes(self):
        for converter, value in CASES:
            with self.subTest(converter=converter.__name__, value=value):
                generated = _speedups.GENERATED["builder"]()
                converter.write(value, generated)
                expected = generated.finalize()
                ours = _ffi._UniffiRustBuffer.alloc_with_builder()
                converter.write(value, ours)
                written = ours.finalize()
                try:
                    self.assertEqual(_contents(written), _contents(expected))
                finally:
                    expected.free()
                    written.free()

    def test_every_fixed_size_value_as_the_generated_helpers(self):
        values = {
            "i8": -128, "u8": 255, "i16": -32768, "u16": 65535, "i32": -(2**31), "u32": 2**32 - 1,
            "i64": -(2**63), "u64": 2**64 - 1, "float": 1.5, "double": -2.25,
        }
        generated_builder = _speedups.GENERATED["builder"]
        generated_stream = _speedups.GENERATED["stream"]
        self.assertEqual(
            {m for m in dir(generated_builder) if m.startswith("write")},
            {m for m in dir(_ffi._UniffiRustBufferBuilder) if m.startswith("write")},
        )
        for suffix, value in values.items():
            with self.subTest(suffix=suffix):
                generated = generated_builder()
                getattr(generated, "write_" + suffix)(value)
                expected = generated.finalize()
                ours = _ffi._UniffiRustBuffer.alloc_with_builder()
                getattr(ours, "write_" + suffix)(value)
                written = ours.finalize()
                try:
                    self.assertEqual(_contents(written), _contents(expected))
                    with written.read_with_stream() as stream:
                        self.assertEqual(getattr(stream, "read_" + suffix)(), value)
                    theirs = generated_stream.from_rust_buffer(expected)
                    self.assertEqual(getattr(theirs, "read_" + suffix)(), value)
                finally:
                    expected.free()
                    written.free()

    def test_reads_back_what_it_wrote(self):
        for converter, value in CASES:
            with self.subTest(converter=converter.__name__, value=value):
                self.assertEqual(converter.lift(converter.lower(value)), value)

    def test_a_short_buffer_is_an_error_and_still_freed(self):
        rbuf = _ffi._UniffiFfiConverterString.lower("abc")  # no length prefix: not a record
        freed = []
        free = _ffi._UniffiRustBuffer.free
        _ffi._UniffiRustBuffer.free = lambda buffer: freed.append(buffer.len) or free(buffer)
        try:
            with self.assertRaises(_ffi.InternalError):
                _ffi._UniffiFfiConverterSequenceTypePasskey.lift(rbuf)
        finally:
            _ffi._UniffiRustBuffer.free = free
        self.assertEqual(freed, [3])

    def test_a_builder_finalizes_once(self):
        builder = _ffi._UniffiRustBuffer.alloc_with_builder()
        builder.write_u8(0)
        rbuf = builder.finalize()
        self.assertIsNone(builder.finalize())
        _ffi._UniffiFfiConverterOptionalTypeCallOptions.lift(rbuf)

    def test_junk_after_a_value_is_an_error(self):
        builder = _ffi._UniffiRustBuffer.alloc_with_builder()
        builder.write_u8(0)  # None
        builder.write_u8(7)  # junk
        with self.assertRaises(RuntimeError):
            _ffi._UniffiFfiConverterOptionalTypeCallOptions.lift(builder.finalize())

    def test_a_rust_error_still_raises_its_kind(self):
        with self.assertRaises(zitadel_passkey.PasskeyError.InvalidArgument):
            zitadel_passkey.PasskeyClient.with_token(
                zitadel_passkey.ClientConfig(endpoint="not a url", transport=zitadel_passkey.Transport.GRPC),
                "token",
            )


if __name__ == "__main__":
    unittest.main()
