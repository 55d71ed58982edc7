//! What the reseller and supplier webhook endpoints share: each action once, for the account
//! named by its owner (a tenant only ever reaches its own endpoint, deliveries and secret).

use actix_web::{web, HttpResponse};

use super::super::page::{page_query, Page, Paged};
use crate::api::query::status_filter;
use crate::domain::accounts::webhooks::{self, EndpointUpdate, Owner, SecretRotation};
use crate::error::Result;
use crate::events::deliveries::{self, STATUSES};
use crate::state::AppState;

page_query! {
    pub struct DeliveryQuery {
        /// `pending`, `delivered`, `failed` or `skipped`.
        pub status: Option<String>,
    }
}

/// `(owner_kind, owner_id)` of the delivery log.
fn log_owner(owner: &Owner) -> (&'static str, String) {
    (owner.kind.as_str(), owner.id.clone())
}

pub async fn show_endpoint(state: &AppState, owner: Owner) -> Result<HttpResponse> {
    let ep = state
        .db
        .read_async(move |c| webhooks::endpoint(c, &owner))
        .await?;
    Ok(HttpResponse::Ok().json(ep))
}

pub async fn change_endpoint(
    state: &AppState,
    owner: Owner,
    req: EndpointUpdate,
) -> Result<HttpResponse> {
    let allow_private = state.config.allow_private_webhooks;
    let ep = webhooks::update_endpoint(&state.db, owner, req, allow_private).await?;
    Ok(HttpResponse::Ok().json(ep))
}

pub async fn list_deliveries(
    state: &AppState,
    owner: Owner,
    q: DeliveryQuery,
) -> Result<HttpResponse> {
    let status = status_filter(q.status.clone(), STATUSES)?;
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    let (kind, id) = log_owner(&owner);
    let rows = state
        .db
        .read_async(move |c| {
            deliveries::list_with_attempts(
                c,
                Some((kind, &id)),
                status.as_deref(),
                before.as_deref(),
                limit + 1,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |e| e.event.id.clone())))
}

pub async fn show_delivery(
    state: &AppState,
    owner: Owner,
    event_id: String,
) -> Result<HttpResponse> {
    let (kind, id) = log_owner(&owner);
    let detail = state
        .db
        .read_async(move |c| deliveries::get(c, Some((kind, &id)), &event_id))
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

pub async fn redeliver(state: &AppState, owner: Owner, event_id: String) -> Result<HttpResponse> {
    let (kind, id) = log_owner(&owner);
    let ev = state
        .db
        .write_async(move |c| {
            deliveries::redeliver(c, Some((kind, &id)), &event_id, crate::time::now_ms())
        })
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(ev))
}

pub async fn rotate_secret(
    state: &web::Data<AppState>,
    owner: Owner,
    req: SecretRotation,
) -> Result<HttpResponse> {
    let st = state.clone();
    let rotated = state
        .db
        .write_async(move |c| webhooks::rotate_secret(c, &st.vault, &owner, &req))
        .await?;
    Ok(HttpResponse::Ok().json(rotated))
}

pub async fn retire_previous_secret(state: &AppState, owner: Owner) -> Result<HttpResponse> {
    let ep = state
        .db
        .write_async(move |c| webhooks::retire_previous_secret(c, &owner))
        .await?;
    Ok(HttpResponse::Ok().json(ep))
}
