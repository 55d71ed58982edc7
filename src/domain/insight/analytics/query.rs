//! Reads of the sales rollups. Sums are computed by the database (every query groups, so a
//! group always has rows to sum); `CAST(SUM(..) AS BIGINT)` because PostgreSQL sums BIGINT
//! into NUMERIC.

use std::collections::HashMap;

use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use super::{DayRange, Figures, GroupBy};
use crate::db::schema::{sales_daily, sales_rollup};
use crate::db::DbConn;
use crate::error::Result;

type Sum = SqlLiteral<BigInt>;

fn sum(column: &str) -> Sum {
    sql(&format!("CAST(SUM({column}) AS BIGINT)"))
}

/// The select list that loads as [`Figures`] (same column names in both rollups).
fn figures() -> (Sum, Sum, Sum, Sum, Sum, Sum, Sum, Sum) {
    (
        sum("order_count"),
        sum("units"),
        sum("amount"),
        sum("cost"),
        sum("refunded_count"),
        sum("refunded_units"),
        sum("refunded_amount"),
        sum("refunded_cost"),
    )
}

/// One reseller's sales per day of a range (days without sales are absent).
pub fn reseller_days(
    conn: &mut DbConn,
    reseller_id: &str,
    range: DayRange,
) -> Result<Vec<(i64, Figures)>> {
    use sales_daily as d;
    Ok(d::table
        .filter(d::reseller_id.eq(reseller_id))
        .filter(d::day.between(range.from, range.to))
        .group_by(d::day)
        .select((d::day, figures()))
        .load(conn)?)
}

/// One reseller's sales in a range per product id, or per buyer region as the reseller gave
/// it (`""` when none was); `by` must not be [`GroupBy::Day`] (see [`reseller_days`]).
pub fn reseller_groups(
    conn: &mut DbConn,
    reseller_id: &str,
    range: DayRange,
    by: GroupBy,
) -> Result<Vec<(String, Figures)>> {
    use sales_daily as d;
    let base = d::table
        .filter(d::reseller_id.eq(reseller_id))
        .filter(d::day.between(range.from, range.to));
    Ok(match by {
        GroupBy::Product => base
            .group_by(d::product_id)
            .select((d::product_id, figures()))
            .load(conn)?,
        GroupBy::Region | GroupBy::Day => base
            .group_by(d::region)
            .select((d::region, figures()))
            .load(conn)?,
    })
}

/// Platform-wide sales per day in one currency (summed over regions: the smallest dimension).
pub fn platform_days(
    conn: &mut DbConn,
    currency: &str,
    range: DayRange,
) -> Result<Vec<(i64, Figures)>> {
    use sales_rollup as r;
    Ok(r::table
        .filter(r::dim.eq("region"))
        .filter(r::period.eq("day"))
        .filter(r::day.between(range.from, range.to))
        .filter(r::currency.eq(currency))
        .group_by(r::day)
        .select((r::day, figures()))
        .load(conn)?)
}

/// Sums per key of one dimension over a range: whole months from month rows, the loose days
/// from day rows. Optionally one currency only, or only some keys.
fn dimension_sums(
    conn: &mut DbConn,
    dim: &str,
    range: DayRange,
    currency: Option<&str>,
    keys: Option<&[String]>,
) -> Result<HashMap<String, Figures>> {
    use sales_rollup as r;
    let split = range.split_months();
    let spans = split
        .days
        .iter()
        .map(|d| ("day", *d))
        .chain(split.months.map(|m| ("month", m)));
    let mut out: HashMap<String, Figures> = HashMap::new();
    for (period, span) in spans {
        let mut q = r::table
            .filter(r::dim.eq(dim.to_string()))
            .filter(r::period.eq(period))
            .filter(r::day.between(span.from, span.to))
            .group_by(r::dim_key)
            .select((r::dim_key, figures()))
            .into_boxed();
        if let Some(c) = currency {
            q = q.filter(r::currency.eq(c.to_string()));
        }
        if let Some(k) = keys {
            q = q.filter(r::dim_key.eq_any(k.to_vec()));
        }
        for (key, f) in q.load::<(String, Figures)>(conn)? {
            out.entry(key).or_default().add(&f);
        }
    }
    Ok(out)
}

/// Platform-wide sales per key of one dimension (`product`, `region` or `reseller`).
pub fn platform_by(
    conn: &mut DbConn,
    dim: &str,
    currency: &str,
    range: DayRange,
) -> Result<Vec<(String, Figures)>> {
    Ok(dimension_sums(conn, dim, range, Some(currency), None)?
        .into_iter()
        .collect())
}

/// Sales of the given products in a range (any currency: a product has one).
pub fn product_figures(
    conn: &mut DbConn,
    product_ids: &[String],
    range: DayRange,
) -> Result<HashMap<String, Figures>> {
    dimension_sums(conn, "product", range, None, Some(product_ids))
}

/// Units sold per product and day (days without sales are absent), for forecasts.
pub fn product_daily_units(
    conn: &mut DbConn,
    product_ids: &[String],
    range: DayRange,
) -> Result<HashMap<String, Vec<(i64, i64)>>> {
    use sales_rollup as r;
    // Literal constants, not bound values: the partial index `sales_rollup_product_days` is
    // used only when the query visibly implies its WHERE clause.
    let rows: Vec<(String, i64, i64)> = r::table
        .filter(sql::<Bool>("dim = 'product' AND period = 'day'"))
        .filter(r::dim_key.eq_any(product_ids))
        .filter(r::day.between(range.from, range.to))
        .group_by((r::dim_key, r::day))
        .select((r::dim_key, r::day, sum("units")))
        .load(conn)?;
    let mut out: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for (product, day, units) in rows {
        out.entry(product).or_default().push((day, units));
    }
    Ok(out)
}

/// Units per (reseller, product, buyer region) over a range: what recommendations compare.
pub fn recent_sales(
    conn: &mut DbConn,
    range: DayRange,
) -> Result<Vec<(String, String, String, i64)>> {
    use sales_daily as d;
    Ok(d::table
        .filter(d::day.between(range.from, range.to))
        .group_by((d::reseller_id, d::product_id, d::region))
        .select((d::reseller_id, d::product_id, d::region, sum("units")))
        .load(conn)?)
}

/// Every product a reseller has ever sold.
pub fn products_sold_by(conn: &mut DbConn, reseller_id: &str) -> Result<Vec<String>> {
    use sales_daily as d;
    Ok(d::table
        .filter(d::reseller_id.eq(reseller_id))
        .select(d::product_id)
        .distinct()
        .load(conn)?)
}

/// The regions a reseller's buyers are in, most units first (ever; regions left blank are
/// skipped).
pub fn buyer_regions(conn: &mut DbConn, reseller_id: &str) -> Result<Vec<String>> {
    use sales_daily as d;
    let mut rows: Vec<(String, i64)> = d::table
        .filter(d::reseller_id.eq(reseller_id))
        .filter(d::region.ne(""))
        .group_by(d::region)
        .select((d::region, sum("units")))
        .load(conn)?;
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(rows.into_iter().map(|r| r.0).collect())
}
