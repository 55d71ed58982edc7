use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::Page;
use crate::auth::AdminSession;
use crate::domain::money::chain::{self, Record, VerifyReport};
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `ledger` or `admin`.
    pub kind: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The hash-chained audit trail (ledger transactions and admin actions), newest first.
#[utoipa::path(tag = "admin", params(AuditQuery),
    responses((status = 200, body = Page<Record>)), security(("admin" = [])))]
#[get("/v1/admin/audit")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let limit = validate::limit(q.limit)?;
    let before = match validate::decode_cursor(q.cursor.as_deref())? {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| Error::invalid("cursor", "is not a cursor this API returned"))?,
        ),
    };
    let rows = state
        .db
        .read_async(move |c| chain::list(c, before, q.kind.as_deref(), limit + 1))
        .await?;
    Ok(
        HttpResponse::Ok().json(Page::new(validate::page(rows, limit, |r| {
            r.seq.to_string()
        }))),
    )
}

/// Recompute the whole chain and report the first broken link.
#[utoipa::path(tag = "admin",
    responses((status = 200, body = VerifyReport)), security(("admin" = [])))]
#[get("/v1/admin/audit/verify")]
pub async fn verify(state: web::Data<AppState>, _admin: AdminSession) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.db.read_async(chain::verify).await?))
}
