//! Resuming just-in-time orders a dead instance left between the reservation and the commit
//! (see the parent module): the supplier is asked again with the same `request_id` and must
//! return the same cards; the order then completes as it would have.

use diesel::prelude::*;

use super::{finish, fulfil, supplier_failed, Fulfil, LEASE_MARGIN_MS};
use crate::db::schema::{jit_reservations, suppliers};
use crate::db::Db;
use crate::domain::money::limits::SpendLimits;
use crate::domain::trade::fulfilment::{
    self, FulfilmentCall, FulfilmentRequest, JitDeps, ReservationStatus,
};
use crate::domain::trade::orders::{OrderContext, OrderDeps, OrderRequest};
use crate::error::{Error, Result};

/// Reservations older than this are no longer resumed: failed instead.
const RESUME_MAX_AGE_MS: i64 = 24 * 3_600_000;

/// A reservation left in flight by an instance that died.
#[derive(Queryable)]
struct Abandoned {
    request_id: String,
    reseller_id: String,
    key_id: String,
    supplier_id: String,
    quantity: i64,
    request: String,
    key_daily_limit: Option<i64>,
    order_id: Option<String>,
    created_at: i64,
    lease_until: i64,
}

/// Resumes reservations whose lease has passed (their instance died between the reservation
/// and the commit): asks the supplier again with the same `request_id` and completes the order.
/// `unverified_daily` is the spend limit the order was placed under (configuration). Returns
/// how many it finished.
pub async fn resume_due(db: &Db, deps: &OrderDeps, unverified_daily: i64) -> Result<usize> {
    let Some(jit) = deps.jit.clone() else {
        return Ok(0);
    };
    let now = crate::time::now_ms();
    let due: Vec<Abandoned> = db
        .read_async(move |c| {
            Ok(jit_reservations::table
                .filter(jit_reservations::status.eq(ReservationStatus::Reserved))
                .filter(jit_reservations::lease_until.lt(now))
                .order(jit_reservations::created_at.asc())
                .limit(32)
                .select((
                    jit_reservations::request_id,
                    jit_reservations::reseller_id,
                    jit_reservations::key_id,
                    jit_reservations::supplier_id,
                    jit_reservations::quantity,
                    jit_reservations::request,
                    jit_reservations::key_daily_limit,
                    jit_reservations::order_id,
                    jit_reservations::created_at,
                    jit_reservations::lease_until,
                ))
                .load(c)?)
        })
        .await?;
    let mut finished = 0;
    for r in due {
        match resume_one(db, deps, &jit, unverified_daily, r).await {
            Ok(true) => finished += 1,
            Ok(false) => {}
            Err(e) => tracing::info!(error = %e, "resuming a just-in-time order did not finish it"),
        }
    }
    Ok(finished)
}

async fn resume_one(
    db: &Db,
    deps: &OrderDeps,
    jit: &JitDeps,
    unverified_daily: i64,
    r: Abandoned,
) -> Result<bool> {
    let now = crate::time::now_ms();
    let req: OrderRequest = serde_json::from_str(&r.request).map_err(Error::internal)?;
    let (id, old_lease) = (r.request_id.clone(), r.lease_until);
    let product_id = req.product_id.clone();
    // Take the lease (one instance resumes it) and what the call needs.
    let claimed = db
        .write_async(move |c| {
            let endpoint = fulfilment::load(c, &product_id)?;
            let timeout = endpoint.as_ref().map_or(0, |e| e.timeout_ms);
            let taken = diesel::update(
                jit_reservations::table
                    .find(&id)
                    .filter(jit_reservations::status.eq(ReservationStatus::Reserved))
                    .filter(jit_reservations::lease_until.eq(old_lease)),
            )
            .set(jit_reservations::lease_until.eq(now + timeout + LEASE_MARGIN_MS))
            .execute(c)?;
            if taken == 0 {
                return Ok(None);
            }
            let secret_enc: String = suppliers::table
                .find(endpoint.as_ref().map_or("", |e| e.supplier_id.as_str()))
                .select(suppliers::webhook_secret_enc)
                .first(c)
                .optional()?
                .unwrap_or_default();
            let sku = crate::domain::trade::catalog::load_for_sale(c, &product_id)?.sku;
            Ok(Some((endpoint, secret_enc, sku)))
        })
        .await?;
    let Some((endpoint, secret_enc, sku)) = claimed else {
        return Ok(false);
    };
    let (Some(endpoint), Some(order_id)) = (endpoint, r.order_id.clone()) else {
        // The endpoint was removed meanwhile: nobody to ask.
        let id = r.request_id.clone();
        db.write_async(move |c| {
            finish(
                c,
                &id,
                ReservationStatus::Released,
                Some("fulfilment endpoint removed"),
                now,
            )
        })
        .await?;
        return Ok(false);
    };
    if now - r.created_at > RESUME_MAX_AGE_MS {
        supplier_failed(db, jit, &r.request_id, "not completed within a day".into())
            .await
            .ok();
        return Ok(false);
    }
    let body = FulfilmentRequest {
        request_id: r.request_id.clone(),
        order_id,
        product_id: req.product_id.clone(),
        sku,
        quantity: r.quantity,
    };
    let call = FulfilmentCall {
        request_id: r.request_id.clone(),
        url: endpoint.url,
        secret_enc,
        timeout_ms: endpoint.timeout_ms,
        body: serde_json::to_string(&body).map_err(Error::internal)?,
    };
    let ctx = OrderContext {
        reseller_id: r.reseller_id,
        key_id: r.key_id,
        limits: SpendLimits {
            key_daily: r.key_daily_limit,
            unverified_daily,
        },
        nonce: None,
    };
    let f = Fulfil {
        call,
        supplier_id: r.supplier_id,
        quantity: r.quantity,
    };
    fulfil(db, deps, jit, &ctx, &req, f).await.map(|_| true)
}
