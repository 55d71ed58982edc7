use actix_web::{get, post, web, HttpResponse};
use serde_json::json;

use crate::api::page::{page_query, Page, Paged};
use crate::api::query::{status_filter, Query};
use crate::auth::AdminSession;
use crate::domain::money::chain::record_admin;
use crate::error::{Problem, Result};
use crate::events::deliveries::{self, EventDetail, EventInfo, STATUSES};
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
    let status = status_filter(q.status.clone(), STATUSES)?;
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    let rows = state
        .db
        .read_async(move |c| {
            deliveries::list(c, None, status.as_deref(), before.as_deref(), limit + 1)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |e| e.id.clone())))
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
    let detail = state
        .db
        .read_async(move |c| deliveries::get(c, None, &id))
        .await?;
    Ok(HttpResponse::Ok().json(detail))
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
            let ev = deliveries::redeliver(c, None, &id, crate::time::now_ms())?;
            record_admin(c, &admin.actor(), "webhook.redeliver", &id, json!({}))?;
            Ok(ev)
        })
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(ev))
}
