//! Supplier endpoints: stock push and own products.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Signed;
use crate::db::DbConn;
use crate::domain::aftersales::quality;
use crate::domain::insight::analytics::report::SupplierSales;
use crate::domain::insight::forecast::{self, Forecast};
use crate::domain::trade::catalog::{self, ProductFilter};
use crate::domain::trade::inventory::{self, PushCards, PushResult};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Push card codes into a product's stock (up to 10,000 a request).
#[utoipa::path(operation_id = "pushSupplierCards", tag = "supplier", params(("id" = String, Path)),
    request_body = PushCards,
    responses((status = 200, body = PushResult), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[post("/v1/supplier/products/{id}/cards")]
pub async fn push_cards(
    state: web::Data<AppState>,
    signed: Signed<PushCards>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let req = signed.body()?;
    let id = id.into_inner();
    let res =
        inventory::push_in_slices(&state.db, state.vault.clone(), caller.owner_id, id, req).await?;
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
    /// Cards delivered to buyers, and of those the ones ticketed and then refunded or replaced.
    #[serde(default)]
    pub delivered: i64,
    #[serde(default)]
    pub defective: i64,
    /// defective ÷ delivered (0 when nothing was delivered), rounded to 4 decimals.
    #[serde(default)]
    pub defect_rate: f64,
    /// The same per batch (`batch_ref` of the push).
    #[serde(default)]
    pub batches: Vec<quality::BatchQuality>,
    /// Just-in-time fulfilment calls this supplier failed for the product.
    #[serde(default)]
    pub jit_failures: i64,
    /// Sales over the last 30 days, today included.
    pub sales: SupplierSales,
    /// Expected daily sales for the next 14 days and the days the stock lasts.
    pub forecast: Forecast,
}

/// This supplier's products with their stock, defect rates, recent sales and sales forecast.
#[utoipa::path(operation_id = "listSupplierProducts", tag = "supplier",
    responses((status = 200, body = Vec<SupplierProduct>)), security(("signed" = [])))]
#[get("/v1/supplier/products")]
pub async fn products(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    state.settled().await?;
    let out = state
        .db
        .read_async(move |c| supplier_products(c, &caller.owner_id, crate::time::now_ms()))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// A supplier's products with their outlook (`insight`) and quality (`aftersales`). Joined here
/// rather than in the domain: those two contexts are siblings, and neither may import the other.
fn supplier_products(
    c: &mut DbConn,
    supplier_id: &str,
    now_ms: i64,
) -> Result<Vec<SupplierProduct>> {
    let filter = ProductFilter {
        supplier_id: Some(supplier_id.to_string()),
        limit: 10_000,
        ..Default::default()
    };
    let rows = catalog::list_rows(c, &filter)?;
    let mut outlooks = forecast::outlooks(c, &rows, now_ms)?;
    let mut quality = quality::for_supplier(c, supplier_id)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let outlook = outlooks.remove(&r.id).unwrap_or_default();
            // Products without cards have no quality figures: zeros.
            let q = quality.remove(&r.id).unwrap_or_default();
            SupplierProduct {
                id: r.id,
                sku: r.sku,
                name: r.name,
                delivery: r.delivery.to_string(),
                status: r.status.to_string(),
                cost: r.cost,
                currency: r.currency,
                stock: r.stock,
                low_stock_threshold: r.low_stock_threshold,
                delivered: q.delivered,
                defective: q.defective,
                defect_rate: q.defect_rate,
                batches: q.batches,
                jit_failures: q.jit_failures,
                sales: outlook.sales,
                forecast: outlook.forecast,
            }
        })
        .collect())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierProductPatch {
    /// A count of codes: `stock.low` (data: `StockLow`) fires when the stock falls below this
    /// or covers fewer than `KAMENG_STOCK_LOW_DAYS` days of forecast sales, whichever comes
    /// first; null leaves only days of cover.
    pub low_stock_threshold: Option<i64>,
}

/// Set the low-stock threshold of one of this supplier's products.
#[utoipa::path(operation_id = "updateSupplierProduct", tag = "supplier", params(("id" = String, Path)),
    request_body = SupplierProductPatch,
    responses((status = 200, body = SupplierProductPatch), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("signed" = [])))]
#[patch("/v1/supplier/products/{id}")]
pub async fn update_product(
    state: web::Data<AppState>,
    signed: Signed<SupplierProductPatch>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.supplier()?.clone();
    let body = signed.body()?;
    if body.low_stock_threshold.is_some_and(|t| t < 0) {
        return Err(crate::error::Error::invalid(
            "low_stock_threshold",
            "must not be negative",
        ));
    }
    let threshold = body.low_stock_threshold;
    let id = id.into_inner();
    state
        .db
        .write_async(move |c| catalog::set_low_stock_threshold(c, &caller.owner_id, &id, threshold))
        .await?;
    Ok(HttpResponse::Ok().json(SupplierProductPatch {
        low_stock_threshold: threshold,
    }))
}
