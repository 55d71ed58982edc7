//! Keeping the sales rollups current: one call per sale and per refund, inside the transaction
//! that changes the order, so the rollups never disagree with committed orders.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::db::schema::{sales_daily, sales_rollup};
use crate::db::stmt::{stmt, Arg};
use crate::db::DbConn;
use crate::domain::trade::orders::OrderRow;
use crate::error::Result;
use crate::time::{day_of, month_start};

/// The facts of one sale the rollups need (all of them are on the order row).
#[derive(Debug, Clone, Copy)]
pub struct Sale<'a> {
    /// The order's `created_at`: the sale counts on that UTC day, also when refunded later.
    pub created_at: i64,
    pub reseller_id: &'a str,
    pub product_id: &'a str,
    /// The buyer's region as the reseller gave it.
    pub region: Option<&'a str>,
    pub currency: &'a str,
    pub quantity: i64,
    pub amount: i64,
    pub cost_amount: i64,
}

impl<'a> From<&'a OrderRow> for Sale<'a> {
    fn from(o: &'a OrderRow) -> Self {
        Sale {
            created_at: o.created_at,
            reseller_id: &o.reseller_id,
            product_id: &o.product_id,
            region: o.buyer_region.as_deref(),
            currency: &o.currency,
            quantity: o.quantity,
            amount: o.amount,
            cost_amount: o.cost_amount,
        }
    }
}

impl Sale<'_> {
    fn region_key(&self) -> &str {
        self.region.unwrap_or("")
    }

    /// The `sales_rollup` rows this sale adds to: (dim, period, first day, key), each
    /// dimension per day and per month.
    fn rollup_keys(&self) -> [(&'static str, &'static str, i64, &str); 6] {
        let day = day_of(self.created_at);
        let month = month_start(day);
        [
            ("product", "day", day, self.product_id),
            ("region", "day", day, self.region_key()),
            ("reseller", "day", day, self.reseller_id),
            ("product", "month", month, self.product_id),
            ("region", "month", month, self.region_key()),
            ("reseller", "month", month, self.reseller_id),
        ]
    }
}

/// Adds one sale (an order whose money was taken) to the rollups: two kept-prepared upserts
/// (see `db::stmt`; diesel would re-prepare an upsert on every order). Call it once per order,
/// in the transaction that records the order.
pub fn record_sale(conn: &mut DbConn, sale: &Sale<'_>) -> Result<()> {
    stmt(
        "INSERT INTO sales_daily (reseller_id, day, product_id, region, currency, order_count, \
         units, amount, cost) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) \
         ON CONFLICT (reseller_id, day, product_id, region) DO UPDATE SET \
         order_count = sales_daily.order_count + 1, units = sales_daily.units + excluded.units, \
         amount = sales_daily.amount + excluded.amount, cost = sales_daily.cost + excluded.cost",
        [
            sale.reseller_id.into(),
            day_of(sale.created_at).into(),
            sale.product_id.into(),
            sale.region_key().into(),
            sale.currency.into(),
            sale.quantity.into(),
            sale.amount.into(),
            sale.cost_amount.into(),
        ],
    )
    .execute(conn)?;
    let mut args: Vec<Arg<'_>> = Vec::with_capacity(6 * 8);
    for (dim, period, day, key) in sale.rollup_keys() {
        args.extend::<[Arg<'_>; 8]>([
            dim.into(),
            period.into(),
            day.into(),
            key.into(),
            sale.currency.into(),
            sale.quantity.into(),
            sale.amount.into(),
            sale.cost_amount.into(),
        ]);
    }
    stmt(
        "INSERT INTO sales_rollup (dim, period, day, dim_key, currency, order_count, units, \
         amount, cost) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?), (?, ?, ?, ?, ?, 1, ?, ?, ?), \
         (?, ?, ?, ?, ?, 1, ?, ?, ?), (?, ?, ?, ?, ?, 1, ?, ?, ?), (?, ?, ?, ?, ?, 1, ?, ?, ?), \
         (?, ?, ?, ?, ?, 1, ?, ?, ?) \
         ON CONFLICT (dim, period, day, dim_key, currency) DO UPDATE SET \
         order_count = sales_rollup.order_count + excluded.order_count, \
         units = sales_rollup.units + excluded.units, \
         amount = sales_rollup.amount + excluded.amount, \
         cost = sales_rollup.cost + excluded.cost",
        args,
    )
    .execute(conn)?;
    Ok(())
}

