//! Reseller self-service API keys (`/v1/keys`): extra keys with fewer scopes and an optional
//! daily spend cap, for a bot or a shop front.
//!
//! Who may manage keys, and which: managing credentials (and naming the legal person behind
//! the account, see `kyc`) is an act of the account's owner, so it needs a *full-access* key,
//! one holding every scope (the key an admin issues is one). A leaked bot or shop-front key
//! therefore cannot mint fresh keys that would outlive its own revocation. On top of that a key
//! manages only keys *no more powerful than itself*: their scopes are a subset of its own, and
//! if it is capped, theirs is capped at most as high — so a capped full-access key can neither
//! mint an uncapped key nor revoke one. Listing keys only reads the account (`account:read`).

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod nonces;
pub mod scopes;
pub mod store;

pub use scopes::Scope;
pub use store::{Caller, IssuedKey, KeyInfo, OwnerKind};

use crate::crypto::Vault;
use crate::db::schema::api_keys;
use crate::db::DbConn;
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::time::rfc3339;

/// Active keys one reseller may hold: keeps a runaway script from piling up credentials.
pub const MAX_ACTIVE_KEYS: i64 = 100;

/// `POST /v1/keys` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "telegram-bot", "scopes": ["catalog:read", "orders:read", "orders:write"], "daily_spend_limit": 100000
}))]
pub struct NewKey {
    /// What the key is for, e.g. `telegram-bot`.
    pub name: String,
    /// A non-empty subset of the calling key's scopes.
    pub scopes: Vec<Scope>,
    /// Most this key may spend per UTC day, in minor units. Required (and at most the caller's
    /// own cap) when the calling key is itself capped.
    pub daily_spend_limit: Option<i64>,
    /// A sandbox key: its requests see the sandbox world (test balance, synthetic codes,
    /// trigger products) and never anything live. Default false.
    #[serde(default)]
    pub sandbox: bool,
}

/// A key as its owner sees it. `secret` is present only in the creation response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({
    "key_id": "kk_4f1c2a9e", "secret": "sk_7d0e5b3a9c1f4e2d", "name": "telegram-bot",
    "scopes": ["catalog:read", "orders:read", "orders:write"], "daily_spend_limit": 100000,
    "sandbox": false, "created_at": "2026-12-01T08:00:00Z"
}))]
pub struct ApiKey {
    pub key_id: String,
    /// Shown once, when the key is created; sign requests with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub daily_spend_limit: Option<i64>,
    /// True for a sandbox key.
    pub sandbox: bool,
    pub created_at: String,
}

/// Refuses a key that does not hold every scope (403 `insufficient_scope` naming the first
/// one missing). Key management and KYC submission need such a key (see the module comment).
pub fn require_full_access(caller: &Caller) -> Result<()> {
    match Scope::ALL.iter().find(|s| !caller.scopes.contains(s)) {
        Some(missing) => Err(Error::InsufficientScope(missing.as_str().into())),
        None => Ok(()),
    }
}

/// True when a key with `scopes`/`cap` is no more powerful than `caller`.
fn within(caller: &Caller, scopes: &[Scope], cap: Option<i64>) -> bool {
    let scopes_ok = scopes.iter().all(|s| caller.scopes.contains(s));
    let cap_ok = match (caller.daily_spend_limit, cap) {
        (None, _) => true,
        (Some(mine), Some(theirs)) => theirs <= mine,
        (Some(_), None) => false,
    };
    scopes_ok && cap_ok
}

