//! Deadline sweeps, every second: direct top-ups whose supplier never answered are failed and
//! refunded, bulk deliveries stranded by a restart are finished, after-sales tickets past
//! their SLA are refunded, deposits left unpaid past their time expire.

use std::time::Duration;

use actix_web::web;

use super::every;
use crate::domain::accounts::deposits;
use crate::domain::aftersales::tickets;
use crate::domain::trade::topups;
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
    every(Duration::from_secs(1), move || {
        let st = state.clone();
        async move {
            expire_tickets(&st).await;
            expire_deposits(&st).await;
        }
    });
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

/// Like the ticket sweep: a read first, then one conditional update (a deposit a payment
/// credited meanwhile stays credited).
async fn expire_deposits(state: &web::Data<AppState>) {
    let now = crate::time::now_ms();
    match state
        .db
        .read_async(move |c| deposits::any_due(c, now))
        .await
    {
        Ok(false) => return,
        Ok(true) => {}
        Err(e) => {
            tracing::warn!(error = %e, "deposit expiry check failed");
            return;
        }
    }
    match state
        .db
        .write_async(move |c| deposits::expire_due(c, now))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(deposits = n, "unpaid deposits expired"),
        Err(e) => tracing::warn!(error = %e, "deposit expiry sweep failed"),
    }
}
