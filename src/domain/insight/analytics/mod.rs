//! Sales analytics, read from rollups rather than from `orders`.
//!
//! Why rollups: `orders` rows are wide (receipt JWT, request hash, topup JSON), so aggregating
//! a million of them takes seconds on SQLite (2.7 s for a year by product, measured). Instead
//! the order transaction adds each sale to two small tables (see the `sales_analytics`
//! migration):
//! - `sales_daily`, one row per (reseller, UTC day, product, buyer region): a reseller's own
//!   analytics are a primary-key range scan;
//! - `sales_rollup`, the same figures summed along one dimension (`product`, `region`,
//!   `reseller`) per day and per calendar month: platform reports read whole months plus the
//!   loose days at the ends of a range, supplier sales and forecasts read one product's days.
//!
//! `trade::sales_rollup` keeps them current inside the order's transaction and can rebuild
//! them from `orders`; this module only reads them.

mod query;
pub mod report;

pub use crate::time::{day_label, day_of, month_start, next_month_start, DAY_MS};
pub use query::*;

use chrono::NaiveDate;
use diesel::Queryable;

use crate::error::{Error, Result};

/// A day given as `YYYY-MM-DD` or as an RFC 3339 time (its UTC day). Exactly the forms the
/// OpenAPI document states (`format: date` or `date-time`): chrono alone would also take
/// `2024-1-1`, or a space in place of the `T`.
pub fn parse_day(field: &str, s: &str) -> Result<i64> {
    let invalid = || Error::invalid(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time");
    let b = s.as_bytes();
    let digits_at = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    if b.len() == 10 {
        let full_date = b[4] == b'-' && b[7] == b'-' && digits_at(0..4) && digits_at(5..7);
        if !(full_date && digits_at(8..10)) {
            return Err(invalid());
        }
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| invalid())?;
        let ms = d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .ok_or_else(|| Error::invalid(field, "is not a valid date"))?;
        return Ok(day_of(ms));
    }
    if b.get(10) == Some(&b' ') {
        return Err(invalid());
    }
    crate::time::parse_rfc3339(s)
        .map(day_of)
        .ok_or_else(invalid)
}

/// An inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: i64,
    pub to: i64,
}

impl DayRange {
    /// Longest range a report may span (ten years of daily rows).
    pub const MAX_DAYS: i64 = 3660;

    /// `from`/`to` as given in a query; by default the 30 days ending today.
    pub fn parse(from: Option<&str>, to: Option<&str>, now_ms: i64) -> Result<DayRange> {
        let to = match to {
            Some(s) => parse_day("to", s)?,
            None => day_of(now_ms),
        };
        let from = match from {
            Some(s) => parse_day("from", s)?,
            None => to - 29,
        };
        if from > to {
            return Err(Error::invalid("from", "must not be after `to`"));
        }
        if to - from >= Self::MAX_DAYS {
            return Err(Error::invalid(
                "from",
                format!("a report spans at most {} days", Self::MAX_DAYS),
            ));
        }
        Ok(DayRange { from, to })
    }

    /// The range as whole calendar months (given by their first days) and the loose days
    /// before and after them, so long ranges read month rows instead of day rows.
    pub fn split_months(self) -> Split {
        let mut first = month_start(self.from);
        if first < self.from {
            first = next_month_start(first);
        }
        // `first` is the first whole month's start, if any; walk to the last whole one.
        let mut months: Option<DayRange> = None;
        let mut m = first;
        while next_month_start(m) - 1 <= self.to {
            months = Some(DayRange {
                from: months.map_or(m, |r| r.from),
                to: m,
            });
            m = next_month_start(m);
        }
        match months {
            None => Split {
                days: vec![self],
                months: None,
            },
            Some(ms) => {
                let after = next_month_start(ms.to);
                let days = [
                    DayRange {
                        from: self.from,
                        to: ms.from - 1,
                    },
                    DayRange {
                        from: after,
                        to: self.to,
                    },
                ]
                .into_iter()
                .filter(|r| r.from <= r.to)
                .collect();
                Split {
                    days,
                    months: Some(ms),
                }
            }
        }
    }

    /// The `days` days ending yesterday.
    pub fn trailing(days: i64, now_ms: i64) -> DayRange {
        let today = day_of(now_ms);
        DayRange {
            from: today - days,
            to: today - 1,
        }
    }
}

/// A day range cut into whole months and loose days (see [`DayRange::split_months`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub days: Vec<DayRange>,
    /// First days of the first and the last whole month.
    pub months: Option<DayRange>,
}

/// What a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Product,
    Region,
}

