//! Reseller catalogue: products at this reseller's price, with live stock. A sandbox key sees
//! the sandbox catalogue (`trade::sandbox::catalog`): the same products, stock fixed, plus the
//! trigger products.

use actix_web::{get, web, HttpResponse};

use super::page::{page_query, Page, Paged};
use crate::api::query::Query;
use crate::auth::{Scope, Signed};
use crate::domain::trade::catalog::{self, Category, Product, ProductFilter};
use crate::domain::trade::sandbox;
use crate::error::Result;
use crate::state::AppState;

page_query! {
    pub struct ProductQuery {
        /// Category name.
        pub category: Option<String>,
        /// Text to find in the name or SKU.
        pub q: Option<String>,
        /// `card` or `direct`.
        pub delivery: Option<String>,
    }
}

/// List products at this reseller's price.
#[utoipa::path(operation_id = "listProducts", tag = "catalogue", params(ProductQuery),
    responses((status = 200, body = Page<Product>)), security(("signed" = ["catalog:read"])))]
#[get("/v1/products")]
pub async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    query: Query<ProductQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller_or_sandbox(Scope::CatalogRead)?.clone();
    let q = query.into_inner();
    let after = q.cursor_key()?;
    let limit = q.page_size()?;
    let filter = ProductFilter {
        category: q.category,
        q: q.q,
        delivery: q.delivery,
        supplier_id: None,
        after,
        limit,
    };
    let rows = state
        .db
        .read_async(move |c| match caller.sandbox {
            true => sandbox::catalog::products(c, &caller.owner_id, &filter),
            false => catalog::reseller_products(c, &caller.owner_id, &filter),
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |p| p.id.clone())))
}

/// One product at this reseller's price.
#[utoipa::path(operation_id = "getProduct", tag = "catalogue", params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")), security(("signed" = ["catalog:read"])))]
#[get("/v1/products/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.reseller_or_sandbox(Scope::CatalogRead)?.clone();
    let id = id.into_inner();
    let p = state
        .db
        .read_async(move |c| match caller.sandbox {
            true => sandbox::catalog::product(c, &caller.owner_id, &id),
            false => catalog::reseller_product(c, &caller.owner_id, &id),
        })
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Product categories.
#[utoipa::path(operation_id = "listCategories", tag = "catalogue",
    responses((status = 200, body = Vec<Category>)), security(("signed" = ["catalog:read"])))]
#[get("/v1/categories")]
pub async fn categories(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    signed.reseller_or_sandbox(Scope::CatalogRead)?;
    let cats = state.db.read_async(catalog::list_categories).await?;
    Ok(HttpResponse::Ok().json(cats))
}
