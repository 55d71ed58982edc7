//! Supplier quality for the admin: defect rates per product and batch, batch withdrawal
//! (audited), and the cross-supplier duplicate flags.

use actix_web::{get, post, web, HttpResponse};

use crate::api::page::{page_query, Page, Paged};
use crate::api::query::Query;
use crate::auth::AdminSession;
use crate::domain::aftersales::quality::{self, ProductQuality, Withdrawal};
use crate::domain::trade::inventory::duplicates::{self, DuplicateFlag, FlagFilter};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// A product's defect rate overall and per batch (cards ticketed and then refunded or
/// replaced ÷ cards delivered), with each batch's unsold and withdrawn cards.
#[utoipa::path(operation_id = "getAdminProductQuality", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = ProductQuality), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[get("/v1/admin/products/{id}/quality")]
pub async fn product_quality(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let q = state
        .db
        .read_async(move |c| quality::for_product(c, &id))
        .await?;
    Ok(HttpResponse::Ok().json(q))
}

/// Withdraw a batch: its unsold cards leave stock (status `withdrawn`); sold ones stay with
/// their orders. Audited.
#[utoipa::path(operation_id = "withdrawAdminBatch", tag = "admin",
    params(("id" = String, Path), ("batch_ref" = String, Path)),
    responses((status = 200, body = Withdrawal), (status = 404, description = "not_found (product or batch)", body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[post("/v1/admin/products/{id}/batches/{batch_ref}/withdraw")]
pub async fn withdraw_batch(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (id, batch_ref) = path.into_inner();
    let now = crate::time::now_ms();
    let w = state
        .db
        .write_async(move |c| quality::withdraw_batch(c, &admin.actor(), &id, &batch_ref, now))
        .await?;
    Ok(HttpResponse::Ok().json(w))
}

page_query! {
    pub struct DuplicateQuery {
        /// The supplier that pushed the codes.
        pub supplier_id: Option<String>,
        pub product_id: Option<String>,
    }
}

/// Pushes of codes another product already held (rejected as `duplicate_elsewhere`), newest
/// first: one flag per code per attempt.
#[utoipa::path(operation_id = "listAdminDuplicates", tag = "admin", params(DuplicateQuery),
    responses((status = 200, body = Page<DuplicateFlag>)), security(("admin" = [])))]
#[get("/v1/admin/duplicates")]
pub async fn list_duplicates(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: Query<DuplicateQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let limit = q.page_size()?;
    let before = q.cursor_seq()?;
    let filter = FlagFilter {
        supplier_id: q.supplier_id,
        product_id: q.product_id,
        before,
        limit,
    };
    let rows = state
        .db
        .read_async(move |c| duplicates::list(c, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |f| f.id.clone())))
}
