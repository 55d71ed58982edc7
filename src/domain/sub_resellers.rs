//! The distribution network: a reseller creates sub-resellers, funds them from its own balance,
//! sees their sales (never their codes) and its commission statement; an admin re-parents or
//! detaches them. Pricing and commission are in `network`.
//!
//! Depth: a root reseller is level 1, its sub-resellers level 2, and so on up to
//! `KAMENG_MAX_RESELLER_DEPTH` (default 3). The limit is enforced when a link is made (creation,
//! re-parenting); lowering it later leaves existing deeper chains as they are, each level still
//! paid its markup.
//!
//! The parent receives its new sub-reseller's first API key (it onboards it); the sub-reseller
//! should rotate it (`POST /v1/keys`, then `DELETE` the first one). Nothing else lets a parent
//! act as its sub-reseller or read its orders' codes.

use std::collections::{HashMap, HashSet};

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::accounts::{self, NewReseller, Reseller, ResellerCreated};
use super::chain::record_admin;
use super::ledger::{self, Posting, Txn};
use super::network::ancestors;
use super::orders::{self, OrderFilter};
use super::validate;
use crate::crypto::Vault;
use crate::db::schema::{audit_chain, ledger_entries, orders as orders_t, resellers};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::time::rfc3339;

/// Direct sub-resellers one reseller may have.
pub const MAX_SUB_RESELLERS: i64 = 1_000;
/// Order statuses whose money went back to the buyer.
const RETURNED: [&str; 2] = ["failed", "refunded"];

/// `Some(None)` for an explicit `null`, so a PATCH can tell "detach" from "leave as is".
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `POST /v1/sub-resellers` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubReseller {
    pub name: String,
    /// Default callback URL for the sub-reseller's orders.
    pub notify_url: Option<String>,
}

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

/// `POST /v1/sub-resellers/{id}/transfer` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Minor units moved from the caller's balance to the sub-reseller's; positive.
    pub amount: i64,
    pub memo: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferResult {
    /// The caller's balance after the transfer.
    pub balance: i64,
    /// The sub-reseller's balance after the transfer.
    pub sub_reseller_balance: i64,
}

/// A sub-reseller's order as its parent sees it: no codes, no end-buyer details, no receipt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubResellerOrder {
    pub id: String,
    pub out_trade_no: String,
    pub product_id: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub created_at: String,
    pub completed_at: Option<String>,
    /// What the caller earned on this order, net of any taken back.
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

/// Serialises changes to the parent links on PostgreSQL, so two concurrent re-parentings cannot
/// build a cycle or pass the depth limit together (SQLite's single writer already does).
fn lock_topology(conn: &mut DbConn) -> Result<()> {
    if let DbConn::Pg(c) = conn {
        // An arbitrary constant naming "the reseller tree".
        diesel::sql_query("SELECT pg_advisory_xact_lock(7220411)").execute(c)?;
    }
    Ok(())
}

/// Levels in the subtree rooted at `id` (1 for a reseller without sub-resellers).
fn subtree_height(conn: &mut DbConn, id: &str) -> Result<usize> {
    let mut frontier = vec![id.to_string()];
    let mut height = 1;
    loop {
        let mut next = Vec::new();
        for chunk in frontier.chunks(500) {
            let ids: Vec<String> = resellers::table
                .filter(resellers::parent_id.eq_any(chunk))
                .select(resellers::id)
                .load(conn)?;
            next.extend(ids);
        }
        if next.is_empty() {
            return Ok(height);
        }
        height += 1;
        if height > 64 {
            return Err(Error::internal("the reseller tree has a cycle"));
        }
        frontier = next;
    }
}

/// Creates a sub-reseller of `parent_id`; its first key (all scopes) and webhook secret are in
/// the result, shown this once.
pub fn create(
    conn: &mut DbConn,
    vault: &Vault,
    parent_id: &str,
    actor: &str,
    req: &NewSubReseller,
    max_depth: usize,
) -> Result<ResellerCreated> {
    lock_topology(conn)?;
    let level = ancestors(conn, parent_id)?.len() + 1;
    if level >= max_depth {
        return Err(Error::Forbidden(format!(
            "a distribution chain has at most {max_depth} levels and this account is at level \
             {level}: it cannot have sub-resellers"
        )));
    }
    let children: i64 = resellers::table
        .filter(resellers::parent_id.eq(parent_id))
        .count()
        .get_result(conn)?;
    if children >= MAX_SUB_RESELLERS {
        return Err(Error::Conflict(format!(
            "a reseller has at most {MAX_SUB_RESELLERS} sub-resellers"
        )));
    }
    let new = NewReseller {
        name: req.name.clone(),
        level: None,
        notify_url: req.notify_url.clone(),
    };
    let mut created = accounts::create::<Reseller>(conn, vault, actor, &new)?;
    let id = created.reseller.id.clone();
    diesel::update(resellers::table.find(&id))
        .set(resellers::parent_id.eq(parent_id))
        .execute(conn)?;
    record_admin(
        conn,
        actor,
        "reseller.parent",
        &id,
        json!({ "parent_id": parent_id }),
    )?;
    created.reseller.parent_id = Some(parent_id.to_string());
    Ok(created)
}

