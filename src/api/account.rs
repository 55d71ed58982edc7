//! The reseller's own account: balance, level, KYC status, and its ledger statement.

use actix_web::{get, web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Page;
use crate::auth::{Scope, Signed};
use crate::db::schema::{audit_chain, ledger_entries};
use crate::domain::accounts::{self, Reseller};
use crate::domain::ledger::reseller_account;
use crate::domain::validate;
use crate::error::Result;
use crate::state::AppState;

/// This reseller's account.
#[utoipa::path(get, path = "/v1/account", tag = "account",
    responses((status = 200, body = Reseller)), security(("signed" = ["account:read"])))]
#[get("/v1/account")]
pub async fn get(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let r = state
        .db
        .read_async(move |c| accounts::get::<Reseller>(c, &caller.owner_id))
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// One statement line: a movement of this reseller's balance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    pub id: String,
    /// Signed amount: positive credits the balance, negative debits it.
    pub amount: i64,
    pub currency: String,
    pub balance_after: Option<i64>,
    /// What moved the money, e.g. `order.purchase`, `balance.credit`.
    pub action: String,
    /// The order id or other object the movement belongs to.
    pub reference: String,
    pub created_at: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// This reseller's statement, newest first.
#[utoipa::path(get, path = "/v1/account/ledger", tag = "account", params(LedgerQuery),
    responses((status = 200, body = Page<StatementLine>)), security(("signed" = ["account:read"])))]
#[get("/v1/account/ledger")]
pub async fn ledger(
    state: web::Data<AppState>,
    signed: Signed,
    query: web::Query<LedgerQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let limit = validate::limit(query.limit)?;
    let before: Option<i64> = match validate::decode_cursor(query.cursor.as_deref())? {
        None => None,
        Some(c) => Some(c.parse().map_err(|_| {
            crate::error::Error::invalid("cursor", "is not a cursor this API returned")
        })?),
    };
    let account = reseller_account(&caller.owner_id);
    let rows = state
        .db
        .read_async(move |c| {
            let mut q = ledger_entries::table
                .inner_join(audit_chain::table)
                .filter(ledger_entries::account.eq(account))
                .select((
                    ledger_entries::id,
                    ledger_entries::amount,
                    ledger_entries::currency,
                    ledger_entries::balance_after,
                    audit_chain::action,
                    audit_chain::subject,
                    ledger_entries::created_at,
                ))
                .order(ledger_entries::id.desc())
                .limit(limit + 1)
                .into_boxed();
            if let Some(b) = before {
                q = q.filter(ledger_entries::id.lt(b));
            }
            Ok(q.load::<(i64, i64, String, Option<i64>, String, String, i64)>(c)?)
        })
        .await?;
    let lines: Vec<StatementLine> = rows
        .into_iter()
        .map(
            |(id, amount, currency, balance_after, action, reference, at)| StatementLine {
                id: id.to_string(),
                amount,
                currency,
                balance_after,
                action,
                reference,
                created_at: crate::time::rfc3339(at),
            },
        )
        .collect();
    Ok(HttpResponse::Ok().json(Page::new(validate::page(lines, limit, |l| l.id.clone()))))
}
