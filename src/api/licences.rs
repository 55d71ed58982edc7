//! Supplier licences: file one for review, list your own.

use actix_web::{get, post, web, HttpResponse};

use super::page::{page_query, Page, Paged};
use crate::api::query::{status_filter, Query, LICENCE_STATES};
use crate::auth::Signed;
use crate::domain::accounts::licences::{self, Licence, LicenceFilter, NewLicence};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// File a licence (proof of the right to distribute) for one product, or for all of this
/// supplier's products when `product_id` is omitted. It is `pending` until an admin reviews it;
/// products in a `licence_required` category sell only under an approved, unexpired licence.
#[utoipa::path(operation_id = "submitSupplierLicence", tag = "supplier", request_body = NewLicence,
    responses(
        (status = 201, body = Licence),
        (status = 404, description = "not_found (product)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = [])))]
#[post("/v1/supplier/licences")]
pub async fn submit(
    state: web::Data<AppState>,
    signed: Signed<NewLicence>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let req = signed.body()?;
    let now = crate::time::now_ms();
    let licence = state
        .db
        .write_async(move |c| licences::submit(c, &caller.owner_id, &req, now))
        .await?;
    Ok(HttpResponse::Created().json(licence))
}

page_query! {
    pub struct LicenceQuery {
        /// `pending`, `approved` or `rejected`.
        pub status: Option<String>,
    }
}

/// This supplier's licences, oldest first.
#[utoipa::path(operation_id = "listSupplierLicences", tag = "supplier", params(LicenceQuery),
    responses((status = 200, body = Page<Licence>)), security(("signed" = [])))]
#[get("/v1/supplier/licences")]
pub async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    q: Query<LicenceQuery>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let q = q.into_inner();
    let limit = q.page_size()?;
    let after = q.cursor_key()?;
    let filter = LicenceFilter {
        supplier_id: Some(caller.owner_id),
        status: status_filter(q.status, &LICENCE_STATES)?,
        after,
        limit,
    };
    licence_page(&state, filter).await
}

/// A page of licences matching `filter` (the supplier's own list and the admin's queue).
pub(crate) async fn licence_page(state: &AppState, filter: LicenceFilter) -> Result<HttpResponse> {
    let limit = filter.limit;
    let rows = state
        .db
        .read_async(move |c| licences::list(c, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |l| l.id.clone())))
}
