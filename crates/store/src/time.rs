//! Wall-clock helpers: milliseconds since the epoch, day numbers and a UTC formatter (no
//! calendar crate needed for these few uses).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The day number (days since 1970-01-01) of `at_ms`, shifted by `utc_offset_secs`.
pub fn day_of(at_ms: u64, utc_offset_secs: i32) -> u32 {
    let secs = i64::try_from(at_ms / 1000).unwrap_or(i64::MAX) + i64::from(utc_offset_secs);
    u32::try_from(secs.max(0) / 86_400).unwrap_or(u32::MAX)
}

/// (year, month, day) of a day number (Howard Hinnant's civil_from_days).
pub fn civil(day: u32) -> (i64, u32, u32) {
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(day: u32) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM UTC` of a millisecond timestamp.
pub fn format_utc(ms: u64) -> String {
    let secs = ms / 1000;
    let day = u32::try_from(secs / 86_400).unwrap_or(u32::MAX);
    let rem = secs % 86_400;
    format!(
        "{} {:02}:{:02} UTC",
        format_day(day),
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates() {
        assert_eq!(format_day(0), "1970-01-01");
        // 2024-02-29 is day 19782.
        assert_eq!(format_day(19_782), "2024-02-29");
        assert_eq!(day_of(19_782 * 86_400_000 + 5, 0), 19_782);
        assert_eq!(day_of(19_782 * 86_400_000 - 1, 3600), 19_782);
        assert_eq!(format_utc(90_061_000), "1970-01-02 01:01 UTC");
    }
}
