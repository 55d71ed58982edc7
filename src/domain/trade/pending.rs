//! Counters every buyer of a product would otherwise update in its own transaction — the
//! product's stock counter and the sales rollups — changed by appending a row instead.
//!
//! An order inserts one `pending_sales` row (its sale and the stock it took); a refund or a
//! replacement card inserts one too. Inserts never wait for each other, where updating the
//! product row serialised every order of a flash sale on one product (and the region rollup
//! row, every order of a day). The settler (`jobs::settle`) folds pending rows into the
//! counters: SQLite's writer at the end of every group commit, so readers there never see a
//! pending row; PostgreSQL every `SETTLE_EVERY` on one instance at a time. Readers of stock
//! add what is still pending ([`exact_stock`]); analytics folds first.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::stmt::{execute_rows, rows_sql, stmt, Arg, ROW_CHUNKS};
use crate::db::writes::Writes;
use crate::db::{exclusive, DbConn, Exclusive};
use crate::domain::trade::catalog::ProductRow;
use crate::domain::trade::sales_rollup::{self, Sale, Tally};
use crate::error::Result;

/// Rows folded per statement round.
const FOLD_CHUNK: i64 = 5_000;

/// Appends a sale (an order whose money was taken) and the stock it took (`stock_taken`, 0
/// for direct top-ups).
pub fn record_sale(conn: &mut DbConn, sale: &Sale<'_>, stock_taken: i64) -> Result<()> {
    insert(conn, sale, Tally::sale(sale), -stock_taken)
}

/// Appends the refund of a whole recorded sale; it counts against the order's sale day.
pub fn record_refund(conn: &mut DbConn, sale: &Sale<'_>) -> Result<()> {
    insert(conn, sale, Tally::refund(sale), 0)
}

/// Appends stock taken outside a sale (replacement cards).
pub fn take_stock(conn: &mut DbConn, product_id: &str, quantity: i64) -> Result<()> {
    stock_change(conn, product_id, -quantity)
}

/// Appends stock given back outside a refund of a whole sale (a gift link's card, returned
/// unclaimed).
pub fn return_stock(conn: &mut DbConn, product_id: &str, quantity: i64) -> Result<()> {
    stock_change(conn, product_id, quantity)
}

fn stock_change(conn: &mut DbConn, product_id: &str, delta: i64) -> Result<()> {
    let none = Sale {
        created_at: crate::time::now_ms(),
        reseller_id: "",
        product_id,
        region: None,
        currency: "",
        quantity: 0,
        amount: 0,
        cost_amount: 0,
    };
    insert(conn, &none, Tally::default(), delta)
}

/// Appends stock added inside an order's transaction (a just-in-time supplier's codes, which
/// the order then takes): the counter moves at the fold like every other change.
pub fn add_stock(conn: &mut DbConn, product_id: &str, quantity: i64) -> Result<()> {
    take_stock(conn, product_id, -quantity)
}

fn insert(conn: &mut DbConn, sale: &Sale<'_>, t: Tally, stock_delta: i64) -> Result<()> {
    execute_rows(
        conn,
        &ROW_CHUNKS,
        PENDING_INSERT,
        &[pending_row(sale, t, stock_delta)],
    )?;
    Ok(())
}

/// Appends sales (a PostgreSQL order set's) with one multi-row INSERT among `writes`, as
/// [`record_sale`] appends one: `(sale, stock taken)`.
pub fn record_sales<'a>(
    conn: &mut DbConn,
    writes: &mut Writes<'a>,
    sales: &[(Sale<'a>, i64)],
) -> Result<()> {
    let rows: Vec<[Arg<'a>; 14]> = sales
        .iter()
        .map(|(sale, taken)| pending_row(sale, Tally::sale(sale), -taken))
        .collect();
    writes.rows(conn, PENDING_INSERT, &rows)?;
    Ok(())
}

const PENDING_INSERT: (&str, &str, &str) = (
    "INSERT INTO pending_sales (sale_at, reseller_id, product_id, region, currency, \
     order_count, units, amount, cost, refunded_count, refunded_units, refunded_amount, \
     refunded_cost, stock_delta) VALUES ",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "",
);

/// A pending row's values, in [`PENDING_INSERT`] order.
fn pending_row<'a>(sale: &Sale<'a>, t: Tally, stock_delta: i64) -> [Arg<'a>; 14] {
    let row = t.row([
        sale.created_at.into(),
        sale.reseller_id.into(),
        sale.product_id.into(),
        sale.region.unwrap_or("").into(),
        sale.currency.into(),
    ]);
    std::array::from_fn(|i| row.get(i).copied().unwrap_or(stock_delta.into()))
}

/// A pending row as `DELETE … RETURNING` gives it: id, sale_at, reseller, product, region,
/// currency, the eight tally counters (in `Tally` order), stock delta.
type PendingRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    (i64, i64, i64, i64, i64, i64, i64, i64),
    i64,
);

/// A product's stock went down in a fold: its stock after each pending change, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockTaken {
    pub product_id: String,
    pub stock_after: Vec<i64>,
}

