//! Bulk delivery after the commit: a card order above `KAMENG_BULK_ASYNC_THRESHOLD` commits as
//! `processing` with its codes claimed but sealed; this unseals them, signs the receipt over
//! their digest and marks the order `delivered` (see `domain::trade::bulk`).

use actix_web::web;

use crate::db::run_blocking;
use crate::domain::trade::bulk;
use crate::domain::trade::orders::{Order, OrderStatus};
use crate::state::AppState;

/// Starts delivering a bulk order that was just committed as `processing`, off the request.
pub fn after_commit(state: &web::Data<AppState>, order: &Order) {
    if order.status != OrderStatus::Processing.as_str() || order.topup.is_some() {
        return;
    }
    let state = state.clone();
    let id = order.id.clone();
    actix_web::rt::spawn(async move {
        let st = state.clone();
        let done = run_blocking(move || bulk::deliver(&st.db, &st.vault, &st.receipts, &id)).await;
        match done {
            Ok(true) => state.events_wakeup.notify_one(),
            Ok(false) => {}
            // The background sweep retries it.
            Err(e) => tracing::warn!(error = %e, "bulk delivery failed"),
        }
    });
}

/// Delivers bulk orders still processing 5 s after their commit (the server stopped before
/// [`after_commit`] finished). Runs from the background loop.
pub async fn sweep_stranded(state: &web::Data<AppState>) {
    let st = state.clone();
    let before = crate::time::now_ms() - 5_000;
    match run_blocking(move || bulk::deliver_stranded(&st.db, &st.vault, &st.receipts, before, 20))
        .await
    {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(orders = n, "stranded bulk orders delivered");
            state.events_wakeup.notify_one();
        }
        Err(e) => tracing::warn!(error = %e, "bulk delivery sweep failed"),
    }
}
