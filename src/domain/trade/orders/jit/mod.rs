//! Orders for just-in-time products (`trade::fulfilment`): when an order finds fewer pushed
//! codes than it needs, the supplier is asked for the rest — without holding a transaction or
//! SQLite's writer slot while it answers.
//!
//! The order is placed in three steps:
//! 1. [`reserve`] (one short write): a `jit_reservations` row with a stable `request_id` and the
//!    order id it will have; the unique index on `(reseller, out_trade_no)` among reservations
//!    in flight makes a concurrent retry find it and wait ([`wait_for`]), never call again.
//!    No money moves and no card is claimed yet: a reservation costs the reseller nothing.
//! 2. The signed call (`JitDeps::caller`), outside any transaction, bounded by the endpoint's
//!    timeout; the answer must hold exactly the missing count of fresh, valid codes.
//! 3. [`complete`] (one write): the supplier's cards stored like pushed ones (sealed, deduplicated
//!    by code hash, their stock added through `trade::pending`), then the ordinary order
//!    transaction `place_as` claims them — so ledger, receipt, pending sale, limits, events and
//!    the books check stay one path — and the reservation becomes `done`, all in one commit.
//!
//! A supplier that fails, times out or answers wrongly marks the reservation `failed`
//! (`fulfilment::breaker`: quality figure and circuit breaker) and the reseller gets
//! `supplier_unavailable` with nothing changed. An order that fails in step 3 for its own
//! reasons (a spend limit reached meanwhile) keeps the supplier's codes as ordinary stock
//! (`released`): no code issued by a supplier is ever dropped.
//!
//! A crash (kill -9) between steps 1 and 3 leaves the reservation `reserved`: nothing was
//! charged, nothing stored. [`resume_due`] (started with the server and run periodically) takes
//! reservations whose lease has passed, asks the supplier again with the same `request_id` —
//! which must return the same cards — and completes them, so the reseller is charged once and
//! a retry of its `out_trade_no` finds the order.

mod resume;
mod wait;

pub use resume::resume_due;
use wait::wait_for;

use diesel::prelude::*;

use super::place::place_as;
use super::{OrderContext, OrderDeps, OrderRequest, Placed};
use crate::db::schema::{jit_reservations, suppliers};
use crate::db::{Db, DbConn};
use crate::domain::trade::fulfilment::{
    self, breaker, check_count, FulfilmentCall, FulfilmentRequest, JitDeps, ReservationStatus,
};
use crate::domain::trade::inventory::{self, SealedBatch};
use crate::domain::trade::pending;
use crate::error::{is_unique_violation, Error, Result};

/// Added to the supplier's timeout to make a reservation's lease: past it, a reservation still
/// `reserved` is taken to be abandoned (its instance died) and is resumed.
pub(super) const LEASE_MARGIN_MS: i64 = 5_000;
/// The supplier's codes are stored under this `batch_ref` (their quality figures' batch).
const BATCH_REF: &str = "jit";

/// Step 1's outcome.
enum Reserved {
    /// The product has no fulfilment endpoint: the out-of-stock stands.
    NotJit,
    /// Pushed codes arrived meanwhile; the order was placed from them.
    Placed(Box<Placed>),
    /// Another request with this out_trade_no is asking the supplier.
    InFlight(String),
    /// Ask the supplier.
    Call(Box<Fulfil>),
}

/// The hook `place_order` calls when an order ran out of pushed codes (`out_of_stock`) and no
/// earlier order holds its out_trade_no. Answers `out_of_stock` for products without an
/// endpoint, at the cost of one read.
pub(super) async fn after_out_of_stock(
    db: &Db,
    deps: &OrderDeps,
    ctx: &OrderContext,
    req: &OrderRequest,
    out_of_stock: Error,
) -> Result<Placed> {
    let Some(jit) = deps.jit.clone() else {
        return Err(out_of_stock);
    };
    let product_id = req.product_id.clone();
    if db
        .read_async(move |c| fulfilment::load(c, &product_id))
        .await?
        .is_none()
    {
        return Err(out_of_stock);
    }
    let (d, x, r) = (deps.clone(), ctx.clone(), req.clone());
    let reserved = match db.write_async(move |c| reserve(c, &d, &x, &r)).await {
        // PostgreSQL: a concurrent retry inserted its reservation first.
        Err(Error::RaceLost) => {
            let (reseller, trade_no) = (ctx.reseller_id.clone(), req.out_trade_no.clone());
            match db
                .read_async(move |c| in_flight(c, &reseller, &trade_no))
                .await?
            {
                Some(id) => Reserved::InFlight(id),
                None => return Err(Error::Contention("a concurrent reservation".into())),
            }
        }
        other => other?,
    };
    match reserved {
        Reserved::NotJit => Err(out_of_stock),
        Reserved::Placed(placed) => Ok(*placed),
        Reserved::InFlight(request_id) => wait_for(db, deps, ctx, req, &request_id).await,
        Reserved::Call(f) => fulfil(db, deps, &jit, ctx, req, *f).await,
    }
}

