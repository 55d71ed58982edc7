//! Client methods for money entering and leaving: deposits, supplier settlement, payouts, and
//! a payment provider's signed callback.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{with_query, AdminClient, Client, ClientError, ClientResult, RawResponse};
use crate::api::Page;
use crate::auth::signing::{sign_event, HEADER_SIGNATURE};
use crate::domain::accounts::deposits::{Deposit, NewDeposit};
use crate::domain::accounts::settlement::{NewPayout, Payout, SupplierBalance};
use crate::domain::money::statement::StatementLine;

impl Client {
    /// `POST /v1/deposits`; `.1` is true when opened now (201), false for a repeat (200).
    pub async fn create_deposit(&self, req: &NewDeposit) -> ClientResult<(Deposit, bool)> {
        let body = serde_json::to_vec(req).map_err(|e| ClientError::Decode {
            status: 0,
            body: e.to_string(),
        })?;
        let res = self.send_raw(Method::POST, "/v1/deposits", body).await?;
        Ok((res.json()?, res.status == StatusCode::CREATED))
    }

    pub async fn deposits(&self, query: &str) -> ClientResult<Page<Deposit>> {
        self.get(&with_query("/v1/deposits", query)).await
    }

    pub async fn deposit(&self, id: &str) -> ClientResult<Deposit> {
        self.get(&format!("/v1/deposits/{id}")).await
    }

    /// `GET /v1/supplier/balance`: what the platform owes this supplier.
    pub async fn supplier_balance(&self) -> ClientResult<SupplierBalance> {
        self.get("/v1/supplier/balance").await
    }

    pub async fn supplier_statement(&self, query: &str) -> ClientResult<Page<StatementLine>> {
        self.get(&with_query("/v1/supplier/statement", query)).await
    }
}

impl AdminClient {
    /// `POST /v1/admin/suppliers/{id}/payouts`; `.1` is true when recorded now (201).
    pub async fn record_payout(
        &self,
        supplier_id: &str,
        req: &NewPayout,
    ) -> ClientResult<(Payout, bool)> {
        let body = serde_json::to_value(req).map_err(|e| ClientError::Decode {
            status: 0,
            body: e.to_string(),
        })?;
        let res = self
            .send(
                Method::POST,
                &format!("/v1/admin/suppliers/{supplier_id}/payouts"),
                Some(body),
            )
            .await?;
        Ok((res.json()?, res.status == StatusCode::CREATED))
    }

    pub async fn payouts(&self, supplier_id: &str) -> ClientResult<Page<Payout>> {
        self.send(
            Method::GET,
            &format!("/v1/admin/suppliers/{supplier_id}/payouts"),
            None,
        )
        .await?
        .json()
    }

    pub async fn deposits(&self, query: &str) -> ClientResult<Page<Deposit>> {
        self.send(Method::GET, &with_query("/v1/admin/deposits", query), None)
            .await?
            .json()
    }

    /// `POST /v1/admin/deposits/{id}/confirm`, with the amount received when it differs.
    pub async fn confirm_deposit(&self, id: &str, amount: Option<i64>) -> ClientResult<Deposit> {
        let body = amount.map(|a| json!({ "amount": a }));
        self.send(
            Method::POST,
            &format!("/v1/admin/deposits/{id}/confirm"),
            body,
        )
        .await?
        .json()
    }
}

/// What a payment provider (or the adapter in front of one) sends: `body` to
/// `POST /v1/payments/callback/{provider}`, signed with the provider's secret at `timestamp`
/// the way kameng signs its own events.
pub async fn send_payment_callback(
    http: &reqwest::Client,
    base_url: &str,
    provider: &str,
    secret: &str,
    timestamp: i64,
    body: &[u8],
) -> ClientResult<RawResponse> {
    let res = http
        .post(format!(
            "{}/v1/payments/callback/{provider}",
            base_url.trim_end_matches('/')
        ))
        .header(HEADER_SIGNATURE, sign_event(secret, timestamp, body))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await?;
    RawResponse::read(res).await
}
