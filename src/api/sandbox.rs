//! The sandbox's own endpoint: start again. Everything else a sandbox key does goes through the
//! live endpoints (catalogue, orders, account), which serve it the sandbox world.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Scope, Signed};
use crate::domain::trade::sandbox;
use crate::error::{Error, Problem, Result};
use crate::state::AppState;

/// What a reset left.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SandboxReset {
    /// The sandbox balance after the reset (always 1,000,000 minor units).
    pub balance: i64,
    pub sandbox: bool,
}

/// Reset the sandbox: the sandbox balance back to 1,000,000 and this account's sandbox orders
/// forgotten. Sandbox keys only.
#[utoipa::path(tag = "sandbox", operation_id = "resetSandbox",
    responses(
        (status = 200, description = "the sandbox was reset", body = SandboxReset),
        (status = 403, description = "forbidden (a live key) or insufficient_scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = ["orders:write"])))]
#[post("/v1/sandbox/reset")]
pub async fn reset(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.reseller_or_sandbox(Scope::OrdersWrite)?.clone();
    if !caller.sandbox {
        return Err(Error::Forbidden(
            "only a sandbox key can reset the sandbox".into(),
        ));
    }
    let now = crate::time::now_ms();
    let balance = state
        .db
        .write_async(move |c| sandbox::orders::reset(c, &caller.owner_id, now))
        .await?;
    Ok(HttpResponse::Ok().json(SandboxReset {
        balance,
        sandbox: true,
    }))
}
