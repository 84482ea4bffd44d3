//! `google.protobuf.Timestamp` and `google.protobuf.Duration` with canonical proto3 JSON.
//!
//! Written here rather than taken from `pbjson-types` because canonical proto3 JSON (and ZITADEL)
//! writes timestamps in UTC ending in `Z` with 0, 3, 6 or 9 fraction digits, where pbjson-types
//! writes `+00:00`, and because values outside the ranges proto3 defines must be rejected with an
//! error. The binary encoding is the usual one (`seconds = 1`, `nanos = 2`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// `0001-01-01T00:00:00Z`, the earliest valid Timestamp.
const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// `9999-12-31T23:59:59Z`, the latest valid Timestamp (plus up to 999 999 999 ns).
const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;
/// About ±10 000 years, the range proto3 allows a Duration.
const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

/// A value that does not fit the range or syntax of a protobuf well-known type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WktError(String);

impl fmt::Display for WktError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WktError {}

fn error(message: impl Into<String>) -> WktError {
    WktError(message.into())
}

/// A point in time: seconds and nanoseconds since the Unix epoch, in UTC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Fraction of a second, `0..=999_999_999`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl ::prost::Name for Timestamp {
    const NAME: &'static str = "Timestamp";
    const PACKAGE: &'static str = "google.protobuf";
}

impl Timestamp {
    /// A timestamp from its parts, if it lies in `0001-01-01` ..= `9999-12-31` with valid nanos.
    pub fn new(seconds: i64, nanos: i32) -> Result<Self, WktError> {
        let timestamp = Self { seconds, nanos };
        timestamp.check()?;
        Ok(timestamp)
    }

    /// Checks the range proto3 allows (a decoded binary message is not checked by prost).
    pub fn check(&self) -> Result<(), WktError> {
        if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&self.seconds) {
            return Err(error(format!(
                "timestamp seconds {} out of range",
                self.seconds
            )));
        }
        if !(0..NANOS_PER_SECOND).contains(&i64::from(self.nanos)) {
            return Err(error(format!(
                "timestamp nanos {} out of range",
                self.nanos
            )));
        }
        Ok(())
    }

    /// The current time.
    pub fn now() -> Self {
        Self::try_from(SystemTime::now()).unwrap_or_default()
    }

    /// Canonical RFC 3339 in UTC, e.g. `2024-05-12T08:30:00.120Z`.
    pub fn to_rfc3339(&self) -> Result<String, WktError> {
        self.check()?;
        let utc = time::OffsetDateTime::from_unix_timestamp(self.seconds)
            .map_err(|e| error(format!("timestamp out of range: {e}")))?;
        let (date, clock) = (utc.date(), utc.time());
        // `check` keeps the year in 1..=9999, so it is four digits.
        let year = u32::try_from(date.year()).map_err(|_| error("timestamp out of range"))?;
        let mut out = String::with_capacity(30);
        push_digits(&mut out, year, 4);
        out.push('-');
        push_digits(&mut out, u32::from(u8::from(date.month())), 2);
        out.push('-');
        push_digits(&mut out, u32::from(date.day()), 2);
        out.push('T');
        push_digits(&mut out, u32::from(clock.hour()), 2);
        out.push(':');
        push_digits(&mut out, u32::from(clock.minute()), 2);
        out.push(':');
        push_digits(&mut out, u32::from(clock.second()), 2);
        push_fraction(&mut out, self.nanos.unsigned_abs());
        out.push('Z');
        Ok(out)
    }

    /// Parses RFC 3339 with any offset (converted to UTC). A bare `YYYY-MM-DD` is read as
    /// midnight UTC, because ZITADEL's API docs show such placeholder dates in their examples.
    pub fn parse(text: &str) -> Result<Self, WktError> {
        use time::format_description::well_known::Rfc3339;
        let parsed = match time::OffsetDateTime::parse(text, &Rfc3339) {
            Ok(parsed) => parsed,
            Err(rfc_error) => {
                let date_only = time::macros::format_description!("[year]-[month]-[day]");
                time::Date::parse(text, &date_only)
                    .map(|date| date.midnight().assume_utc())
                    .map_err(|_| error(format!("invalid timestamp {text:?}: {rfc_error}")))?
            }
        };
        let nanos = i32::try_from(parsed.nanosecond()).map_err(|_| error("invalid nanos"))?;
        Self::new(parsed.unix_timestamp(), nanos)
    }
}

