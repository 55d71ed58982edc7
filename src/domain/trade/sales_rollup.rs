//! The sales rollups: per reseller, day, product and region (`sales_daily`), and summed along
//! each dimension per day and month (`sales_rollup`). Orders and refunds append to
//! `trade::pending`; [`apply`] adds what the settler folds, and [`rebuild`] recomputes both
//! from the orders.

use diesel::connection::SimpleConnection;
use std::collections::HashMap;

use crate::db::stmt::{execute_rows, Arg, ROW_CHUNKS};
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

/// What a sale or a refund adds to a rollup row's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub order_count: i64,
    pub units: i64,
    pub amount: i64,
    pub cost: i64,
    pub refunded_count: i64,
    pub refunded_units: i64,
    pub refunded_amount: i64,
    pub refunded_cost: i64,
}

impl Tally {
    pub fn sale(s: &Sale<'_>) -> Self {
        Tally {
            order_count: 1,
            units: s.quantity,
            amount: s.amount,
            cost: s.cost_amount,
            ..Tally::default()
        }
    }

    pub fn refund(s: &Sale<'_>) -> Self {
        Tally {
            refunded_count: 1,
            refunded_units: s.quantity,
            refunded_amount: s.amount,
            refunded_cost: s.cost_amount,
            ..Tally::default()
        }
    }

    fn add(&mut self, o: &Tally) {
        self.order_count += o.order_count;
        self.units += o.units;
        self.amount += o.amount;
        self.cost += o.cost;
        self.refunded_count += o.refunded_count;
        self.refunded_units += o.refunded_units;
        self.refunded_amount += o.refunded_amount;
        self.refunded_cost += o.refunded_cost;
    }

    /// A row's bound values: its five key columns, then the eight counters in `counters!`
    /// order (a rollup row; a pending row adds its stock delta after them).
    pub(crate) fn row<'a>(&self, keys: [Arg<'a>; 5]) -> [Arg<'a>; 13] {
        let counters: [Arg<'a>; 8] = [
            self.order_count.into(),
            self.units.into(),
            self.amount.into(),
            self.cost.into(),
            self.refunded_count.into(),
            self.refunded_units.into(),
            self.refunded_amount.into(),
            self.refunded_cost.into(),
        ];
        std::array::from_fn(|i| if i < 5 { keys[i] } else { counters[i - 5] })
    }
}

impl From<(i64, i64, i64, i64, i64, i64, i64, i64)> for Tally {
    fn from(c: (i64, i64, i64, i64, i64, i64, i64, i64)) -> Self {
        Tally {
            order_count: c.0,
            units: c.1,
            amount: c.2,
            cost: c.3,
            refunded_count: c.4,
            refunded_units: c.5,
            refunded_amount: c.6,
            refunded_cost: c.7,
        }
    }
}

/// The eight counters of a rollup row, in `Tally::args` order.
macro_rules! counters {
    () => {
        "order_count, units, amount, cost, refunded_count, refunded_units, refunded_amount, \
         refunded_cost"
    };
}

/// `SET` list of an upsert into `$table` that adds the new row's counters to the stored ones.
macro_rules! add_counters {
    ($table:literal) => {
        concat!(
            "order_count = ",
            $table,
            ".order_count + excluded.order_count, ",
            "units = ",
            $table,
            ".units + excluded.units, ",
            "amount = ",
            $table,
            ".amount + excluded.amount, ",
            "cost = ",
            $table,
            ".cost + excluded.cost, ",
            "refunded_count = ",
            $table,
            ".refunded_count + excluded.refunded_count, ",
            "refunded_units = ",
            $table,
            ".refunded_units + excluded.refunded_units, ",
            "refunded_amount = ",
            $table,
            ".refunded_amount + excluded.refunded_amount, ",
            "refunded_cost = ",
            $table,
            ".refunded_cost + excluded.refunded_cost"
        )
    };
}

/// Adds sales and refunds to both rollups, summed first so each rollup row is written once:
/// kept-prepared upserts (see `db::stmt`). Runs in the settler's transaction (`pending::fold`).
pub fn apply(conn: &mut DbConn, sales: &[(Sale<'_>, Tally)]) -> Result<()> {
    let mut daily: HashMap<(&str, i64, &str, &str), (&str, Tally)> = HashMap::new();
    let mut rollup: HashMap<(&'static str, &'static str, i64, &str, &str), Tally> = HashMap::new();
    for (sale, tally) in sales {
        let day = day_of(sale.created_at);
        daily
            .entry((sale.reseller_id, day, sale.product_id, sale.region_key()))
            .or_insert((sale.currency, Tally::default()))
            .1
            .add(tally);
        for (dim, period, day, key) in sale.rollup_keys() {
            rollup
                .entry((dim, period, day, key, sale.currency))
                .or_default()
                .add(tally);
        }
    }
    // Each row once per statement (the maps' keys are the conflict targets), so a multi-row
    // upsert never updates one row twice.
    let daily: Vec<[Arg<'_>; 13]> = daily
        .into_iter()
        .map(|((reseller_id, day, product_id, region), (currency, t))| {
            t.row([
                reseller_id.into(),
                day.into(),
                product_id.into(),
                region.into(),
                currency.into(),
            ])
        })
        .collect();
    execute_rows(
        conn,
        &ROW_CHUNKS,
        (
            concat!(
                "INSERT INTO sales_daily (reseller_id, day, product_id, region, currency, ",
                counters!(),
                ") VALUES "
            ),
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            concat!(
                " ON CONFLICT (reseller_id, day, product_id, region) DO UPDATE SET ",
                add_counters!("sales_daily")
            ),
        ),
        &daily,
    )?;
    let rollup: Vec<[Arg<'_>; 13]> = rollup
        .into_iter()
        .map(|((dim, period, day, key, currency), t)| {
            t.row([
                dim.into(),
                period.into(),
                day.into(),
                key.into(),
                currency.into(),
            ])
        })
        .collect();
    execute_rows(
        conn,
        &ROW_CHUNKS,
        (
            concat!(
                "INSERT INTO sales_rollup (dim, period, day, dim_key, currency, ",
                counters!(),
                ") VALUES "
            ),
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            concat!(
                " ON CONFLICT (dim, period, day, dim_key, currency) DO UPDATE SET ",
                add_counters!("sales_rollup")
            ),
        ),
        &rollup,
    )?;
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
