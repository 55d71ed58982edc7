//! The reseller's own account: balance, level, KYC status, and its ledger statement.

use actix_web::{get, web, HttpResponse};

use super::page::{page_query, Page, Paged};
use crate::api::query::Query;
use crate::auth::{Scope, Signed};
use crate::domain::accounts::{self, Reseller};
use crate::domain::money::statement::{self, StatementLine};
use crate::domain::trade::sandbox;
use crate::error::Result;
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

page_query! {
    pub struct LedgerQuery {}
}

/// This reseller's statement, newest first.
#[utoipa::path(operation_id = "listLedgerEntries", tag = "account", params(LedgerQuery),
    responses((status = 200, body = Page<StatementLine>)), security(("signed" = ["account:read"])))]
#[get("/v1/account/ledger")]
pub async fn ledger(
    state: web::Data<AppState>,
    signed: Signed,
    query: Query<LedgerQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let limit = query.page_size()?;
    let before = query.cursor_seq()?;
    let lines = state
        .db
        .read_async(move |c| statement::reseller_statement(c, &caller.owner_id, before, limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(lines, limit, |l| l.id.clone())))
}
