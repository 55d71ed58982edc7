//! Reseller orders: one-click purchase with instant delivery, and order lookups. A sandbox key
//! places and reads sandbox orders (`trade::sandbox::orders`) through the same endpoints.

use actix_web::{get, post, web, HttpResponse};

use super::page::{page_query, Page, Paged};
use crate::api::query::{order_states, status_filter, Query};
use crate::auth::nonces::NonceClaim;
use crate::auth::{Scope, Signed, SignedDeferred};
use crate::domain::money::limits::SpendLimits;
use crate::domain::trade::orders::{
    self, Order, OrderContext, OrderFilter, OrderRequest, OrderStatus, Placed,
};
use crate::domain::trade::sandbox;
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Place an order. Card products are delivered in the response (201), except bulk orders (more
/// codes than `KAMENG_BULK_ASYNC_THRESHOLD`, default 500): 202 `processing`, then
/// `order.delivered`, codes from `GET /v1/orders/{id}/cards`. Repeating the same
/// `out_trade_no` with the same parameters returns the original order (200).
#[utoipa::path(operation_id = "createOrder", tag = "orders", request_body = OrderRequest,
    responses(
        (status = 201, description = "delivered (card products)", body = Order),
        (status = 202, description = "processing (direct top-up, ends completed or failed; or a bulk card order, ends delivered)", body = Order),
        (status = 200, description = "the earlier order with this out_trade_no", body = Order),
        (status = 402, description = "insufficient_balance", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "spending_limit_exceeded (a key's daily cap, or the limit on accounts without verified real-name details), insufficient_scope or forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found (product)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "out_of_stock, product_unavailable or idempotency_conflict", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "supplier_unavailable: a just-in-time product's supplier did not deliver the missing codes (nothing was charged; retrying the same out_trade_no is safe), or unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = ["orders:write"])))]
#[post("/v1/orders")]
pub async fn create(
    state: web::Data<AppState>,
    request: SignedDeferred<OrderRequest>,
) -> Result<HttpResponse> {
    let SignedDeferred { signed, nonce } = request;
    let placed = place(&state, &signed, nonce.clone()).await;
    // A nonce the order's transaction did not commit (the order failed, or never got that
    // far) is recorded now: a replay is refused whatever became of the first request.
    match nonce {
        // Committed with the order: remembered in memory, no database work.
        Some(claim) if claim.recorded() => state.nonces.settle(&state.db, &claim)?,
        Some(claim) => {
            let state = state.clone();
            crate::db::run_blocking(move || state.nonces.settle(&state.db, &claim)).await?
        }
        None => {}
    }
    let placed = placed?;
    if placed.announced {
        // Let the worker send the event now rather than at its next poll.
        state.events_wakeup.notify_one();
    }
    let mut res = if !placed.created {
        HttpResponse::Ok()
    } else {
        if !placed.order.sandbox {
            crate::jobs::bulk::after_commit(&state, &placed.order);
        }
        if placed.order.status == OrderStatus::Processing.as_str() {
            HttpResponse::Accepted()
        } else {
            HttpResponse::Created()
        }
    };
    Ok(res.json(placed.order))
}

/// Authorises and places the order; a live order takes its request's `nonce` into its
/// transaction.
async fn place(
    state: &AppState,
    signed: &Signed<OrderRequest>,
    nonce: Option<NonceClaim>,
) -> Result<Placed> {
    let caller = signed.reseller_or_sandbox(Scope::OrdersWrite)?.clone();
    let req = signed.body()?;
    let caller_sandbox = caller.sandbox;
    let ctx = OrderContext {
        reseller_id: caller.owner_id,
        key_id: caller.key_id,
        limits: SpendLimits {
            key_daily: caller.daily_spend_limit,
            unverified_daily: state.config.unverified_daily_limit,
        },
        // The sandbox's own order path leaves the nonce to the handler.
        nonce: if caller_sandbox { None } else { nonce },
    };
    let deps = state.order_deps();
    let started = std::time::Instant::now();
    let placed = if caller_sandbox {
        sandbox::orders::place_order(&state.db, state.receipts.clone(), ctx, req).await
    } else {
        orders::place_order(&state.db, deps, ctx, req).await
    };
    let (outcome, delivery) = order_labels(&placed);
    state
        .metrics
        .record_order(outcome, delivery, caller_sandbox, started.elapsed());
    placed
}

/// `kameng_orders_total`'s outcome and delivery labels for an order request's result.
fn order_labels(placed: &Result<Placed>) -> (&'static str, &'static str) {
    match placed {
        Ok(p) => {
            let delivery = if p.order.topup.is_some() {
                "direct"
            } else {
                "card"
            };
            let outcome = if !p.created {
                "replayed"
            } else if p.order.status == OrderStatus::Processing.as_str() {
                "processing"
            } else {
                "delivered"
            };
            (outcome, delivery)
        }
        Err(e) => (e.code(), "unknown"),
    }
}

page_query! {
    pub struct OrderQuery {
        pub out_trade_no: Option<String>,
        /// `delivered`, `processing`, `completed`, `failed` or `refunded`.
        pub status: Option<String>,
    }
}

/// This reseller's orders, newest first (codes omitted; fetch one order for its codes).
#[utoipa::path(operation_id = "listOrders", tag = "orders", params(OrderQuery),
    responses((status = 200, body = Page<Order>)), security(("signed" = ["orders:read"])))]
#[get("/v1/orders")]
pub async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    query: Query<OrderQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller_or_sandbox(Scope::OrdersRead)?.clone();
    let q = query.into_inner();
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    if caller.sandbox {
        let status = status_filter(q.status, &order_states())?;
        let views = state
            .db
            .read_async(move |c| {
                sandbox::orders::list(
                    c,
                    &caller.owner_id,
                    q.out_trade_no.as_deref(),
                    status.as_deref(),
                    before.as_deref(),
                    limit,
                )
            })
            .await?;
        return Ok(HttpResponse::Ok().json(Page::of(views, limit, |o| o.id.clone())));
    }
    let filter = OrderFilter {
        reseller_id: Some(caller.owner_id),
        out_trade_no: q.out_trade_no,
        status: status_filter(q.status, &order_states())?,
        product_id: None,
        before,
        limit,
    };
    order_page(&state, filter).await
}

/// A page of orders matching `filter`, without codes (the reseller's and the admin's lists).
pub(crate) async fn order_page(state: &AppState, filter: OrderFilter) -> Result<HttpResponse> {
    let limit = filter.limit;
    let rows = state
        .db
        .read_async(move |c| orders::list(c, &filter))
        .await?;
    let views: Vec<Order> = rows.iter().map(|r| r.view(None)).collect();
    Ok(HttpResponse::Ok().json(Page::of(views, limit, |o| o.id.clone())))
}

/// One of this reseller's orders, with its codes.
#[utoipa::path(operation_id = "getOrder", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["orders:read"])))]
#[get("/v1/orders/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.reseller_or_sandbox(Scope::OrdersRead)?.clone();
    let id = id.into_inner();
    let st = state.clone();
    let order = state
        .db
        .read_async(move |c| match caller.sandbox {
            true => sandbox::orders::get(c, &caller.owner_id, &id),
            false => orders::get_for_reseller(c, &st.vault, &caller.owner_id, &id),
        })
        .await?;
    Ok(HttpResponse::Ok().json(order))
}
