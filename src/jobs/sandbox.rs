//! Sandbox top-ups get their answer here, every 250 ms: what a supplier's result or a deadline
//! does for a live order (see `trade::sandbox::topups`).

use std::time::Duration;

use actix_web::web;

use super::every;
use crate::domain::trade::sandbox::topups;
use crate::state::AppState;

/// How often sandbox top-ups are looked at: well inside the 2 s a `SANDBOX-TOPUP-OK` promises.
const PERIOD: Duration = Duration::from_millis(250);

pub fn spawn(state: web::Data<AppState>) {
    every(PERIOD, move || {
        let st = state.clone();
        async move { finish_due(&st).await }
    });
}

/// A read first, so an instance with no sandbox top-up in flight never takes the writer.
async fn finish_due(state: &web::Data<AppState>) {
    match state.db.read_async(topups::any_processing).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, "sandbox top-up check failed");
            return;
        }
    }
    let now = crate::time::now_ms();
    match state
        .db
        .write_async(move |c| topups::finish_due(c, now, 100))
        .await
    {
        Ok(0) => {}
        Ok(_) => state.events_wakeup.notify_one(),
        Err(e) => tracing::warn!(error = %e, "sandbox top-up sweep failed"),
    }
}
