//! Admin side of after-sales: list tickets, decide contested ones (audited).

use actix_web::{get, post, web, HttpResponse};

use crate::api::json_body::JsonBody;
use crate::api::page::{page_query, Page, Paged};
use crate::api::query::{status_filter, ticket_states, Query};
use crate::auth::AdminSession;
use crate::domain::aftersales::tickets::{self, AdminTicket, TicketDecision, TicketFilter};
use crate::error::{Problem, Result};
use crate::state::AppState;

page_query! {
    pub struct AdminTicketQuery {
        /// `open`, `awaiting_supplier`, `contested` (the arbitration queue), `resolved` or `rejected`.
        pub status: Option<String>,
        pub reseller_id: Option<String>,
        pub supplier_id: Option<String>,
        pub order_id: Option<String>,
    }
}

/// All tickets, newest first (no codes).
#[utoipa::path(operation_id = "listAdminTickets", tag = "admin", params(AdminTicketQuery),
    responses((status = 200, body = Page<AdminTicket>)), security(("admin" = [])))]
#[get("/v1/admin/tickets")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: Query<AdminTicketQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    let filter = TicketFilter {
        reseller_id: q.reseller_id,
        supplier_id: q.supplier_id,
        order_id: q.order_id,
        status: status_filter(q.status, &ticket_states())?,
        before,
        limit,
    };
    let rows = state
        .db
        .read_async(move |c| tickets::list(c, &filter))
        .await?;
    let views: Vec<AdminTicket> = rows.iter().map(|r| r.admin_view()).collect();
    Ok(HttpResponse::Ok().json(Page::of(views, limit, |t| t.ticket.id.clone())))
}

/// One ticket.
#[utoipa::path(operation_id = "getAdminTicket", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AdminTicket), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[get("/v1/admin/tickets/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let row = state.db.read_async(move |c| tickets::load(c, &id)).await?;
    Ok(HttpResponse::Ok().json(row.admin_view()))
}

/// Decide a ticket (normally a contested one; an admin may also step in before the supplier
/// answers): `refund`, `replace` (from stock; with no stock the ticket goes back to the supplier
/// as `awaiting_supplier` with a fresh SLA) or `reject`. The reseller gets `ticket.resolved`.
#[utoipa::path(operation_id = "resolveAdminTicket", tag = "admin", params(("id" = String, Path)),
    request_body = TicketDecision,
    responses(
        (status = 200, body = AdminTicket),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (already resolved)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("admin" = [])))]
#[post("/v1/admin/tickets/{id}/resolve")]
pub async fn resolve(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<TicketDecision>,
) -> Result<HttpResponse> {
    let sla_ms = state.config.ticket_sla_secs * 1000;
    let now = crate::time::now_ms();
    let st = state.clone();
    let row = state
        .db
        .write_async(move |c| {
            tickets::admin_resolve(c, &st.vault, &admin.actor(), &id, &body, sla_ms, now)
        })
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(row.admin_view()))
}
