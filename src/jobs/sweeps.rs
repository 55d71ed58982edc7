//! Deadline sweeps, every second: direct top-ups whose supplier never answered are failed and
//! refunded, bulk deliveries stranded by a restart are finished, after-sales tickets past
//! their SLA are refunded, just-in-time orders a dead instance left mid-call are resumed.

use std::time::Duration;

use actix_web::web;

use super::every;
use crate::domain::aftersales::tickets;
use crate::domain::trade::{orders, topups};
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

/// A read first, so an idle instance never takes the (SQLite) writer; the refund itself is a
/// conditional update, safe with several instances.
async fn expire_tickets(state: &web::Data<AppState>) {
    let now = crate::time::now_ms();
    match state
        .db
        .read_async(move |c| tickets::any_overdue(c, now))
        .await
    {
        Ok(false) => return,
        Ok(true) => {}
        Err(e) => {
            tracing::warn!(error = %e, "ticket SLA check failed");
            return;
        }
    }
    match state
        .db
        .write_async(move |c| tickets::expire_overdue(c, now))
        .await
    {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(tickets = n, "tickets past their SLA were refunded");
            state.events_wakeup.notify_one();
        }
        Err(e) => tracing::warn!(error = %e, "ticket SLA sweep failed"),
    }
}
