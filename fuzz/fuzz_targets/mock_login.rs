#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zitadel_passkey_fuzz::run("mock_login", data));
