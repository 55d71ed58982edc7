//! The books check: does every balance equal its ledger, and does every transaction balance?

use actix_web::{get, web, HttpResponse};

use crate::auth::AdminSession;
use crate::domain::money::checks::{self, LedgerCheck};
use crate::domain::trade::orders;
use crate::error::Result;
use crate::state::AppState;

/// Recompute the books from one snapshot: each currency's entries sum to zero, each
/// transaction sums to zero, and each reseller's balance equals the sum of its entries; then
/// compare every order with its ledger transaction and its signed receipt.
/// Reads only; safe on a live system (the chain itself: `GET /v1/admin/audit/verify`).
#[utoipa::path(operation_id = "checkAdminLedger", tag = "admin",
    responses((status = 200, body = LedgerCheck)), security(("admin" = [])))]
#[get("/v1/admin/ledger/check")]
pub async fn check(state: web::Data<AppState>, _admin: AdminSession) -> Result<HttpResponse> {
    let (vault, jwks) = (state.vault.clone(), state.receipts.jwks().clone());
    let report = state
        .db
        .read_async(move |c| {
            let books = checks::check(c)?;
            let (checked, mismatches) = orders::integrity::check(c, &vault, &jwks)?;
            Ok(books.with_orders(checked, mismatches))
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