/// An admin moves `id` under `parent` (or detaches it with `None`).
pub fn set_parent(
    conn: &mut DbConn,
    actor: &str,
    id: &str,
    parent: Option<&str>,
    max_depth: usize,
) -> Result<()> {
    lock_topology(conn)?;
    let before = accounts::get::<Reseller>(conn, id)?.parent_id;
    if let Some(p) = parent {
        if p == id {
            return Err(Error::invalid(
                "parent_id",
                "a reseller cannot be its own parent",
            ));
        }
        accounts::get::<Reseller>(conn, p)
            .map_err(|_| Error::invalid("parent_id", "no such reseller"))?;
        let above = ancestors(conn, p)?;
        if above.iter().any(|a| a == id) {
            return Err(Error::invalid(
                "parent_id",
                "that reseller is below this one: the chain would be a cycle",
            ));
        }
        // Levels: the new parent's, then this subtree's below it.
        let deepest = above.len() + 1 + subtree_height(conn, id)?;
        if deepest > max_depth {
            return Err(Error::invalid(
                "parent_id",
                format!("the chain would have {deepest} levels; at most {max_depth} are allowed"),
            ));
        }
    }
    diesel::update(resellers::table.find(id))
        .set(resellers::parent_id.eq(parent))
        .execute(conn)?;
    record_admin(
        conn,
        actor,
        "reseller.reparent",
        id,
        json!({ "from": before, "to": parent }),
    )?;
    Ok(())
}

/// A direct sub-reseller of `parent_id`, or "not found" (also for anyone else's).
fn own_child(conn: &mut DbConn, parent_id: &str, child_id: &str) -> Result<Reseller> {
    match accounts::get::<Reseller>(conn, child_id) {
        Ok(r) if r.parent_id.as_deref() == Some(parent_id) => Ok(r),
        _ => Err(Error::NotFound("sub-reseller")),
    }
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
        .filter(orders_t::status.ne_all(RETURNED))
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

/// Moves `amount` of the parent's balance to a direct sub-reseller (never below zero: 402).
pub fn transfer(
    conn: &mut DbConn,
    actor: &str,
    parent_id: &str,
    child_id: &str,
    req: &TransferRequest,
) -> Result<TransferResult> {
    let child = own_child(conn, parent_id, child_id)?;
    if req.amount < 1 {
        return Err(Error::invalid(
            "amount",
            "must be a positive amount in minor units",
        ));
    }
    let memo = req
        .memo
        .as_deref()
        .map(|m| validate::non_empty("memo", m, 500))
        .transpose()?;
    let parent = accounts::get::<Reseller>(conn, parent_id)?;
    if parent.currency != child.currency {
        return Err(Error::invalid(
            "amount",
            "the two balances are in different currencies",
        ));
    }
    ledger::post(
        conn,
        Txn {
            action: "network.transfer",
            actor,
            subject: child_id,
            currency: &parent.currency,
            detail: json!({ "from": parent_id, "memo": memo }),
            // The child's row first: network transactions lock descendants before ancestors.
            postings: vec![
                Posting::new(ledger::reseller_account(child_id), req.amount),
                Posting::new(ledger::reseller_account(parent_id), -req.amount),
            ],
        },
    )?;
    Ok(TransferResult {
        balance: accounts::get::<Reseller>(conn, parent_id)?.balance,
        sub_reseller_balance: accounts::get::<Reseller>(conn, child_id)?.balance,
    })
}

/// A page of a direct sub-reseller's orders, newest first, with the parent's commission on each.
pub fn child_orders(
    conn: &mut DbConn,
    parent_id: &str,
    child_id: &str,
    status: Option<String>,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<SubResellerOrder>> {
    own_child(conn, parent_id, child_id)?;
    let rows = orders::list(
        conn,
        &OrderFilter {
            reseller_id: Some(child_id.to_string()),
            status,
            before,
            limit,
            ..OrderFilter::default()
        },
    )?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let earned: HashMap<String, i64> = ledger_entries::table
        .inner_join(audit_chain::table)
        .filter(ledger_entries::account.eq(ledger::reseller_account(parent_id)))
        .filter(audit_chain::subject.eq_any(&ids))
        .group_by(audit_chain::subject)
        .select((
            audit_chain::subject,
            sql::<BigInt>("CAST(COALESCE(SUM(ledger_entries.amount), 0) AS BIGINT)"),
        ))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| SubResellerOrder {
            commission: earned.get(&r.id).copied().unwrap_or(0),
            id: r.id,
            out_trade_no: r.out_trade_no,
            product_id: r.product_id,
            quantity: r.quantity,
            unit_price: r.unit_price,
            amount: r.amount,
            currency: r.currency,
            status: r.status,
            created_at: rfc3339(r.created_at),
            completed_at: r.completed_at.map(rfc3339),
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
