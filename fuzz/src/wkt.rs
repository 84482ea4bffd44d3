//! The canonical proto3 JSON of `Timestamp` and `Duration`: whatever the SDK parses, it prints
//! back canonically, and the printed form parses to the same value and prints the same again.

use zitadel_passkey::wkt::{Duration, Timestamp};

pub(crate) fn timestamp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = Timestamp::parse(text) else {
        return;
    };
    let printed = parsed
        .to_rfc3339()
        .unwrap_or_else(|e| panic!("{text:?} parsed to {parsed:?}, which does not print: {e}"));
    let again = Timestamp::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again, parsed, "{text:?} -> {printed:?} changed the value");
    assert_eq!(again.to_rfc3339().ok().as_deref(), Some(&*printed));
    // Canonical: UTC with a `Z`, and 0, 3, 6 or 9 fraction digits.
    assert!(printed.ends_with('Z'), "{printed:?}");
    let fraction = printed
        .split_once('.')
        .map_or(0, |(_, rest)| rest.len() - 1);
    assert!(matches!(fraction, 0 | 3 | 6 | 9), "{printed:?}");
}

pub(crate) fn duration(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = Duration::parse(text) else {
        return;
    };
    let printed = parsed
        .to_json_string()
        .unwrap_or_else(|e| panic!("{text:?} parsed to {parsed:?}, which does not print: {e}"));
    let again = Duration::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again, parsed, "{text:?} -> {printed:?} changed the value");
    assert_eq!(again.to_json_string().ok().as_deref(), Some(&*printed));
    assert!(printed.ends_with('s'), "{printed:?}");
    let fraction = printed
        .split_once('.')
        .map_or(0, |(_, rest)| rest.len() - 1);
    assert!(matches!(fraction, 0 | 3 | 6 | 9), "{printed:?}");
    // The sign is the value's: a zero is never printed negative.
    if parsed.seconds == 0 && parsed.nanos == 0 {
        assert_eq!(printed, "0s");
    }
}
