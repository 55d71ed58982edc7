//! A reseller's statement: the movements of its balance, newest first, each with the action
//! and the object (order, credit, transfer) it belongs to.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ledger::reseller_account;
use crate::db::schema::{audit_chain, ledger_entries};
use crate::db::DbConn;
use crate::error::Result;
use crate::time::rfc3339;

/// One statement line: a movement of this reseller's balance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    pub id: String,
    /// Signed amount: positive credits the balance, negative debits it.
    pub amount: i64,
    pub currency: String,
    pub balance_after: Option<i64>,
    /// What moved the money, e.g. `order.purchase`, `balance.credit`.
    pub action: String,
    /// The order id or other object the movement belongs to.
    pub reference: String,
    pub created_at: String,
}

/// Up to `limit + 1` lines of `reseller_id`'s statement older than line `before` (the extra
/// line says there is a next page).
pub fn reseller_statement(
    conn: &mut DbConn,
    reseller_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StatementLine>> {
    let mut q = ledger_entries::table
        .inner_join(audit_chain::table)
        .filter(ledger_entries::account.eq(reseller_account(reseller_id)))
        .select((
            ledger_entries::id,
            ledger_entries::amount,
            ledger_entries::currency,
            ledger_entries::balance_after,
            audit_chain::action,
            audit_chain::subject,
            ledger_entries::created_at,
        ))
        .order(ledger_entries::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(ledger_entries::id.lt(b));
    }
    Ok(
        q.load::<(i64, i64, String, Option<i64>, String, String, i64)>(conn)?
            .into_iter()
            .map(
                |(id, amount, currency, balance_after, action, reference, at)| StatementLine {
                    id: id.to_string(),
                    amount,
                    currency,
                    balance_after,
                    action,
                    reference,
                    created_at: rfc3339(at),
                },
            )
            .collect(),
    )
}