/// Marks one recorded sale as refunded (the whole order). Call it in the transaction that sets
/// the order's status to `refunded`; the refund counts against the order's sale day.
pub fn record_refund(conn: &mut DbConn, sale: &Sale<'_>) -> Result<()> {
    {
        use sales_daily as d;
        let day = day_of(sale.created_at);
        diesel::update(d::table.find((sale.reseller_id, day, sale.product_id, sale.region_key())))
            .set((
                d::refunded_count.eq(d::refunded_count + 1),
                d::refunded_units.eq(d::refunded_units + sale.quantity),
                d::refunded_amount.eq(d::refunded_amount + sale.amount),
                d::refunded_cost.eq(d::refunded_cost + sale.cost_amount),
            ))
            .execute(conn)?;
    }
    use sales_rollup as r;
    for (dim, period, day, key) in sale.rollup_keys() {
        diesel::update(r::table.find((dim, period, day, key, sale.currency)))
            .set((
                r::refunded_count.eq(r::refunded_count + 1),
                r::refunded_units.eq(r::refunded_units + sale.quantity),
                r::refunded_amount.eq(r::refunded_amount + sale.amount),
                r::refunded_cost.eq(r::refunded_cost + sale.cost_amount),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The migration's backfill, statement for statement: orders that are sales (money taken; a
/// refunded order was one) into `sales_daily`, then its sums along each dimension per day.
const BACKFILL: &str = "
DELETE FROM sales_rollup;
DELETE FROM sales_daily;
INSERT INTO sales_daily (reseller_id, day, product_id, region, currency, order_count, units,
    amount, cost, refunded_count, refunded_units, refunded_amount, refunded_cost)
SELECT reseller_id, created_at / 86400000, product_id, COALESCE(buyer_region, ''), MAX(currency),
    COUNT(*), SUM(quantity), SUM(amount), SUM(cost_amount),
    SUM(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END),
    SUM(CASE WHEN status = 'refunded' THEN quantity ELSE 0 END),
    SUM(CASE WHEN status = 'refunded' THEN amount ELSE 0 END),
    SUM(CASE WHEN status = 'refunded' THEN cost_amount ELSE 0 END)
FROM orders WHERE status IN ('delivered', 'completed', 'refunded')
GROUP BY reseller_id, created_at / 86400000, product_id, COALESCE(buyer_region, '');
";

fn dimension_backfill(dim: &str, key: &str) -> String {
    format!(
        "INSERT INTO sales_rollup (dim, period, day, dim_key, currency, order_count, units, amount,
            cost, refunded_count, refunded_units, refunded_amount, refunded_cost)
         SELECT '{dim}', 'day', day, {key}, currency, SUM(order_count), SUM(units), SUM(amount),
            SUM(cost), SUM(refunded_count), SUM(refunded_units), SUM(refunded_amount),
            SUM(refunded_cost)
         FROM sales_daily GROUP BY {key}, day, currency;"
    )
}

/// Month rows from the day rows; the first day of a day's month is the one backend-specific
/// expression.
fn month_backfill(conn: &DbConn) -> String {
    let month = match conn {
        DbConn::Sqlite(_) => {
            "CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER)"
        }
        DbConn::Pg(_) => {
            "(CAST(date_trunc('month', DATE '1970-01-01' + CAST(day AS INTEGER)) AS DATE) - DATE '1970-01-01')"
        }
    };
    format!(
        "INSERT INTO sales_rollup (dim, period, day, dim_key, currency, order_count, units, amount,
            cost, refunded_count, refunded_units, refunded_amount, refunded_cost)
         SELECT dim, 'month', {month}, dim_key, currency, SUM(order_count), SUM(units), SUM(amount),
            SUM(cost), SUM(refunded_count), SUM(refunded_units), SUM(refunded_amount),
            SUM(refunded_cost)
         FROM sales_rollup WHERE period = 'day'
         GROUP BY dim, {month}, dim_key, currency;"
    )
}

/// Recomputes both rollups from `orders`, as the migration did. For repairs and for seeding
/// large test data sets; runs in the caller's transaction.
pub fn rebuild(conn: &mut DbConn) -> Result<()> {
    conn.batch_execute(BACKFILL)?;
    for (dim, key) in [
        ("product", "product_id"),
        ("region", "region"),
        ("reseller", "reseller_id"),
    ] {
        conn.batch_execute(&dimension_backfill(dim, key))?;
    }
    let months = month_backfill(conn);
    conn.batch_execute(&months)?;
    Ok(())
}
