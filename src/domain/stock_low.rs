//! `stock.low`: tells a supplier that a card product's stock runs out within
//! `KAMENG_STOCK_LOW_DAYS` at the forecast rate, or is below the supplier's own count
//! (`low_stock_threshold`), whichever comes first. Once per low spell.
//!
//! A forecast reads weeks of rollups, far too much for the order transaction. So [`refresh`]
//! runs in the background and stores each product's `cover_units` (the units expected to sell
//! within the days); the order path compares with the product row it loaded anyway and writes
//! only when it fires. `stock_low_at` marks the spell as notified; a push that brings the
//! stock back to the threshold, or a refresh that finds it there, clears it.

use std::collections::HashMap;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::ProductRow;
use super::forecast;
use crate::db::schema::{products, suppliers};
use crate::db::{Db, DbConn};
use crate::error::{Error, Result};
use crate::events::outbox::{self, NewEvent};

/// Products forecast per rollup query (keeps the IN list well inside parameter limits).
const CHUNK: usize = 500;

/// `data` of the `stock.low` event, sent to the supplier's `webhook_url` once per low spell:
/// when an order takes a card product's stock below `threshold`, or when the periodic forecast
/// refresh finds an on-sale product already below it. Stock pushed back to the threshold
/// starts a new spell.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StockLow {
    pub product_id: String,
    pub sku: String,
    /// Available codes now.
    pub stock: i64,
    /// Days the stock lasts at the forecast's mean rate over the next `stock_low_days`; null
    /// when no sales are forecast (the supplier's `low_stock_threshold` fired).
    pub days_of_cover: Option<f64>,
    /// Units: the larger of the sales forecast within `stock_low_days` and the supplier's
    /// `low_stock_threshold`.
    pub threshold: i64,
    /// The platform's days-of-cover limit (`KAMENG_STOCK_LOW_DAYS`).
    pub stock_low_days: f64,
}

/// Stock below this is low: the forecast's units within the days or the supplier's count,
/// whichever is reached first.
pub fn threshold(cover_units: Option<i64>, low_stock_threshold: Option<i64>) -> i64 {
    cover_units
        .unwrap_or(0)
        .max(low_stock_threshold.unwrap_or(0))
}

fn event(p: &ProductRow, stock: i64, days: f64) -> StockLow {
    let days_of_cover = p
        .cover_units
        .filter(|u| *u > 0)
        .map(|u| (stock as f64 * days / u as f64 * 10.0).round() / 10.0);
    StockLow {
        product_id: p.id.clone(),
        sku: p.sku.clone(),
        stock,
        days_of_cover,
        threshold: threshold(p.cover_units, p.low_stock_threshold),
        stock_low_days: days,
    }
}

/// Marks the spell notified and enqueues the event, unless another transaction marked it
/// first (the conditional update makes concurrent orders fire once).
fn fire(
    conn: &mut DbConn,
    supplier_id: &str,
    url: Option<&str>,
    low: &StockLow,
    now: i64,
) -> Result<bool> {
    let marked = diesel::update(
        products::table
            .find(&low.product_id)
            .filter(products::stock_low_at.is_null()),
    )
    .set(products::stock_low_at.eq(now))
    .execute(conn)?;
    if marked == 0 {
        return Ok(false);
    }
    outbox::enqueue(
        conn,
        NewEvent {
            event_type: "stock.low",
            owner_kind: "supplier",
            owner_id: supplier_id,
            url,
            data: serde_json::to_value(low).map_err(|e| Error::internal(e.to_string()))?,
        },
    )?;
    Ok(true)
}

fn webhook_url(conn: &mut DbConn, supplier_id: &str) -> Result<Option<String>> {
    Ok(suppliers::table
        .find(supplier_id)
        .select(suppliers::webhook_url)
        .first(conn)?)
}

/// In the order transaction, after the order took `quantity` codes from the stock `product`
/// was loaded with: no query unless this order starts a low spell.
pub fn on_order(conn: &mut DbConn, product: &ProductRow, quantity: i64, days: f64) -> Result<()> {
    let stock_after = product.stock - quantity;
    if product.stock_low_at.is_some()
        || stock_after >= threshold(product.cover_units, product.low_stock_threshold)
    {
        return Ok(());
    }
    let url = webhook_url(conn, &product.supplier_id)?;
    let low = event(product, stock_after, days);
    fire(
        conn,
        &product.supplier_id,
        url.as_deref(),
        &low,
        crate::time::now_ms(),
    )?;
    Ok(())
}

