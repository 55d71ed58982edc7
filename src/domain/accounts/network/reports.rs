//! What a parent reads about its network: its sub-resellers with their sales and its
//! commission through each, a sub-reseller's orders (never their codes), and its commission
//! statement.

use std::collections::{HashMap, HashSet};

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{audit_chain, ledger_entries, orders as orders_t};
use crate::db::DbConn;
use crate::domain::accounts::network::ancestors;
use crate::domain::accounts::{self, Reseller};
use crate::domain::money::ledger;
use crate::domain::states::OrderStatus;
use crate::error::Result;
use crate::time::rfc3339;

/// A direct sub-reseller with its sales and what the caller earned through it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubReseller {
    #[serde(flatten)]
    pub reseller: Reseller,
    /// Orders it placed that kept their money (not failed or refunded).
    pub orders: i64,
    /// The amount of those orders, in minor units.
    pub sales_amount: i64,
    /// Commission the caller earned through it: on its orders and on those of its own
    /// sub-resellers, net of any taken back by refunds.
    pub commission: i64,
}

/// One line of a commission statement: a ledger line of the caller's balance on an order
/// placed somewhere below it in the network.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommissionLine {
    pub id: String,
    pub order_id: String,
    /// The reseller that placed the order (a sub-reseller, or one of theirs).
    pub buyer_id: String,
    /// Positive when earned, negative when taken back (a refunded or failed order).
    pub amount: i64,
    pub currency: String,
    pub balance_after: Option<i64>,
    /// `order.purchase`, or the action that reversed it.
    pub action: String,
    pub created_at: String,
}

/// Commission credited to `reseller_id` per buyer (net), from the ledger.
fn commission_by_buyer(conn: &mut DbConn, reseller_id: &str) -> Result<Vec<(String, i64)>> {
    Ok(ledger_entries::table
        .inner_join(audit_chain::table)
        .inner_join(orders_t::table.on(orders_t::id.eq(audit_chain::subject)))
        .filter(ledger_entries::account.eq(ledger::reseller_account(reseller_id)))
        .filter(orders_t::reseller_id.ne(reseller_id))
        .group_by(orders_t::reseller_id)
        .select((
            orders_t::reseller_id,
            sql::<BigInt>("CAST(COALESCE(SUM(ledger_entries.amount), 0) AS BIGINT)"),
        ))
        .load(conn)?)
}

/// A page of direct sub-resellers with their sales and the caller's commission through each.
pub fn list(
    conn: &mut DbConn,
    parent_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<SubReseller>> {
    let children = accounts::list_children(conn, parent_id, after, limit)?;
    if children.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = children.iter().map(|c| c.id.clone()).collect();
    let sales: HashMap<String, (i64, i64)> = orders_t::table
        .filter(orders_t::reseller_id.eq_any(&ids))
        .filter(orders_t::status.ne_all(OrderStatus::RETURNED))
        .group_by(orders_t::reseller_id)
        .select((
            orders_t::reseller_id,
            sql::<BigInt>("CAST(COUNT(*) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(amount), 0) AS BIGINT)"),
        ))
        .load::<(String, i64, i64)>(conn)?
        .into_iter()
        .map(|(id, n, amount)| (id, (n, amount)))
        .collect();
    // Attribute each buyer's commission to the branch (direct child) it came through.
    let page: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut commission: HashMap<String, i64> = HashMap::new();
    for (buyer, amount) in commission_by_buyer(conn, parent_id)? {
        let branch = if page.contains(buyer.as_str()) {
            Some(buyer)
        } else {
            let above = ancestors(conn, &buyer)?;
            let mut chain = vec![buyer];
            chain.extend(above);
            chain
                .iter()
                .position(|r| r == parent_id)
                .and_then(|i| i.checked_sub(1))
                .map(|i| chain[i].clone())
                .filter(|c| page.contains(c.as_str()))
        };
        if let Some(b) = branch {
            *commission.entry(b).or_default() += amount;
        }
    }
    Ok(children
        .into_iter()
        .map(|r| {
            let (orders, sales_amount) = sales.get(&r.id).copied().unwrap_or((0, 0));
            SubReseller {
                orders,
                sales_amount,
                commission: commission.get(&r.id).copied().unwrap_or(0),
                reseller: r,
            }
        })
        .collect())
}

/// A page of `reseller_id`'s commission lines, newest first (`before`: a line id).
pub fn commissions(
    conn: &mut DbConn,
    reseller_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<CommissionLine>> {
    let mut q = ledger_entries::table
        .inner_join(audit_chain::table)
        .inner_join(orders_t::table.on(orders_t::id.eq(audit_chain::subject)))
        .filter(ledger_entries::account.eq(ledger::reseller_account(reseller_id)))
        .filter(orders_t::reseller_id.ne(reseller_id))
        .select((
            ledger_entries::id,
            orders_t::id,
            orders_t::reseller_id,
            ledger_entries::amount,
            ledger_entries::currency,
            ledger_entries::balance_after,
            audit_chain::action,
            ledger_entries::created_at,
        ))
        .order(ledger_entries::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(ledger_entries::id.lt(b));
    }
    type Row = (i64, String, String, i64, String, Option<i64>, String, i64);
    Ok(q.load::<Row>(conn)?
        .into_iter()
        .map(
            |(id, order_id, buyer_id, amount, currency, balance_after, action, at)| {
                CommissionLine {
                    id: id.to_string(),
                    order_id,
                    buyer_id,
                    amount,
                    currency,
                    balance_after,
                    action,
                    created_at: rfc3339(at),
                }
            },
        )
        .collect())
}
