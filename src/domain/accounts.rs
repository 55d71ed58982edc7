//! Suppliers and resellers: onboarding (with a first API key and a webhook secret shown once),
//! reads, updates, suspension and prepaid-balance credits.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::chain::record_admin;
use super::ledger::{self, Posting, Txn};
use super::validate;
use crate::auth::keys::{self, IssuedKey, OwnerKind};
use crate::auth::Scope;
use crate::crypto::{random_token, Vault};
use crate::db::schema::{resellers, suppliers};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::time::rfc3339;

pub const DEFAULT_CURRENCY: &str = "CNY";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Supplier {
    pub id: String,
    pub name: String,
    pub webhook_url: Option<String>,
    /// `active` or `suspended`.
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Reseller {
    pub id: String,
    pub name: String,
    pub level: String,
    /// Prepaid balance in minor units.
    pub balance: i64,
    pub currency: String,
    pub notify_url: Option<String>,
    /// `unverified`, `pending`, `verified` or `rejected`.
    pub kyc_status: String,
    /// `active` or `suspended`.
    pub status: String,
    pub parent_id: Option<String>,
    pub created_at: String,
}

/// A new supplier with its first key and webhook secret (shown only in this response).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SupplierCreated {
    #[serde(flatten)]
    pub supplier: Supplier,
    pub api_key: IssuedKey,
    pub webhook_secret: String,
}

/// A new reseller with its first key and webhook secret (shown only in this response).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResellerCreated {
    #[serde(flatten)]
    pub reseller: Reseller,
    pub api_key: IssuedKey,
    pub webhook_secret: String,
}

type SupplierRow = (String, String, Option<String>, String, i64);
type ResellerRow = (
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
);

fn supplier_cols() -> (
    suppliers::id,
    suppliers::name,
    suppliers::webhook_url,
    suppliers::status,
    suppliers::created_at,
) {
    (
        suppliers::id,
        suppliers::name,
        suppliers::webhook_url,
        suppliers::status,
        suppliers::created_at,
    )
}

#[allow(clippy::type_complexity)]
fn reseller_cols() -> (
    resellers::id,
    resellers::name,
    resellers::level,
    resellers::balance,
    resellers::currency,
    resellers::notify_url,
    resellers::kyc_status,
    resellers::status,
    resellers::parent_id,
    resellers::created_at,
) {
    (
        resellers::id,
        resellers::name,
        resellers::level,
        resellers::balance,
        resellers::currency,
        resellers::notify_url,
        resellers::kyc_status,
        resellers::status,
        resellers::parent_id,
        resellers::created_at,
    )
}

fn supplier_from(r: SupplierRow) -> Supplier {
    Supplier {
        id: r.0,
        name: r.1,
        webhook_url: r.2,
        status: r.3,
        created_at: rfc3339(r.4),
    }
}

fn reseller_from(r: ResellerRow) -> Reseller {
    Reseller {
        id: r.0,
        name: r.1,
        level: r.2,
        balance: r.3,
        currency: r.4,
        notify_url: r.5,
        kyc_status: r.6,
        status: r.7,
        parent_id: r.8,
        created_at: rfc3339(r.9),
    }
}

fn optional_url(field: &str, v: Option<&str>) -> Result<Option<String>> {
    v.filter(|s| !s.is_empty())
        .map(|u| validate::callback_url(field, u))
        .transpose()
}

pub fn create_supplier(
    conn: &mut DbConn,
    vault: &Vault,
    actor: &str,
    name: &str,
    webhook_url: Option<&str>,
) -> Result<SupplierCreated> {
    let name = validate::non_empty("name", name, 200)?;
    let webhook_url = optional_url("webhook_url", webhook_url)?;
    let id = crate::ids::new_id("sup");
    let webhook_secret = random_token("whsec_", 24);
    diesel::insert_into(suppliers::table)
        .values((
            suppliers::id.eq(&id),
            suppliers::name.eq(&name),
            suppliers::webhook_url.eq(&webhook_url),
            suppliers::webhook_secret_enc.eq(vault.encrypt_str(&webhook_secret)),
            suppliers::status.eq("active"),
            suppliers::created_at.eq(crate::time::now_ms()),
        ))
        .execute(conn)?;
    let api_key = keys::issue(conn, vault, OwnerKind::Supplier, &id, "default", &[], None)?;
    record_admin(conn, actor, "supplier.create", &id, json!({ "name": name }))?;
    Ok(SupplierCreated {
        supplier: get_supplier(conn, &id)?,
        api_key,
        webhook_secret,
    })
}

pub fn get_supplier(conn: &mut DbConn, id: &str) -> Result<Supplier> {
    suppliers::table
        .find(id)
        .select(supplier_cols())
        .first::<SupplierRow>(conn)
        .optional()?
        .map(supplier_from)
        .ok_or(Error::NotFound("supplier"))
}

