//! Admin: reseller deposits — the list, and confirming a bank transfer that arrived.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::deposits::status_filter;
use crate::api::page::page_query;
use crate::api::query::Query;
use crate::api::{Page, Paged};
use crate::auth::signed::parse_json;
use crate::auth::AdminSession;
use crate::domain::accounts::deposits::{self, Deposit};
use crate::error::{Problem, Result};
use crate::state::AppState;

page_query! {
    pub struct AdminDepositQuery {
        /// `pending`, `credited`, `expired` or `review`.
        pub status: Option<String>,
        /// Only this reseller's.
        pub reseller_id: Option<String>,
    }
}

/// Deposits of every reseller, newest first.
#[utoipa::path(tag = "admin", operation_id = "adminListDeposits", params(AdminDepositQuery),
    responses((status = 200, body = Page<Deposit>),
        (status = 422, description = "invalid_request", body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[get("/v1/admin/deposits")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    query: Query<AdminDepositQuery>,
) -> Result<HttpResponse> {
    let limit = query.page_size()?;
    let before = query.cursor_key()?;
    let status = status_filter(query.status.as_deref())?;
    let reseller = query.reseller_id.clone();
    let rows = state
        .db
        .read_async(move |c| {
            deposits::list(c, reseller.as_deref(), status, before.as_deref(), limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |d| d.id.clone())))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmDeposit {
    /// The amount that arrived, minor units, when it differs from the deposit's; default: the
    /// deposit's amount.
    pub amount: Option<i64>,
}

/// Confirm a deposit's payment arrived (a bank transfer, or a payment held for review): credits
/// the reseller's balance once, in the ledger and the audit chain.
#[utoipa::path(tag = "admin", operation_id = "confirmDeposit", params(("id" = String, Path)),
    request_body(content = Option<ConfirmDeposit>, description = "optional; `{}` or no body credits the deposit's amount"),
    responses((status = 200, body = Deposit),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "deposit_expired (past its expires_at: never credited), conflict (already credited)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request", body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[post("/v1/admin/deposits/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    // The body is optional, but a body that is there must be valid (no silent full credit).
    let amount = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        parse_json::<ConfirmDeposit>(&body)?.amount
    };
    let now = crate::time::now_ms();
    let d = state
        .db
        .write_async(move |c| deposits::confirm(c, &admin.actor(), &id, amount, now))
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(d))
}
