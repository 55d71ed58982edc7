use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::api::page::{page_query, Page, Paged};
use crate::api::query::Query;
use crate::auth::AdminSession;
use crate::domain::money::chain::record_admin;
use crate::error::{Error, Problem, Result};
use crate::events::outbox::{self, AttemptInfo, EventInfo};
use crate::state::AppState;

page_query! {
    pub struct WebhookQuery {
        /// `pending`, `delivered`, `failed` or `skipped`.
        pub status: Option<String>,
    }
}

/// Outbound events and their delivery state, newest first.
#[utoipa::path(operation_id = "listAdminWebhookDeliveries", tag = "admin", params(WebhookQuery),
    responses((status = 200, body = Page<EventInfo>)), security(("admin" = [])))]
#[get("/v1/admin/webhooks")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: Query<WebhookQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    if let Some(s) = &q.status {
        if !matches!(s.as_str(), "pending" | "delivered" | "failed" | "skipped") {
            return Err(Error::invalid(
                "status",
                "must be pending, delivered, failed or skipped",
            ));
        }
    }
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    let rows = state
        .db
        .read_async(move |c| outbox::list(c, q.status.as_deref(), before.as_deref(), limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |e| e.id.clone())))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: EventInfo,
    pub attempt_log: Vec<AttemptInfo>,
}

/// One event with every delivery attempt (status code, latency, error).
#[utoipa::path(operation_id = "getAdminWebhookDelivery", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = EventDetail), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[get("/v1/admin/webhooks/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (event, attempt_log) = state.db.read_async(move |c| outbox::get(c, &id)).await?;
    Ok(HttpResponse::Ok().json(EventDetail { event, attempt_log }))
}

/// Queue an event for a fresh round of delivery attempts.
#[utoipa::path(operation_id = "redeliverAdminWebhook", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = EventInfo), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (the event has no endpoint to deliver to)", body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[post("/v1/admin/webhooks/{id}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let ev = state
        .db
        .write_async(move |c| {
            let ev = outbox::redeliver(c, &id, crate::time::now_ms())?;
            record_admin(c, &admin.actor(), "webhook.redeliver", &id, json!({}))?;
            Ok(ev)
        })
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(ev))
}
