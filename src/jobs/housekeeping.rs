//! Every minute: idle rate-limit keys are dropped, expired nonces purged, and products whose
//! supplier's licence lapsed are taken off sale.

use std::time::Duration;

use actix_web::web;

use super::every;
use crate::domain::accounts::compliance;
use crate::state::AppState;

pub fn spawn(state: web::Data<AppState>) {
    every(Duration::from_secs(60), move || {
        let state = state.clone();
        async move {
            state.limits.housekeeping();
            let now = crate::time::now_ms();
            let st = state.clone();
            if let Err(e) =
                crate::db::run_blocking(move || st.nonces.purge_expired(&st.db, now)).await
            {
                tracing::warn!(error = %e, "nonce purge failed");
            }
            match state
                .db
                .write_async(move |c| compliance::sweep_lapsed(c, now))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(products = n, "licence lapsed: products taken off sale"),
                Err(e) => tracing::warn!(error = %e, "licence sweep failed"),
            }
        }
    });
}