/// Folds pending rows into the rollups and stock counters, each counter row updated once;
/// returns the products whose stock went down (for `stock.low`, which reports the stock right
/// after the change that crossed the threshold, as if each order had updated the counter).
/// Must run in its own transaction; on PostgreSQL it takes the settler's lock first (waiting
/// when `wait`, else returning nothing if another instance holds it).
pub fn fold(conn: &mut DbConn, wait: bool) -> Result<Vec<StockTaken>> {
    if !exclusive(conn, Exclusive::Settler, wait)? {
        return Ok(Vec::new());
    }
    let mut lowered: Vec<StockTaken> = Vec::new();
    loop {
        // Claimed by deleting them: a row committed meanwhile (PostgreSQL numbers rows before
        // they commit, so it may have a lower id) stays for the next round.
        type Row = (
            BigInt,
            BigInt,
            Text,
            Text,
            Text,
            Text,
            (
                BigInt,
                BigInt,
                BigInt,
                BigInt,
                BigInt,
                BigInt,
                BigInt,
                BigInt,
            ),
            BigInt,
        );
        let mut rows: Vec<PendingRow> = stmt(
            "DELETE FROM pending_sales WHERE id IN \
             (SELECT id FROM pending_sales ORDER BY id LIMIT ?) \
             RETURNING id, sale_at, reseller_id, product_id, region, currency, order_count, \
             units, amount, cost, refunded_count, refunded_units, refunded_amount, \
             refunded_cost, stock_delta",
            [FOLD_CHUNK.into()],
        )
        .returning::<Row>()
        .rows(conn)?;
        if rows.is_empty() {
            break;
        }
        // RETURNING promises no order; the stock walk below needs pending order.
        rows.sort_unstable_by_key(|r| r.0);
        let changes: Vec<Change<'_>> = rows
            .iter()
            .map(
                |(_, sale_at, reseller_id, product_id, region, currency, tally, stock_delta)| {
                    Change {
                        sale: Sale {
                            created_at: *sale_at,
                            reseller_id,
                            product_id,
                            region: Some(region),
                            currency,
                            quantity: 0,
                            amount: 0,
                            cost_amount: 0,
                        },
                        tally: Tally::from(*tally),
                        stock_delta: *stock_delta,
                    }
                },
            )
            .collect();
        lowered.extend(apply(conn, &changes)?);
        if (rows.len() as i64) < FOLD_CHUNK {
            break;
        }
    }
    Ok(lowered)
}

/// One change to the counters: a sale's (or refund's) tally and the stock it moved.
struct Change<'a> {
    sale: Sale<'a>,
    tally: Tally,
    stock_delta: i64,
}

/// Applies sales straight to the counters, as a fold of their pending rows would (SQLite's
/// writer, for a batch's orders: no pending row is written and deleted again); returns the
/// products whose stock went down, for `stock.low`.
pub fn apply_sales(conn: &mut DbConn, sales: &[(Sale<'_>, i64)]) -> Result<Vec<StockTaken>> {
    let changes: Vec<Change<'_>> = sales
        .iter()
        .map(|(sale, taken)| Change {
            sale: *sale,
            tally: Tally::sale(sale),
            stock_delta: -taken,
        })
        .collect();
    apply(conn, &changes)
}

/// Applies changes, in order: each rollup and stock counter row updated once.
fn apply(conn: &mut DbConn, changes: &[Change<'_>]) -> Result<Vec<StockTaken>> {
    // Per product, each change in order.
    let mut stock: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut sales: Vec<(Sale<'_>, Tally)> = Vec::new();
    for c in changes {
        if c.stock_delta != 0 {
            stock
                .entry(c.sale.product_id)
                .or_default()
                .push(c.stock_delta);
        }
        if c.tally != Tally::default() {
            sales.push((c.sale, c.tally));
        }
    }
    sales_rollup::apply(conn, &sales)?;
    let mut lowered = Vec::new();
    for (product_id, changes) in &stock {
        let delta: i64 = changes.iter().sum();
        let after: Option<i64> = stmt(
            "UPDATE products SET stock = stock + ? WHERE id = ? RETURNING stock",
            [delta.into(), (*product_id).into()],
        )
        .returning::<BigInt>()
        .one(conn)
        .optional()?;
        let Some(after) = after else { continue }; // a deleted product
        if changes.iter().any(|d| *d < 0) {
            let mut level = after - delta;
            let stock_after = changes
                .iter()
                .map(|d| {
                    level += d;
                    level
                })
                .collect();
            lowered.push(StockTaken {
                product_id: product_id.to_string(),
                stock_after,
            });
        }
    }
    Ok(lowered)
}

/// Makes rows loaded from `products` show their exact stock: the counter plus what is pending,
/// both read in one statement. Read apart (the counter with the row, the pending rows after),
/// a fold committing in between was counted twice on PostgreSQL: the old counter plus the
/// pending rows the fold had not yet deleted, or the other way round.
pub fn exact_stock(conn: &mut DbConn, rows: &mut [ProductRow]) -> Result<()> {
    for chunk in rows.chunks_mut(EXACT_CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
        let exact: HashMap<String, i64> = exact_stocks(conn, &ids)?.into_iter().collect();
        for r in chunk.iter_mut() {
            if let Some(stock) = exact.get(&r.id) {
                r.stock = *stock;
            }
        }
    }
    Ok(())
}

/// Products per [`exact_stocks`] statement.
const EXACT_CHUNK: usize = 100;

/// Each product's counter plus its pending stock, as of one snapshot.
fn exact_stocks(conn: &mut DbConn, ids: &[&str]) -> Result<Vec<(String, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = rows_sql(
        "SELECT p.id, p.stock + CAST(COALESCE((SELECT SUM(s.stock_delta) FROM pending_sales s \
         WHERE s.product_id = p.id), 0) AS BIGINT) FROM products p WHERE p.id IN (",
        "?",
        ids.len(),
        ")",
    );
    Ok(stmt(sql, ids.iter().map(|id| (*id).into()))
        .returning::<(Text, BigInt)>()
        .rows(conn)?)
}

/// A product's exact stock (see [`exact_stock`]).
pub fn stock_of(conn: &mut DbConn, product_id: &str) -> Result<i64> {
    exact_stocks(conn, &[product_id])?
        .first()
        .map(|(_, stock)| *stock)
        .ok_or(crate::error::Error::NotFound("product"))
}
