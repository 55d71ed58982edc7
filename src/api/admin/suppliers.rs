//! Admin: suppliers (the shared work is in `accounts.rs`).

use actix_web::{get, patch, post, web, HttpResponse};

use super::accounts;
use crate::api::json_body::JsonBody;
use crate::api::query::Query;
use crate::api::{Page, PageQuery};
use crate::auth::AdminSession;
use crate::domain::accounts::keys::IssuedKey;
use crate::domain::accounts::{NewSupplier, Supplier, SupplierCreated, SupplierPatch};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Onboard a supplier; its first API key and webhook secret are shown only here.
#[utoipa::path(operation_id = "createAdminSupplier", tag = "admin", request_body = NewSupplier,
    responses((status = 201, body = SupplierCreated)), security(("admin" = [])))]
#[post("/v1/admin/suppliers")]
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminSession,
    body: JsonBody<NewSupplier>,
) -> Result<HttpResponse> {
    accounts::create::<Supplier>(state, admin, body.into_inner()).await
}

/// List suppliers.
#[utoipa::path(operation_id = "listAdminSuppliers", tag = "admin", params(PageQuery),
    responses((status = 200, body = Page<Supplier>)), security(("admin" = [])))]
#[get("/v1/admin/suppliers")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: Query<PageQuery>,
) -> Result<HttpResponse> {
    accounts::list::<Supplier>(state, q.into_inner()).await
}

/// One supplier.
#[utoipa::path(operation_id = "getAdminSupplier", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Supplier), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[get("/v1/admin/suppliers/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    accounts::get::<Supplier>(state, id.into_inner()).await
}

/// Update a supplier (name, webhook URL, `status: suspended|active`).
#[utoipa::path(operation_id = "updateAdminSupplier", tag = "admin", params(("id" = String, Path)), request_body = SupplierPatch,
    responses((status = 200, body = Supplier), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[patch("/v1/admin/suppliers/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<SupplierPatch>,
) -> Result<HttpResponse> {
    accounts::update::<Supplier>(state, admin, id.into_inner(), body.into_inner()).await
}

/// Issue an additional key for a supplier (rotate: issue, deploy, then revoke the old one).
#[utoipa::path(operation_id = "issueAdminSupplierKey", tag = "admin", params(("id" = String, Path)),
    responses((status = 201, body = IssuedKey), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[post("/v1/admin/suppliers/{id}/keys")]
pub async fn issue_key(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    accounts::issue_key::<Supplier>(state, admin, id.into_inner(), false).await
}
