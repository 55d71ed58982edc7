//! Supplier side of direct top-ups.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Signed;
use crate::domain::trade::orders::Order;
use crate::domain::trade::topups;
use crate::error::{Error, Problem, Result};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopupResult {
    /// `success` or `failed` (failed refunds the reseller).
    pub status: String,
    pub message: Option<String>,
}

/// Report the result of a direct top-up (once; only the product's supplier).
#[utoipa::path(operation_id = "reportSupplierTopupResult", tag = "supplier", params(("id" = String, Path)),
    request_body = TopupResult,
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the order is not awaiting a result", body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[post("/v1/supplier/orders/{id}/result")]
pub async fn result(
    state: web::Data<AppState>,
    signed: Signed<TopupResult>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let body = signed.body()?;
    let success = match body.status.as_str() {
        "success" => true,
        "failed" => false,
        _ => return Err(Error::invalid("status", "must be `success` or `failed`")),
    };
    let row = state
        .db
        .write_async(move |c| {
            topups::record_result(c, &caller.owner_id, &id, success, body.message.as_deref())
        })
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(row.view(None)))
}
