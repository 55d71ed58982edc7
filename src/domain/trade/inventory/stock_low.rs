//! `stock.low`: tells a supplier that a card product's stock runs out within
//! `KAMENG_STOCK_LOW_DAYS` at the forecast rate, or is below the supplier's own count
//! (`low_stock_threshold`), whichever comes first. Once per low spell.
//!
//! A forecast reads weeks of rollups, far too much for the order transaction. So
//! `insight::stock_cover::refresh` runs in the background and stores each product's `cover_units` (the units expected to sell
//! within the days); the settler, folding the stock orders took (`trade::pending`), compares
//! each product it lowered and writes only when it fires. `stock_low_at` marks the spell as notified; a push that brings the
//! stock back to the threshold, or a refresh that finds it there, clears it.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{products, suppliers};
use crate::db::DbConn;
use crate::domain::trade::catalog::ProductRow;
use crate::domain::trade::pending::StockTaken;
use crate::error::{Error, Result};
use crate::events::outbox::{self, NewEvent};

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

pub(crate) fn event(p: &ProductRow, stock: i64, days: f64) -> StockLow {
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
pub(crate) fn fire(
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

pub(crate) fn webhook_url(conn: &mut DbConn, supplier_id: &str) -> Result<Option<String>> {
    Ok(suppliers::table
        .find(supplier_id)
        .select(suppliers::webhook_url)
        .first(conn)?)
}

/// After the settler folded stock that orders took into the product's counter: starts a low
/// spell at the first change that left the stock below the threshold, reporting the stock
/// right after it (no event while a spell is running).
pub fn on_stock_taken(conn: &mut DbConn, taken: &StockTaken, days: f64) -> Result<()> {
    let product = crate::domain::trade::catalog::load_for_sale(conn, &taken.product_id)?;
    let limit = threshold(product.cover_units, product.low_stock_threshold);
    if product.stock_low_at.is_some() {
        return Ok(());
    }
    let Some(stock) = taken.stock_after.iter().copied().find(|s| *s < limit) else {
        return Ok(());
    };
    let url = webhook_url(conn, &product.supplier_id)?;
    let low = event(&product, stock, days);
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
