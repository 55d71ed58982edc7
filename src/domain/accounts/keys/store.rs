//! API keys: issue, revoke, and load for verification. The secret is stored encrypted (the
//! server needs it to recompute the HMAC) and is shown to its owner once, at creation.

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::scopes::Scope;
use crate::crypto::{random_token, Vault};
use crate::db::schema::{api_keys, resellers, suppliers};
use crate::db::Db;
use crate::db::DbConn;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    Reseller,
    Supplier,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::Reseller => "reseller",
            OwnerKind::Supplier => "supplier",
        }
    }
}

/// The verified sender of a signed request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub kind: OwnerKind,
    pub owner_id: String,
    pub scopes: Vec<Scope>,
    pub daily_spend_limit: Option<i64>,
    pub suspended: bool,
    /// A sandbox key: it sees the sandbox world (`domain::sandbox`) and nothing live.
    pub sandbox: bool,
}

pub struct LoadedKey {
    pub caller: Caller,
    pub secret: Vec<u8>,
}

/// A newly issued key; `secret` is shown this once.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct IssuedKey {
    pub key_id: String,
    pub secret: String,
}

/// A key as listed (never with its secret).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct KeyInfo {
    pub key_id: String,
    pub name: String,
    pub scopes: String,
    pub daily_spend_limit: Option<i64>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
pub fn issue(
    conn: &mut DbConn,
    vault: &Vault,
    kind: OwnerKind,
    owner_id: &str,
    name: &str,
    scopes: &[Scope],
    daily_spend_limit: Option<i64>,
    sandbox: bool,
) -> Result<IssuedKey> {
    let key_id = random_token("kk_", 12);
    let secret = random_token("sk_", 24);
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::key_id.eq(&key_id),
            api_keys::owner_kind.eq(kind.as_str()),
            api_keys::owner_id.eq(owner_id),
            api_keys::name.eq(name),
            api_keys::secret_enc.eq(vault.encrypt_str(&secret)),
            api_keys::scopes.eq(Scope::join(scopes)),
            api_keys::daily_spend_limit.eq(daily_spend_limit),
            api_keys::created_at.eq(crate::time::now_ms()),
            api_keys::sandbox.eq(sandbox),
        ))
        .execute(conn)?;
    Ok(IssuedKey { key_id, secret })
}

/// Revokes a key; returns the owner so callers can check who may do this.
pub fn revoke(conn: &mut DbConn, key_id: &str, owner: Option<(OwnerKind, &str)>) -> Result<()> {
    let row: Option<(String, String, Option<i64>)> = api_keys::table
        .find(key_id)
        .select((
            api_keys::owner_kind,
            api_keys::owner_id,
            api_keys::revoked_at,
        ))
        .first(conn)
        .optional()?;
    let Some((kind, id, revoked)) = row else {
        return Err(Error::NotFound("key"));
    };
    if let Some((k, o)) = owner {
        if kind != k.as_str() || id != o {
            return Err(Error::NotFound("key"));
        }
    }
    if revoked.is_none() {
        diesel::update(api_keys::table.find(key_id))
            .set(api_keys::revoked_at.eq(crate::time::now_ms()))
            .execute(conn)?;
    }
    Ok(())
}

pub fn list(conn: &mut DbConn, kind: OwnerKind, owner_id: &str) -> Result<Vec<KeyInfo>> {
    Ok(api_keys::table
        .filter(api_keys::owner_kind.eq(kind.as_str()))
        .filter(api_keys::owner_id.eq(owner_id))
        .order(api_keys::created_at.asc())
        .select(KeyInfo::as_select())
        .load(conn)?)
}

/// Loads an unrevoked key with its decrypted secret and its owner's status.
pub fn load_active(db: &Db, vault: &Vault, key_id: &str) -> Result<LoadedKey> {
    let unknown = || Error::Unauthorized("unknown or revoked key".into());
    db.read(|conn| {
        let row: Option<(String, String, String, String, Option<i64>, bool)> = api_keys::table
            .find(key_id)
            .filter(api_keys::revoked_at.is_null())
            .select((
                api_keys::owner_kind,
                api_keys::owner_id,
                api_keys::secret_enc,
                api_keys::scopes,
                api_keys::daily_spend_limit,
                api_keys::sandbox,
            ))
            .first(conn)
            .optional()?;
        let Some((kind, owner_id, secret_enc, scopes, limit, sandbox)) = row else {
            return Err(unknown());
        };
        let (kind, status) = match kind.as_str() {
            "reseller" => (
                OwnerKind::Reseller,
                resellers::table
                    .find(&owner_id)
                    .select(resellers::status)
                    .first::<String>(conn)
                    .optional()?,
            ),
            "supplier" => (
                OwnerKind::Supplier,
                suppliers::table
                    .find(&owner_id)
                    .select(suppliers::status)
                    .first::<String>(conn)
                    .optional()?,
            ),
            _ => return Err(unknown()),
        };
        let Some(status) = status else {
            return Err(unknown());
        };
        Ok(LoadedKey {
            secret: vault.decrypt(&secret_enc)?,
            caller: Caller {
                key_id: key_id.to_string(),
                kind,
                owner_id,
                scopes: Scope::split(&scopes),
                daily_spend_limit: limit,
                suspended: status != "active",
                sandbox,
            },
        })
    })
}
