//! Client methods for gift links: the buyer's (signed) and the holder's (unsigned).

use reqwest::Method;

use super::{new_nonce, with_query, Client, ClientResult, RawResponse};
use crate::api::Page;
use crate::domain::trade::claims::{ClaimLink, PublicClaim, Redeemed};

impl Client {
    /// `GET /v1/orders/{id}/claims`: one page of an order's gift links.
    pub async fn order_claims(&self, id: &str, query: &str) -> ClientResult<Page<ClaimLink>> {
        self.get(&with_query(&format!("/v1/orders/{id}/claims"), query))
            .await
    }

    /// The same list as CSV (`Accept: text/csv`).
    pub async fn order_claims_csv(&self, id: &str, query: &str) -> ClientResult<String> {
        let ts = crate::time::now_secs().to_string();
        let res = self
            .send_signed_with(
                Method::GET,
                &with_query(&format!("/v1/orders/{id}/claims"), query),
                Vec::new(),
                (&ts, &new_nonce()),
                &[("accept", "text/csv")],
            )
            .await?;
        if !res.status.is_success() {
            // The problem document, as an error.
            return res.json::<String>();
        }
        Ok(String::from_utf8_lossy(&res.body).into_owned())
    }

    /// `DELETE /v1/orders/{id}/claims/{claim_id}`.
    pub async fn revoke_claim(&self, order_id: &str, claim_id: &str) -> ClientResult<ClaimLink> {
        self.call(
            Method::DELETE,
            &format!("/v1/orders/{order_id}/claims/{claim_id}"),
            None::<&()>,
        )
        .await
    }
}

/// Whoever holds a gift link: no key, the token is the credential.
#[derive(Clone)]
pub struct ClaimHolder {
    http: reqwest::Client,
    base: String,
}

impl ClaimHolder {
    pub fn new(base_url: &str) -> ClaimHolder {
        ClaimHolder::with_http(reqwest::Client::new(), base_url)
    }

    /// Shares one connection pool among several holders.
    pub fn with_http(http: reqwest::Client, base_url: &str) -> ClaimHolder {
        ClaimHolder {
            http,
            base: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// `GET /v1/claims/{token}`, as sent and answered.
    pub async fn see_raw(&self, token: &str) -> ClientResult<RawResponse> {
        self.send(Method::GET, &format!("/v1/claims/{token}")).await
    }

    /// `POST /v1/claims/{token}/redeem`, as sent and answered.
    pub async fn redeem_raw(&self, token: &str) -> ClientResult<RawResponse> {
        self.send(Method::POST, &format!("/v1/claims/{token}/redeem"))
            .await
    }

    pub async fn see(&self, token: &str) -> ClientResult<PublicClaim> {
        self.see_raw(token).await?.json()
    }

    pub async fn redeem(&self, token: &str) -> ClientResult<Redeemed> {
        self.redeem_raw(token).await?.json()
    }

    async fn send(&self, method: Method, path: &str) -> ClientResult<RawResponse> {
        let res = self
            .http
            .request(method, format!("{}{path}", self.base))
            .send()
            .await?;
        Ok(RawResponse {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.bytes().await?.to_vec(),
        })
    }
}
