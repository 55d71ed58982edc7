//! Background jobs: everything the server does on a timer or after a response, started once
//! per instance by [`spawn_all`]. Each job is safe to run on several instances at once (its
//! writes are conditional updates or claims), and a failed round is logged and retried on the
//! next tick. The event delivery worker lives with the outbox in `events::worker`.

pub mod bulk;
mod housekeeping;
mod sandbox;
pub mod settle;
mod stock_cover;
mod sweeps;

use std::future::Future;
use std::time::Duration;

use actix_web::web;

use crate::state::AppState;

/// Starts every background job on the current runtime: the event worker, the WAL checkpoint,
/// the settler (pending sales, `stock.low`, chain sealing), the direct top-up deadline and
/// stranded bulk delivery sweeps, the ticket SLA sweep, sandbox top-up answers, the
/// stock cover refresh, and housekeeping (expired nonces, idle rate-limit keys, lapsed
/// licences).
pub fn spawn_all(state: web::Data<AppState>) {
    crate::events::worker::spawn(state.clone());
    let db = state.db.clone();
    every(Duration::from_secs(1), move || {
        let db = db.clone();
        async move {
            if let Err(e) = crate::db::run_blocking(move || db.checkpoint()).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
    settle::spawn(state.clone());
    sweeps::spawn(state.clone());
    sandbox::spawn(state.clone());
    stock_cover::spawn(state.clone());
    housekeeping::spawn(state);
}

/// Runs `round` at once and then every `period`, forever, on the current runtime.
fn every<F, Fut>(period: Duration, mut round: F)
where
    F: FnMut() -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(period);
        loop {
            tick.tick().await;
            round().await;
        }
    });
}
