//! Deadline sweeps, every second: direct top-ups whose supplier never answered are failed and
//! refunded, bulk deliveries stranded by a restart are finished, after-sales tickets past
//! their SLA are refunded, gift links past their expiry are ended and refunded, deposits left
//! unpaid past their time expire, just-in-time orders a dead instance left mid-call are resumed.

use std::time::Duration;

use actix_web::web;

use super::every;
use crate::db::DbConn;
use crate::domain::accounts::deposits;
use crate::domain::aftersales::tickets;
use crate::domain::trade::{claims, orders, topups};
use crate::error::Result;
use crate::state::AppState;

pub fn spawn(state: web::Data<AppState>) {
    let st = state.clone();
    every(Duration::from_secs(1), move || {
        let st = st.clone();
        async move {
            expire_topups(&st).await;
            super::bulk::sweep_stranded(&st).await;
        }
    });
    let st = state.clone();
    every(Duration::from_secs(1), move || {
        let st = st.clone();
        async move { expire_tickets(&st).await }
    });
    let sweeps = state.clone();
    every(Duration::from_secs(1), move || {
        let st = sweeps.clone();
        async move {
            expire_claims(&st).await;
            expire_deposits(&st).await;
        }
    });
    // Its own loop: a resumed call waits up to a supplier's timeout, which must not delay the
    // sweeps above. Runs at once at start, so a crash's leftovers are finished first thing.
    every(Duration::from_secs(1), move || {
        let st = state.clone();
        async move { resume_jit_orders(&st).await }
    });
}

/// Just-in-time orders whose reservation outlived its lease (see `trade::orders::jit`): one
/// read when there are none.
async fn resume_jit_orders(state: &web::Data<AppState>) {
    let deps = state.order_deps();
    match orders::resume_jit_orders(&state.db, &deps, state.config.unverified_daily_limit).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(orders = n, "just-in-time orders resumed after a crash");
            state.events_wakeup.notify_one();
        }
        Err(e) => tracing::warn!(error = %e, "resuming just-in-time orders failed"),
    }
}

async fn expire_topups(state: &web::Data<AppState>) {
    let now = crate::time::now_ms();
    match state
        .db
        .write_async(move |c| topups::expire_overdue(c, now, 100))
        .await
    {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(orders = n, "direct top-ups timed out and were refunded");
            state.events_wakeup.notify_one();
        }
        Err(e) => tracing::warn!(error = %e, "top-up deadline sweep failed"),
    }
}

/// After-sales tickets past their SLA are refunded.
async fn expire_tickets(state: &web::Data<AppState>) {
    let now = crate::time::now_ms();
    read_then_write(
        state,
        "tickets past their SLA were refunded",
        move |c| tickets::any_overdue(c, now),
        move |c| tickets::expire_overdue(c, now),
    )
    .await
}

/// Deposits left unpaid past their time.
async fn expire_deposits(state: &web::Data<AppState>) {
    let now = crate::time::now_ms();
    read_then_write(
        state,
        "unpaid deposits expired",
        move |c| deposits::any_due(c, now),
        move |c| deposits::expire_due(c, now),
    )
    .await
}

/// Gift links past their expiry, a batch a round: cards back to stock, money back to buyers.
async fn expire_claims(state: &web::Data<AppState>) {
    let now = crate::time::now_ms();
    read_then_write(
        state,
        "gift links expired; their cards and money returned",
        move |c| claims::any_due(c, now),
        move |c| claims::expire_due(c, now, 100),
    )
    .await
}

/// One round of a sweep whose work is rarely due: a read first, so an idle instance never
/// takes the (SQLite) writer; then the work, conditional updates safe with several instances.
/// `done` is logged with how many rows it ended; the event worker is woken for their events.
async fn read_then_write(
    state: &web::Data<AppState>,
    done: &'static str,
    due: impl FnOnce(&mut DbConn) -> Result<bool> + Send + 'static,
    work: impl FnOnce(&mut DbConn) -> Result<usize> + Send + 'static,
) {
    match state.db.read_async(due).await {
        Ok(false) => return,
        Ok(true) => {}
        Err(e) => {
            tracing::warn!(error = %e, sweep = done, "sweep check failed");
            return;
        }
    }
    match state.db.write_async(work).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(rows = n, "{done}");
            state.events_wakeup.notify_one();
        }
        Err(e) => tracing::warn!(error = %e, sweep = done, "sweep failed"),
    }
}