pub fn create(conn: &mut DbConn, vault: &Vault, caller: &Caller, req: &NewKey) -> Result<ApiKey> {
    require_full_access(caller)?;
    let name = validate::non_empty("name", &req.name, 100)?;
    let mut scopes: Vec<Scope> = Vec::new();
    for s in &req.scopes {
        if !scopes.contains(s) {
            scopes.push(*s);
        }
    }
    if scopes.is_empty() {
        return Err(Error::invalid("scopes", "must name at least one scope"));
    }
    if let Some(cap) = req.daily_spend_limit {
        if cap < 1 {
            return Err(Error::invalid(
                "daily_spend_limit",
                "must be a positive amount in minor units",
            ));
        }
    }
    if !within(caller, &scopes, req.daily_spend_limit) {
        return Err(Error::Forbidden(
            "a key can only create keys no more powerful than itself \
             (a subset of its scopes, a daily_spend_limit no higher than its own)"
                .into(),
        ));
    }
    let active: i64 = api_keys::table
        .filter(api_keys::owner_kind.eq(OwnerKind::Reseller.as_str()))
        .filter(api_keys::owner_id.eq(&caller.owner_id))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    if active >= MAX_ACTIVE_KEYS {
        return Err(Error::Conflict(format!(
            "an account holds at most {MAX_ACTIVE_KEYS} active keys; revoke one first"
        )));
    }
    let issued = store::issue(
        conn,
        vault,
        OwnerKind::Reseller,
        &caller.owner_id,
        &name,
        &scopes,
        req.daily_spend_limit,
        req.sandbox,
    )?;
    let mut key = load(conn, &issued.key_id)?;
    key.secret = Some(issued.secret);
    Ok(key)
}

type KeyRow = (String, String, String, Option<i64>, i64, bool);

fn view((key_id, name, scopes, daily_spend_limit, created_at, sandbox): KeyRow) -> ApiKey {
    ApiKey {
        key_id,
        secret: None,
        name,
        scopes: Scope::split(&scopes),
        daily_spend_limit,
        sandbox,
        created_at: rfc3339(created_at),
    }
}

fn columns() -> (
    api_keys::key_id,
    api_keys::name,
    api_keys::scopes,
    api_keys::daily_spend_limit,
    api_keys::created_at,
    api_keys::sandbox,
) {
    (
        api_keys::key_id,
        api_keys::name,
        api_keys::scopes,
        api_keys::daily_spend_limit,
        api_keys::created_at,
        api_keys::sandbox,
    )
}

fn load(conn: &mut DbConn, key_id: &str) -> Result<ApiKey> {
    Ok(view(
        api_keys::table
            .find(key_id)
            .select(columns())
            .first::<KeyRow>(conn)?,
    ))
}

/// A reseller's active keys ordered by key id, at most `limit` after the cursor `after`.
pub fn list(
    conn: &mut DbConn,
    reseller_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ApiKey>> {
    let mut q = api_keys::table
        .filter(api_keys::owner_kind.eq(OwnerKind::Reseller.as_str()))
        .filter(api_keys::owner_id.eq(reseller_id.to_string()))
        .filter(api_keys::revoked_at.is_null())
        .select(columns())
        .order(api_keys::key_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(api_keys::key_id.gt(a.to_string()));
    }
    Ok(q.load::<KeyRow>(conn)?.into_iter().map(view).collect())
}

/// Revokes one of the caller's own keys (another account's key is "not found").
pub fn revoke(conn: &mut DbConn, caller: &Caller, key_id: &str) -> Result<()> {
    require_full_access(caller)?;
    let row: Option<(String, String, String, Option<i64>)> = api_keys::table
        .find(key_id)
        .select((
            api_keys::owner_kind,
            api_keys::owner_id,
            api_keys::scopes,
            api_keys::daily_spend_limit,
        ))
        .first(conn)
        .optional()?;
    match row {
        Some((kind, owner, scopes, cap))
            if kind == OwnerKind::Reseller.as_str() && owner == caller.owner_id =>
        {
            if !within(caller, &Scope::split(&scopes), cap) {
                return Err(Error::Forbidden(
                    "a key can only revoke keys no more powerful than itself".into(),
                ));
            }
        }
        _ => return Err(Error::NotFound("key")),
    }
    store::revoke(
        conn,
        key_id,
        Some((OwnerKind::Reseller, caller.owner_id.as_str())),
    )
}
