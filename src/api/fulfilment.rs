//! Supplier endpoints for just-in-time (declared-stock) products: register, read and remove a
//! card product's fulfilment endpoint (`domain::trade::fulfilment`).

use actix_web::{delete, get, put, web, HttpResponse};

use crate::auth::Signed;
use crate::domain::trade::fulfilment::{self, Fulfilment, FulfilmentSettings};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Register or replace a card product's fulfilment endpoint (declared stock).
///
/// When an order finds fewer pushed codes than it needs, kameng POSTs a signed
/// `fulfilment.request` (`{"request_id","order_id","product_id","sku","quantity"}`) to `url`
/// and expects `200 {"cards":[{"code","secret"?,"expires_at"?}]}` with exactly `quantity`
/// cards within `timeout_ms`; a repeated `request_id` must get the same cards. Declaring again
/// starts a new count of units sold against `declared_stock`.
#[utoipa::path(tag = "supplier", operation_id = "putFulfilment", params(("id" = String, Path)),
    request_body = FulfilmentSettings,
    responses(
        (status = 200, body = Fulfilment, example = json!({"product_id": "prd_01", "url": "https://supplier.example/kameng/fulfil", "declared_stock": 5000, "remaining": 5000, "timeout_ms": 3000, "paused_until": null})),
        (status = 404, description = "not_found (not this supplier's product)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request (url, declared_stock, timeout_ms; or a direct top-up product)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[put("/v1/supplier/products/{id}/fulfilment")]
pub async fn put_fulfilment(
    state: web::Data<AppState>,
    signed: Signed<FulfilmentSettings>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let body = signed.body()?;
    let id = id.into_inner();
    let now = crate::time::now_ms();
    let out = state
        .db
        .write_async(move |c| fulfilment::set(c, &caller.owner_id, &id, &body, now))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// A product's fulfilment endpoint, its declared stock left and its circuit breaker state.
#[utoipa::path(tag = "supplier", operation_id = "getFulfilment", params(("id" = String, Path)),
    responses(
        (status = 200, body = Fulfilment),
        (status = 404, description = "not_found (not this supplier's product, or no endpoint)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[get("/v1/supplier/products/{id}/fulfilment")]
pub async fn get_fulfilment(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let id = id.into_inner();
    let out = state
        .db
        .read_async(move |c| fulfilment::get(c, &caller.owner_id, &id))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Turn just-in-time fulfilment off for a product: it sells pushed codes only.
#[utoipa::path(tag = "supplier", operation_id = "deleteFulfilment", params(("id" = String, Path)),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "not_found (not this supplier's product, or no endpoint)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[delete("/v1/supplier/products/{id}/fulfilment")]
pub async fn delete_fulfilment(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let id = id.into_inner();
    state
        .db
        .write_async(move |c| fulfilment::clear(c, &caller.owner_id, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
