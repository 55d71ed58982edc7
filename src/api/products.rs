//! Reseller catalogue: products at this reseller's price, with live stock.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Page;
use crate::auth::{Scope, Signed};
use crate::domain::trade::catalog::{self, Category, Product, ProductFilter};
use crate::domain::validate;
use crate::error::Result;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Category name.
    pub category: Option<String>,
    /// Text to find in the name or SKU.
    pub q: Option<String>,
    /// `card` or `direct`.
    pub delivery: Option<String>,
    /// Page size, 1..200 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List products at this reseller's price.
#[utoipa::path(tag = "catalogue", params(ProductQuery),
    responses((status = 200, body = Page<Product>)), security(("signed" = ["catalog:read"])))]
#[get("/v1/products")]
pub async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    query: web::Query<ProductQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::CatalogRead)?.clone();
    let q = query.into_inner();
    let filter = ProductFilter {
        category: q.category,
        q: q.q,
        delivery: q.delivery,
        supplier_id: None,
        after: validate::decode_cursor(q.cursor.as_deref())?,
        limit: validate::limit(q.limit)?,
    };
    let rows = state
        .db
        .read_async(move |c| catalog::reseller_products(c, &caller.owner_id, &filter))
        .await?;
    let limit = validate::limit(q.limit)?;
    Ok(HttpResponse::Ok().json(Page::new(validate::page(rows, limit, |p| p.id.clone()))))
}

/// One product at this reseller's price.
#[utoipa::path(tag = "catalogue", params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")), security(("signed" = ["catalog:read"])))]
#[get("/v1/products/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::CatalogRead)?.clone();
    let id = id.into_inner();
    let p = state
        .db
        .read_async(move |c| catalog::reseller_product(c, &caller.owner_id, &id))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Product categories.
#[utoipa::path(tag = "catalogue",
    responses((status = 200, body = Vec<Category>)), security(("signed" = ["catalog:read"])))]
#[get("/v1/categories")]
pub async fn categories(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    signed.reseller(Scope::CatalogRead)?;
    let cats = state.db.read_async(catalog::list_categories).await?;
    Ok(HttpResponse::Ok().json(cats))
}
