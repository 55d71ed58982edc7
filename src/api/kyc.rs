//! A reseller's real-name verification request and its (masked) state.

use actix_web::{get, post, web, HttpResponse};

use crate::auth::{Scope, Signed};
use crate::domain::accounts::keys::require_full_access;
use crate::domain::accounts::kyc::{self, Kyc, KycRequest};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Submit real-name details for review; the account becomes `pending` (202). The details are
/// stored encrypted and only ever shown masked. Naming the legal person behind the account is
/// an owner's act, so like key management it needs a key holding every scope.
#[utoipa::path(operation_id = "submitKyc", tag = "account", request_body = KycRequest,
    responses(
        (status = 202, description = "submitted; an admin reviews it", body = Kyc),
        (status = 409, description = "conflict (already verified)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = ["catalog:read", "orders:read", "orders:write", "account:read", "tickets:write", "sub_resellers:write"])))]
#[post("/v1/account/kyc")]
pub async fn submit(
    state: web::Data<AppState>,
    signed: Signed<KycRequest>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    require_full_access(&caller)?;
    let req = signed.body()?;
    let st = state.clone();
    let kyc = state
        .db
        .write_async(move |c| kyc::submit(c, &st.vault, &caller.owner_id, &req))
        .await?;
    Ok(HttpResponse::Accepted().json(kyc))
}

/// This reseller's real-name verification state, details masked.
#[utoipa::path(operation_id = "getKyc", tag = "account",
    responses((status = 200, body = Kyc)), security(("signed" = ["account:read"])))]
#[get("/v1/account/kyc")]
pub async fn get(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let st = state.clone();
    let kyc = state
        .db
        .read_async(move |c| kyc::get(c, &st.vault, &caller.owner_id))
        .await?;
    Ok(HttpResponse::Ok().json(kyc))
}
