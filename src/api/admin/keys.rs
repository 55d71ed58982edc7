use actix_web::{delete, web, HttpResponse};

use crate::auth::AdminSession;
use crate::domain::accounts;
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Revoke any API key at once.
#[utoipa::path(operation_id = "revokeAdminKey", tag = "admin", params(("key_id" = String, Path)),
    responses((status = 204, description = "revoked"), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[delete("/v1/admin/keys/{key_id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    admin: AdminSession,
    key_id: web::Path<String>,
) -> Result<HttpResponse> {
    state
        .db
        .write_async(move |c| accounts::revoke_key(c, &admin.actor(), &key_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
