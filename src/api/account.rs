//! The reseller's own account: balance, level, KYC status, and its ledger statement.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::page::Page;
use super::statements::{self, StatementQuery};
use crate::api::query::Query;
use crate::auth::{Scope, Signed};
use crate::domain::accounts::{self, Reseller};
use crate::domain::money::ledger::reseller_account;
use crate::domain::money::statement::StatementLine;
use crate::domain::trade::sandbox;
use crate::error::{Problem, Result};
use crate::state::AppState;

/// This reseller's account. With a sandbox key, `balance` is the sandbox balance.
#[utoipa::path(operation_id = "getAccount", tag = "account",
    responses((status = 200, body = Reseller)), security(("signed" = ["account:read"])))]
#[get("/v1/account")]
pub async fn get(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.reseller_or_sandbox(Scope::AccountRead)?.clone();
    let r = state
        .db
        .read_async(move |c| {
            let mut r = accounts::get::<Reseller>(c, &caller.owner_id)?;
            if caller.sandbox {
                r.balance = sandbox::orders::balance(c, &caller.owner_id)?;
            }
            Ok(r)
        })
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// This reseller's statement: newest first in pages, or with `Accept: text/csv` the whole period
/// (`?from=&to=`) oldest first as a streamed CSV download.
#[utoipa::path(operation_id = "listLedgerEntries", tag = "account", params(StatementQuery),
    responses((status = 200, description = "Statement lines with the balance after each",
        content((Page<StatementLine> = "application/json"),
            (String = "text/csv", example = "id,created_at,action,reference,amount,currency,balance_after\n41,2026-12-01T08:00:00.000Z,balance.credit,res_01,100000,CNY,100000\n"))),
        (status = 422, description = "invalid_request (a bad `from`, `to`, `limit` or `cursor`)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["account:read"])))]
#[get("/v1/account/ledger")]
pub async fn ledger(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    query: Query<StatementQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let account = reseller_account(&caller.owner_id);
    statements::respond(&state.db, &req, account, &query, "statement.csv").await
}
