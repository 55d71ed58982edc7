//! Taking commission back when a sub-reseller's order is reversed.

use diesel::prelude::*;

use super::ledger::{LedgerAccount, Posting};
use crate::db::schema::resellers;
use crate::db::DbConn;
use crate::error::{Error, Result};

/// Reversing a sub-reseller's order (a failed top-up, a refund) takes each ancestor's commission
/// back. An ancestor may have spent it meanwhile: rather than let the refund fail, it gives back
/// what its balance holds and the platform's revenue bears the rest. Reseller rows are locked in
/// posting order (buyer first, then ancestors) so this cannot deadlock with a new order.
/// Costs nothing for an order without commission (no negative reseller line).
pub fn limit_clawbacks(conn: &mut DbConn, postings: &mut [Posting]) -> Result<()> {
    let clawback = |p: &Posting| p.amount < 0 && p.account.reseller_id().is_some();
    if !postings.iter().any(clawback) {
        return Ok(());
    }
    let mut shortfall: i64 = 0;
    for p in postings.iter_mut() {
        let Some(id) = p.account.reseller_id() else {
            continue;
        };
        let q = resellers::table
            .find(id.to_string())
            .select(resellers::balance);
        let balance: i64 = match conn {
            DbConn::Pg(c) => q.for_update().first(c)?,
            DbConn::Sqlite(c) => q.first(c)?,
        };
        if p.amount < 0 && balance < -p.amount {
            shortfall += -p.amount - balance;
            p.amount = -balance;
        }
    }
    if shortfall > 0 {
        let platform = postings
            .iter_mut()
            .find(|p| p.account == LedgerAccount::PlatformRevenue)
            .ok_or_else(|| Error::internal("a clawback without a platform line"))?;
        platform.amount -= shortfall;
    }
    Ok(())
}
