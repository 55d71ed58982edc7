//! Admin insight: platform sales analytics, per-product forecasts and slow movers.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::query::Query;
use crate::auth::AdminSession;
use crate::domain::accounts::DEFAULT_CURRENCY;
use crate::domain::insight::analytics::report::{self, PlatformSalesReport};
use crate::domain::insight::analytics::{DayRange, GroupBy};
use crate::domain::insight::forecast::{self, ProductForecast, SlowMover};
use crate::domain::validate;
use crate::error::{Error, Problem, Result};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlatformSalesQuery {
    /// First day, `YYYY-MM-DD` (UTC) or an RFC 3339 time; default: 29 days before `to`.
    pub from: Option<String>,
    /// Last day, inclusive; default: today (UTC).
    pub to: Option<String>,
    /// `day` (default), `product` or `region`.
    pub group_by: Option<String>,
    /// Orders in this currency only (amounts in different currencies are never added);
    /// default `CNY`.
    pub currency: Option<String>,
}

/// Platform sales: GMV, supplier cost, margin, refunds and refund rate, grouped, with the top
/// products and resellers.
#[utoipa::path(operation_id = "getAdminSalesReport", tag = "admin", params(PlatformSalesQuery),
    responses((status = 200, body = PlatformSalesReport)), security(("admin" = [])))]
#[get("/v1/admin/analytics/sales")]
pub async fn sales(
    state: web::Data<AppState>,
    _admin: AdminSession,
    query: Query<PlatformSalesQuery>,
) -> Result<HttpResponse> {
    let q = query.into_inner();
    let range = DayRange::parse(q.from.as_deref(), q.to.as_deref(), crate::time::now_ms())?;
    let by = GroupBy::parse(q.group_by.as_deref())?;
    let currency = validate::currency(
        "currency",
        q.currency.as_deref().unwrap_or(DEFAULT_CURRENCY),
    )?;
    state.settled().await?;
    let report = state
        .db
        .read_async(move |c| report::platform_sales(c, &currency, range, by))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// A product's expected daily sales for the next 14 days (additive Holt-Winters with a weekly
/// season over the last 12 weeks) and the days its stock lasts.
#[utoipa::path(operation_id = "getAdminProductForecast", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = ProductForecast), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("admin" = [])))]
#[get("/v1/admin/products/{id}/forecast")]
pub async fn product_forecast(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let id = id.into_inner();
    state.settled().await?;
    let f = state
        .db
        .read_async(move |c| forecast::for_product(c, &id, crate::time::now_ms()))
        .await?;
    Ok(HttpResponse::Ok().json(f))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlowMoverQuery {
    /// Days of cover above which a product is slow (default 90).
    pub min_days: Option<f64>,
}

/// Card products (on the platform for two weeks or more) whose stock would last more than
/// `min_days` at the forecast rate, or that are not expected to sell at all; slowest first.
#[utoipa::path(operation_id = "listAdminSlowMovers", tag = "admin", params(SlowMoverQuery),
    responses((status = 200, body = Vec<SlowMover>)), security(("admin" = [])))]
#[get("/v1/admin/products/slow-movers")]
pub async fn slow_movers(
    state: web::Data<AppState>,
    _admin: AdminSession,
    query: Query<SlowMoverQuery>,
) -> Result<HttpResponse> {
    let min_days = query.min_days.unwrap_or(forecast::SLOW_MOVER_DAYS);
    if !(min_days.is_finite() && min_days >= 0.0) {
        return Err(Error::invalid(
            "min_days",
            "must be a number of days, 0 or more",
        ));
    }
    state.settled().await?;
    let list = state
        .db
        .read_async(move |c| forecast::slow_movers(c, crate::time::now_ms(), min_days))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}
