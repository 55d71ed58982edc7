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
/// database file ten times a second) and bought nothing. Otherwise a round ends as the writer
/// takes a hand-off again (`Db::checkpoint_due_in`), and is tried again 200 ms later when it
/// could not hand off while the writer was due.
fn spawn_checkpointer(db: crate::db::Db) {
    actix_web::rt::spawn(async move {
        let mut last_mark = None;
        loop {
            let for_round = db.clone();
            let pause = match crate::db::run_blocking(move || for_round.checkpoint()).await {
                Ok(round) => {
                    let pushing = last_mark.is_some_and(|last| last != round.mark);
                    last_mark = Some(round.mark);
                    pause_after_round(pushing, round.handed_off, db.checkpoint_due_in())
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

const IDLE: Duration = Duration::from_secs(1);
const PUSHING: Duration = Duration::from_millis(100);
/// Again this soon when the writer is due and the round could not tell it to finish.
const DUE_RETRY: Duration = Duration::from_millis(200);

/// The checkpointer's pause after a round: short while a push writes; else until the writer
/// takes a hand-off again (one that comes earlier is dropped while the frames pile up).
fn pause_after_round(pushing: bool, handed_off: bool, due_in: Duration) -> Duration {
    if pushing {
        PUSHING
    } else if !due_in.is_zero() {
        due_in
    } else if handed_off {
        IDLE
    } else {
        DUE_RETRY
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_rounds_end_as_the_writer_takes_a_hand_off_again() {
        let ms = Duration::from_millis;
        // The writer checkpointed 300 ms ago: the next round ends as it is due, not a second on.
        assert_eq!(pause_after_round(false, true, ms(700)), ms(700));
        assert_eq!(pause_after_round(false, false, ms(700)), ms(700));
        // Due, and told: it finishes at its next batch end; the clock then starts over.
        assert_eq!(pause_after_round(false, true, Duration::ZERO), IDLE);
        // Due, and the round could not tell it: try again soon, before it copies alone.
        assert_eq!(pause_after_round(false, false, Duration::ZERO), DUE_RETRY);
        // A push is writing: short rounds whatever the writer's clock.
        assert_eq!(pause_after_round(true, false, ms(700)), PUSHING);
    }
}
