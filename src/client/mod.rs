//! A typed async client for kameng's reseller, supplier and admin APIs, with SPEC.md's request
//! signing built in. The integration tests, the examples and the load tool all use it.

mod admin;
mod claims;
mod compliance;
mod insight;
mod money;
mod network;
mod support;
mod tickets;
mod webhooks;

pub use webhooks::Webhooks;

pub use admin::AdminClient;
pub use claims::ClaimHolder;
pub use money::send_payment_callback;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::Page;
use crate::auth::signing::{self, HEADER_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use crate::domain::accounts::Reseller;
use crate::domain::money::receipts::{Jwks, ReceiptClaims};
use crate::domain::trade::catalog::{Category, Product};
use crate::domain::trade::fulfilment::{Fulfilment, FulfilmentSettings};
use crate::domain::trade::inventory::{PushCards, PushResult};
use crate::domain::trade::orders::{Order, OrderRequest};
use crate::error::Problem;

pub use crate::api::supplier::SupplierProduct;
pub use crate::domain::money::statement::StatementLine;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem document.
    #[error("{status}: {} ({})", problem.code, problem.detail)]
    Api { status: u16, problem: Box<Problem> },
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected response {status}: {body}")]
    Decode { status: u16, body: String },
}

impl ClientError {
    /// The problem `code`, when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { problem, .. } => Some(&problem.code),
            _ => None,
        }
    }
}

pub type ClientResult<T> = Result<T, ClientError>;

/// A raw response, for callers that want the status and headers too.
#[derive(Debug)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Reads a whole response.
    pub async fn read(res: reqwest::Response) -> ClientResult<RawResponse> {
        Ok(RawResponse {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.bytes().await?.to_vec(),
        })
    }

    pub fn json<T: DeserializeOwned>(&self) -> ClientResult<T> {
        if !self.status.is_success() {
            return Err(match serde_json::from_slice::<Problem>(&self.body) {
                Ok(problem) => ClientError::Api {
                    status: self.status.as_u16(),
                    problem: Box::new(problem),
                },
                Err(_) => self.decode_error(),
            });
        }
        serde_json::from_slice(&self.body).map_err(|_| self.decode_error())
    }

    fn decode_error(&self) -> ClientError {
        ClientError::Decode {
            status: self.status.as_u16(),
            body: String::from_utf8_lossy(&self.body).into_owned(),
        }
    }

    pub fn problem(&self) -> Option<Problem> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A fresh random nonce.
pub fn new_nonce() -> String {
    crate::crypto::random_token("n", 12)
}

/// Signs and sends requests with one API key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key_id: String,
    secret: String,
}

impl Client {
    pub fn new(base_url: &str, key_id: &str, secret: &str) -> Client {
        Client::with_http(reqwest::Client::new(), base_url, key_id, secret)
    }

    /// Shares one connection pool among several clients.
    pub fn with_http(http: reqwest::Client, base_url: &str, key_id: &str, secret: &str) -> Client {
        Client {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            key_id: key_id.into(),
            secret: secret.into(),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Sends a signed request with exactly these body bytes; `path_and_query` as it will be sent.
    pub async fn send_raw(
        &self,
        method: Method,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> ClientResult<RawResponse> {
        let ts = crate::time::now_secs().to_string();
        self.send_signed(method, path_and_query, body, &ts, &new_nonce())
            .await
    }

    /// Like [`Client::send_raw`] with a chosen timestamp and nonce (for tests of the scheme).
    pub async fn send_signed(
        &self,
        method: Method,
        path_and_query: &str,
        body: Vec<u8>,
        ts: &str,
        nonce: &str,
    ) -> ClientResult<RawResponse> {
        let res = self
            .signed_request(method, path_and_query, body, ts, nonce)
            .send()
            .await?;
        RawResponse::read(res).await
    }

    /// Like [`Client::send_signed`] with extra (unsigned) headers, such as `Accept`.
    pub async fn send_signed_with(
        &self,
        method: Method,
        path_and_query: &str,
        body: Vec<u8>,
        (ts, nonce): (&str, &str),
        headers: &[(&str, &str)],
    ) -> ClientResult<RawResponse> {
        let mut req = self.signed_request(method, path_and_query, body, ts, nonce);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        RawResponse::read(req.send().await?).await
    }

    /// A request signed as SPEC.md says, ready to send (or to add headers to, such as `Accept`).
    fn signed_request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Vec<u8>,
        ts: &str,
        nonce: &str,
    ) -> reqwest::RequestBuilder {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let sig =
            signing::sign_request(&self.secret, method.as_str(), path, query, ts, nonce, &body);
        let req = self
            .http
            .request(method, format!("{}{}", self.base, path_and_query))
            .header(HEADER_KEY, &self.key_id)
            .header(HEADER_TIMESTAMP, ts)
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, sig);
        if body.is_empty() {
            req
        } else {
            req.header("content-type", "application/json").body(body)
        }
    }

    /// A signed GET answered as CSV (`Accept: text/csv`): the statement downloads.
    pub async fn get_csv(&self, path_and_query: &str) -> ClientResult<RawResponse> {
        let ts = crate::time::now_secs().to_string();
        let res = self
            .signed_request(Method::GET, path_and_query, Vec::new(), &ts, &new_nonce())
            .header("accept", "text/csv")
            .send()
            .await?;
        RawResponse::read(res).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> ClientResult<T> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| ClientError::Decode {
                status: 0,
                body: e.to_string(),
            })?,
            None => Vec::new(),
        };
        self.send_raw(method, path, bytes).await?.json()
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ClientResult<T> {
        self.call(Method::GET, path, None::<&()>).await
    }

