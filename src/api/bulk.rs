//! Bulk orders: the paginated codes of an order, and the post-commit delivery step that turns a
//! `processing` bulk order into `delivered` (see `domain::bulk`).

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Page;
use crate::auth::{Scope, Signed};
use crate::db::run_blocking;
use crate::domain::inventory::DeliveredCard;
use crate::domain::orders::Order;
use crate::domain::{bulk, validate};
use crate::error::{Error, Problem, Result};
use crate::state::AppState;

/// Starts delivering a bulk order that was just committed as `processing`, off the request.
pub fn after_commit(state: &web::Data<AppState>, order: &Order) {
    if order.status != "processing" || order.topup.is_some() {
        return;
    }
    let state = state.clone();
    let id = order.id.clone();
    actix_web::rt::spawn(async move {
        let st = state.clone();
        let done = run_blocking(move || bulk::deliver(&st.db, &st.vault, &st.receipts, &id)).await;
        match done {
            Ok(true) => state.events_wakeup.notify_one(),
            Ok(false) => {}
            // The background sweep retries it.
            Err(e) => tracing::warn!(error = %e, "bulk delivery failed"),
        }
    });
}

/// Delivers bulk orders still processing 5 s after their commit (the server stopped before
/// [`after_commit`] finished). Runs from the background loop.
pub async fn sweep_stranded(state: &web::Data<AppState>) {
    let st = state.clone();
    let before = crate::time::now_ms() - 5_000;
    match run_blocking(move || bulk::deliver_stranded(&st.db, &st.vault, &st.receipts, before, 20))
        .await
    {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(orders = n, "stranded bulk orders delivered");
            state.events_wakeup.notify_one();
        }
        Err(e) => tracing::warn!(error = %e, "bulk delivery sweep failed"),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardsQuery {
    /// Page size, 1..200 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The codes of one of this reseller's orders, in delivery order (the order a bulk receipt's
/// `codes_digest` covers). 409 `conflict` while a bulk order is still `processing`.
#[utoipa::path(get, path = "/v1/orders/{id}/cards", tag = "orders", params(("id" = String, Path), CardsQuery),
    responses((status = 200, body = Page<DeliveredCard>),
        (status = 404, description = "not_found (not this reseller's order)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (a bulk order still processing)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["orders:read"])))]
#[get("/v1/orders/{id}/cards")]
pub async fn order_cards(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
    query: web::Query<CardsQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::OrdersRead)?.clone();
    let limit = validate::limit(query.limit)?;
    let after = match validate::decode_cursor(query.cursor.as_deref())? {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| Error::invalid("cursor", "is not a cursor this API returned"))?,
        ),
    };
    let id = id.into_inner();
    let st = state.clone();
    let rows = state
        .db
        .read_async(move |c| bulk::cards_page(c, &st.vault, &caller.owner_id, &id, after, limit))
        .await?;
    let (rows, next) = validate::page(rows, limit, |(card_id, _)| card_id.to_string());
    let data: Vec<DeliveredCard> = rows.into_iter().map(|(_, card)| card).collect();
    Ok(HttpResponse::Ok().json(Page::new((data, next))))
}
