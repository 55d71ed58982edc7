use actix_web::{get, web, HttpResponse};

use crate::api::page::{page_query, Page, Paged};
use crate::api::query::Query;
use crate::auth::AdminSession;
use crate::domain::money::chain::{self, Record, VerifyReport};
use crate::error::Result;
use crate::state::AppState;

page_query! {
    pub struct AuditQuery {
        /// `ledger` or `admin`.
        pub kind: Option<String>,
    }
}

/// The hash-chained audit trail (ledger transactions and admin actions), newest first.
#[utoipa::path(operation_id = "listAdminAuditRecords", tag = "admin", params(AuditQuery),
    responses((status = 200, body = Page<Record>)), security(("admin" = [])))]
#[get("/v1/admin/audit")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: Query<AuditQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let limit = q.page_size()?;
    let before = q.cursor_seq()?;
    let rows = state
        .db
        .read_async(move |c| chain::list(c, before, q.kind.as_deref(), limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |r| r.seq.to_string())))
}

/// Seal what is committed, then recompute the whole chain and report the first record that
/// does not hold (edited, deleted, inserted, reordered, or left unsealed too long).
#[utoipa::path(operation_id = "verifyAdminAuditChain", tag = "admin",
    responses((status = 200, body = VerifyReport)), security(("admin" = [])))]
#[get("/v1/admin/audit/verify")]
pub async fn verify(state: web::Data<AppState>, _admin: AdminSession) -> Result<HttpResponse> {
    state.settled().await?;
    Ok(HttpResponse::Ok().json(state.db.read_async(chain::verify).await?))
}
