//! Suppliers and resellers: onboarding (with a first API key and a webhook secret shown once),
//! reads, updates, suspension and prepaid-balance credits.
//!
//! Both kinds of account are a row with a name, a callback URL, a status, a webhook secret and
//! API keys; [`Account`] states what differs (table, extra fields, key scopes) and the
//! functions here ([`create`], [`get`], [`list`], [`update`], [`issue_key`]) serve both.
//! `kinds.rs` holds the two implementations, `credit.rs` the reseller balance.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::kinds;
use crate::crypto::{random_token, Vault};
use crate::db::schema::{resellers, suppliers};
use crate::db::DbConn;
use crate::domain::accounts::keys::Scope;
use crate::domain::accounts::keys::{store as keys, IssuedKey, OwnerKind};
use crate::domain::money::chain::record_admin;
use crate::domain::validate;
use crate::error::{Error, Result};

pub const DEFAULT_CURRENCY: &str = "CNY";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = suppliers)]
pub struct Supplier {
    pub id: String,
    pub name: String,
    pub webhook_url: Option<String>,
    /// `active` or `suspended`.
    pub status: String,
    #[diesel(deserialize_as = kinds::Rfc3339Time)]
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = resellers)]
#[schema(example = json!({
    "id": "rsl_01a2b3c4", "name": "Example Shop", "level": "default", "balance": 95150, "currency": "CNY",
    "notify_url": "https://shop.example.com/kameng/callback", "kyc_status": "verified", "status": "active",
    "parent_id": null, "created_at": "2026-11-01T00:00:00Z"
}))]
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
    #[diesel(deserialize_as = kinds::Rfc3339Time)]
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

// `POST /v1/admin/suppliers` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSupplier {
    pub name: String,
    pub webhook_url: Option<String>,
}

// `POST /v1/admin/resellers` body.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReseller {
    pub name: String,
    /// Price level (default `default`).
    pub level: Option<String>,
    /// Default callback URL for this reseller's orders.
    pub notify_url: Option<String>,
}

/// Fields an admin may change on a supplier.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierPatch {
    pub name: Option<String>,
    /// An http(s) URL, or an empty string to remove it.
    pub webhook_url: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
}

/// Fields an admin may change on a reseller.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
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
    #[serde(
        default,
        deserialize_with = "crate::domain::accounts::network::present"
    )]
    #[schema(value_type = Option<String>, nullable)]
    pub parent_id: Option<Option<String>>,
}

/// What a new account's row shares, already checked (the name, the callback URL) or made
/// (`id`, the encrypted webhook secret).
pub struct NewRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub url: Option<&'a str>,
    pub webhook_secret_enc: &'a str,
}

/// Changes to what every account has, already checked.
#[derive(Default)]
pub struct Changes {
    pub name: Option<String>,
    /// `Some(None)` removes the URL.
    pub url: Option<Option<String>>,
    pub status: Option<&'static str>,
}

/// A kind of account: what the shared functions of this module need to know about it.
pub trait Account: Sized + Serialize + Send + 'static {
    /// The onboarding request body.
    type New: Send + 'static;
    /// The admin's update body; serialised as is into the audit record.
    type Patch: Serialize + Send + 'static;
    /// The onboarding response (the account, its first key and its webhook secret).
    type Created: Serialize + Send + 'static;
    const OWNER: OwnerKind;
    /// Prefix of new ids (`sup`, `rsl`).
    const ID_PREFIX: &'static str;
    /// The callback URL's field: `webhook_url` or `notify_url`.
    const URL_FIELD: &'static str;
    /// Scopes of the keys it is issued.
    const KEY_SCOPES: &'static [Scope];

    fn id(&self) -> &str;
    fn find(conn: &mut DbConn, id: &str) -> Result<Option<Self>>;
    /// At most `limit` accounts ordered by id, after the cursor `after`.
    fn page(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<Self>>;
    /// The name and callback URL of an onboarding request, unchecked.
    fn name_and_url(new: &Self::New) -> (&str, Option<&str>);
    /// Checks the kind's own fields of `new` and inserts the row; returns the audit detail.
    fn insert(conn: &mut DbConn, row: NewRow<'_>, new: &Self::New) -> Result<serde_json::Value>;
    fn created(account: Self, api_key: IssuedKey, webhook_secret: String) -> Self::Created;
    /// The name, callback URL and status a patch asks for, unchecked.
    fn common_changes(patch: &Self::Patch) -> [Option<&str>; 3];
    /// Applies the kind's own fields of `patch` and the checked `changes`.
    /// `max_depth`: `KAMENG_MAX_RESELLER_DEPTH`, for a reseller's `parent_id`.
    fn apply(
        conn: &mut DbConn,
        actor: &str,
        id: &str,
        patch: &Self::Patch,
        changes: Changes,
        max_depth: usize,
    ) -> Result<()>;
}

fn optional_url(field: &str, v: Option<&str>) -> Result<Option<String>> {
    v.filter(|s| !s.is_empty())
        .map(|u| validate::callback_url(field, u))
        .transpose()
}

fn account_status(s: &str) -> Result<&'static str> {
    match s {
        "active" => Ok("active"),
        "suspended" => Ok("suspended"),
        _ => Err(Error::invalid("status", "must be `active` or `suspended`")),
    }
}

