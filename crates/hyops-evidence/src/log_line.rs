//! The one log line format shared by hyops and its drivers: `[RFC3339 UTC millis] LEVEL component message`.

use std::time::SystemTime;

pub use hyops_contract::timestamp::format_timestamp;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Normal progress.
    Info,
    /// Detail for debugging.
    Debug,
    /// Even more detail.
    Trace,
}

impl LogLevel {
    /// Upper-case name as written in log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Warn => "WARN",
            Self::Info => "INFO",
            Self::Debug => "DEBUG",
            Self::Trace => "TRACE",
        }
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Formats one record without a trailing newline. Newlines and carriage returns in `msg` are
/// escaped (`\n`, `\r`) so one record is always one line.
pub fn format_log_line(at: SystemTime, level: LogLevel, component: &str, msg: &str) -> String {
    let mut line = format!("[{}] {} {} ", format_timestamp(at), level, component);
    for c in msg.chars() {
        match c {
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            c => line.push(c),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn formats_rfc3339_utc_millis() {
        let at = UNIX_EPOCH + Duration::from_millis(1_767_323_045_678);
        assert_eq!(
            format_log_line(at, LogLevel::Warn, "runner", "two\nlines"),
            "[2026-01-02T03:04:05.678Z] WARN runner two\\nlines"
        );
    }
}
