//! The books check: does every balance equal its ledger, and does every transaction balance?

use actix_web::{get, web, HttpResponse};

use crate::auth::AdminSession;
use crate::domain::money::checks::{self, LedgerCheck};
use crate::error::Result;
use crate::state::AppState;

/// Recompute the books from one snapshot: each currency's entries sum to zero, each
/// transaction sums to zero, and each reseller's balance equals the sum of its entries.
/// Reads only; safe on a live system (the chain itself: `GET /v1/admin/audit/verify`).
#[utoipa::path(tag = "admin",
    responses((status = 200, body = LedgerCheck)), security(("admin" = [])))]
#[get("/v1/admin/ledger/check")]
pub async fn check(state: web::Data<AppState>, _admin: AdminSession) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.db.read_async(checks::check).await?))
}
