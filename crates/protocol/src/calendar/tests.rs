//! Boundary cases of the calendar: month and year ends, leap days, zones east and west of UTC,
//! and a daylight-saving change day (Europe/Berlin's rule as a POSIX TZ string, so the test
//! does not depend on the machine's tzdata; the tzdb zone is checked too where installed).

#![allow(clippy::unwrap_used)]

use super::*;
use jiff::tz::Offset;

/// Milliseconds of `YYYY-MM-DDTHH:MM:SSZ`.
fn at(utc: &str) -> u64 {
    let ts: Timestamp = utc.parse().unwrap();
    u64::try_from(ts.as_millisecond()).unwrap()
}

fn day(s: &str) -> u32 {
    parse_day(s).unwrap()
}

fn fixed(hours: i8) -> Calendar {
    Calendar::local_in(TimeZone::fixed(Offset::constant(hours)))
}

/// Berlin's rule: CET (+1), CEST (+2) from the last Sunday of March 02:00 to the last Sunday of
/// October 03:00.
fn berlin() -> Calendar {
    Calendar::local_in(TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap())
}

#[test]
fn day_numbers_and_dates_round_trip() {
    assert_eq!(format_day(0), "1970-01-01");
    assert_eq!(day("1970-01-01"), 0);
    // 2024-02-29 is day 19782; 2026-11-26 is 20783.
    assert_eq!(day("2024-02-29"), 19_782);
    assert_eq!(format_day(19_782), "2024-02-29");
    assert_eq!(day("2026-11-26"), 20_783);
    for d in [0, 59, 365, 10_956, 19_782, 20_454, 20_818, 50_000] {
        assert_eq!(day(&format_day(d)), d);
    }
    assert_eq!(format_day(day("2026-12-31") + 1), "2027-01-01");
}

#[test]
fn impossible_dates_are_rejected() {
    for bad in [
        "2023-02-29",
        "2026-13-01",
        "2026-04-31",
        "2026-02-30",
        "26-1-1",
        "x",
        "2026-01",
        "1969-12-31",
        "2026-01-01T10:00",
    ] {
        let err = parse_day(bad).unwrap_err();
        assert!(err.to_string().contains("YYYY-MM-DD"), "{bad}: {err}");
    }
    assert_eq!(day(" 2026-01-02\n"), day("2026-01-02"));
}

#[test]
fn month_starts_cross_month_and_year_ends() {
    assert_eq!(month_start(day("2026-11-26")), day("2026-11-01"));
    assert_eq!(month_start(day("2026-11-01")), day("2026-11-01"));
    assert_eq!(month_start(day("2026-12-31")), day("2026-12-01"));
    assert_eq!(month_start(day("2027-01-01")), day("2027-01-01"));
    assert_eq!(month_start(day("2024-02-29")), day("2024-02-01"));
    assert_eq!(month_start(day("2024-03-01")), day("2024-03-01"));
    assert_eq!(month_start(0), 0);
}

#[test]
fn a_late_call_is_the_next_local_day_east_of_utc_and_the_same_utc_day() {
    // 23:30 UTC on the 1st: the 2nd in UTC+2, the 1st in UTC.
    let t = at("2026-11-01T23:30:00Z");
    assert_eq!(Calendar::utc().day_of(t), day("2026-11-01"));
    assert_eq!(fixed(2).day_of(t), day("2026-11-02"));
    // West of UTC an early call is still the previous day.
    assert_eq!(
        fixed(-5).day_of(at("2026-11-02T03:00:00Z")),
        day("2026-11-01")
    );
    // Month and year ends move with the zone.
    assert_eq!(
        fixed(2).day_of(at("2026-11-30T22:00:00Z")),
        day("2026-12-01")
    );
    assert_eq!(
        fixed(2).day_of(at("2026-12-31T23:30:00Z")),
        day("2027-01-01")
    );
    assert_eq!(
        Calendar::utc().day_of(at("2026-12-31T23:30:00Z")),
        day("2026-12-31")
    );
    assert_eq!(
        fixed(-5).day_of(at("2027-01-01T04:59:59Z")),
        day("2026-12-31")
    );
    assert_eq!(
        fixed(-5).day_of(at("2027-01-01T05:00:00Z")),
        day("2027-01-01")
    );
    assert_eq!(Calendar::utc().day_of(0), 0);
}

