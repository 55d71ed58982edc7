use actix_web::{get, patch, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::PageQuery;
use crate::api::json_body::JsonBody;
use crate::api::Page;
use crate::auth::keys::{IssuedKey, OwnerKind};
use crate::auth::AdminSession;
use crate::domain::accounts::{self, Supplier, SupplierCreated, SupplierPatch};
use crate::domain::validate;
use crate::error::{Problem, Result};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSupplier {
    pub name: String,
    pub webhook_url: Option<String>,
}

/// Onboard a supplier; its first API key and webhook secret are shown only here.
#[utoipa::path(post, path = "/v1/admin/suppliers", tag = "admin", request_body = NewSupplier,
    responses((status = 201, body = SupplierCreated)), security(("admin" = [])))]
#[post("/v1/admin/suppliers")]
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminSession,
    body: JsonBody<NewSupplier>,
) -> Result<HttpResponse> {
    let st = state.clone();
    let created = state
        .db
        .write_async(move |c| {
            accounts::create_supplier(
                c,
                &st.vault,
                &admin.actor(),
                &body.name,
                body.webhook_url.as_deref(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// List suppliers.
#[utoipa::path(get, path = "/v1/admin/suppliers", tag = "admin", params(PageQuery),
    responses((status = 200, body = Page<Supplier>)), security(("admin" = [])))]
#[get("/v1/admin/suppliers")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let limit = validate::limit(q.limit)?;
    let after = validate::decode_cursor(q.cursor.as_deref())?;
    let rows = state
        .db
        .read_async(move |c| accounts::list_suppliers(c, after.as_deref(), limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(Page::new(validate::page(rows, limit, |s| s.id.clone()))))
}

/// One supplier.
#[utoipa::path(get, path = "/v1/admin/suppliers/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Supplier), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[get("/v1/admin/suppliers/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let s = state
        .db
        .read_async(move |c| accounts::get_supplier(c, &id))
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Update a supplier (name, webhook URL, `status: suspended|active`).
#[utoipa::path(patch, path = "/v1/admin/suppliers/{id}", tag = "admin", params(("id" = String, Path)), request_body = SupplierPatch,
    responses((status = 200, body = Supplier), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[patch("/v1/admin/suppliers/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<SupplierPatch>,
) -> Result<HttpResponse> {
    let s = state
        .db
        .write_async(move |c| accounts::update_supplier(c, &admin.actor(), &id, &body))
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Issue an additional key for a supplier (rotate: issue, deploy, then revoke the old one).
#[utoipa::path(post, path = "/v1/admin/suppliers/{id}/keys", tag = "admin", params(("id" = String, Path)),
    responses((status = 201, body = IssuedKey), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[post("/v1/admin/suppliers/{id}/keys")]
pub async fn issue_key(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let st = state.clone();
    let key = state
        .db
        .write_async(move |c| {
            accounts::issue_key(c, &st.vault, &admin.actor(), OwnerKind::Supplier, &id)
        })
        .await?;
    Ok(HttpResponse::Created().json(key))
}
