//! The settler: folds the sales and stock orders left pending (`trade::pending`) into the
//! counters, sends the `stock.low` that folding starts, and seals the audit chain
//! (`money::chain::seal`). On SQLite the writer runs it at the end of every group commit, so
//! nothing stays pending there; on PostgreSQL every instance tries every [`SETTLE_EVERY`] and
//! an advisory lock lets one at a time through (a killed settler's transaction rolls back
//! whole, and the next instance's round starts from the same point).

use std::time::Duration;

use actix_web::web;

use crate::db::DbConn;
use crate::domain::money::chain;
use crate::domain::trade::inventory::stock_low;
use crate::domain::trade::pending;
use crate::error::Result;
use crate::state::AppState;

/// How often each instance tries to settle: bounds how long a record stays unsealed and a
/// stock change unfolded on PostgreSQL.
pub const SETTLE_EVERY: Duration = Duration::from_millis(200);

/// One settling round in the caller's transaction; returns the records sealed. `wait`: wait
/// for another instance's round instead of skipping this one (for readers that need
/// everything settled, such as the chain check).
pub fn settle(conn: &mut DbConn, stock_low_days: f64, wait: bool) -> Result<usize> {
    for taken in pending::fold(conn, wait)? {
        stock_low::on_stock_taken(conn, &taken, stock_low_days)?;
    }
    chain::seal(conn, wait)
}

pub(super) fn spawn(state: web::Data<AppState>) {
    let days = state.config.stock_low_days;
    state
        .db
        .at_batch_end(Box::new(move |c| settle(c, days, true).map(|_| ())));
    let db = state.db.clone();
    super::every(SETTLE_EVERY, move || {
        let db = db.clone();
        async move {
            if let Err(e) = db.write_async(move |c| settle(c, days, false)).await {
                tracing::warn!(error = %e, "settling round failed; retried next round");
            }
        }
    });
}
