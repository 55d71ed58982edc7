//! Admin compliance reviews: resellers' real-name submissions and suppliers' licences. Every
//! decision is recorded in the audit chain with the acting admin.

use actix_web::{get, post, web, HttpResponse};

use crate::api::json_body::JsonBody;
use crate::api::page::{page_query, Page, Paged};
use crate::api::query::{status_filter, Query, LICENCE_STATES};
use crate::auth::AdminSession;
use crate::domain::accounts::kyc::{self, Kyc, KycDecision};
use crate::domain::accounts::licences::{self, Licence, LicenceFilter, LicenceReview};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// A reseller's real-name submission, masked (the admin sees no more than the reseller does).
#[utoipa::path(operation_id = "getAdminResellerKyc", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Kyc), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[get("/v1/admin/resellers/{id}/kyc")]
pub async fn get_kyc(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let st = state.clone();
    let k = state
        .db
        .read_async(move |c| kyc::get(c, &st.vault, &id))
        .await?;
    Ok(HttpResponse::Ok().json(k))
}

/// Decide a pending real-name submission: `verified` lifts the unverified daily limit.
#[utoipa::path(operation_id = "decideAdminResellerKyc", tag = "admin", params(("id" = String, Path)),
    request_body = KycDecision,
    responses((status = 200, body = Kyc), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (nothing pending)", body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[post("/v1/admin/resellers/{id}/kyc")]
pub async fn decide_kyc(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<KycDecision>,
) -> Result<HttpResponse> {
    let st = state.clone();
    let k = state
        .db
        .write_async(move |c| kyc::decide(c, &st.vault, &admin.actor(), &id, &body))
        .await?;
    Ok(HttpResponse::Ok().json(k))
}

page_query! {
    pub struct AdminLicenceQuery {
        /// `pending`, `approved` or `rejected`.
        pub status: Option<String>,
        pub supplier_id: Option<String>,
    }
}

/// Suppliers' licences, oldest first (`?status=pending` is the review queue).
#[utoipa::path(operation_id = "listAdminLicences", tag = "admin", params(AdminLicenceQuery),
    responses((status = 200, body = Page<Licence>)), security(("admin" = [])))]
#[get("/v1/admin/licences")]
pub async fn list_licences(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: Query<AdminLicenceQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let limit = q.page_size()?;
    let after = q.cursor_key()?;
    let filter = LicenceFilter {
        supplier_id: q.supplier_id,
        status: status_filter(q.status, &LICENCE_STATES)?,
        after,
        limit,
    };
    crate::api::licences::licence_page(&state, filter).await
}

/// Approve or reject a pending licence, or reject (revoke) an approved one. Approval puts back
/// on sale the products the licence sweep had taken off for want of it.
#[utoipa::path(operation_id = "reviewAdminLicence", tag = "admin", params(("id" = String, Path)),
    request_body = LicenceReview,
    responses((status = 200, body = Licence), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (already decided, or expired)", body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[post("/v1/admin/licences/{id}/review")]
pub async fn review_licence(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<LicenceReview>,
) -> Result<HttpResponse> {
    let now = crate::time::now_ms();
    let l = state
        .db
        .write_async(move |c| licences::review(c, &admin.actor(), &id, &body, now))
        .await?;
    Ok(HttpResponse::Ok().json(l))
}
