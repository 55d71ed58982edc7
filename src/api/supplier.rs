//! Supplier endpoints: stock push and own products.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Signed;
use crate::domain::analytics::report::SupplierSales;
use crate::domain::catalog::{self, ProductFilter};
use crate::domain::forecast::{self, Forecast};
use crate::domain::inventory::{self, PushCards, PushResult};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Push card codes into a product's stock (up to 10,000 a request).
#[utoipa::path(post, path = "/v1/supplier/products/{id}/cards", tag = "supplier", params(("id" = String, Path)),
    request_body = PushCards,
    responses((status = 200, body = PushResult), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[post("/v1/supplier/products/{id}/cards")]
pub async fn push_cards(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let req: PushCards = signed.json()?;
    let id = id.into_inner();
    let st = state.clone();
    let res = state
        .db
        .write_async(move |c| inventory::push(c, &st.vault, &caller.owner_id, &id, &req))
        .await?;
    Ok(HttpResponse::Ok().json(res))
}

/// A supplier's view of one of its products.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SupplierProduct {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub delivery: String,
    pub status: String,
    /// What the supplier is paid per unit.
    pub cost: i64,
    pub currency: String,
    /// Available codes.
    pub stock: i64,
    pub low_stock_threshold: Option<i64>,
    /// Sales over the last 30 days, today included.
    pub sales: SupplierSales,
    /// Expected daily sales for the next 14 days and the days the stock lasts.
    pub forecast: Forecast,
}

/// This supplier's products with their stock, recent sales and sales forecast.
#[utoipa::path(get, path = "/v1/supplier/products", tag = "supplier",
    responses((status = 200, body = Vec<SupplierProduct>)), security(("signed" = [])))]
#[get("/v1/supplier/products")]
pub async fn products(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let (rows, mut outlooks) = state
        .db
        .read_async(move |c| {
            let rows = catalog::list_rows(
                c,
                &ProductFilter {
                    supplier_id: Some(caller.owner_id),
                    limit: 10_000,
                    ..Default::default()
                },
            )?;
            let outlooks = forecast::outlooks(c, &rows, crate::time::now_ms())?;
            Ok((rows, outlooks))
        })
        .await?;
    let out: Vec<SupplierProduct> = rows
        .into_iter()
        .map(|r| {
            let outlook = outlooks.remove(&r.id).unwrap_or_default();
            (r, outlook)
        })
        .map(|(r, outlook)| SupplierProduct {
            id: r.id,
            sku: r.sku,
            name: r.name,
            delivery: r.delivery,
            status: r.status,
            cost: r.cost,
            currency: r.currency,
            stock: r.stock,
            low_stock_threshold: r.low_stock_threshold,
            sales: outlook.sales,
            forecast: outlook.forecast,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}
