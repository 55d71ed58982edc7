//! The admin side of the typed client (bearer token from `/v1/admin/login`).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{ClientError, ClientResult, RawResponse};
use crate::api::admin::auth::LoginResponse;
use crate::api::Page;
use crate::domain::accounts::keys::IssuedKey;
use crate::domain::accounts::{Reseller, ResellerCreated, SupplierCreated};
use crate::domain::money::chain::VerifyReport;
use crate::domain::trade::catalog::{AdminProduct, NewProduct};
use crate::domain::trade::orders::Order;

#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl AdminClient {
    pub async fn login(
        base_url: &str,
        username: &str,
        password: &str,
    ) -> ClientResult<AdminClient> {
        let http = reqwest::Client::new();
        let base = base_url.trim_end_matches('/').to_string();
        let res = http
            .post(format!("{base}/v1/admin/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await?;
        let raw = RawResponse {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.bytes().await?.to_vec(),
        };
        let login: LoginResponse = raw.json()?;
        Ok(AdminClient {
            http,
            base,
            token: login.token,
        })
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Sends an authenticated request with a JSON body (or none).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> ClientResult<RawResponse> {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        Ok(RawResponse {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.bytes().await?.to_vec(),
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> ClientResult<T> {
        self.send(method, path, body).await?.json()
    }

    pub async fn create_supplier(
        &self,
        name: &str,
        webhook_url: Option<&str>,
    ) -> ClientResult<SupplierCreated> {
        self.call(
            Method::POST,
            "/v1/admin/suppliers",
            Some(json!({ "name": name, "webhook_url": webhook_url })),
        )
        .await
    }

    pub async fn create_reseller(
        &self,
        name: &str,
        level: Option<&str>,
        notify_url: Option<&str>,
    ) -> ClientResult<ResellerCreated> {
        self.call(
            Method::POST,
            "/v1/admin/resellers",
            Some(json!({ "name": name, "level": level, "notify_url": notify_url })),
        )
        .await
    }

    pub async fn reseller(&self, id: &str) -> ClientResult<Reseller> {
        self.call(Method::GET, &format!("/v1/admin/resellers/{id}"), None)
            .await
    }

    pub async fn create_product(&self, p: &NewProduct) -> ClientResult<AdminProduct> {
        self.call(
            Method::POST,
            "/v1/admin/products",
            Some(serde_json::to_value(p).map_err(|e| ClientError::Decode {
                status: 0,
                body: e.to_string(),
            })?),
        )
        .await
    }

    pub async fn update_product(
        &self,
        id: &str,
        patch: serde_json::Value,
    ) -> ClientResult<AdminProduct> {
        self.call(
            Method::PATCH,
            &format!("/v1/admin/products/{id}"),
            Some(patch),
        )
        .await
    }

    pub async fn credit(&self, reseller_id: &str, amount: i64) -> ClientResult<i64> {
        let v: serde_json::Value = self
            .call(
                Method::POST,
                &format!("/v1/admin/resellers/{reseller_id}/credit"),
                Some(json!({ "amount": amount })),
            )
            .await?;
        Ok(v["balance"].as_i64().unwrap_or_default())
    }

    pub async fn put_level(
        &self,
        name: &str,
        discount_bps: i32,
    ) -> ClientResult<serde_json::Value> {
        self.call(
            Method::PUT,
            &format!("/v1/admin/levels/{name}"),
            Some(json!({ "discount_bps": discount_bps })),
        )
        .await
    }

    pub async fn put_price(
        &self,
        reseller_id: &str,
        product_id: &str,
        price: i64,
    ) -> ClientResult<serde_json::Value> {
        self.call(
            Method::PUT,
            &format!("/v1/admin/resellers/{reseller_id}/prices/{product_id}"),
            Some(json!({ "price": price })),
        )
        .await
    }

    pub async fn issue_key(&self, kind: &str, owner_id: &str) -> ClientResult<IssuedKey> {
        self.call(
            Method::POST,
            &format!("/v1/admin/{kind}s/{owner_id}/keys"),
            None,
        )
        .await
    }

    pub async fn revoke_key(&self, key_id: &str) -> ClientResult<()> {
        let res = self
            .send(Method::DELETE, &format!("/v1/admin/keys/{key_id}"), None)
            .await?;
        if res.status.is_success() {
            Ok(())
        } else {
            res.json::<serde_json::Value>().map(|_| ())
        }
    }

    pub async fn orders(&self, query: &str) -> ClientResult<Page<Order>> {
        let path = if query.is_empty() {
            "/v1/admin/orders".to_string()
        } else {
            format!("/v1/admin/orders?{query}")
        };
        self.call(Method::GET, &path, None).await
    }

    pub async fn verify_audit(&self) -> ClientResult<VerifyReport> {
        self.call(Method::GET, "/v1/admin/audit/verify", None).await
    }
}
