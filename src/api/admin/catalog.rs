use actix_web::{get, patch, post, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::json_body::JsonBody;
use crate::api::page::{page_query, Page, Paged};
use crate::api::query::Query;
use crate::auth::AdminSession;
use crate::domain::trade::catalog::{
    self, AdminProduct, Category, CategoryPatch, NewProduct, ProductFilter, ProductPatch,
};
use crate::domain::trade::pricing::{self, book::Level};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// All categories.
#[utoipa::path(operation_id = "listAdminCategories", tag = "admin", responses((status = 200, body = Vec<Category>)), security(("admin" = [])))]
#[get("/v1/admin/categories")]
pub async fn list_categories(
    state: web::Data<AppState>,
    _admin: AdminSession,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.db.read_async(catalog::list_categories).await?))
}

/// Rename a category or mark it `licence_required`.
#[utoipa::path(operation_id = "updateAdminCategory", tag = "admin", params(("id" = String, Path)), request_body = CategoryPatch,
    responses((status = 200, body = Category), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict (another category has this name)", body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[patch("/v1/admin/categories/{id}")]
pub async fn update_category(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<CategoryPatch>,
) -> Result<HttpResponse> {
    let c = state
        .db
        .write_async(move |c| catalog::update_category(c, &admin.actor(), &id, &body))
        .await?;
    Ok(HttpResponse::Ok().json(c))
}

/// Create a product (`category` by name; unknown names are created).
#[utoipa::path(operation_id = "createAdminProduct", tag = "admin", request_body = NewProduct,
    responses((status = 201, body = AdminProduct), (status = 409, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[post("/v1/admin/products")]
pub async fn create_product(
    state: web::Data<AppState>,
    admin: AdminSession,
    body: JsonBody<NewProduct>,
) -> Result<HttpResponse> {
    let p = state
        .db
        .write_async(move |c| catalog::create_product(c, &admin.actor(), &body))
        .await?;
    Ok(HttpResponse::Created().json(p))
}

page_query! {
    pub struct AdminProductQuery {
        pub category: Option<String>,
        pub q: Option<String>,
        pub delivery: Option<String>,
        pub supplier_id: Option<String>,
    }
}

/// List products with cost and base price.
#[utoipa::path(operation_id = "listAdminProducts", tag = "admin", params(AdminProductQuery),
    responses((status = 200, body = Page<AdminProduct>)), security(("admin" = [])))]
#[get("/v1/admin/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    _admin: AdminSession,
    q: Query<AdminProductQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let limit = q.page_size()?;
    let after = q.cursor_key()?;
    let filter = ProductFilter {
        category: q.category,
        q: q.q,
        delivery: q.delivery,
        supplier_id: q.supplier_id,
        after,
        limit,
    };
    let views = state
        .db
        .read_async(move |c| catalog::admin_products(c, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(views, limit, |p| p.product.id.clone())))
}

/// One product with cost and base price.
#[utoipa::path(operation_id = "getAdminProduct", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AdminProduct), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[get("/v1/admin/products/{id}")]
pub async fn get_product(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let p = state
        .db
        .read_async(move |c| catalog::admin_product(c, &id))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Change a product's price, status and the rest.
#[utoipa::path(operation_id = "updateAdminProduct", tag = "admin", params(("id" = String, Path)), request_body = ProductPatch,
    responses((status = 200, body = AdminProduct), (status = 404, body = Problem, content_type = "application/problem+json")), security(("admin" = [])))]
#[patch("/v1/admin/products/{id}")]
pub async fn update_product(
    state: web::Data<AppState>,
    admin: AdminSession,
    id: web::Path<String>,
    body: JsonBody<ProductPatch>,
) -> Result<HttpResponse> {
    let p = state
        .db
        .write_async(move |c| catalog::update_product(c, &admin.actor(), &id, &body))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelRequest {
    /// Discount off the base price in basis points, 0..10000.
    pub discount_bps: i32,
}

/// Create or change a price level.
#[utoipa::path(operation_id = "setAdminLevelDiscount", tag = "admin", params(("name" = String, Path)), request_body = LevelRequest,
    responses((status = 200, body = Level)), security(("admin" = [])))]
#[put("/v1/admin/levels/{name}")]
pub async fn put_level(
    state: web::Data<AppState>,
    admin: AdminSession,
    name: web::Path<String>,
    body: JsonBody<LevelRequest>,
) -> Result<HttpResponse> {
    let bps = body.discount_bps;
    let l = state
        .db
        .write_async(move |c| pricing::book::put_level(c, &admin.actor(), &name, bps))
        .await?;
    Ok(HttpResponse::Ok().json(l))
}

/// All price levels.
#[utoipa::path(operation_id = "listAdminLevels", tag = "admin", responses((status = 200, body = Vec<Level>)), security(("admin" = [])))]
#[get("/v1/admin/levels")]
pub async fn list_levels(state: web::Data<AppState>, _admin: AdminSession) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.db.read_async(pricing::book::list_levels).await?))
}
