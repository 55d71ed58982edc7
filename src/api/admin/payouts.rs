//! Admin: payouts to suppliers (supplier settlement, the platform's side).

use actix_web::{get, post, web, HttpResponse};

use crate::api::json_body::JsonBody;
use crate::api::query::Query;
use crate::api::{Page, PageQuery, Paged};
use crate::auth::AdminSession;
use crate::domain::accounts::settlement::{self, NewPayout, Payout};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Record a payout to a supplier: debits its payable in one chained ledger transaction. The
/// same `reference` again returns the first payout (200) and books nothing.
#[utoipa::path(tag = "admin", operation_id = "createSupplierPayout",
    params(("id" = String, Path)), request_body = NewPayout,
    responses((status = 201, description = "recorded now", body = Payout),
        (status = 200, description = "recorded before under this reference", body = Payout),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "payout_exceeds_payable (more than the supplier is owed in that currency), idempotency_conflict (the reference was used with another amount or currency)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request", body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[post("/v1/admin/suppliers/{id}/payouts")]
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<NewPayout>,
) -> Result<HttpResponse> {
    let (payout, created) = state
        .db
        .write_async(move |c| settlement::record_payout(c, &admin.actor(), &id, &body))
        .await?;
    Ok(if created {
        HttpResponse::Created().json(payout)
    } else {
        HttpResponse::Ok().json(payout)
    })
}

/// A supplier's payouts, newest first.
#[utoipa::path(tag = "admin", operation_id = "listSupplierPayouts",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<Payout>),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[get("/v1/admin/suppliers/{id}/payouts")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
    q: Query<PageQuery>,
) -> Result<HttpResponse> {
    let limit = q.page_size()?;
    let before = q.cursor_key()?;
    let rows = state
        .db
        .read_async(move |c| settlement::payouts(c, &id, before.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |p| p.id.clone())))
}
