//! Sales forecasts per product: expected units for the next 14 days and how many days the
//! available stock lasts at that rate. The statistics live in the pure [`holt_winters`]
//! module; this one reads each product's daily sales from the analytics rollup.
//!
//! History is the last 84 full UTC days (12 weeks), starting no earlier than the product's
//! first sale in that window, so the days before a product was stocked do not read as "no
//! demand". Today is left out of the history (it is not over) and is the first forecast day.

pub mod holt_winters;

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::products;
use crate::db::DbConn;
use crate::domain::insight::analytics::report::SupplierSales;
use crate::domain::insight::analytics::{self, day_label, day_of, DayRange};
use crate::domain::trade::catalog::{self, Delivery, ProductRow};
use crate::error::Result;

/// Days forecast.
pub const HORIZON_DAYS: usize = 14;
/// Days of history a forecast learns from.
pub const HISTORY_DAYS: i64 = 84;
/// A product whose stock lasts longer than this is a slow mover (default).
pub const SLOW_MOVER_DAYS: f64 = 90.0;
/// Products younger than this are too new to call slow.
pub const SLOW_MOVER_MIN_AGE_DAYS: i64 = 14;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Forecast {
    /// Expected units sold on each of the 14 days starting `starts` (today, UTC).
    pub daily: Vec<f64>,
    pub starts: String,
    /// Days until the available codes run out at the expected rate; null when no sales are
    /// expected or the product is not a card product.
    pub days_of_cover: Option<f64>,
    /// `holt_winters` (two weeks of history or more), `average` (less) or `none` (no sales).
    pub method: String,
    /// Days of history the forecast learnt from.
    pub history_days: i64,
}

/// How long `stock` lasts when `daily` units sell per day: exact within the forecast horizon,
/// then at the average rate of the horizon's last week. None when nothing is expected to sell.
pub fn cover(stock: i64, daily: &[f64]) -> Option<f64> {
    if stock <= 0 {
        return Some(0.0);
    }
    let mut remaining = stock as f64;
    for (i, d) in daily.iter().enumerate() {
        if *d >= remaining {
            return Some(i as f64 + remaining / d);
        }
        remaining -= d;
    }
    let rate = tail_rate(daily);
    (rate > 1e-9).then(|| daily.len() as f64 + remaining / rate)
}

/// The daily rate past the horizon: the average of its last week.
fn tail_rate(daily: &[f64]) -> f64 {
    let tail = &daily[daily.len().saturating_sub(holt_winters::WEEK)..];
    tail.iter().sum::<f64>() / tail.len().max(1) as f64
}

/// Units expected to sell within the next `days` (fractions of a day pro rata), walking the
/// forecast like [`cover`] and extrapolating the same way, so `cover(s, daily) < days` exactly
/// when `s < units_within(daily, days)`.
pub fn units_within(daily: &[f64], days: f64) -> f64 {
    let mut left = days.max(0.0);
    let mut units = 0.0;
    for d in daily {
        if left <= 0.0 {
            return units;
        }
        let part = left.min(1.0);
        units += d * part;
        left -= part;
    }
    units + left * tail_rate(daily)
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// The daily units series a forecast learns from (see the module doc), oldest first.
fn history(sales: &[(i64, i64)], range: DayRange) -> Vec<f64> {
    let Some(first) = sales.iter().map(|s| s.0).filter(|d| *d >= range.from).min() else {
        return Vec::new();
    };
    let by_day: HashMap<i64, i64> = sales.iter().copied().collect();
    (first..=range.to)
        .map(|d| by_day.get(&d).copied().unwrap_or(0) as f64)
        .collect()
}

fn forecast_from(row: &ProductRow, sales: &[(i64, i64)], now_ms: i64) -> (Forecast, Vec<f64>) {
    let series = history(sales, DayRange::trailing(HISTORY_DAYS, now_ms));
    let p = holt_winters::forecast(&series, HORIZON_DAYS);
    let days_of_cover = if row.delivery == Delivery::Card {
        cover(row.stock, &p.values).map(|c| round(c, 1))
    } else {
        None
    };
    let f = Forecast {
        daily: p.values.iter().map(|v| round(*v, 2)).collect(),
        starts: day_label(day_of(now_ms)),
        days_of_cover,
        method: p.method.as_str().into(),
        history_days: series.len() as i64,
    };
    (f, series)
}

/// Forecasts for several products with one rollup query.
pub fn for_products(
    conn: &mut DbConn,
    rows: &[ProductRow],
    now_ms: i64,
) -> Result<HashMap<String, Forecast>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let sales =
        analytics::product_daily_units(conn, &ids, DayRange::trailing(HISTORY_DAYS, now_ms))?;
    Ok(rows
        .iter()
        .map(|r| {
            let s = sales.get(&r.id).map(Vec::as_slice).unwrap_or(&[]);
            (r.id.clone(), forecast_from(r, s, now_ms).0)
        })
        .collect())
}

/// Days the product's available stock lasts at the forecast rate (None: no sales expected,
/// or not a card product). For the `stock.low` check.
pub fn days_of_cover(conn: &mut DbConn, product_id: &str, now_ms: i64) -> Result<Option<f64>> {
    let row = catalog::load(conn, product_id)?;
    Ok(for_products(conn, std::slice::from_ref(&row), now_ms)?
        .remove(product_id)
        .and_then(|f| f.days_of_cover))
}