#[test]
fn daylight_saving_change_days_follow_the_zone_rules() {
    let cal = berlin();
    // 2026-03-29 is the spring change (02:00 CET -> 03:00 CEST): a 23-hour day, from
    // 2026-03-28T23:00Z to 2026-03-29T22:00Z.
    assert_eq!(cal.day_of(at("2026-03-28T22:59:59Z")), day("2026-03-28"));
    assert_eq!(cal.day_of(at("2026-03-28T23:00:00Z")), day("2026-03-29"));
    assert_eq!(cal.day_of(at("2026-03-29T21:59:59Z")), day("2026-03-29"));
    assert_eq!(cal.day_of(at("2026-03-29T22:00:00Z")), day("2026-03-30"));
    // A fixed offset taken before the change (+1) would put 22:30Z on the 29th: wrong.
    assert_eq!(
        fixed(1).day_of(at("2026-03-29T22:30:00Z")),
        day("2026-03-29")
    );
    assert_eq!(cal.day_of(at("2026-03-29T22:30:00Z")), day("2026-03-30"));
    // 2026-10-25 is the autumn change (03:00 CEST -> 02:00 CET): a 25-hour day.
    assert_eq!(cal.day_of(at("2026-10-24T21:59:59Z")), day("2026-10-24"));
    assert_eq!(cal.day_of(at("2026-10-24T22:00:00Z")), day("2026-10-25"));
    assert_eq!(cal.day_of(at("2026-10-25T22:59:59Z")), day("2026-10-25"));
    assert_eq!(cal.day_of(at("2026-10-25T23:00:00Z")), day("2026-10-26"));
    // Shown times carry the zone in effect.
    assert_eq!(
        cal.format_stamp(at("2026-03-29T00:59:00Z")),
        "2026-03-29 01:59 CET"
    );
    assert_eq!(
        cal.format_stamp(at("2026-03-29T01:00:00Z")),
        "2026-03-29 03:00 CEST"
    );
    assert_eq!(
        cal.format_time(at("2026-10-25T00:30:00Z")),
        "2026-10-25 02:30"
    );
    assert_eq!(
        cal.format_time(at("2026-10-25T01:30:00Z")),
        "2026-10-25 02:30"
    );
}

#[test]
fn the_tzdb_zone_agrees_with_the_rule_where_installed() {
    let Ok(zone) = TimeZone::get("Europe/Berlin") else {
        eprintln!("no tzdata for Europe/Berlin: skipped");
        return;
    };
    let db = Calendar::local_in(zone);
    let rule = berlin();
    assert_eq!(db.zone_name(), "Europe/Berlin");
    assert_eq!(db.label(), "local time, Europe/Berlin");
    let start = at("2026-03-27T00:00:00Z");
    for half_hour in 0..(24 * 2 * 220) {
        let t = start + half_hour * 1_800_000;
        assert_eq!(db.day_of(t), rule.day_of(t), "{}", rule.format_stamp(t));
        assert_eq!(db.format_stamp(t), rule.format_stamp(t));
    }
}

#[test]
fn formats_and_labels() {
    let t = 1_795_168_800_000; // 2026-11-20 10:00 UTC
    assert_eq!(Calendar::utc().format_time(t), "2026-11-20 10:00");
    assert_eq!(Calendar::utc().format_stamp(t), "2026-11-20 10:00 UTC");
    assert_eq!(Calendar::utc().format_time(0), "1970-01-01 00:00");
    assert_eq!(berlin().format_stamp(t), "2026-11-20 11:00 CET");
    assert_eq!(fixed(2).format_time(t), "2026-11-20 12:00");
    assert_eq!(Calendar::utc().label(), "UTC");
    assert_eq!(fixed(2).label(), "local time, +02");
    assert_eq!(Calendar::new(Days::Utc).days(), Days::Utc);
    assert_eq!(Calendar::new(Days::Local).days(), Days::Local);
    assert_eq!(Calendar::default().days(), Days::Utc);
}

#[test]
fn the_days_setting_reads_local_and_utc_only() {
    let d: Days = serde_json::from_str("\"utc\"").unwrap();
    assert_eq!(d, Days::Utc);
    let d: Days = serde_json::from_str("\"local\"").unwrap();
    assert_eq!(d, Days::Local);
    assert!(serde_json::from_str::<Days>("\"gmt\"").is_err());
    assert_eq!(Days::default(), Days::Local);
}

#[test]
fn now_is_after_2024() {
    assert!(now_ms() > at("2024-01-01T00:00:00Z"));
    assert!(Calendar::utc().today() > day("2024-01-01"));
}
