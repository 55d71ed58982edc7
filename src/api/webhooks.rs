//! Test events: an account sends itself a signed `webhook.test` to check its endpoint.

use actix_web::{post, web, HttpResponse};

use crate::auth::{OwnerKind, Scope, Signed};
use crate::error::{Problem, Result};
use crate::events::test_event::{send_test, TestDelivery};
use crate::state::AppState;

/// Send a signed `webhook.test` event to this reseller's `notify_url` and report the attempt.
#[utoipa::path(operation_id = "sendTestWebhook", tag = "account",
    responses((status = 200, body = TestDelivery),
        (status = 409, description = "conflict (no callback URL is registered)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["account:read"])))]
#[post("/v1/webhooks/test")]
pub async fn reseller_test(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let delivery = send_test(&state, OwnerKind::Reseller, caller.owner_id).await?;
    Ok(HttpResponse::Ok().json(delivery))
}

/// Send a signed `webhook.test` event to this supplier's `webhook_url` and report the attempt.
#[utoipa::path(operation_id = "sendSupplierTestWebhook", tag = "supplier",
    responses((status = 200, body = TestDelivery),
        (status = 409, description = "conflict (no callback URL is registered)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[post("/v1/supplier/webhooks/test")]
pub async fn supplier_test(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let delivery = send_test(&state, OwnerKind::Supplier, caller.owner_id).await?;
    Ok(HttpResponse::Ok().json(delivery))
}

// Self-service: the endpoint, the delivery log and the secret of the calling account. The
// supplier's live under `/v1/supplier/webhooks/` like its test event and every supplier
// operation, so a path says whose key it takes.
mod own;
pub mod reseller;
pub mod supplier;
