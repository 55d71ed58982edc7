//! After-sales tickets: the reseller opens and follows them, the supplier answers them.

use actix_web::{get, post, web, HttpResponse};

use super::page::{page_query, Page, Paged};
use crate::api::query::{status_filter, ticket_states, Query};
use crate::auth::{Scope, Signed};
use crate::domain::aftersales::tickets::{self, NewTicket, SupplierResponse, Ticket, TicketFilter};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Open a ticket on one of this reseller's orders, naming one card (`card_code`) or, without
/// it, the whole order. Only within `KAMENG_TICKET_WINDOW` of the order; one ticket per card
/// (a whole-order ticket is the order's only one). The supplier is told with `ticket.opened`
/// and must answer before `sla_due_at`, or the ticket is refunded automatically.
#[utoipa::path(operation_id = "createTicket", tag = "tickets", request_body = NewTicket,
    responses(
        (status = 201, body = Ticket),
        (status = 404, description = "not_found (order)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (the card or order already has a ticket, or the order is not delivered)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request (reason, a card not of this order, or an order older than the after-sales window)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = ["tickets:write"])))]
#[post("/v1/tickets")]
pub async fn create(state: web::Data<AppState>, signed: Signed<NewTicket>) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::TicketsWrite)?.clone();
    let req = signed.body()?;
    let window_ms = state.config.ticket_window_secs * 1000;
    let sla_ms = state.config.ticket_sla_secs * 1000;
    let now = crate::time::now_ms();
    let st = state.clone();
    let ticket = state
        .db
        .write_async(move |c| {
            tickets::open(c, &st.vault, &caller.owner_id, &req, window_ms, sla_ms, now)
        })
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Created().json(ticket))
}

page_query! {
    pub struct TicketQuery {
        /// `open`, `awaiting_supplier`, `contested`, `resolved` or `rejected`.
        pub status: Option<String>,
        pub order_id: Option<String>,
    }
}

/// This reseller's tickets, newest first (codes omitted; fetch one ticket for them).
#[utoipa::path(operation_id = "listTickets", tag = "tickets", params(TicketQuery),
    responses((status = 200, body = Page<Ticket>)), security(("signed" = ["tickets:write"])))]
#[get("/v1/tickets")]
pub async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    q: Query<TicketQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::TicketsWrite)?.clone();
    let q = q.into_inner();
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    let filter = TicketFilter {
        reseller_id: Some(caller.owner_id),
        order_id: q.order_id,
        status: status_filter(q.status, &ticket_states())?,
        before,
        limit,
        ..Default::default()
    };
    let rows = state
        .db
        .read_async(move |c| tickets::list(c, &filter))
        .await?;
    let views: Vec<Ticket> = rows.iter().map(|r| r.view()).collect();
    Ok(HttpResponse::Ok().json(Page::of(views, limit, |t| t.id.clone())))
}

/// One of this reseller's tickets, with the named card and any replacement cards in plaintext.
#[utoipa::path(operation_id = "getTicket", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["tickets:write"])))]
#[get("/v1/tickets/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::TicketsWrite)?.clone();
    let st = state.clone();
    let ticket = state
        .db
        .read_async(move |c| tickets::get_for_reseller(c, &st.vault, &caller.owner_id, &id))
        .await?;
    Ok(HttpResponse::Ok().json(ticket))
}

page_query! {
    pub struct SupplierTicketQuery {
        /// `open`, `awaiting_supplier`, `contested`, `resolved` or `rejected`.
        pub status: Option<String>,
    }
}

/// Tickets on this supplier's goods, newest first, with the named card's code so it can be
/// checked (`?status=open` is the work queue).
#[utoipa::path(operation_id = "listSupplierTickets", tag = "supplier", params(SupplierTicketQuery),
    responses((status = 200, body = Page<Ticket>)), security(("signed" = [])))]
#[get("/v1/supplier/tickets")]
pub async fn supplier_list(
    state: web::Data<AppState>,
    signed: Signed,
    q: Query<SupplierTicketQuery>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let q = q.into_inner();
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    let filter = TicketFilter {
        supplier_id: Some(caller.owner_id),
        status: status_filter(q.status, &ticket_states())?,
        before,
        limit,
        ..Default::default()
    };
    let st = state.clone();
    let views = state
        .db
        .read_async(move |c| {
            tickets::list(c, &filter)?
                .iter()
                .map(|r| tickets::supplier_view(c, &st.vault, r))
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(views, limit, |t| t.id.clone())))
}

/// Answer a ticket on this supplier's goods: `replace` (with a fresh `code`, or from stock
/// without one), `refund` (the reseller is credited, the supplier payable charged back) or
/// `contest` (an admin decides). Only one answer ever applies.
#[utoipa::path(operation_id = "respondToSupplierTicket", tag = "supplier", params(("id" = String, Path)),
    request_body = SupplierResponse,
    responses(
        (status = 200, body = Ticket),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (already answered or resolved; a code already stored) or out_of_stock (replace from stock)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = [])))]
#[post("/v1/supplier/tickets/{id}/response")]
pub async fn respond(
    state: web::Data<AppState>,
    signed: Signed<SupplierResponse>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let req = signed.body()?;
    let now = crate::time::now_ms();
    let st = state.clone();
    let ticket = state
        .db
        .write_async(move |c| {
            let row = tickets::respond(c, &st.vault, &caller.owner_id, &id, &req, now)?;
            tickets::supplier_view(c, &st.vault, &row)
        })
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(ticket))
}
