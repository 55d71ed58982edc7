//! A reseller's own API keys: extra keys with fewer scopes and a daily spend cap, for a bot or a
//! shop front. Who may do what is decided in `domain::accounts::keys` (creating and revoking need a
//! full-access key and touch only keys no more powerful than the caller; listing needs
//! `account:read`).

use actix_web::{delete, get, post, web, HttpResponse};

use super::page::{Page, PageQuery, Paged};
use crate::api::query::Query;
use crate::auth::{Scope, Signed};
use crate::domain::accounts::keys::{self, ApiKey, NewKey};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Create a key. The `secret` is in this response only. Needs a key holding every scope; the
/// new key's scopes must be a subset of the caller's, and its `daily_spend_limit` no higher
/// than the caller's own (if the caller is capped).
#[utoipa::path(operation_id = "createKey", tag = "account", request_body = NewKey,
    responses(
        (status = 201, body = ApiKey),
        (status = 403, description = "insufficient_scope (the calling key lacks a scope), or forbidden (the new key would be more powerful than the caller)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = ["catalog:read", "orders:read", "orders:write", "account:read", "tickets:write", "sub_resellers:write"])))]
#[post("/v1/keys")]
pub async fn create(state: web::Data<AppState>, signed: Signed<NewKey>) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    keys::require_full_access(&caller)?;
    let req = signed.body()?;
    let st = state.clone();
    let key = state
        .db
        .write_async(move |c| keys::create(c, &st.vault, &caller, &req))
        .await?;
    Ok(HttpResponse::Created().json(key))
}

/// This reseller's active keys (never their secrets).
#[utoipa::path(operation_id = "listKeys", tag = "account", params(PageQuery),
    responses((status = 200, body = Page<ApiKey>)), security(("signed" = ["account:read"])))]
#[get("/v1/keys")]
pub async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    q: Query<PageQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let limit = q.page_size()?;
    let after = q.cursor_key()?;
    let rows = state
        .db
        .read_async(move |c| keys::list(c, &caller.owner_id, after.as_deref(), limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |k| k.key_id.clone())))
}

/// Revoke one of this reseller's keys at once (another account's key is 404). Needs a key
/// holding every scope, and only revokes keys no more powerful than the caller.
#[utoipa::path(operation_id = "revokeKey", tag = "account", params(("key_id" = String, Path)),
    responses(
        (status = 204, description = "revoked"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = ["catalog:read", "orders:read", "orders:write", "account:read", "tickets:write", "sub_resellers:write"])))]
#[delete("/v1/keys/{key_id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    signed: Signed,
    key_id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    keys::require_full_access(&caller)?;
    let key_id = key_id.into_inner();
    state
        .db
        .write_async(move |c| keys::revoke(c, &caller, &key_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
