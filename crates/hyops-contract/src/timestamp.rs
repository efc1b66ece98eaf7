//! The one timestamp text of hyops' records and messages: RFC 3339, UTC, millisecond precision
//! (`2026-01-02T03:04:05.678Z`), as in events, log lines and evidence.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// `2026-01-02T03:04:05.678Z`.
pub fn format_timestamp(at: SystemTime) -> String {
    let t = OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// [`format_timestamp`] of milliseconds since the Unix epoch, as the ledger stores times (a
/// negative value is clamped to the epoch).
pub fn format_epoch_ms(ms: i64) -> String {
    format_timestamp(UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_millis() {
        assert_eq!(
            format_epoch_ms(1_767_323_045_678),
            "2026-01-02T03:04:05.678Z"
        );
        assert_eq!(format_epoch_ms(-5), "1970-01-01T00:00:00.000Z");
    }
}
