use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json_body::JsonBody;
use crate::auth::admin;
use crate::error::{Problem, Result};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `/v1/admin/...`.
    pub token: String,
    pub expires_at: String,
}

/// Exchange an admin's username and password for a session token.
#[utoipa::path(operation_id = "loginAdmin", tag = "admin", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
#[post("/v1/admin/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<LoginRequest>,
) -> Result<HttpResponse> {
    if let Some(peer) = req.peer_addr() {
        state.limits.check_login(peer.ip())?;
    }
    let body = body.into_inner();
    let st = state.clone();
    let (id, username) = state
        .db
        .read_async(move |c| admin::authenticate(c, &body.username, &body.password))
        .await?;
    let (token, exp) = admin::issue_token(
        &st.vault,
        &id,
        &username,
        st.config.admin_token_ttl.as_secs() as i64,
    )?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        token,
        expires_at: crate::time::rfc3339(exp * 1000),
    }))
}