impl TryFrom<SystemTime> for Timestamp {
    type Error = WktError;

    fn try_from(time: SystemTime) -> Result<Self, WktError> {
        let (seconds, nanos) = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => (
                i64::try_from(after.as_secs()).ok(),
                after.subsec_nanos() as i64,
            ),
            Err(before) => {
                let before = before.duration();
                let seconds = i64::try_from(before.as_secs()).ok().map(|s| -s);
                match before.subsec_nanos() {
                    0 => (seconds, 0),
                    n => (seconds.map(|s| s - 1), NANOS_PER_SECOND - i64::from(n)),
                }
            }
        };
        let seconds = seconds.ok_or_else(|| error("time out of range"))?;
        Self::new(seconds, nanos as i32)
    }
}

impl TryFrom<Timestamp> for SystemTime {
    type Error = WktError;

    fn try_from(timestamp: Timestamp) -> Result<Self, WktError> {
        timestamp.check()?;
        let nanos = std::time::Duration::from_nanos(timestamp.nanos as u64);
        let magnitude = std::time::Duration::from_secs(timestamp.seconds.unsigned_abs());
        let time = if timestamp.seconds >= 0 {
            UNIX_EPOCH.checked_add(magnitude)
        } else {
            UNIX_EPOCH.checked_sub(magnitude)
        };
        time.and_then(|t| t.checked_add(nanos))
            .ok_or_else(|| error("timestamp does not fit this platform's clock"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_rfc3339() {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "<invalid timestamp {}s {}ns>", self.seconds, self.nanos),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.to_rfc3339().map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ParseVisitor("an RFC 3339 timestamp", Timestamp::parse))
    }
}

/// A signed span of time with nanosecond precision.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
pub struct Duration {
    /// Whole seconds, `-315_576_000_000..=315_576_000_000`.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Fraction of a second with the sign of `seconds`, `-999_999_999..=999_999_999`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl ::prost::Name for Duration {
    const NAME: &'static str = "Duration";
    const PACKAGE: &'static str = "google.protobuf";
}

impl Duration {
    /// A duration from its parts, if they are in range and of the same sign.
    pub fn new(seconds: i64, nanos: i32) -> Result<Self, WktError> {
        let duration = Self { seconds, nanos };
        duration.check()?;
        Ok(duration)
    }

    /// Whole seconds.
    pub fn from_secs(seconds: i64) -> Result<Self, WktError> {
        Self::new(seconds, 0)
    }

    /// Checks the range proto3 allows (a decoded binary message is not checked by prost).
    pub fn check(&self) -> Result<(), WktError> {
        if !(-MAX_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&self.seconds) {
            return Err(error(format!(
                "duration seconds {} out of range",
                self.seconds
            )));
        }
        if !(-NANOS_PER_SECOND + 1..NANOS_PER_SECOND).contains(&i64::from(self.nanos)) {
            return Err(error(format!("duration nanos {} out of range", self.nanos)));
        }
        if (self.seconds > 0 && self.nanos < 0) || (self.seconds < 0 && self.nanos > 0) {
            return Err(error("duration seconds and nanos have different signs"));
        }
        Ok(())
    }

    /// Canonical proto3 JSON form, e.g. `3600s` or `1.500s`.
    pub fn to_json_string(&self) -> Result<String, WktError> {
        self.check()?;
        let sign = if self.seconds < 0 || self.nanos < 0 {
            "-"
        } else {
            ""
        };
        let mut out = String::with_capacity(32);
        out.push_str(sign);
        out.push_str(&self.seconds.unsigned_abs().to_string());
        push_fraction(&mut out, self.nanos.unsigned_abs());
        out.push('s');
        Ok(out)
    }