    // --- reseller ---

    /// `GET /v1/products` with a raw query string such as `category=steam&limit=2`.
    pub async fn products(&self, query: &str) -> ClientResult<Page<Product>> {
        self.get(&with_query("/v1/products", query)).await
    }

    /// Every product, following cursors.
    pub async fn all_products(&self) -> ClientResult<Vec<Product>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("limit=200&cursor={c}"),
                None => "limit=200".to_string(),
            };
            let page = self.products(&q).await?;
            out.extend(page.data);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    pub async fn product(&self, id: &str) -> ClientResult<Product> {
        self.get(&format!("/v1/products/{id}")).await
    }

    pub async fn categories(&self) -> ClientResult<Vec<Category>> {
        self.get("/v1/categories").await
    }

    /// Places an order; `.1` is true when it was created now (201), false for a replay (200).
    pub async fn create_order(&self, req: &OrderRequest) -> ClientResult<(Order, bool)> {
        let body = serde_json::to_vec(req).map_err(|e| ClientError::Decode {
            status: 0,
            body: e.to_string(),
        })?;
        let res = self.send_raw(Method::POST, "/v1/orders", body).await?;
        let created = res.status == StatusCode::CREATED;
        Ok((res.json()?, created))
    }

    /// Orders a card product in one call with a fresh out_trade_no.
    pub async fn buy(
        &self,
        product_id: &str,
        quantity: i64,
        out_trade_no: &str,
    ) -> ClientResult<Order> {
        let req = OrderRequest {
            product_id: product_id.into(),
            quantity,
            out_trade_no: out_trade_no.into(),
            notify_url: None,
            topup: None,
            buyer: None,
            delivery_mode: Default::default(),
            claim_ttl_days: None,
            recipients: None,
        };
        Ok(self.create_order(&req).await?.0)
    }

    pub async fn order(&self, id: &str) -> ClientResult<Order> {
        self.get(&format!("/v1/orders/{id}")).await
    }

    pub async fn orders(&self, query: &str) -> ClientResult<Page<Order>> {
        self.get(&with_query("/v1/orders", query)).await
    }

    pub async fn account(&self) -> ClientResult<Reseller> {
        self.get("/v1/account").await
    }

    pub async fn ledger(&self, query: &str) -> ClientResult<Page<StatementLine>> {
        self.get(&with_query("/v1/account/ledger", query)).await
    }

    // --- supplier ---

    /// `POST /v1/sandbox/reset` (sandbox keys): balance back to 1,000,000, sandbox orders gone.
    pub async fn reset_sandbox(&self) -> ClientResult<crate::api::sandbox::SandboxReset> {
        self.send_raw(Method::POST, "/v1/sandbox/reset", Vec::new())
            .await?
            .json()
    }

    pub async fn push_cards(&self, product_id: &str, req: &PushCards) -> ClientResult<PushResult> {
        self.call(
            Method::POST,
            &format!("/v1/supplier/products/{product_id}/cards"),
            Some(req),
        )
        .await
    }

    pub async fn supplier_products(&self) -> ClientResult<Vec<SupplierProduct>> {
        self.get("/v1/supplier/products").await
    }

    /// `PUT /v1/supplier/products/{id}/fulfilment`: a just-in-time product's endpoint.
    pub async fn put_fulfilment(
        &self,
        product_id: &str,
        settings: &FulfilmentSettings,
    ) -> ClientResult<Fulfilment> {
        self.call(
            Method::PUT,
            &format!("/v1/supplier/products/{product_id}/fulfilment"),
            Some(settings),
        )
        .await
    }

    pub async fn fulfilment(&self, product_id: &str) -> ClientResult<Fulfilment> {
        self.get(&format!("/v1/supplier/products/{product_id}/fulfilment"))
            .await
    }

    /// `DELETE /v1/supplier/products/{id}/fulfilment`.
    pub async fn delete_fulfilment(&self, product_id: &str) -> ClientResult<()> {
        let res = self
            .send_raw(
                Method::DELETE,
                &format!("/v1/supplier/products/{product_id}/fulfilment"),
                Vec::new(),
            )
            .await?;
        if res.status.is_success() {
            Ok(())
        } else {
            res.json::<serde_json::Value>().map(|_| ())
        }
    }
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// Fetches the receipt-verification keys of a server.
pub async fn fetch_jwks(base_url: &str) -> ClientResult<Jwks> {
    let res = reqwest::get(format!(
        "{}/.well-known/jwks.json",
        base_url.trim_end_matches('/')
    ))
    .await?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.bytes().await?.to_vec();
    RawResponse {
        status,
        headers,
        body,
    }
    .json()
}

/// Verifies an order receipt offline against a JWKS.
pub fn verify_receipt(token: &str, jwks: &Jwks) -> Result<ReceiptClaims, crate::error::Error> {
    crate::domain::money::receipts::verify_receipt(token, jwks)
}

/// Headers of an incoming request, whichever HTTP library received it.
pub trait EventHeaders {
    fn header_str(&self, name: &str) -> Option<&str>;
}

impl EventHeaders for HeaderMap {
    fn header_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

impl EventHeaders for actix_web::http::header::HeaderMap {
    fn header_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Verifies an incoming event (callback or webhook): the `X-Kameng-Signature` header over the raw
/// body, no older than five minutes.
pub fn verify_event(headers: &impl EventHeaders, body: &[u8], webhook_secret: &str) -> bool {
    let Some(sig) = headers.header_str(HEADER_SIGNATURE) else {
        return false;
    };
    signing::verify_event_signature(
        webhook_secret,
        sig,
        body,
        crate::time::now_secs(),
        Some(300),
    )
}
