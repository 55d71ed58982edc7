//! Client calls for analytics, forecasts and recommendations.

use reqwest::Method;

use super::{with_query, AdminClient, Client, ClientResult};
use crate::api::Page;
use crate::domain::insight::analytics::report::{PlatformSalesReport, ResellerSalesReport};
use crate::domain::insight::forecast::{ProductForecast, SlowMover};
use crate::domain::insight::recommend::Recommendation;

impl Client {
    /// `GET /v1/analytics/sales` with a raw query such as `group_by=product&from=2026-01-01`.
    pub async fn sales_analytics(&self, query: &str) -> ClientResult<ResellerSalesReport> {
        self.get(&with_query("/v1/analytics/sales", query)).await
    }

    /// `GET /v1/recommendations` with a raw query such as `limit=5&region=CN-GD`.
    pub async fn recommendations(&self, query: &str) -> ClientResult<Page<Recommendation>> {
        self.get(&with_query("/v1/recommendations", query)).await
    }
}

impl AdminClient {
    /// `GET /v1/admin/analytics/sales` with a raw query.
    pub async fn sales_analytics(&self, query: &str) -> ClientResult<PlatformSalesReport> {
        self.send(
            Method::GET,
            &with_query("/v1/admin/analytics/sales", query),
            None,
        )
        .await?
        .json()
    }

    pub async fn product_forecast(&self, product_id: &str) -> ClientResult<ProductForecast> {
        self.send(
            Method::GET,
            &format!("/v1/admin/products/{product_id}/forecast"),
            None,
        )
        .await?
        .json()
    }

    /// `GET /v1/admin/products/slow-movers` with a raw query such as `min_days=30`.
    pub async fn slow_movers(&self, query: &str) -> ClientResult<Vec<SlowMover>> {
        self.send(
            Method::GET,
            &with_query("/v1/admin/products/slow-movers", query),
            None,
        )
        .await?
        .json()
    }
}