/// Onboards an account with a first key (`default`) and a webhook secret.
pub fn create<A: Account>(
    conn: &mut DbConn,
    vault: &Vault,
    actor: &str,
    new: &A::New,
) -> Result<A::Created> {
    let (name, url) = A::name_and_url(new);
    let name = validate::non_empty("name", name, 200)?;
    let url = optional_url(A::URL_FIELD, url)?;
    let id = crate::ids::new_id(A::ID_PREFIX);
    let webhook_secret = random_token("whsec_", 24);
    let row = NewRow {
        id: &id,
        name: &name,
        url: url.as_deref(),
        webhook_secret_enc: &vault.encrypt_str(&webhook_secret),
    };
    let detail = A::insert(conn, row, new)?;
    let api_key = keys::issue(
        conn,
        vault,
        A::OWNER,
        &id,
        "default",
        A::KEY_SCOPES,
        None,
        false,
    )?;
    let action = format!("{}.create", A::OWNER.as_str());
    record_admin(conn, actor, &action, &id, detail)?;
    Ok(A::created(get(conn, &id)?, api_key, webhook_secret))
}

/// One account, or `not_found` naming its kind.
pub fn get<A: Account>(conn: &mut DbConn, id: &str) -> Result<A> {
    A::find(conn, id)?.ok_or(Error::NotFound(A::OWNER.as_str()))
}

/// Accounts ordered by id, at most `limit` after the cursor `after`.
pub fn list<A: Account>(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<A>> {
    A::page(conn, after, limit)
}

/// An admin's update; `max_depth` as in [`Account::apply`].
pub fn update<A: Account>(
    conn: &mut DbConn,
    actor: &str,
    id: &str,
    patch: &A::Patch,
    max_depth: usize,
) -> Result<A> {
    get::<A>(conn, id)?;
    let [name, url, status] = A::common_changes(patch);
    let changes = Changes {
        name: name
            .map(|n| validate::non_empty("name", n, 200))
            .transpose()?,
        url: url
            .map(|u| optional_url(A::URL_FIELD, Some(u)))
            .transpose()?,
        status: status.map(account_status).transpose()?,
    };
    A::apply(conn, actor, id, patch, changes, max_depth)?;
    let detail = serde_json::to_value(patch).map_err(Error::internal)?;
    let action = format!("{}.update", A::OWNER.as_str());
    record_admin(conn, actor, &action, id, detail)?;
    get(conn, id)
}

/// Issues an additional key for an account (rotation: issue new, then revoke old); `sandbox`
/// issues a reseller a sandbox key instead (see `trade::sandbox`).
pub fn issue_key<A: Account>(
    conn: &mut DbConn,
    vault: &Vault,
    actor: &str,
    owner_id: &str,
    sandbox: bool,
) -> Result<IssuedKey> {
    get::<A>(conn, owner_id)?;
    if sandbox && A::OWNER != OwnerKind::Reseller {
        return Err(Error::invalid(
            "sandbox",
            "only resellers have sandbox keys",
        ));
    }
    let key = keys::issue(
        conn,
        vault,
        A::OWNER,
        owner_id,
        if sandbox {
            "admin-issued-sandbox"
        } else {
            "admin-issued"
        },
        A::KEY_SCOPES,
        None,
        sandbox,
    )?;
    record_admin(
        conn,
        actor,
        "key.issue",
        &key.key_id,
        json!({ "owner": format!("{}:{owner_id}", A::OWNER.as_str()), "sandbox": sandbox }),
    )?;
    Ok(key)
}

pub fn revoke_key(conn: &mut DbConn, actor: &str, key_id: &str) -> Result<()> {
    keys::revoke(conn, key_id, None)?;
    record_admin(conn, actor, "key.revoke", key_id, json!({}))?;
    Ok(())
}
