//! A supplier's own webhooks, under `/v1/supplier/` like every supplier operation (supplier
//! keys carry no scopes).

use actix_web::{delete, get, post, put, web, HttpResponse};

use super::own::{self, DeliveryQuery};
use crate::api::page::Page;
use crate::api::query::Query;
use crate::auth::Signed;
use crate::domain::accounts::webhooks::{
    EndpointUpdate, Owner, RotatedSecret, SecretRotation, WebhookEndpoint,
};
use crate::error::{Problem, Result};
use crate::events::deliveries::{EventDetail, EventInfo};
use crate::state::AppState;

fn supplier<T>(signed: &Signed<T>) -> Result<Owner> {
    Ok(Owner::from(signed.supplier()?))
}

/// Read this supplier's webhook endpoint: URL (its `webhook_url`), chosen event types, and when a
/// rotated-away secret stops signing.
#[utoipa::path(tag = "webhooks", operation_id = "getSupplierWebhookEndpoint",
    responses((status = 200, body = WebhookEndpoint)),
    security(("signed" = [])))]
#[get("/v1/supplier/webhooks/endpoint")]
pub async fn supplier_get_endpoint(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse> {
    own::show_endpoint(&state, supplier(&signed)?).await
}

/// Change this supplier's webhook URL and the event types it receives (absent fields stay). A URL must
/// resolve to public addresses only; events of types not chosen are recorded `skipped`.
#[utoipa::path(tag = "webhooks", operation_id = "updateSupplierWebhookEndpoint", request_body = EndpointUpdate,
    responses((status = 200, body = WebhookEndpoint),
        (status = 422, description = "invalid_request (a malformed or non-public URL, an unknown event type)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[put("/v1/supplier/webhooks/endpoint")]
pub async fn supplier_put_endpoint(
    state: web::Data<AppState>,
    signed: Signed<EndpointUpdate>,
) -> Result<HttpResponse> {
    let owner = supplier(&signed)?;
    own::change_endpoint(&state, owner, signed.body()?).await
}

/// This supplier's events, newest first, each with its attempt log (time, HTTP status,
/// error, duration).
#[utoipa::path(tag = "webhooks", operation_id = "listSupplierWebhookDeliveries", params(DeliveryQuery),
    responses((status = 200, body = Page<EventDetail>)),
    security(("signed" = [])))]
#[get("/v1/supplier/webhooks/deliveries")]
pub async fn supplier_list_deliveries(
    state: web::Data<AppState>,
    signed: Signed,
    q: Query<DeliveryQuery>,
) -> Result<HttpResponse> {
    own::list_deliveries(&state, supplier(&signed)?, q.into_inner()).await
}

/// One of this supplier's events with every attempt (another account's is 404).
#[utoipa::path(tag = "webhooks", operation_id = "getSupplierWebhookDelivery", params(("id" = String, Path)),
    responses((status = 200, body = EventDetail),
        (status = 404, description = "not_found (no such event of this account)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[get("/v1/supplier/webhooks/deliveries/{id}")]
pub async fn supplier_get_delivery(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    own::show_delivery(&state, supplier(&signed)?, id.into_inner()).await
}

/// Send one of this supplier's events again: a fresh round of attempts with the same event id.
#[utoipa::path(tag = "webhooks", operation_id = "redeliverSupplierWebhookDelivery", params(("id" = String, Path)),
    responses((status = 200, body = EventInfo),
        (status = 404, description = "not_found (no such event of this account)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (no URL to deliver to, or the event's type is not chosen)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[post("/v1/supplier/webhooks/deliveries/{id}/redeliver")]
pub async fn supplier_redeliver(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    own::redeliver(&state, supplier(&signed)?, id.into_inner()).await
}

/// Rotate this supplier's webhook secret. The new secret is in this response only; the old one keeps
/// signing beside it (`t=…,v1=<new>,v1=<old>`) for `overlap_seconds`, then stops.
#[utoipa::path(tag = "webhooks", operation_id = "rotateSupplierWebhookSecret", request_body(content = SecretRotation, description = "optional: an empty body takes the defaults"),
    responses((status = 200, body = RotatedSecret),
        (status = 422, description = "invalid_request (overlap_seconds outside 0..604800)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[post("/v1/supplier/webhooks/secret/rotate")]
pub async fn supplier_rotate_secret(
    state: web::Data<AppState>,
    signed: Signed<SecretRotation>,
) -> Result<HttpResponse> {
    let owner = supplier(&signed)?;
    own::rotate_secret(&state, owner, signed.body_or_default()?).await
}

/// Stop the rotated-away secret signing now, before its overlap ends (idempotent).
#[utoipa::path(tag = "webhooks", operation_id = "retireSupplierPreviousWebhookSecret",
    responses((status = 200, body = WebhookEndpoint)),
    security(("signed" = [])))]
#[delete("/v1/supplier/webhooks/secret/previous")]
pub async fn supplier_retire_previous_secret(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse> {
    own::retire_previous_secret(&state, supplier(&signed)?).await
}
