//! Admin: resellers (the shared work is in `accounts.rs`), their balance and their prices.

use actix_web::{get, patch, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts;
use crate::api::json_body::JsonBody;
use crate::api::query::Query;
use crate::api::{Page, PageQuery};
use crate::auth::AdminSession;
use crate::domain::accounts::keys::IssuedKey;
use crate::domain::accounts::{NewReseller, Reseller, ResellerCreated, ResellerPatch};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Onboard a reseller; its first API key and webhook secret are shown only here.
#[utoipa::path(operation_id = "createAdminReseller", tag = "admin", request_body = NewReseller,
    responses((status = 201, body = ResellerCreated)), security(("admin" = [])))]
#[post("/v1/admin/resellers")]
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminSession,
    body: JsonBody<NewReseller>,
) -> Result<HttpResponse> {
    accounts::create::<Reseller>(state, admin, body.into_inner()).await
}

/// List resellers.
#[utoipa::path(operation_id = "listAdminResellers", tag = "admin", params(PageQuery),
    responses((status = 200, body = Page<Reseller>)), security(("admin" = [])))]
#[get("/v1/admin/resellers")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: Query<PageQuery>,
) -> Result<HttpResponse> {
    accounts::list::<Reseller>(state, q.into_inner()).await
}

/// One reseller.
#[utoipa::path(operation_id = "getAdminReseller", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Reseller), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[get("/v1/admin/resellers/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    accounts::get::<Reseller>(state, id.into_inner()).await
}

/// Update a reseller (name, level, notify URL, `status: suspended|active`, `parent_id` to
/// re-parent or detach a sub-reseller).
#[utoipa::path(operation_id = "updateAdminReseller", tag = "admin", params(("id" = String, Path)), request_body = ResellerPatch,
    responses((status = 200, body = Reseller), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[patch("/v1/admin/resellers/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<ResellerPatch>,
) -> Result<HttpResponse> {
    accounts::update::<Reseller>(state, admin, id.into_inner(), body.into_inner()).await
}

/// `?sandbox=true`: issue a sandbox key instead.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IssueKeyQuery {
    /// Issue a sandbox key (its requests see the sandbox world only). Default false.
    pub sandbox: Option<bool>,
}

/// Issue an additional key for a reseller (all scopes); `?sandbox=true` for a sandbox key.
#[utoipa::path(operation_id = "issueAdminResellerKey", tag = "admin", params(("id" = String, Path), IssueKeyQuery),
    responses((status = 201, body = IssuedKey), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[post("/v1/admin/resellers/{id}/keys")]
pub async fn issue_key(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    query: Query<IssueKeyQuery>,
) -> Result<HttpResponse> {
    let sandbox = query.into_inner().sandbox.unwrap_or(false);
    accounts::issue_key::<Reseller>(state, admin, id.into_inner(), sandbox).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditRequest {
    /// Minor units; negative for a correction (never below zero).
    pub amount: i64,
    pub memo: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceResponse {
    pub balance: i64,
}

/// Credit a reseller's prepaid balance (or correct it with a negative amount).
#[utoipa::path(operation_id = "creditAdminReseller", tag = "admin", params(("id" = String, Path)), request_body = CreditRequest,
    responses((status = 200, body = BalanceResponse), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[post("/v1/admin/resellers/{id}/credit")]
pub async fn credit(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<CreditRequest>,
) -> Result<HttpResponse> {
    let balance = state
        .db
        .write_async(move |c| {
            crate::domain::accounts::credit(
                c,
                &admin.actor(),
                &id,
                body.amount,
                body.memo.as_deref(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(BalanceResponse { balance }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceRequest {
    /// Unit price in minor units for this reseller.
    pub price: i64,
}

/// Set a per-reseller price for one product (overrides the level discount).
#[utoipa::path(operation_id = "setAdminResellerPrice", tag = "admin",
    params(("id" = String, Path), ("product_id" = String, Path)), request_body = PriceRequest,
    responses((status = 200, body = PriceRequest), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[put("/v1/admin/resellers/{id}/prices/{product_id}")]
pub async fn put_price(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<(String, String)>,
    body: JsonBody<PriceRequest>,
) -> Result<HttpResponse> {
    let (id, product_id) = path.into_inner();
    let price = body.price;
    state
        .db
        .write_async(move |c| {
            crate::domain::trade::pricing::book::put_reseller_price(
                c,
                &admin.actor(),
                &id,
                &product_id,
                price,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(PriceRequest { price }))
}
