//! Multi-level distribution (`/v1/sub-resellers`): a reseller's own sub-resellers, their
//! markups, funding, sales and the caller's commission. Every endpoint needs the
//! `sub_resellers:write` scope: a key without it sees nothing of the network.

use actix_web::{get, post, put, web, HttpResponse};

use super::page::{page_query, Page, PageQuery, Paged};
use crate::api::query::{order_states, status_filter, Query};
use crate::auth::{Scope, Signed};
use crate::domain::accounts::network::{
    self as sub_resellers, CommissionLine, NewSubReseller, SubReseller, TransferRequest,
    TransferResult,
};
use crate::domain::accounts::ResellerCreated;
use crate::domain::trade::orders::{self, SubResellerOrder};
use crate::domain::trade::pricing::markups::{self, Markups};
use crate::error::{Error, Problem, Result};
use crate::state::AppState;

page_query! {
    pub struct SubOrdersQuery {
        /// `delivered`, `processing`, `completed`, `failed` or `refunded`.
        pub status: Option<String>,
    }
}

/// Create a sub-reseller under the calling reseller. Its first API key (all scopes) and webhook
/// secret are shown only here: hand them over; the sub-reseller should rotate the key.
#[utoipa::path(operation_id = "createSubReseller", tag = "network", request_body = NewSubReseller,
    responses((status = 201, body = ResellerCreated),
        (status = 403, description = "forbidden (this account is at the chain's maximum depth) or insufficient_scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (too many sub-resellers)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["sub_resellers:write"])))]
#[post("/v1/sub-resellers")]
pub async fn create_sub_reseller(
    state: web::Data<AppState>,
    signed: Signed<NewSubReseller>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::SubResellersWrite)?.clone();
    let req = signed.body()?;
    let st = state.clone();
    let created = state
        .db
        .write_async(move |c| {
            sub_resellers::create(
                c,
                &st.vault,
                &caller.owner_id,
                &format!("key:{}", caller.key_id),
                &req,
                st.config.max_reseller_depth,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// The caller's direct sub-resellers with their sales and the commission earned through each.
#[utoipa::path(operation_id = "listSubResellers", tag = "network", params(PageQuery),
    responses((status = 200, body = Page<SubReseller>)), security(("signed" = ["sub_resellers:write"])))]
#[get("/v1/sub-resellers")]
pub async fn list_sub_resellers(
    state: web::Data<AppState>,
    signed: Signed,
    query: Query<PageQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::SubResellersWrite)?.clone();
    let limit = query.page_size()?;
    let after = query.cursor_key()?;
    let rows = state
        .db
        .read_async(move |c| sub_resellers::list(c, &caller.owner_id, after.as_deref(), limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |s| s.reseller.id.clone())))
}

/// The markups the caller adds for its sub-resellers (0 when never set).
#[utoipa::path(operation_id = "getMarkups", tag = "network",
    responses((status = 200, body = Markups)), security(("signed" = ["sub_resellers:write"])))]
#[get("/v1/sub-resellers/markups")]
pub async fn get_markups(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::SubResellersWrite)?.clone();
    let m = state
        .db
        .read_async(move |c| markups::get_markups(c, &caller.owner_id))
        .await?;
    Ok(HttpResponse::Ok().json(m))
}

/// Replace the caller's markups: a default in basis points of the caller's own price, and
/// per-product overrides. A sub-reseller pays the caller's price plus the markup, and the
/// markup × quantity is credited to the caller in the same transaction as the order.
#[utoipa::path(operation_id = "setMarkups", tag = "network", request_body = Markups,
    responses((status = 200, body = Markups)), security(("signed" = ["sub_resellers:write"])))]
#[put("/v1/sub-resellers/markups")]
pub async fn put_markups(
    state: web::Data<AppState>,
    signed: Signed<Markups>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::SubResellersWrite)?.clone();
    let req = signed.body()?;
    let m = state
        .db
        .write_async(move |c| markups::put_markups(c, &caller.owner_id, &req))
        .await?;
    Ok(HttpResponse::Ok().json(m))
}

/// Move part of the caller's balance to one of its direct sub-resellers (a ledger transaction;
/// 402 `insufficient_balance` rather than below zero). Not for keys with a daily spend limit.
#[utoipa::path(operation_id = "transferToSubReseller", tag = "network", params(("id" = String, Path)),
    request_body = TransferRequest,
    responses((status = 200, body = TransferResult),
        (status = 402, description = "insufficient_balance", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found (not a direct sub-reseller of the caller)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["sub_resellers:write"])))]
#[post("/v1/sub-resellers/{id}/transfer")]
pub async fn transfer_to_sub_reseller(
    state: web::Data<AppState>,
    signed: Signed<TransferRequest>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::SubResellersWrite)?.clone();
    // A capped key could otherwise pass its cap by funding a sub-reseller and buying there.
    if caller.daily_spend_limit.is_some() {
        return Err(Error::Forbidden(
            "a key with a daily spend limit cannot transfer balance".into(),
        ));
    }
    let req = signed.body()?;
    let id = id.into_inner();
    let res = state
        .db
        .write_async(move |c| {
            sub_resellers::transfer(
                c,
                &format!("key:{}", caller.key_id),
                &caller.owner_id,
                &id,
                &req,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(res))
}

/// A direct sub-reseller's orders, newest first: amounts and the caller's commission, never
/// codes, receipts or end-buyer details.
#[utoipa::path(operation_id = "listSubResellerOrders", tag = "network", params(("id" = String, Path), SubOrdersQuery),
    responses((status = 200, body = Page<SubResellerOrder>),
        (status = 404, description = "not_found (not a direct sub-reseller of the caller)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["sub_resellers:write"])))]
#[get("/v1/sub-resellers/{id}/orders")]
pub async fn sub_reseller_orders(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
    query: Query<SubOrdersQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::SubResellersWrite)?.clone();
    let q = query.into_inner();
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    let status = status_filter(q.status, &order_states())?;
    let id = id.into_inner();
    let rows = state
        .db
        .read_async(move |c| orders::child_orders(c, &caller.owner_id, &id, status, before, limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |o| o.id.clone())))
}

/// The caller's commission statement, newest first: what it earned (and had taken back) on
/// orders placed below it in the network.
#[utoipa::path(operation_id = "getCommissionStatement", tag = "network", params(PageQuery),
    responses((status = 200, body = Page<CommissionLine>)), security(("signed" = ["sub_resellers:write"])))]
#[get("/v1/sub-resellers/commissions")]
pub async fn commission_statement(
    state: web::Data<AppState>,
    signed: Signed,
    query: Query<PageQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::SubResellersWrite)?.clone();
    let limit = query.page_size()?;
    let before = query.cursor_seq()?;
    let rows = state
        .db
        .read_async(move |c| sub_resellers::commissions(c, &caller.owner_id, before, limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |l| l.id.clone())))
}
