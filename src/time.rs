//! Clock helpers. Stored times are unix milliseconds; the API speaks RFC 3339 UTC.

use chrono::{DateTime, Datelike, Months, NaiveDate, SecondsFormat, Utc};

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn now_secs() -> i64 {
    Utc::now().timestamp()
}

pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

// Calendar days (UTC), the unit of the sales rollups and every report over them.

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The UTC day number (days since 1970-01-01) of a unix-millisecond time.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// `YYYY-MM-DD` of a day number.
pub fn day_label(day: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(day * DAY_MS)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn date_of(day: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(day * DAY_MS)
        .unwrap_or_default()
        .date_naive()
}

fn day_number(date: NaiveDate) -> i64 {
    date.signed_duration_since(NaiveDate::default()).num_days()
}

/// The first day of the calendar month (UTC) that `day` falls in.
pub fn month_start(day: i64) -> i64 {
    let d = date_of(day);
    day_number(d.with_day(1).unwrap_or(d))
}

/// The first day of the month after the one `day` falls in.
pub fn next_month_start(day: i64) -> i64 {
    let d = date_of(month_start(day));
    let next = d.checked_add_months(Months::new(1)).unwrap_or(d);
    day_number(next)
}