    /// Parses the proto3 JSON form: an optional `-`, seconds, up to 9 fraction digits, `s`.
    pub fn parse(text: &str) -> Result<Self, WktError> {
        let invalid = || {
            error(format!(
                "invalid duration {text:?}: expected e.g. \"3600s\""
            ))
        };
        let body = text.strip_suffix('s').ok_or_else(invalid)?;
        let (negative, body) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body),
        };
        let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (body.contains('.') && !digits(frac)) || frac.len() > 9 {
            return Err(invalid());
        }
        let seconds: i64 = whole
            .parse()
            .map_err(|_| error(format!("duration {text:?} out of range")))?;
        let nanos: i32 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().map_err(|_| invalid())?
        };
        if negative {
            Self::new(-seconds, -nanos)
        } else {
            Self::new(seconds, nanos)
        }
    }
}

impl TryFrom<std::time::Duration> for Duration {
    type Error = WktError;

    fn try_from(duration: std::time::Duration) -> Result<Self, WktError> {
        let seconds =
            i64::try_from(duration.as_secs()).map_err(|_| error("duration out of range"))?;
        Self::new(seconds, duration.subsec_nanos() as i32)
    }
}

impl TryFrom<Duration> for std::time::Duration {
    type Error = WktError;

    fn try_from(duration: Duration) -> Result<Self, WktError> {
        duration.check()?;
        if duration.seconds < 0 || duration.nanos < 0 {
            return Err(error("negative duration"));
        }
        Ok(std::time::Duration::new(
            duration.seconds as u64,
            duration.nanos as u32,
        ))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_json_string() {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "<invalid duration {}s {}ns>", self.seconds, self.nanos),
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.to_json_string().map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ParseVisitor(
            "a duration such as \"3600s\"",
            Duration::parse,
        ))
    }
}

/// `.5` -> `.500`: 0, 3, 6 or 9 digits, as canonical proto3 JSON wants.
/// Appends the canonical fraction of a second: none, or 3, 6 or 9 digits.
fn push_fraction(out: &mut String, nanos: u32) {
    match nanos {
        0 => {}
        n if n % 1_000_000 == 0 => {
            out.push('.');
            push_digits(out, n / 1_000_000, 3);
        }
        n if n % 1_000 == 0 => {
            out.push('.');
            push_digits(out, n / 1_000, 6);
        }
        n => {
            out.push('.');
            push_digits(out, n, 9);
        }
    }
}

/// Appends the last `width` decimal digits of `value`, zero-padded. Written out because
/// `format!` with width specifiers was most of the cost of printing a timestamp, which the mock
/// does on every REST answer.
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width.saturating_sub(1));
    while divisor > 0 {
        // A digit 0–9, so the cast cannot truncate.
        out.push(char::from(b'0' + (value / divisor % 10) as u8));
        divisor /= 10;
    }
}

