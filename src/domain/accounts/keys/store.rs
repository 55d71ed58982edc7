//! API keys: issue, revoke, and load for verification. The secret is stored encrypted (the
//! server needs it to recompute the HMAC) and is shown to its owner once, at creation.

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::scopes::Scope;
use crate::crypto::{random_token, Vault};
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use std::collections::HashMap;

use crate::db::schema::api_keys;
use crate::db::stmt::{rows_sql, stmt, Arg};
use crate::db::{Backend, Db, DbConn, LazyGatherer};
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

/// A key as [`KeyReads`] reads it: key id, owner kind, owner id, sealed secret, scopes, daily
/// limit, sandbox, owner status.
type Found = (
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    bool,
    Option<String>,
);

/// Reads keys for verification, the read every signed request makes first. On PostgreSQL the
/// reads of concurrent requests go as one statement (a `db::LazyGatherer`): one
/// round trip for a dozen requests instead of one each, and every read still sees the key as
/// it is now (no cache: a revoked key stops at once on every instance).
pub struct KeyReads {
    gathered: LazyGatherer<String, Option<Found>>,
}

impl Default for KeyReads {
    fn default() -> Self {
        KeyReads {
            gathered: LazyGatherer::new("kameng-key-reads", "", MAX_GATHERED, read_keys),
        }
    }
}

/// Most keys one statement reads.
const MAX_GATHERED: usize = 32;

impl KeyReads {
    /// Loads an unrevoked key with its decrypted secret and its owner's status.
    pub fn load_active(&self, db: &Db, vault: &Vault, key_id: &str) -> Result<LoadedKey> {
        let row = if db.backend() == Backend::Postgres {
            self.gathered.ask(db, key_id.to_string())?
        } else {
            db.read(|conn| read_one(conn, key_id))?
        };
        loaded(vault, key_id, row)
    }

    /// [`KeyReads::load_active`] where it is a point read that need not wait (SQLite, a pooled
    /// connection free): `None` when the read belongs on a blocking thread.
    pub fn load_in_place(&self, db: &Db, vault: &Vault, key_id: &str) -> Option<Result<LoadedKey>> {
        let row = db.read_in_place(|conn| read_one(conn, key_id))?;
        Some(row.and_then(|row| loaded(vault, key_id, row)))
    }
}

/// Reads one key, as [`read_keys`] does a set of them.
fn read_one(conn: &mut DbConn, key_id: &str) -> Result<Option<Found>> {
    Ok(read_keys(conn, &[key_id.to_string()])?.pop().flatten())
}

/// Reads `key_ids` (unrevoked, with their owner's status) in one statement, one answer each.
fn read_keys(conn: &mut DbConn, key_ids: &[String]) -> Result<Vec<Option<Found>>> {
    type Row = (
        Text,
        Text,
        Text,
        Text,
        Text,
        Nullable<BigInt>,
        Bool,
        Nullable<Text>,
    );
    let mut unique: Vec<&str> = key_ids.iter().map(String::as_str).collect();
    unique.sort_unstable();
    unique.dedup();
    let sql = rows_sql(
        "SELECT k.key_id, k.owner_kind, k.owner_id, k.secret_enc, k.scopes, \
         k.daily_spend_limit, k.sandbox, COALESCE(r.status, s.status) FROM api_keys k \
         LEFT JOIN resellers r ON k.owner_kind = 'reseller' AND r.id = k.owner_id \
         LEFT JOIN suppliers s ON k.owner_kind = 'supplier' AND s.id = k.owner_id \
         WHERE k.revoked_at IS NULL AND k.key_id IN (",
        "?",
        unique.len(),
        ")",
    );
    let rows: Vec<Found> = stmt(sql, unique.iter().map(|k| Arg::from(*k)))
        .returning::<Row>()
        .rows(conn)?;
    let by_id: HashMap<String, Found> = rows.into_iter().map(|r| (r.0.clone(), r)).collect();
    Ok(key_ids.iter().map(|k| by_id.get(k).cloned()).collect())
}

/// The key a read found, checked and opened (its secret decrypted).
fn loaded(vault: &Vault, key_id: &str, row: Option<Found>) -> Result<LoadedKey> {
    let unknown = || Error::Unauthorized("unknown or revoked key".into());
    let Some((_, kind, owner_id, secret_enc, scopes, limit, sandbox, status)) = row else {
        return Err(unknown());
    };
    let kind = match kind.as_str() {
        "reseller" => OwnerKind::Reseller,
        "supplier" => OwnerKind::Supplier,
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
}
