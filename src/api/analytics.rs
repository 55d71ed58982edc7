//! Reseller insight: sales analytics over its own orders, and product recommendations.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Page;
use crate::api::query::Query;
use crate::auth::{Scope, Signed};
use crate::domain::insight::analytics::report::{self, ResellerSalesReport};
use crate::domain::insight::analytics::{DayRange, GroupBy};
use crate::domain::insight::recommend::{self, Recommendation};
use crate::error::{Error, Result};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesQuery {
    /// First day, `YYYY-MM-DD` (UTC) or an RFC 3339 time; default: 29 days before `to`.
    pub from: Option<String>,
    /// Last day, inclusive; default: today (UTC).
    pub to: Option<String>,
    /// `day` (default), `product` or `region` (the `buyer.region` given with each order).
    pub group_by: Option<String>,
}

/// This reseller's sales: orders, units, amount and refunds per day, product or buyer region.
#[utoipa::path(operation_id = "getSalesReport", tag = "insight", params(SalesQuery),
    responses((status = 200, body = ResellerSalesReport)), security(("signed" = ["orders:read"])))]
#[get("/v1/analytics/sales")]
pub async fn sales(
    state: web::Data<AppState>,
    signed: Signed,
    query: Query<SalesQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::OrdersRead)?.clone();
    let q = query.into_inner();
    let range = DayRange::parse(q.from.as_deref(), q.to.as_deref(), crate::time::now_ms())?;
    let by = GroupBy::parse(q.group_by.as_deref())?;
    state.settled().await?;
    let report = state
        .db
        .read_async(move |c| report::reseller_sales(c, &caller.owner_id, range, by))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecommendationQuery {
    /// Where this reseller's buyers are, when its own orders do not say yet (new resellers).
    pub region: Option<String>,
    /// How many, 1..=50 (default 10).
    pub limit: Option<i64>,
}

/// Products this reseller does not sell yet, each with the reason it is suggested: what
/// resellers with similar sales sell well, else what sells in its buyers' regions, else the
/// platform's bestsellers.
#[utoipa::path(operation_id = "listRecommendations", tag = "insight", params(RecommendationQuery),
    responses((status = 200, body = Page<Recommendation>)), security(("signed" = ["catalog:read"])))]
#[get("/v1/recommendations")]
pub async fn recommendations(
    state: web::Data<AppState>,
    signed: Signed,
    query: Query<RecommendationQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::CatalogRead)?.clone();
    let q = query.into_inner();
    let limit = match q.limit {
        None => 10,
        Some(n) if (1..=recommend::MAX_LIMIT).contains(&n) => n as usize,
        Some(_) => return Err(Error::invalid("limit", "must be between 1 and 50")),
    };
    let region = q.region.filter(|r| !r.is_empty());
    // Characters, not bytes, as the document's `maxLength` counts them.
    if region.as_ref().is_some_and(|r| r.chars().count() > 64) {
        return Err(Error::invalid("region", "must be at most 64 characters"));
    }
    let st = state.clone();
    state.settled().await?;
    let data = state
        .db
        .read_async(move |c| {
            let snapshot = st.sales_snapshot.get(c, crate::time::now_ms())?;
            recommend::for_reseller(c, &snapshot, &caller.owner_id, region.as_deref(), limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        data,
        next_cursor: None,
    }))
}
