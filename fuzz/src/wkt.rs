//! The canonical proto3 JSON of `Timestamp` and `Duration`: whatever the SDK parses, it prints
//! back canonically, and the printed form parses to the same value and prints the same again.

use std::fmt::{Debug, Display};

use zitadel_passkey::wkt::{Duration, Timestamp};

pub(crate) fn timestamp(data: &[u8]) {
    // Canonical: UTC with a `Z`.
    round_trip(data, Timestamp::parse, Timestamp::to_rfc3339, 'Z');
}

pub(crate) fn duration(data: &[u8]) {
    let Some((parsed, printed)) = round_trip(data, Duration::parse, Duration::to_json_string, 's')
    else {
        return;
    };
    // The sign is the value's: a zero is never printed negative.
    if parsed.seconds == 0 && parsed.nanos == 0 {
        assert_eq!(printed, "0s");
    }
}

/// Parses `data` (if it is text the parser takes), prints it, and checks that the printed form
/// parses to the same value, prints the same again, ends in `suffix` and has 0, 3, 6 or 9
/// fraction digits. Returns the value and its printed form.
fn round_trip<T: PartialEq + Debug, E: Display>(
    data: &[u8],
    parse: fn(&str) -> Result<T, E>,
    print: fn(&T) -> Result<String, E>,
    suffix: char,
) -> Option<(T, String)> {
    let text = std::str::from_utf8(data).ok()?;
    let parsed = parse(text).ok()?;
    let printed = print(&parsed)
        .unwrap_or_else(|e| panic!("{text:?} parsed to {parsed:?}, which does not print: {e}"));
    let again = parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again, parsed, "{text:?} -> {printed:?} changed the value");
    assert_eq!(print(&again).ok().as_deref(), Some(&*printed));
    assert!(printed.ends_with(suffix), "{printed:?}");
    let fraction = printed
        .split_once('.')
        .map_or(0, |(_, rest)| rest.len() - 1);
    assert!(matches!(fraction, 0 | 3 | 6 | 9), "{printed:?}");
    Some((parsed, printed))
}