/// Step 1, in one write: place the order at once if pushed codes now suffice; otherwise, if the
/// supplier may be called and has declared enough, record the reservation.
fn reserve(
    conn: &mut DbConn,
    deps: &OrderDeps,
    ctx: &OrderContext,
    req: &OrderRequest,
) -> Result<Reserved> {
    let Some(endpoint) = fulfilment::load(conn, &req.product_id)? else {
        return Ok(Reserved::NotJit);
    };
    if let Some(request_id) = in_flight(conn, &ctx.reseller_id, &req.out_trade_no)? {
        return Ok(Reserved::InFlight(request_id));
    }
    let now = crate::time::now_ms();
    let pushed = inventory::count_available(conn, &req.product_id, now, req.quantity)?;
    let missing = req.quantity - pushed;
    if missing <= 0 {
        let placed = place_as(conn, deps, ctx, req, crate::ids::new_id("ord"))?;
        return Ok(Reserved::Placed(Box::new(placed)));
    }
    if endpoint.paused(now) {
        return Err(Error::SupplierUnavailable(format!(
            "supplier {} paused by its circuit breaker",
            endpoint.supplier_id
        )));
    }
    let remaining = fulfilment::remaining(conn, std::slice::from_ref(&endpoint))?;
    if remaining.get(&endpoint.product_id).copied().unwrap_or(0) < missing {
        return Err(Error::OutOfStock);
    }
    let product = crate::domain::trade::catalog::load_for_sale(conn, &req.product_id)?;
    let secret_enc: String = suppliers::table
        .find(&endpoint.supplier_id)
        .select(suppliers::webhook_secret_enc)
        .first(conn)?;
    let request_id = crate::ids::new_id("jit");
    let order_id = crate::ids::new_id("ord");
    let request = serde_json::to_string(req).map_err(Error::internal)?;
    let inserted = diesel::insert_into(jit_reservations::table)
        .values((
            jit_reservations::request_id.eq(&request_id),
            jit_reservations::reseller_id.eq(&ctx.reseller_id),
            jit_reservations::key_id.eq(&ctx.key_id),
            jit_reservations::out_trade_no.eq(&req.out_trade_no),
            jit_reservations::product_id.eq(&req.product_id),
            jit_reservations::supplier_id.eq(&endpoint.supplier_id),
            jit_reservations::quantity.eq(missing),
            jit_reservations::request.eq(request),
            jit_reservations::key_daily_limit.eq(ctx.limits.key_daily),
            jit_reservations::declared_at.eq(endpoint.declared_at),
            jit_reservations::status.eq(ReservationStatus::Reserved),
            jit_reservations::order_id.eq(&order_id),
            jit_reservations::created_at.eq(now),
            jit_reservations::lease_until.eq(now + endpoint.timeout_ms + LEASE_MARGIN_MS),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(Error::RaceLost),
        Err(e) => return Err(e.into()),
    }
    let body = FulfilmentRequest {
        request_id: request_id.clone(),
        order_id,
        product_id: product.id,
        sku: product.sku,
        quantity: missing,
    };
    let call = FulfilmentCall {
        request_id,
        url: endpoint.url,
        secret_enc,
        timeout_ms: endpoint.timeout_ms,
        body: serde_json::to_string(&body).map_err(Error::internal)?,
    };
    Ok(Reserved::Call(Box::new(Fulfil {
        call,
        supplier_id: endpoint.supplier_id,
        quantity: missing,
    })))
}

/// The reservation in flight for this out_trade_no, if any.
fn in_flight(conn: &mut DbConn, reseller_id: &str, out_trade_no: &str) -> Result<Option<String>> {
    Ok(jit_reservations::table
        .filter(jit_reservations::reseller_id.eq(reseller_id))
        .filter(jit_reservations::out_trade_no.eq(out_trade_no))
        .filter(jit_reservations::status.eq(ReservationStatus::Reserved))
        .select(jit_reservations::request_id)
        .first(conn)
        .optional()?)
}

/// A reserved call to make.
pub(super) struct Fulfil {
    pub(super) call: FulfilmentCall,
    pub(super) supplier_id: String,
    pub(super) quantity: i64,
}

/// Steps 2 and 3 for a reservation this caller holds.
pub(super) async fn fulfil(
    db: &Db,
    deps: &OrderDeps,
    jit: &JitDeps,
    ctx: &OrderContext,
    req: &OrderRequest,
    f: Fulfil,
) -> Result<Placed> {
    let request_id = f.call.request_id.clone();
    let answer = jit.caller.call(f.call).await;
    let now = crate::time::now_ms();
    let sealed = answer
        .and_then(|cards| check_count(&cards, f.quantity).map(|()| cards))
        .and_then(|cards| SealedBatch::seal(&deps.vault, &cards, now));
    let sealed = match sealed {
        Ok(s) => std::sync::Arc::new(s),
        Err(reason) => return supplier_failed(db, jit, &request_id, reason).await,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (d, x, r, s, id, sup) = (
            deps.clone(),
            ctx.clone(),
            req.clone(),
            sealed.clone(),
            request_id.clone(),
            f.supplier_id.clone(),
        );
        let outcome = db
            .write_async(move |c| complete(c, &d, &x, &r, &id, &sup, &s))
            .await;
        return match outcome {
            Ok(Completed::Placed(placed)) => Ok(*placed),
            Ok(Completed::Known) => {
                let reason = "answered a code kameng has seen before".to_string();
                supplier_failed(db, jit, &request_id, reason).await
            }
            // Another instance's resume finished it meanwhile.
            Ok(Completed::NotReserved) => wait_for(db, deps, ctx, req, &request_id).await,
            Err(Error::Contention(_)) if attempt < 5 => continue,
            // The database went away: the reservation stays for the resume job.
            Err(e @ (Error::Unavailable(_) | Error::Contention(_))) => Err(e),
            Err(e) => {
                let (s, id, sup, code) = (
                    sealed.clone(),
                    request_id.clone(),
                    f.supplier_id.clone(),
                    e.code(),
                );
                let product_id = req.product_id.clone();
                db.write_async(move |c| release(c, &id, &sup, &product_id, &s, code))
                    .await?;
                Err(e)
            }
        };
    }
}

enum Completed {
    Placed(Box<Placed>),
    /// The answer holds a code stored before: the supplier's fault.
    Known,
    /// The reservation is no longer in flight (finished elsewhere).
    NotReserved,
}

/// Step 3, in one write: the supplier's cards into stock, the ordinary order transaction over
/// them, the reservation done.
fn complete(
    conn: &mut DbConn,
    deps: &OrderDeps,
    ctx: &OrderContext,
    req: &OrderRequest,
    request_id: &str,
    supplier_id: &str,
    cards: &SealedBatch,
) -> Result<Completed> {
    let Some(order_id) = reserved_order_id(conn, request_id)? else {
        return Ok(Completed::NotReserved);
    };
    if cards.any_known(conn)? {
        return Ok(Completed::Known);
    }
    let now = crate::time::now_ms();
    store(conn, supplier_id, &req.product_id, cards, now)?;
    let placed = place_as(conn, deps, ctx, req, order_id)?;
    finish(conn, request_id, ReservationStatus::Done, None, now)?;
    Ok(Completed::Placed(Box::new(placed)))
}

/// The order id a reservation in flight will give its order.
fn reserved_order_id(conn: &mut DbConn, request_id: &str) -> Result<Option<String>> {
    Ok(jit_reservations::table
        .find(request_id)
        .filter(jit_reservations::status.eq(ReservationStatus::Reserved))
        .select(jit_reservations::order_id)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// The cards as available stock, their count added to the stock through a pending row (the
/// order that claims them takes it away again in its own).
fn store(
    conn: &mut DbConn,
    supplier_id: &str,
    product_id: &str,
    cards: &SealedBatch,
    now: i64,
) -> Result<()> {
    cards.insert(conn, supplier_id, product_id, BATCH_REF, now)?;
    pending::add_stock(conn, product_id, cards.len() as i64)
}

/// Ends a reservation in flight; false when it was not in flight any more.
pub(super) fn finish(
    conn: &mut DbConn,
    request_id: &str,
    status: ReservationStatus,
    failure: Option<&str>,
    now: i64,
) -> Result<bool> {
    let changed = diesel::update(
        jit_reservations::table
            .find(request_id)
            .filter(jit_reservations::status.eq(ReservationStatus::Reserved)),
    )
    .set((
        jit_reservations::status.eq(status),
        jit_reservations::failure.eq(failure),
        jit_reservations::finished_at.eq(now),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// The order failed for its own reasons after the supplier answered: its codes become ordinary
/// stock of the product, the reservation `released` (no code lost, nothing charged).
fn release(
    conn: &mut DbConn,
    request_id: &str,
    supplier_id: &str,
    product_id: &str,
    cards: &SealedBatch,
    code: &str,
) -> Result<()> {
    let now = crate::time::now_ms();
    if finish(
        conn,
        request_id,
        ReservationStatus::Released,
        Some(code),
        now,
    )? && !cards.any_known(conn)?
    {
        store(conn, supplier_id, product_id, cards, now)?;
    }
    Ok(())
}

/// Records the supplier's failure (quality figure, breaker) and answers `supplier_unavailable`.
pub(super) async fn supplier_failed(
    db: &Db,
    jit: &JitDeps,
    request_id: &str,
    reason: String,
) -> Result<Placed> {
    tracing::warn!(request_id, %reason, "just-in-time supplier failed");
    let (id, why, cooldown) = (request_id.to_string(), reason.clone(), jit.cooldown_ms);
    db.write_async(move |c| breaker::record_failure(c, &id, &why, crate::time::now_ms(), cooldown))
        .await?;
    Err(Error::SupplierUnavailable(reason))
}