pub fn list_suppliers(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<Supplier>> {
    let mut q = suppliers::table
        .select(supplier_cols())
        .order(suppliers::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(suppliers::id.gt(a.to_string()));
    }
    Ok(q.load::<SupplierRow>(conn)?
        .into_iter()
        .map(supplier_from)
        .collect())
}

/// Fields an admin may change on a supplier.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierPatch {
    pub name: Option<String>,
    /// An http(s) URL, or an empty string to remove it.
    pub webhook_url: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
}

pub fn update_supplier(
    conn: &mut DbConn,
    actor: &str,
    id: &str,
    patch: &SupplierPatch,
) -> Result<Supplier> {
    get_supplier(conn, id)?;
    if let Some(name) = &patch.name {
        let name = validate::non_empty("name", name, 200)?;
        diesel::update(suppliers::table.find(id))
            .set(suppliers::name.eq(name))
            .execute(conn)?;
    }
    if let Some(url) = &patch.webhook_url {
        let url = optional_url("webhook_url", Some(url))?;
        diesel::update(suppliers::table.find(id))
            .set(suppliers::webhook_url.eq(url))
            .execute(conn)?;
    }
    if let Some(status) = &patch.status {
        diesel::update(suppliers::table.find(id))
            .set(suppliers::status.eq(account_status(status)?))
            .execute(conn)?;
    }
    record_admin(
        conn,
        actor,
        "supplier.update",
        id,
        json!({ "name": patch.name, "webhook_url": patch.webhook_url, "status": patch.status }),
    )?;
    get_supplier(conn, id)
}

fn account_status(s: &str) -> Result<&'static str> {
    match s {
        "active" => Ok("active"),
        "suspended" => Ok("suspended"),
        _ => Err(Error::invalid("status", "must be `active` or `suspended`")),
    }
}

pub fn create_reseller(
    conn: &mut DbConn,
    vault: &Vault,
    actor: &str,
    name: &str,
    level: Option<&str>,
    notify_url: Option<&str>,
) -> Result<ResellerCreated> {
    let name = validate::non_empty("name", name, 200)?;
    let level = validate::non_empty("level", level.unwrap_or("default"), 64)?;
    let notify_url = optional_url("notify_url", notify_url)?;
    let id = crate::ids::new_id("rsl");
    let webhook_secret = random_token("whsec_", 24);
    diesel::insert_into(resellers::table)
        .values((
            resellers::id.eq(&id),
            resellers::name.eq(&name),
            resellers::level.eq(&level),
            resellers::notify_url.eq(&notify_url),
            resellers::webhook_secret_enc.eq(vault.encrypt_str(&webhook_secret)),
            resellers::kyc_status.eq("unverified"),
            resellers::status.eq("active"),
            resellers::currency.eq(DEFAULT_CURRENCY),
            resellers::balance.eq(0i64),
            resellers::created_at.eq(crate::time::now_ms()),
        ))
        .execute(conn)?;
    let api_key = keys::issue(
        conn,
        vault,
        OwnerKind::Reseller,
        &id,
        "default",
        &Scope::ALL,
        None,
    )?;
    record_admin(
        conn,
        actor,
        "reseller.create",
        &id,
        json!({ "name": name, "level": level }),
    )?;
    Ok(ResellerCreated {
        reseller: get_reseller(conn, &id)?,
        api_key,
        webhook_secret,
    })
}

pub fn get_reseller(conn: &mut DbConn, id: &str) -> Result<Reseller> {
    resellers::table
        .find(id)
        .select(reseller_cols())
        .first::<ResellerRow>(conn)
        .optional()?
        .map(reseller_from)
        .ok_or(Error::NotFound("reseller"))
}

