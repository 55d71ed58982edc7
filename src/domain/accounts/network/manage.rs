//! What changes the network: a parent creates and funds its sub-resellers, an admin re-parents
//! them.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{own_child, MAX_SUB_RESELLERS};
use crate::crypto::Vault;
use crate::db::schema::resellers;
use crate::db::DbConn;
use crate::domain::accounts::network::ancestors;
use crate::domain::accounts::{self, NewReseller, Reseller, ResellerCreated};
use crate::domain::money::chain::record_admin;
use crate::domain::money::ledger::{self, Posting, Txn};
use crate::domain::validate;
use crate::error::{Error, Result};

/// `POST /v1/sub-resellers` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubReseller {
    pub name: String,
    /// Default callback URL for the sub-reseller's orders.
    pub notify_url: Option<String>,
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
