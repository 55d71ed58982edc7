//! The background half of `stock.low`: forecasts each card product's demand, stores the units
//! it is expected to sell within `KAMENG_STOCK_LOW_DAYS` (`cover_units`), and notifies products
//! already below it. The order path's half (firing when an order crosses the threshold) is
//! `trade::inventory::stock_low`.

use std::collections::HashMap;

use diesel::prelude::*;

use super::forecast;
use crate::db::schema::products;
use crate::db::{Db, DbConn};
use crate::domain::trade::catalog::{Delivery, ProductRow, ProductStatus};
use crate::domain::trade::inventory::stock_low::{event, fire, threshold, webhook_url};
use crate::error::Result;

/// Products forecast per rollup query (keeps the IN list well inside parameter limits).
const CHUNK: usize = 500;

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
    let mut rows: Vec<ProductRow> = products::table
        .filter(products::delivery.eq(Delivery::Card))
        .order(products::id.asc())
        .select(ProductRow::as_select())
        .load(conn)?;
    crate::domain::trade::pending::exact_stock(conn, &mut rows)?;
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
    let mut rows: Vec<ProductRow> = products::table
        .filter(products::delivery.eq(Delivery::Card))
        .order(products::id.asc())
        .select(ProductRow::as_select())
        .load(conn)?;
    crate::domain::trade::pending::exact_stock(conn, &mut rows)?;
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
        if low && p.stock_low_at.is_none() && p.status == ProductStatus::OnSale {
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
