//! Bulk orders: the paginated codes of an order. The post-commit delivery step that turns a
//! `processing` bulk order into `delivered` is `jobs::bulk`.

use actix_web::{get, web, HttpResponse};

use super::page::{Page, PageQuery, Paged};
use crate::api::query::Query;
use crate::auth::{Scope, Signed};
use crate::domain::trade::bulk;
use crate::domain::trade::inventory::DeliveredCard;
use crate::domain::validate;
use crate::error::{Problem, Result};
use crate::state::AppState;

/// The codes of one of this reseller's orders, in delivery order (the order a bulk receipt's
/// `codes_digest` covers). 409 `conflict` while a bulk order is still `processing`, and for a
/// gift-link order (its codes go only to whoever redeems its links).
#[utoipa::path(operation_id = "listOrderCards", tag = "orders", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<DeliveredCard>),
        (status = 404, description = "not_found (not this reseller's order)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (a bulk order still processing, or a gift-link order)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["orders:read"])))]
#[get("/v1/orders/{id}/cards")]
pub async fn order_cards(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
    query: Query<PageQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::OrdersRead)?.clone();
    let limit = query.page_size()?;
    let after = query.cursor_seq()?;
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
