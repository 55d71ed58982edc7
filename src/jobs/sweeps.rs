//! Deadline sweeps, every second: direct top-ups whose supplier never answered are failed and
//! refunded, bulk deliveries stranded by a restart are finished, after-sales tickets past
//! their SLA are refunded, deposits left unpaid past their time expire.

use std::time::Duration;

use actix_web::web;

use super::every;
use crate::db::DbConn;
use crate::domain::accounts::deposits;
use crate::domain::aftersales::tickets;
use crate::domain::trade::topups;
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

async fn expire_tickets(state: &web::Data<AppState>) {
    if let Some(n) = when_due(
        state,
        "ticket SLA",
        tickets::any_overdue,
        tickets::expire_overdue,
    )
    .await
    {
        tracing::info!(tickets = n, "tickets past their SLA were refunded");
        state.events_wakeup.notify_one();
    }
}

async fn expire_deposits(state: &web::Data<AppState>) {
    if let Some(n) = when_due(
        state,
        "deposit expiry",
        deposits::any_due,
        deposits::expire_due,
    )
    .await
    {
        tracing::info!(deposits = n, "unpaid deposits expired");
    }
}

/// A sweep that reads first, so an idle instance never takes the (SQLite) writer, then runs its
/// conditional update (safe with several instances). Returns how many rows it changed, if any;
/// a failure is logged and left to the next round.
async fn when_due(
    state: &web::Data<AppState>,
    what: &'static str,
    due: fn(&mut DbConn, i64) -> Result<bool>,
    run: fn(&mut DbConn, i64) -> Result<usize>,
) -> Option<usize> {
    let now = crate::time::now_ms();
    match state.db.read_async(move |c| due(c, now)).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            tracing::warn!(error = %e, sweep = what, "sweep check failed");
            return None;
        }
    }
    match state.db.write_async(move |c| run(c, now)).await {
        Ok(0) => None,
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, sweep = what, "sweep failed");
            None
        }
    }
}