/// Deserializes a string through a parse function.
struct ParseVisitor<T>(&'static str, fn(&str) -> Result<T, WktError>);

impl<T> Visitor<'_> for ParseVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        (self.1)(value).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_in_utc_with_z_and_grouped_fractions() {
        let cases = [
            (0, 0, "1970-01-01T00:00:00Z"),
            (1_683_878_400, 120_000_000, "2023-05-12T08:00:00.120Z"),
            (1_683_878_400, 120_500_000, "2023-05-12T08:00:00.120500Z"),
            (1_683_878_400, 1, "2023-05-12T08:00:00.000000001Z"),
            (MIN_TIMESTAMP_SECONDS, 0, "0001-01-01T00:00:00Z"),
            (
                MAX_TIMESTAMP_SECONDS,
                999_999_999,
                "9999-12-31T23:59:59.999999999Z",
            ),
        ];
        for (seconds, nanos, text) in cases {
            let timestamp = Timestamp::new(seconds, nanos).unwrap();
            assert_eq!(timestamp.to_rfc3339().unwrap(), text);
            assert_eq!(Timestamp::parse(text).unwrap(), timestamp, "{text}");
        }
    }

    #[test]
    fn timestamps_print_as_the_time_crate_does_across_the_range() {
        use time::format_description::well_known::Rfc3339;
        const STEPS: i64 = 10_007;
        let step = (MAX_TIMESTAMP_SECONDS - MIN_TIMESTAMP_SECONDS) / STEPS;
        for i in 0..=STEPS {
            let seconds =
                (MIN_TIMESTAMP_SECONDS + i * step + i % 86_400).min(MAX_TIMESTAMP_SECONDS);
            let ours = Timestamp::new(seconds, 0).unwrap().to_rfc3339().unwrap();
            let theirs = time::OffsetDateTime::from_unix_timestamp(seconds)
                .unwrap()
                .format(&Rfc3339)
                .unwrap();
            assert_eq!(ours, theirs, "{seconds}");
        }
    }

    #[test]
    fn timestamps_parse_offsets_and_placeholder_dates() {
        let utc = Timestamp::parse("2023-05-12T08:00:00Z").unwrap();
        assert_eq!(Timestamp::parse("2023-05-12T10:00:00+02:00").unwrap(), utc);
        assert_eq!(
            Timestamp::parse("2023-05-12").unwrap().to_string(),
            "2023-05-12T00:00:00Z"
        );
    }

    #[test]
    fn timestamps_out_of_range_or_malformed_are_errors() {
        assert!(Timestamp::new(MAX_TIMESTAMP_SECONDS + 1, 0).is_err());
        assert!(Timestamp::new(MIN_TIMESTAMP_SECONDS - 1, 0).is_err());
        assert!(Timestamp::new(0, -1).is_err());
        assert!(Timestamp::new(0, 1_000_000_000).is_err());
        assert!(
            Timestamp {
                seconds: i64::MAX,
                nanos: 0
            }
            .to_rfc3339()
            .is_err()
        );
        for text in [
            "",
            "yesterday",
            "2023-13-01T00:00:00Z",
            "2023-05-12T08:00:00",
        ] {
            assert!(Timestamp::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn durations_round_trip() {
        let cases = [
            (3600, 0, "3600s"),
            (0, 0, "0s"),
            (1, 500_000_000, "1.500s"),
            (0, -1, "-0.000000001s"),
            (-5, -250_000, "-5.000250s"),
            (MAX_DURATION_SECONDS, 0, "315576000000s"),
        ];
        for (seconds, nanos, text) in cases {
            let duration = Duration::new(seconds, nanos).unwrap();
            assert_eq!(duration.to_json_string().unwrap(), text);
            assert_eq!(Duration::parse(text).unwrap(), duration, "{text}");
        }
        assert_eq!(
            Duration::parse("1.5s").unwrap(),
            Duration::new(1, 500_000_000).unwrap()
        );
    }

    #[test]
    fn durations_out_of_range_or_malformed_are_errors() {
        for text in [
            "",
            "3600",
            "s",
            "-s",
            "1.s",
            ".5s",
            "1.1234567890s",
            "+1s",
            "1e3s",
            " 1s",
            "315576000001s",
            "99999999999999999999s",
        ] {
            assert!(Duration::parse(text).is_err(), "{text}");
        }
        assert!(Duration::new(1, -1).is_err());
        assert!(
            Duration {
                seconds: i64::MIN,
                nanos: 0
            }
            .to_json_string()
            .is_err()
        );
    }

    #[test]
    fn std_conversions() {
        let duration = Duration::try_from(std::time::Duration::from_millis(1500)).unwrap();
        assert_eq!(duration.to_string(), "1.500s");
        assert!(std::time::Duration::try_from(Duration::new(-1, 0).unwrap()).is_err());
        let now = SystemTime::now();
        let back = SystemTime::try_from(Timestamp::try_from(now).unwrap()).unwrap();
        assert_eq!(back, now);
        let before_epoch = UNIX_EPOCH - std::time::Duration::from_millis(1500);
        let timestamp = Timestamp::try_from(before_epoch).unwrap();
        assert_eq!((timestamp.seconds, timestamp.nanos), (-2, 500_000_000));
        assert_eq!(SystemTime::try_from(timestamp).unwrap(), before_epoch);
    }
}
