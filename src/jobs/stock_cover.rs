//! Recomputes each card product's expected sales within `KAMENG_STOCK_LOW_DAYS` at start and
//! every `KAMENG_STOCK_LOW_REFRESH` seconds, so orders compare stock with a stored number, and
//! sends `stock.low` for products that became low by demand rising rather than by an order.
//! Firing is a conditional update: safe with several instances.

use std::time::Duration;

use actix_web::web;

use super::every;
use crate::domain::insight::stock_cover;
use crate::state::AppState;

pub fn spawn(state: web::Data<AppState>) {
    let period = state.config.stock_low_refresh_secs;
    if period == 0 {
        return;
    }
    every(Duration::from_secs(period), move || {
        let state = state.clone();
        async move {
            let (db, days) = (state.db.clone(), state.config.stock_low_days);
            let now = crate::time::now_ms();
            match crate::db::run_blocking(move || stock_cover::refresh(&db, now, days)).await {
                Ok(r) if r.fired > 0 => {
                    tracing::info!(products = r.fired, "stock.low sent by the cover refresh");
                    state.events_wakeup.notify_one();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "stock cover refresh failed"),
            }
        }
    });
}
