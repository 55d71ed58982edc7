//! Supplier settlement, the supplier's side: what it is owed and the statement of its payable.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::page::Page;
use super::statements::{self, StatementQuery};
use crate::api::query::Query;
use crate::auth::Signed;
use crate::domain::accounts::settlement::{self, SupplierBalance};
use crate::domain::money::ledger::supplier_account;
use crate::domain::money::statement::StatementLine;
use crate::error::{Problem, Result};
use crate::state::AppState;

/// What the platform owes this supplier, per currency: costs of delivered orders, less
/// chargebacks from refunds, less payouts.
#[utoipa::path(tag = "supplier",
    responses((status = 200, body = SupplierBalance)), security(("signed" = [])))]
#[get("/v1/supplier/balance")]
pub async fn balance(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let b = state
        .db
        .read_async(move |c| settlement::balance(c, &caller.owner_id))
        .await?;
    Ok(HttpResponse::Ok().json(b))
}

/// This supplier's statement: one line per movement of its payable (sale, chargeback, payout)
/// with the running balance; newest first in pages, or with `Accept: text/csv` the whole
/// period (`?from=&to=`) oldest first as a streamed CSV download.
#[utoipa::path(tag = "supplier", params(StatementQuery),
    responses((status = 200, description = "Statement lines with the payable after each",
        content((Page<StatementLine> = "application/json"),
            (String = "text/csv", example = "id,created_at,action,reference,amount,currency,balance_after\n42,2026-12-01T08:00:00.000Z,order.purchase,ord_01,900,CNY,900\n"))),
        (status = 422, description = "invalid_request (a bad `from`, `to`, `limit` or `cursor`)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[get("/v1/supplier/statement")]
pub async fn statement(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    query: Query<StatementQuery>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let account = supplier_account(&caller.owner_id);
    statements::respond(&state.db, &req, account, &query, "supplier-statement.csv").await
}
