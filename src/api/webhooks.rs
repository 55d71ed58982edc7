//! Test events: an account sends itself a signed `webhook.test` to check its endpoint.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{OwnerKind, Scope, Signed};
use crate::db::schema::{resellers, suppliers};
use crate::error::{Error, Problem, Result};
use crate::events::outbox::{self, NewEvent, Outcome};
use crate::events::worker;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TestDelivery {
    pub event_id: String,
    /// True when the endpoint answered 2xx.
    pub delivered: bool,
    pub attempt: Outcome,
}

async fn send_test(
    state: web::Data<AppState>,
    kind: OwnerKind,
    owner_id: String,
) -> Result<HttpResponse> {
    use diesel::prelude::*;
    let st = state.clone();
    let event = state
        .db
        .write_async(move |c| {
            let url: Option<String> = match kind {
                OwnerKind::Reseller => resellers::table
                    .find(&owner_id)
                    .select(resellers::notify_url)
                    .first(c)?,
                OwnerKind::Supplier => suppliers::table
                    .find(&owner_id)
                    .select(suppliers::webhook_url)
                    .first(c)?,
            };
            let url = url.ok_or_else(|| {
                Error::Conflict("no callback URL is registered for this account".into())
            })?;
            let id = outbox::enqueue(
                c,
                NewEvent {
                    event_type: "webhook.test",
                    owner_kind: kind.as_str(),
                    owner_id: &owner_id,
                    url: Some(&url),
                    data: json!({ "message": "test event from kameng" }),
                },
            )?;
            let now = crate::time::now_ms();
            outbox::claim_one(c, &id, now, 60_000)?
                .ok_or_else(|| Error::internal("test event vanished"))
        })
        .await?;
    let event_id = event.id.clone();
    let attempt = worker::deliver_and_record(&st, event).await;
    Ok(HttpResponse::Ok().json(TestDelivery {
        event_id,
        delivered: attempt.succeeded(),
        attempt,
    }))
}

/// Send a signed `webhook.test` event to this reseller's `notify_url` and report the attempt.
#[utoipa::path(post, path = "/v1/webhooks/test", tag = "account",
    responses((status = 200, body = TestDelivery),
        (status = 409, description = "conflict (no callback URL is registered)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["account:read"])))]
#[post("/v1/webhooks/test")]
pub async fn reseller_test(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    send_test(state, OwnerKind::Reseller, caller.owner_id).await
}

/// Send a signed `webhook.test` event to this supplier's `webhook_url` and report the attempt.
#[utoipa::path(post, path = "/v1/supplier/webhooks/test", tag = "supplier",
    responses((status = 200, body = TestDelivery),
        (status = 409, description = "conflict (no callback URL is registered)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[post("/v1/supplier/webhooks/test")]
pub async fn supplier_test(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    send_test(state, OwnerKind::Supplier, caller.owner_id).await
}
