//! Just-in-time (declared-stock) products: a supplier that issues a code only when one is sold
//! registers a fulfilment endpoint for a card product and declares how many it can issue.
//! When an order finds too few pushed codes, the order path (`orders::jit`) asks the endpoint
//! for the rest; this module owns the endpoint settings, the declared stock, the reservations'
//! states and the circuit breaker (`breaker`); `call` states what is sent and answered.
//!
//! Declared stock without a shared counter (issue 15): no order updates the fulfilment row.
//! A declaration is named by `declared_at`; the units sold against it are the reservations
//! carrying the same `declared_at` (in flight or done), so the stock shown is
//! `declared_stock − those units`, computed when read. Declaring again starts a new count.
//! Concurrent PostgreSQL orders may both pass the check for the last declared units; the
//! supplier then answers or refuses, as with any declaration it cannot honour.

pub mod breaker;
pub mod call;

pub use call::{
    check_count, Answer, FulfilmentAnswer, FulfilmentCall, FulfilmentRequest, JitDeps,
    SupplierCaller,
};

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use diesel::sql_types::BigInt;

use crate::db::schema::jit_fulfilment;
use crate::db::stmt::stmt;
use crate::db::text::text_enum;
use crate::db::DbConn;
use crate::domain::trade::catalog::ProductRow;
use crate::domain::trade::inventory;
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::time::rfc3339;

pub const DEFAULT_TIMEOUT_MS: i64 = 3_000;
pub const MAX_TIMEOUT_MS: i64 = 10_000;
/// Enough for any real catalogue; keeps sums far from overflow.
pub const MAX_DECLARED_STOCK: i64 = 1_000_000_000;

text_enum! {
    /// Where one call to a supplier stands: `reserved` (in flight: the order waits, or a crash
    /// left it for the resume job), `done` (the order committed with the supplier's codes),
    /// `failed` (the supplier's fault: counted in its quality figures and breaker) or
    /// `released` (the order failed for its own reasons; the codes became ordinary stock).
    pub enum ReservationStatus {
        Reserved = "reserved",
        Done = "done",
        Failed = "failed",
        Released = "released",
    }
}

/// `PUT /v1/supplier/products/{id}/fulfilment` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://supplier.example/kameng/fulfil", "declared_stock": 5000, "timeout_ms": 3000}))]
pub struct FulfilmentSettings {
    /// Where kameng POSTs signed fulfilment requests (http or https, public address).
    pub url: String,
    /// Codes the supplier can issue; shown as stock and lowered by sales.
    pub declared_stock: i64,
    /// How long kameng waits for an answer, 1..10,000 ms; default 3,000.
    pub timeout_ms: Option<i64>,
}

/// A product's fulfilment endpoint as its supplier sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Fulfilment {
    pub product_id: String,
    pub url: String,
    /// As last declared.
    pub declared_stock: i64,
    /// The declared stock not yet sold.
    pub remaining: i64,
    pub timeout_ms: i64,
    /// Set while the circuit breaker pauses calls (RFC 3339).
    pub paused_until: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jit_fulfilment)]
pub struct EndpointRow {
    pub product_id: String,
    pub supplier_id: String,
    pub url: String,
    pub declared_stock: i64,
    pub timeout_ms: i64,
    pub declared_at: i64,
    pub paused_until: Option<i64>,
}

impl EndpointRow {
    pub fn paused(&self, now: i64) -> bool {
        self.paused_until.is_some_and(|t| t > now)
    }
}

