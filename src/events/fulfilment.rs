//! Calls to just-in-time suppliers' fulfilment endpoints (`domain::trade::fulfilment`), sent
//! like every event: `X-Kameng-Signature` with the supplier's webhook secret (the one signer,
//! `auth::signing::sign_event`), the SSRF guard with the connection pinned to the address it
//! checked, no redirects. Unlike an event it is answered in the order's own request, so it is
//! bounded by the endpoint's timeout and never retried here (the resume job asks again with the
//! same `request_id` after a crash).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::ssrf;
use crate::auth::signing::{sign_event, HEADER_EVENT, HEADER_EVENT_ID, HEADER_SIGNATURE};
use crate::crypto::Vault;
use crate::domain::trade::fulfilment::{Answer, FulfilmentAnswer, FulfilmentCall, SupplierCaller};

/// The `X-Kameng-Event` of a fulfilment request.
pub const EVENT_TYPE: &str = "fulfilment.request";
/// Answers larger than this are refused (10,000 cards of long codes fit).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// The HTTP [`SupplierCaller`].
pub struct HttpFulfilment {
    vault: Arc<Vault>,
    allow_private: bool,
}

impl HttpFulfilment {
    pub fn new(vault: Arc<Vault>, allow_private: bool) -> Self {
        Self {
            vault,
            allow_private,
        }
    }
}

impl SupplierCaller for HttpFulfilment {
    fn call(&self, call: FulfilmentCall) -> BoxFuture<'static, Answer> {
        let (vault, allow_private) = (self.vault.clone(), self.allow_private);
        Box::pin(async move { send(&vault, allow_private, call).await })
    }
}

async fn send(vault: &Vault, allow_private: bool, call: FulfilmentCall) -> Answer {
    let url = url::Url::parse(&call.url).map_err(|_| "invalid URL".to_string())?;
    let addr = ssrf::resolve_target(&url, allow_private)
        .await
        .map_err(|e| e.to_string())?;
    let secret = vault
        .decrypt_string(&call.secret_enc)
        .map_err(|e| format!("secret: {e}"))?;
    let timeout = Duration::from_millis(call.timeout_ms.max(1) as u64);
    let client = reqwest::Client::builder()
        .resolve(url.host_str().unwrap_or_default(), addr)
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("kameng-fulfilment/1")
        .build()
        .map_err(|e| e.to_string())?;
    let body = call.body.into_bytes();
    let signature = sign_event(&secret, crate::time::now_secs(), &body);
    let res = client
        .post(url)
        .header("content-type", "application/json")
        .header(HEADER_EVENT_ID, &call.request_id)
        .header(HEADER_EVENT, EVENT_TYPE)
        .header(HEADER_SIGNATURE, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    if res.status() != reqwest::StatusCode::OK {
        return Err(format!("answered HTTP {}", res.status().as_u16()));
    }
    if res
        .content_length()
        .is_some_and(|n| n as usize > MAX_ANSWER_BYTES)
    {
        return Err("answer too large".into());
    }
    let bytes = res.bytes().await.map_err(|e| describe(&e))?;
    if bytes.len() > MAX_ANSWER_BYTES {
        return Err("answer too large".into());
    }
    let answer: FulfilmentAnswer =
        serde_json::from_slice(&bytes).map_err(|e| format!("unreadable answer: {e}"))?;
    Ok(answer.cards)
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        format!("request failed: {e}")
    }
}
