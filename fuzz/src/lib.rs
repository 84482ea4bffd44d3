//! Coverage-guided fuzz targets for the SDK and the mock.
//!
//! Each target is a function of the fuzzer's bytes that panics when a property a user relies on
//! breaks: no panic anywhere (a panic in any thread aborts, see [`harness`]), no hang, and the
//! target's own invariants (a success only on an OK status, a code never in printed output,
//! canonical JSON that round-trips, no 5xx from the mock on bad input, no passkey from a
//! registration the login page must refuse). `fuzz_targets/` wraps
//! each in libFuzzer (`cargo xtask fuzz`); `tests/corpus.rs` replays the committed seeds and
//! regressions through the same functions in the ordinary test run.

mod harness;
mod mock;
mod sdk;
mod wkt;

/// A fuzz target: panics when a property breaks.
pub type Target = fn(&[u8]);

/// Every target by name: the binary in `fuzz_targets/` and the folders under `corpus/` and
/// `regressions/` carry the same name.
pub const TARGETS: &[(&str, Target)] = &[
    ("wkt_timestamp", wkt::timestamp),
    ("wkt_duration", wkt::duration),
    ("sdk_link", sdk::link),
    ("sdk_grpc_answer", sdk::grpc_answer),
    ("sdk_http1_answer", sdk::http1_answer),
    ("mock_grpc", mock::grpc),
    ("mock_rest", mock::rest),
    ("mock_admin", mock::admin),
    ("mock_http1", mock::http1),
    ("mock_login", mock::login),
];

/// Runs the target `name` on `data`.
///
/// # Panics
/// When the target finds a broken property, or `name` is not a target.
pub fn run(name: &str, data: &[u8]) {
    harness::abort_on_panic();
    let (_, target) = TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    target(data);
}
