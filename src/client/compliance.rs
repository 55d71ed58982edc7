//! Client methods for scoped keys, real-name verification and licences.

use reqwest::Method;
use serde_json::json;

use super::{with_query, AdminClient, Client, ClientResult};
use crate::api::Page;
use crate::domain::accounts::keys::{ApiKey, NewKey};
use crate::domain::accounts::kyc::{Kyc, KycRequest};
use crate::domain::accounts::licences::{Licence, NewLicence};
use crate::domain::trade::catalog::Category;

impl Client {
    // --- reseller ---

    /// `POST /v1/keys`: the returned key carries its `secret` (shown this once).
    pub async fn create_key(&self, req: &NewKey) -> ClientResult<ApiKey> {
        self.call(Method::POST, "/v1/keys", Some(req)).await
    }

    pub async fn keys(&self, query: &str) -> ClientResult<Page<ApiKey>> {
        self.get(&with_query("/v1/keys", query)).await
    }

    /// `DELETE /v1/keys/{key_id}`.
    pub async fn revoke_key(&self, key_id: &str) -> ClientResult<()> {
        let res = self
            .send_raw(Method::DELETE, &format!("/v1/keys/{key_id}"), Vec::new())
            .await?;
        if res.status.is_success() {
            Ok(())
        } else {
            res.json::<serde_json::Value>().map(|_| ())
        }
    }

    pub async fn submit_kyc(&self, req: &KycRequest) -> ClientResult<Kyc> {
        self.call(Method::POST, "/v1/account/kyc", Some(req)).await
    }

    pub async fn kyc(&self) -> ClientResult<Kyc> {
        self.get("/v1/account/kyc").await
    }

    // --- supplier ---

    pub async fn submit_licence(&self, req: &NewLicence) -> ClientResult<Licence> {
        self.call(Method::POST, "/v1/supplier/licences", Some(req))
            .await
    }

    pub async fn licences(&self, query: &str) -> ClientResult<Page<Licence>> {
        self.get(&with_query("/v1/supplier/licences", query)).await
    }
}

impl AdminClient {
    pub async fn reseller_kyc(&self, reseller_id: &str) -> ClientResult<Kyc> {
        self.send(
            Method::GET,
            &format!("/v1/admin/resellers/{reseller_id}/kyc"),
            None,
        )
        .await?
        .json()
    }

    /// `decision`: `verified` or `rejected`.
    pub async fn decide_kyc(&self, reseller_id: &str, decision: &str) -> ClientResult<Kyc> {
        self.send(
            Method::POST,
            &format!("/v1/admin/resellers/{reseller_id}/kyc"),
            Some(json!({ "decision": decision })),
        )
        .await?
        .json()
    }

    pub async fn licences(&self, query: &str) -> ClientResult<Page<Licence>> {
        self.send(Method::GET, &with_query("/v1/admin/licences", query), None)
            .await?
            .json()
    }

    /// `decision`: `approved` or `rejected`.
    pub async fn review_licence(&self, id: &str, decision: &str) -> ClientResult<Licence> {
        self.send(
            Method::POST,
            &format!("/v1/admin/licences/{id}/review"),
            Some(json!({ "decision": decision })),
        )
        .await?
        .json()
    }

    pub async fn categories(&self) -> ClientResult<Vec<Category>> {
        self.send(Method::GET, "/v1/admin/categories", None)
            .await?
            .json()
    }

    pub async fn update_category(
        &self,
        id: &str,
        patch: serde_json::Value,
    ) -> ClientResult<Category> {
        self.send(
            Method::PATCH,
            &format!("/v1/admin/categories/{id}"),
            Some(patch),
        )
        .await?
        .json()
    }

    /// Suspends (`suspended`) or reactivates (`active`) a reseller or supplier; `kind` is
    /// `reseller` or `supplier`.
    pub async fn set_account_status(
        &self,
        kind: &str,
        id: &str,
        status: &str,
    ) -> ClientResult<serde_json::Value> {
        self.send(
            Method::PATCH,
            &format!("/v1/admin/{kind}s/{id}"),
            Some(json!({ "status": status })),
        )
        .await?
        .json()
    }
}
