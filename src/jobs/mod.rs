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
    spawn_checkpointer(state.db.clone());
    settle::spawn(state.clone());
    sweeps::spawn(state.clone());
    sandbox::spawn(state.clone());
    stock_cover::spawn(state.clone());
    housekeeping::spawn(state);
}

/// The SQLite WAL checkpoint (`Db::checkpoint`): a round a second, and every 100 ms while stock
/// pushes write. A push's slices dirty pages all over the card indexes, and a round's page
/// writes and their fsync sit ahead of the writer's own fsync on the disk: with a round a
/// second, orders waited up to 52-129 ms during pushes, 37-42 ms with rounds every 100 ms. Not
/// every 100 ms always: without pushes that cost 4-13 % of the orders at C=64 (fsyncs of the
/// database file ten times a second) and bought nothing. Also every 100 ms after a round that
/// did not catch up: the writer would otherwise copy, on its clock, the second of commits no
/// round saw.
fn spawn_checkpointer(db: crate::db::Db) {
    const IDLE: Duration = Duration::from_secs(1);
    const PUSHING: Duration = Duration::from_millis(100);
    // PostgreSQL has no WAL of ours to bound: a round there would only hop to a blocking
    // thread and back, once a second, for nothing.
    if db.backend() != crate::db::Backend::Sqlite {
        return;
    }
    actix_web::rt::spawn(async move {
        let mut last_mark = None;
        loop {
            let db = db.clone();
            let pause = match crate::db::run_blocking(move || db.checkpoint()).await {
                Ok(round) => {
                    let pushing = last_mark.is_some_and(|last| last != round.mark);
                    last_mark = Some(round.mark);
                    if pushing || !round.caught_up {
                        PUSHING
                    } else {
                        IDLE
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                    IDLE
                }
            };
            actix_web::rt::time::sleep(pause).await;
        }
    });
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