/// After stock went up (a push): ends the low spell when the stock is back at the threshold,
/// so the next one notifies again. One statement, no-op while nothing was notified.
pub fn on_restock(conn: &mut DbConn, product_id: &str) -> Result<()> {
    diesel::update(
        products::table
            .find(product_id)
            .filter(products::stock_low_at.is_not_null())
            .filter(sql::<Bool>(
                "stock >= COALESCE(cover_units, 0) AND stock >= COALESCE(low_stock_threshold, 0)",
            )),
    )
    .set(products::stock_low_at.eq(None::<i64>))
    .execute(conn)?;
    Ok(())
}

/// What one [`refresh`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Card products forecast.
    pub products: usize,
    /// Products whose `cover_units` changed.
    pub updated: usize,
    /// `stock.low` events sent.
    pub fired: usize,
    /// Low spells ended (stock at the threshold again).
    pub cleared: usize,
}

/// Units each card product is expected to sell within `days` (None: no sales expected).
/// Read-only: the forecasts run outside the write transaction.
pub fn expected_units(
    conn: &mut DbConn,
    now: i64,
    days: f64,
) -> Result<Vec<(String, Option<i64>)>> {
    let rows: Vec<ProductRow> = products::table
        .filter(products::delivery.eq("card"))
        .order(products::id.asc())
        .select(ProductRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let forecasts = forecast::for_products(conn, chunk, now)?;
        for r in chunk {
            let units = forecasts
                .get(&r.id)
                .map(|f| forecast::units_within(&f.daily, days))
                .filter(|u| *u > 1e-6)
                .map(|u| u.ceil() as i64);
            out.push((r.id.clone(), units));
        }
    }
    Ok(out)
}

/// Stores the new `cover_units`, then notifies on-sale products already below their threshold
/// and not yet notified (demand rose without an order crossing it), and ends the spells of
/// products back at theirs. Runs in one write transaction.
pub fn apply(
    conn: &mut DbConn,
    expected: &[(String, Option<i64>)],
    now: i64,
    days: f64,
) -> Result<Refreshed> {
    let mut done = Refreshed {
        products: expected.len(),
        ..Refreshed::default()
    };
    let expected: HashMap<&str, Option<i64>> =
        expected.iter().map(|(id, u)| (id.as_str(), *u)).collect();
    let rows: Vec<ProductRow> = products::table
        .filter(products::delivery.eq("card"))
        .order(products::id.asc())
        .select(ProductRow::as_select())
        .load(conn)?;
    let mut urls: HashMap<String, Option<String>> = HashMap::new();
    for mut p in rows {
        let Some(units) = expected.get(p.id.as_str()).copied() else {
            continue; // created since the forecasts were read: the next refresh has it
        };
        if p.cover_units != units {
            diesel::update(products::table.find(&p.id))
                .set(products::cover_units.eq(units))
                .execute(conn)?;
            p.cover_units = units;
            done.updated += 1;
        }
        let low = p.stock < threshold(p.cover_units, p.low_stock_threshold);
        if low && p.stock_low_at.is_none() && p.status == "on_sale" {
            let url = match urls.get(&p.supplier_id) {
                Some(u) => u.clone(),
                None => {
                    let u = webhook_url(conn, &p.supplier_id)?;
                    urls.insert(p.supplier_id.clone(), u.clone());
                    u
                }
            };
            let ev = event(&p, p.stock, days);
            if fire(conn, &p.supplier_id, url.as_deref(), &ev, now)? {
                done.fired += 1;
            }
        } else if !low && p.stock_low_at.is_some() {
            diesel::update(products::table.find(&p.id))
                .set(products::stock_low_at.eq(None::<i64>))
                .execute(conn)?;
            done.cleared += 1;
        }
    }
    Ok(done)
}

/// Recomputes every card product's `cover_units` from its forecast and applies them (see
/// [`apply`]). The periodic sweep in `server`; blocking.
pub fn refresh(db: &Db, now: i64, days: f64) -> Result<Refreshed> {
    let expected = db.read(move |c| expected_units(c, now, days))?;
    db.write(move |c| apply(c, &expected, now, days))
}