/// What a supplier sees about each of its products besides stock: recent sales and forecast.
#[derive(Debug, Clone, Default)]
pub struct Outlook {
    pub sales: SupplierSales,
    pub forecast: Forecast,
}

/// Recent sales and forecasts of several products (two rollup queries).
pub fn outlooks(
    conn: &mut DbConn,
    rows: &[ProductRow],
    now_ms: i64,
) -> Result<HashMap<String, Outlook>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut sales = analytics::report::supplier_sales(conn, &ids, now_ms)?;
    Ok(for_products(conn, rows, now_ms)?
        .into_iter()
        .map(|(id, forecast)| {
            let sales = sales.remove(&id).unwrap_or_default();
            (id, Outlook { sales, forecast })
        })
        .collect())
}

/// `GET /v1/admin/products/{id}/forecast`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductForecast {
    pub product_id: String,
    pub name: String,
    pub delivery: String,
    /// Available codes now.
    pub stock: i64,
    #[serde(flatten)]
    pub forecast: Forecast,
    /// The daily units the forecast learnt from, oldest first, ending yesterday.
    pub history: Vec<f64>,
}

pub fn for_product(conn: &mut DbConn, product_id: &str, now_ms: i64) -> Result<ProductForecast> {
    let row = catalog::load(conn, product_id)?;
    let ids = std::slice::from_ref(&row.id);
    let sales =
        analytics::product_daily_units(conn, ids, DayRange::trailing(HISTORY_DAYS, now_ms))?;
    let s = sales.get(&row.id).map(Vec::as_slice).unwrap_or(&[]);
    let (forecast, history) = forecast_from(&row, s, now_ms);
    Ok(ProductForecast {
        product_id: row.id,
        name: row.name,
        delivery: row.delivery.to_string(),
        stock: row.stock,
        forecast,
        history,
    })
}

/// A product whose stock would last longer than the slow-mover threshold.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlowMover {
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub supplier_id: String,
    pub status: String,
    pub stock: i64,
    /// Mean expected units per day over the next 14 days.
    pub expected_daily: f64,
    /// Null: no sales expected at all.
    pub days_of_cover: Option<f64>,
}

/// Card products with stock older than two weeks whose stock lasts more than `min_days` (or
/// forever), slowest first.
pub fn slow_movers(conn: &mut DbConn, now_ms: i64, min_days: f64) -> Result<Vec<SlowMover>> {
    let born_before = now_ms - SLOW_MOVER_MIN_AGE_DAYS * analytics::DAY_MS;
    let mut rows: Vec<ProductRow> = products::table
        .filter(products::delivery.eq(Delivery::Card))
        .filter(products::created_at.le(born_before))
        .select(ProductRow::as_select())
        .load(conn)?;
    crate::domain::trade::pending::exact_stock(conn, &mut rows)?;
    rows.retain(|r| r.stock > 0);
    let forecasts = for_products(conn, &rows, now_ms)?;
    let mut out: Vec<SlowMover> = rows
        .into_iter()
        .filter_map(|r| {
            let f = forecasts.get(&r.id)?;
            if f.days_of_cover.is_some_and(|d| d <= min_days) {
                return None;
            }
            Some(SlowMover {
                expected_daily: round(f.daily.iter().sum::<f64>() / f.daily.len() as f64, 2),
                days_of_cover: f.days_of_cover,
                product_id: r.id,
                sku: r.sku,
                name: r.name,
                supplier_id: r.supplier_id,
                status: r.status.to_string(),
                stock: r.stock,
            })
        })
        .collect();
    // No expected sales (null) first, then the longest cover.
    out.sort_by(|a, b| {
        let key = |m: &SlowMover| m.days_of_cover.unwrap_or(f64::INFINITY);
        key(b)
            .total_cmp(&key(a))
            .then_with(|| a.product_id.cmp(&b.product_id))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_walks_the_forecast_then_extrapolates() {
        assert_eq!(cover(10, &[4.0, 4.0, 4.0]), Some(2.5));
        assert_eq!(cover(0, &[4.0]), Some(0.0));
        // 14 days at 1/day use 14 units; the other 86 last 86 more days.
        assert_eq!(cover(100, &[1.0; 14]), Some(100.0));
        assert_eq!(cover(5, &[0.0; 14]), None);
    }

    #[test]
    fn units_within_is_the_inverse_of_cover() {
        assert_eq!(units_within(&[4.0, 4.0, 4.0], 2.5), 10.0);
        assert_eq!(units_within(&[4.0, 4.0, 4.0], 0.0), 0.0);
        // Past the horizon at the last week's rate.
        assert_eq!(units_within(&[1.0; 14], 20.0), 20.0);
        let daily = [3.0, 7.0, 5.0, 0.0, 2.0];
        for stock in [1, 4, 9, 15, 17, 30] {
            let days = cover(stock, &daily).unwrap();
            assert!(
                (units_within(&daily, days) - stock as f64).abs() < 1e-9,
                "{stock}"
            );
        }
    }

    #[test]
    fn history_starts_at_the_first_sale_and_fills_gaps() {
        let range = DayRange { from: 10, to: 20 };
        assert_eq!(
            history(&[(15, 3), (17, 1)], range),
            vec![3.0, 0.0, 1.0, 0.0, 0.0, 0.0]
        );
        assert!(history(&[], range).is_empty());
    }
}