/// The product's endpoint, if it has one.
pub fn load(conn: &mut DbConn, product_id: &str) -> Result<Option<EndpointRow>> {
    Ok(jit_fulfilment::table
        .find(product_id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?)
}

/// The supplier's own card product, or "not found" (another supplier's is not shown).
fn own_card_product(conn: &mut DbConn, supplier_id: &str, product_id: &str) -> Result<ProductRow> {
    inventory::own_card_product(
        conn,
        supplier_id,
        product_id,
        "only card products can be fulfilled just in time",
    )
}

/// Registers (or replaces) a product's fulfilment endpoint; a new declaration starts its own
/// count of units sold. The breaker state stays: re-registering does not lift a pause.
pub fn set(
    conn: &mut DbConn,
    supplier_id: &str,
    product_id: &str,
    s: &FulfilmentSettings,
    now: i64,
) -> Result<Fulfilment> {
    let url = validate::callback_url("url", &s.url)?;
    if !(0..=MAX_DECLARED_STOCK).contains(&s.declared_stock) {
        return Err(Error::invalid(
            "declared_stock",
            format!("must be between 0 and {MAX_DECLARED_STOCK}"),
        ));
    }
    let timeout_ms = s.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(Error::invalid(
            "timeout_ms",
            format!("must be between 1 and {MAX_TIMEOUT_MS}"),
        ));
    }
    own_card_product(conn, supplier_id, product_id)?;
    let updated = diesel::update(jit_fulfilment::table.find(product_id))
        .set((
            jit_fulfilment::url.eq(&url),
            jit_fulfilment::declared_stock.eq(s.declared_stock),
            jit_fulfilment::timeout_ms.eq(timeout_ms),
            jit_fulfilment::declared_at.eq(now),
            jit_fulfilment::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(jit_fulfilment::table)
            .values((
                jit_fulfilment::product_id.eq(product_id),
                jit_fulfilment::supplier_id.eq(supplier_id),
                jit_fulfilment::url.eq(&url),
                jit_fulfilment::declared_stock.eq(s.declared_stock),
                jit_fulfilment::timeout_ms.eq(timeout_ms),
                jit_fulfilment::declared_at.eq(now),
                jit_fulfilment::created_at.eq(now),
                jit_fulfilment::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    get(conn, supplier_id, product_id)
}

/// The product's endpoint as its supplier sees it (404 when it has none).
pub fn get(conn: &mut DbConn, supplier_id: &str, product_id: &str) -> Result<Fulfilment> {
    own_card_product(conn, supplier_id, product_id)?;
    let row = load(conn, product_id)?.ok_or(Error::NotFound("fulfilment"))?;
    let remaining = remaining(conn, std::slice::from_ref(&row))?
        .remove(product_id)
        .unwrap_or(0);
    Ok(Fulfilment {
        product_id: row.product_id,
        url: row.url,
        declared_stock: row.declared_stock,
        remaining,
        timeout_ms: row.timeout_ms,
        paused_until: row.paused_until.map(rfc3339),
    })
}

/// Turns just-in-time fulfilment off; calls in flight finish as they would have.
pub fn clear(conn: &mut DbConn, supplier_id: &str, product_id: &str) -> Result<()> {
    own_card_product(conn, supplier_id, product_id)?;
    let deleted = diesel::delete(jit_fulfilment::table.find(product_id)).execute(conn)?;
    if deleted == 0 {
        return Err(Error::NotFound("fulfilment"));
    }
    Ok(())
}

/// Declared stock not yet sold, per endpoint: the declaration minus the units of its
/// reservations in flight or done (see the module's doc). One indexed sum per endpoint.
pub fn remaining(conn: &mut DbConn, endpoints: &[EndpointRow]) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::with_capacity(endpoints.len());
    for e in endpoints {
        let sold: i64 = stmt(
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM jit_reservations \
             WHERE product_id = ? AND declared_at = ? AND status IN ('reserved', 'done')",
            [e.product_id.as_str().into(), e.declared_at.into()],
        )
        .returning::<BigInt>()
        .one(conn)?;
        out.insert(e.product_id.clone(), (e.declared_stock - sold).max(0));
    }
    Ok(out)
}

/// Makes product rows show their declared stock too: the stock counter (pushed codes) plus
/// what the supplier can still issue, unless its breaker pauses it (then only pushed codes
/// count, and a product without them shows as unavailable).
pub fn add_declared_stock(conn: &mut DbConn, rows: &mut [ProductRow], now: i64) -> Result<()> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let endpoints: Vec<EndpointRow> = jit_fulfilment::table
        .filter(jit_fulfilment::product_id.eq_any(&ids))
        .select(EndpointRow::as_select())
        .load(conn)?;
    let open: Vec<EndpointRow> = endpoints.into_iter().filter(|e| !e.paused(now)).collect();
    let remaining = remaining(conn, &open)?;
    for r in rows {
        r.stock += remaining.get(&r.id).copied().unwrap_or(0);
    }
    Ok(())
}
