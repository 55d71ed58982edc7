//! A retry of an out_trade_no whose just-in-time reservation is in flight waits for it rather
//! than asking the supplier a second time (see the parent module).

use std::time::Duration;

use diesel::prelude::*;

use crate::db::schema::jit_reservations;
use crate::db::Db;
use crate::domain::trade::fulfilment::ReservationStatus;
use crate::domain::trade::orders::idempotency::{find_by_trade_no, replay, request_hash};
use crate::domain::trade::orders::place::place_as;
use crate::domain::trade::orders::{OrderContext, OrderDeps, OrderRequest, Placed};
use crate::error::{Error, Result};

/// How often a waiting retry looks at the reservation it waits for.
const WAIT_POLL: Duration = Duration::from_millis(50);

/// A retry of an out_trade_no whose reservation is in flight: waits until it ends (within its
/// lease), then answers as the first attempt did. Never calls the supplier itself.
pub(super) async fn wait_for(
    db: &Db,
    deps: &OrderDeps,
    ctx: &OrderContext,
    req: &OrderRequest,
    request_id: &str,
) -> Result<Placed> {
    loop {
        let id = request_id.to_string();
        let state: Option<(ReservationStatus, i64)> = db
            .read_async(move |c| {
                Ok(jit_reservations::table
                    .find(&id)
                    .select((jit_reservations::status, jit_reservations::lease_until))
                    .first(c)
                    .optional()?)
            })
            .await?;
        let Some((status, lease_until)) = state else {
            return Err(Error::internal("a reservation vanished"));
        };
        match status {
            ReservationStatus::Reserved if crate::time::now_ms() <= lease_until => {
                tokio::time::sleep(WAIT_POLL).await;
            }
            // Its instance died mid-call: the resume job will finish it; nothing was charged.
            ReservationStatus::Reserved => {
                return Err(Error::SupplierUnavailable(
                    "the first attempt is still unfinished".into(),
                ))
            }
            ReservationStatus::Failed => {
                return Err(Error::SupplierUnavailable(
                    "the first attempt's supplier call failed".into(),
                ))
            }
            // Done: its order. Released: its codes are stock now; this attempt places anew.
            ReservationStatus::Done | ReservationStatus::Released => {
                return replay_or_place(db, deps, ctx, req).await
            }
        }
    }
}

async fn replay_or_place(
    db: &Db,
    deps: &OrderDeps,
    ctx: &OrderContext,
    req: &OrderRequest,
) -> Result<Placed> {
    let (d, x, r) = (deps.clone(), ctx.clone(), req.clone());
    db.write_async(
        move |c| match find_by_trade_no(c, &x.reseller_id, &r.out_trade_no)? {
            Some(existing) => replay(c, &d.vault, existing, &request_hash(&r)),
            None => place_as(c, &d, &x, &r, crate::ids::new_id("ord")),
        },
    )
    .await
}
