//! A reseller's own webhooks: reads need `account:read`; changing the URL or event types and
//! rotating the secret need a key holding every scope (as creating keys does), since they
//! redirect callbacks or hand out the secret that vouches for them.

use actix_web::{delete, get, post, put, web, HttpResponse};

use super::own::{self, DeliveryQuery};
use crate::api::page::Page;
use crate::api::query::Query;
use crate::auth::{Scope, Signed};
use crate::domain::accounts::keys::require_full_access;
use crate::domain::accounts::webhooks::{
    EndpointUpdate, Owner, RotatedSecret, SecretRotation, WebhookEndpoint,
};
use crate::error::{Problem, Result};
use crate::events::deliveries::{EventDetail, EventInfo};
use crate::state::AppState;

fn reader<T>(signed: &Signed<T>) -> Result<Owner> {
    Ok(Owner::from(signed.reseller(Scope::AccountRead)?))
}

fn writer<T>(signed: &Signed<T>) -> Result<Owner> {
    let caller = signed.reseller(Scope::AccountRead)?;
    require_full_access(caller)?;
    Ok(Owner::from(caller))
}

/// Read this reseller's webhook endpoint: URL (its `notify_url`), chosen event types, and when a
/// rotated-away secret stops signing.
#[utoipa::path(tag = "webhooks", operation_id = "getWebhookEndpoint",
    responses((status = 200, body = WebhookEndpoint)),
    security(("signed" = ["account:read"])))]
#[get("/v1/webhooks/endpoint")]
pub async fn get_endpoint(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    own::show_endpoint(&state, reader(&signed)?).await
}

/// Change this reseller's webhook URL and the event types it receives (absent fields stay). A URL must
/// resolve to public addresses only; events of types not chosen are recorded `skipped`.
#[utoipa::path(tag = "webhooks", operation_id = "updateWebhookEndpoint", request_body = EndpointUpdate,
    responses((status = 200, body = WebhookEndpoint),
        (status = 403, description = "insufficient_scope (needs a key holding every scope)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request (a malformed or non-public URL, an unknown event type)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["catalog:read", "orders:read", "orders:write", "account:read", "tickets:write", "sub_resellers:write"])))]
#[put("/v1/webhooks/endpoint")]
pub async fn put_endpoint(
    state: web::Data<AppState>,
    signed: Signed<EndpointUpdate>,
) -> Result<HttpResponse> {
    let owner = writer(&signed)?;
    own::change_endpoint(&state, owner, signed.body()?).await
}

/// This reseller's events, newest first, each with its attempt log (time, HTTP status,
/// error, duration).
#[utoipa::path(tag = "webhooks", operation_id = "listWebhookDeliveries", params(DeliveryQuery),
    responses((status = 200, body = Page<EventDetail>)),
    security(("signed" = ["account:read"])))]
#[get("/v1/webhooks/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    signed: Signed,
    q: Query<DeliveryQuery>,
) -> Result<HttpResponse> {
    own::list_deliveries(&state, reader(&signed)?, q.into_inner()).await
}

/// One of this reseller's events with every attempt (another account's is 404).
#[utoipa::path(tag = "webhooks", operation_id = "getWebhookDelivery", params(("id" = String, Path)),
    responses((status = 200, body = EventDetail),
        (status = 404, description = "not_found (no such event of this account)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["account:read"])))]
#[get("/v1/webhooks/deliveries/{id}")]
pub async fn get_delivery(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    own::show_delivery(&state, reader(&signed)?, id.into_inner()).await
}

/// Send one of this reseller's events again: a fresh round of attempts with the same event id.
#[utoipa::path(tag = "webhooks", operation_id = "redeliverWebhookDelivery", params(("id" = String, Path)),
    responses((status = 200, body = EventInfo),
        (status = 404, description = "not_found (no such event of this account)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (no URL to deliver to, or the event's type is not chosen)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["account:read"])))]
#[post("/v1/webhooks/deliveries/{id}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    own::redeliver(&state, reader(&signed)?, id.into_inner()).await
}

/// Rotate this reseller's webhook secret. The new secret is in this response only; the old one keeps
/// signing beside it (`t=…,v1=<new>,v1=<old>`) for `overlap_seconds`, then stops.
#[utoipa::path(tag = "webhooks", operation_id = "rotateWebhookSecret", request_body(content = SecretRotation, description = "optional: an empty body takes the defaults"),
    responses((status = 200, body = RotatedSecret),
        (status = 403, description = "insufficient_scope (needs a key holding every scope)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request (overlap_seconds outside 0..604800)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["catalog:read", "orders:read", "orders:write", "account:read", "tickets:write", "sub_resellers:write"])))]
#[post("/v1/webhooks/secret/rotate")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    signed: Signed<SecretRotation>,
) -> Result<HttpResponse> {
    let owner = writer(&signed)?;
    own::rotate_secret(&state, owner, signed.body_or_default()?).await
}

/// Stop the rotated-away secret signing now, before its overlap ends (idempotent).
#[utoipa::path(tag = "webhooks", operation_id = "retirePreviousWebhookSecret",
    responses((status = 200, body = WebhookEndpoint),
        (status = 403, description = "insufficient_scope (needs a key holding every scope)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["catalog:read", "orders:read", "orders:write", "account:read", "tickets:write", "sub_resellers:write"])))]
#[delete("/v1/webhooks/secret/previous")]
pub async fn retire_previous_secret(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse> {
    own::retire_previous_secret(&state, writer(&signed)?).await
}
