//! The one calendar of the project: the clock ([`now_ms`]), day numbers, and the dates shown to
//! users, over the `jiff` crate. Every crate asks this module; none computes dates by hand.
//!
//! A *day number* is the number of days from 1970-01-01 to a civil date. Which civil date an
//! instant falls on depends on the [`Calendar`]: with [`Days::Local`] (the default) it is the
//! user's local date in the system time zone (`TZ`, else `/etc/localtime`), daylight-saving
//! changes included; with [`Days::Utc`] it is the UTC date. One calendar is built at start from
//! the config's `days` key and handed to everything that counts or shows days (the usage
//! ledger, budgets, `stats`, the history browser), so they never disagree.
//!
//! It lives in `protocol` because every crate, the TUI included, depends on it. Its only I/O is
//! reading the system time zone, once, in [`Calendar::new`] with [`Days::Local`]; tests pin a
//! zone with [`Calendar::local_in`] instead of touching the process environment.

use std::fmt;

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

pub use jiff::tz::{Offset, TimeZone};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    u64::try_from(Timestamp::now().as_millisecond()).unwrap_or(0)
}

/// Whose days: the config's `days` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Days {
    /// The user's local days, in the system time zone.
    #[default]
    Local,
    /// UTC days.
    Utc,
}

/// The time zone that decides which day an instant belongs to, and how times are shown.
#[derive(Debug, Clone)]
pub struct Calendar {
    days: Days,
    zone: TimeZone,
}

impl Default for Calendar {
    /// UTC: deterministic, for stores and screens nobody configured (tests). The binary builds
    /// its calendar from the config with [`Calendar::new`].
    fn default() -> Self {
        Calendar::utc()
    }
}

impl Calendar {
    /// The calendar of a `days` setting; `Local` reads the system time zone (UTC-like when it
    /// cannot be read).
    pub fn new(days: Days) -> Calendar {
        match days {
            Days::Local => Calendar::local_in(TimeZone::system()),
            Days::Utc => Calendar::utc(),
        }
    }

    /// UTC days.
    pub fn utc() -> Calendar {
        Calendar {
            days: Days::Utc,
            zone: TimeZone::UTC,
        }
    }

    /// Local days in `zone` (the system zone in the binary; a pinned one in tests).
    pub fn local_in(zone: TimeZone) -> Calendar {
        Calendar {
            days: Days::Local,
            zone,
        }
    }

    pub fn days(&self) -> Days {
        self.days
    }

    /// The zone's name: `UTC`, an IANA name (`Europe/Berlin`), else its current offset.
    pub fn zone_name(&self) -> String {
        if self.days == Days::Utc {
            return "UTC".into();
        }
        match self.zone.iana_name() {
            Some(name) => name.to_string(),
            None => self.zone.to_offset(Timestamp::now()).to_string(),
        }
    }

    /// What the days are, for reports: `UTC` or `local time, Europe/Berlin`.
    pub fn label(&self) -> String {
        match self.days {
            Days::Utc => "UTC".into(),
            Days::Local => format!("local time, {}", self.zone_name()),
        }
    }

    /// The day number of the instant `at_ms` (milliseconds since the epoch) in this calendar.
    pub fn day_of(&self, at_ms: u64) -> u32 {
        let ms = i64::try_from(at_ms).unwrap_or(i64::MAX);
        let ts = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX);
        day_number(ts.to_zoned_datetime(self.zone.clone()).date())
    }

    /// Today's day number.
    pub fn today(&self) -> u32 {
        self.day_of(now_ms())
    }

    /// `YYYY-MM-DD HH:MM` of `at_ms` in this calendar's zone (the history browser's column).
    pub fn format_time(&self, at_ms: u64) -> String {
        self.zoned(at_ms).strftime("%Y-%m-%d %H:%M").to_string()
    }

    /// `YYYY-MM-DD HH:MM ZONE` of `at_ms`, the zone as its abbreviation (`UTC`, `CET`, `+02`):
    /// for text that leaves the screen (exports, `sessions show`).
    pub fn format_stamp(&self, at_ms: u64) -> String {
        self.zoned(at_ms).strftime("%Y-%m-%d %H:%M %Z").to_string()
    }

    fn zoned(&self, at_ms: u64) -> jiff::ZonedDateTime {
        let ms = i64::try_from(at_ms).unwrap_or(i64::MAX);
        Timestamp::from_millisecond(ms)
            .unwrap_or(Timestamp::MAX)
            .to_zoned_datetime(self.zone.clone())
    }
}

const EPOCH: Date = jiff::civil::date(1970, 1, 1);

/// The day number of a civil date (0 for dates before 1970).
fn day_number(date: Date) -> u32 {
    let days = date.since(EPOCH).map_or(0, |span| span.get_days());
    u32::try_from(days).unwrap_or(0)
}

/// The civil date of a day number (the last representable date past jiff's range).
fn date_of(day: u32) -> Date {
    Span::new()
        .try_days(i64::from(day))
        .and_then(|span| EPOCH.checked_add(span))
        .unwrap_or(Date::MAX)
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(day: u32) -> String {
    date_of(day).to_string()
}

/// The day number of the first day of the month containing `day`.
pub fn month_start(day: u32) -> u32 {
    day_number(date_of(day).first_of_month())
}

/// A `YYYY-MM-DD` that is not a date (or is before 1970).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDay(pub String);

impl fmt::Display for BadDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a date of the form YYYY-MM-DD from 1970 on",
            self.0
        )
    }
}

impl std::error::Error for BadDay {}

/// The day number of `YYYY-MM-DD`; days a month does not have (2026-02-30) are rejected.
pub fn parse_day(s: &str) -> Result<u32, BadDay> {
    let bad = || BadDay(s.to_string());
    let text = s.trim();
    // jiff also reads longer forms (a time after the date): only the bare date is accepted.
    if text.len() != 10 {
        return Err(bad());
    }
    let date: Date = text.parse().map_err(|_| bad())?;
    if date < EPOCH {
        return Err(bad());
    }
    Ok(day_number(date))
}

#[cfg(test)]
mod tests;