impl GroupBy {
    pub fn parse(s: Option<&str>) -> Result<GroupBy> {
        match s.unwrap_or("day") {
            "day" => Ok(GroupBy::Day),
            "product" => Ok(GroupBy::Product),
            "region" => Ok(GroupBy::Region),
            _ => Err(Error::invalid(
                "group_by",
                "must be `day`, `product` or `region`",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Product => "product",
            GroupBy::Region => "region",
        }
    }
}

/// Summed sales figures of some set of orders (money in minor units). Refunded orders are
/// counted in the sale figures and again in the `refunded_*` ones.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct Figures {
    pub orders: i64,
    pub units: i64,
    pub amount: i64,
    pub cost: i64,
    pub refunded_orders: i64,
    pub refunded_units: i64,
    pub refunded_amount: i64,
    pub refunded_cost: i64,
}

impl Figures {
    pub fn add(&mut self, o: &Figures) {
        self.orders += o.orders;
        self.units += o.units;
        self.amount += o.amount;
        self.cost += o.cost;
        self.refunded_orders += o.refunded_orders;
        self.refunded_units += o.refunded_units;
        self.refunded_amount += o.refunded_amount;
        self.refunded_cost += o.refunded_cost;
    }

    pub fn sum<'a>(items: impl IntoIterator<Item = &'a Figures>) -> Figures {
        let mut t = Figures::default();
        for f in items {
            t.add(f);
        }
        t
    }

    /// Amount kept after refunds.
    pub fn net_amount(&self) -> i64 {
        self.amount - self.refunded_amount
    }

    /// Platform margin: amount less supplier cost, on orders that were not refunded (a refund
    /// returns the amount and charges the cost back).
    pub fn margin(&self) -> i64 {
        (self.amount - self.cost) - (self.refunded_amount - self.refunded_cost)
    }

    /// Share of orders that were refunded, 0..1.
    pub fn refund_rate(&self) -> f64 {
        if self.orders == 0 {
            0.0
        } else {
            self.refunded_orders as f64 / self.orders as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_print() {
        let d = parse_day("from", "2026-01-02").expect("a valid day");
        assert_eq!(day_label(d), "2026-01-02");
        assert_eq!(
            parse_day("to", "2026-01-02T23:59:59Z").expect("a valid day"),
            d
        );
        assert_eq!(
            parse_day("to", "2026-01-02t00:00:00+01:00").ok(),
            Some(d - 1)
        );
        // Only the documented forms: chrono alone would take the first two.
        for bad in [
            "2026-1-2",
            "2026-01-02 00:00:00Z",
            "+2026-01-02",
            "yesterday",
            "",
        ] {
            assert!(parse_day("to", bad).is_err(), "{bad}");
        }
        let now = d * DAY_MS + 5;
        let r = DayRange::parse(None, None, now).expect("a valid day");
        assert_eq!((r.to - r.from, r.to), (29, d));
        assert!(DayRange::parse(Some("2026-02-01"), Some("2026-01-01"), now).is_err());
    }

    #[test]
    fn ranges_split_into_whole_months_and_loose_days() {
        let d = |s: &str| parse_day("d", s).expect("a valid day");
        assert_eq!(month_start(d("2026-02-17")), d("2026-02-01"));
        assert_eq!(next_month_start(d("2026-12-31")), d("2027-01-01"));
        let r = |a: &str, b: &str| DayRange {
            from: d(a),
            to: d(b),
        };
        let split = r("2026-01-20", "2026-04-03").split_months();
        assert_eq!(split.months, Some(r("2026-02-01", "2026-03-01")));
        assert_eq!(
            split.days,
            vec![r("2026-01-20", "2026-01-31"), r("2026-04-01", "2026-04-03")]
        );
        let split = r("2026-01-01", "2026-12-31").split_months();
        assert_eq!(split.months, Some(r("2026-01-01", "2026-12-01")));
        assert!(split.days.is_empty());
        let within = r("2026-01-02", "2026-01-31");
        assert_eq!(within.split_months().days, vec![within]);
        assert_eq!(within.split_months().months, None);
    }

    #[test]
    fn margin_excludes_refunded_orders() {
        let f = Figures {
            orders: 4,
            units: 4,
            amount: 400,
            cost: 300,
            refunded_orders: 1,
            refunded_units: 1,
            refunded_amount: 100,
            refunded_cost: 75,
        };
        assert_eq!(f.margin(), 75);
        assert_eq!(f.net_amount(), 300);
        assert_eq!(f.refund_rate(), 0.25);
    }
}
