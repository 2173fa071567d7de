//! Time helpers: the database keeps instants as Unix milliseconds (a BIGINT
//! that both SQLite and PostgreSQL read through sqlx's `Any` driver), JSON
//! carries RFC 3339 UTC strings.

use time::OffsetDateTime;

/// The current instant in Unix milliseconds.
pub fn now_millis() -> i64 {
    to_millis(OffsetDateTime::now_utc())
}

/// An instant as Unix milliseconds.
pub fn to_millis(at: OffsetDateTime) -> i64 {
    // i128 -> i64 cannot overflow for any date `time` can represent by default.
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Unix milliseconds back to an instant; out-of-range values clamp to the epoch.
pub fn from_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 serialization in UTC, for `#[serde(with = ...)]`.
pub mod rfc3339 {
    pub use time::serde::rfc3339::*;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip_keeps_millisecond_precision() {
        let now = OffsetDateTime::now_utc();
        let back = from_millis(to_millis(now));
        assert!((now - back).whole_milliseconds().abs() < 1);
    }
}