pub fn list_resellers(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<Reseller>> {
    let mut q = resellers::table
        .select(reseller_cols())
        .order(resellers::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(resellers::id.gt(a.to_string()));
    }
    Ok(q.load::<ResellerRow>(conn)?
        .into_iter()
        .map(reseller_from)
        .collect())
}

/// A reseller's direct sub-resellers ordered by id, at most `limit` after the cursor `after`.
pub fn list_children(
    conn: &mut DbConn,
    parent_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Reseller>> {
    let mut q = resellers::table
        .filter(resellers::parent_id.eq(parent_id.to_string()))
        .select(reseller_cols())
        .order(resellers::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(resellers::id.gt(a.to_string()));
    }
    Ok(q.load::<ResellerRow>(conn)?
        .into_iter()
        .map(reseller_from)
        .collect())
}

/// Fields an admin may change on a reseller.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResellerPatch {
    pub name: Option<String>,
    pub level: Option<String>,
    /// An http(s) URL, or an empty string to remove it.
    pub notify_url: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
    /// Re-parent under this reseller (a sub-reseller of it), or `null` / `""` to detach and make
    /// it a root reseller again. Refused when it would make a cycle or a chain deeper than
    /// `KAMENG_MAX_RESELLER_DEPTH`.
    #[serde(default, deserialize_with = "super::sub_resellers::present")]
    #[schema(value_type = Option<String>, nullable)]
    pub parent_id: Option<Option<String>>,
}

/// `max_depth`: `KAMENG_MAX_RESELLER_DEPTH`, for a `parent_id` change.
pub fn update_reseller(
    conn: &mut DbConn,
    actor: &str,
    id: &str,
    patch: &ResellerPatch,
    max_depth: usize,
) -> Result<Reseller> {
    get_reseller(conn, id)?;
    if let Some(parent) = &patch.parent_id {
        let parent = parent.as_deref().filter(|p| !p.is_empty());
        super::sub_resellers::set_parent(conn, actor, id, parent, max_depth)?;
    }
    if let Some(name) = &patch.name {
        let name = validate::non_empty("name", name, 200)?;
        diesel::update(resellers::table.find(id))
            .set(resellers::name.eq(name))
            .execute(conn)?;
    }
    if let Some(level) = &patch.level {
        let level = validate::non_empty("level", level, 64)?;
        diesel::update(resellers::table.find(id))
            .set(resellers::level.eq(level))
            .execute(conn)?;
    }
    if let Some(url) = &patch.notify_url {
        let url = optional_url("notify_url", Some(url))?;
        diesel::update(resellers::table.find(id))
            .set(resellers::notify_url.eq(url))
            .execute(conn)?;
    }
    if let Some(status) = &patch.status {
        diesel::update(resellers::table.find(id))
            .set(resellers::status.eq(account_status(status)?))
            .execute(conn)?;
    }
    record_admin(
        conn,
        actor,
        "reseller.update",
        id,
        json!({ "name": patch.name, "level": patch.level, "notify_url": patch.notify_url, "status": patch.status, "parent_id": patch.parent_id }),
    )?;
    get_reseller(conn, id)
}

/// Credits (or, with a negative amount, corrects) a reseller's prepaid balance.
/// The largest credit or correction, and the largest balance, in minor units (10^15: ten
/// trillion of a currency). Keeps every sum of balances and entries far from i64 overflow.
pub const MAX_CREDIT: i64 = 1_000_000_000_000_000;

pub fn credit(
    conn: &mut DbConn,
    actor: &str,
    reseller_id: &str,
    amount: i64,
    memo: Option<&str>,
) -> Result<i64> {
    let reseller = get_reseller(conn, reseller_id)?;
    if amount == 0 {
        return Err(Error::invalid("amount", "must not be zero"));
    }
    if amount.unsigned_abs() > MAX_CREDIT.unsigned_abs()
        || reseller.balance.saturating_add(amount) > MAX_CREDIT
    {
        return Err(Error::invalid(
            "amount",
            format!("must be within ±{MAX_CREDIT} and leave the balance at most {MAX_CREDIT}"),
        ));
    }
    let memo = memo
        .map(|m| validate::non_empty("memo", m, 500))
        .transpose()?;
    let res = ledger::post(
        conn,
        Txn {
            action: if amount > 0 {
                "balance.credit"
            } else {
                "balance.correction"
            },
            actor,
            subject: reseller_id,
            currency: &reseller.currency,
            detail: json!({ "memo": memo }),
            postings: vec![
                Posting::new(ledger::reseller_account(reseller_id), amount),
                Posting::new(ledger::PLATFORM_FUNDING, -amount),
            ],
        },
    );
    res.map_err(|e| match e {
        Error::InsufficientBalance => {
            Error::invalid("amount", "a correction cannot take the balance below zero")
        }
        other => other,
    })?;
    Ok(get_reseller(conn, reseller_id)?.balance)
}

/// Issues an additional key for an account (rotation: issue new, then revoke old).
pub fn issue_key(
    conn: &mut DbConn,
    vault: &Vault,
    actor: &str,
    kind: OwnerKind,
    owner_id: &str,
) -> Result<IssuedKey> {
    match kind {
        OwnerKind::Reseller => get_reseller(conn, owner_id).map(|_| ())?,
        OwnerKind::Supplier => get_supplier(conn, owner_id).map(|_| ())?,
    }
    let scopes: &[Scope] = if kind == OwnerKind::Reseller {
        &Scope::ALL
    } else {
        &[]
    };
    let key = keys::issue(conn, vault, kind, owner_id, "admin-issued", scopes, None)?;
    record_admin(
        conn,
        actor,
        "key.issue",
        &key.key_id,
        json!({ "owner": format!("{}:{owner_id}", kind.as_str()) }),
    )?;
    Ok(key)
}

pub fn revoke_key(conn: &mut DbConn, actor: &str, key_id: &str) -> Result<()> {
    keys::revoke(conn, key_id, None)?;
    record_admin(conn, actor, "key.revoke", key_id, json!({}))?;
    Ok(())
}
