//! The call to a supplier's fulfilment endpoint, as the domain sees it: what to send and what
//! came back. Sending it (signing with the supplier's webhook secret, the SSRF guard, the
//! timeout) is `events::fulfilment`'s job, handed in through [`JitDeps`]: the domain imports
//! neither HTTP nor the signer (`auth`), as for every other outbound call.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::trade::inventory::NewCard;

/// One signed `POST url` to a supplier.
#[derive(Debug, Clone)]
pub struct FulfilmentCall {
    /// Stable across a resumed call: the supplier must answer a repeat with the same cards.
    pub request_id: String,
    pub url: String,
    /// The supplier's webhook secret, sealed by the vault; opened only to sign.
    pub secret_enc: String,
    pub timeout_ms: i64,
    /// The JSON body ([`FulfilmentRequest`]).
    pub body: String,
}

/// The body kameng POSTs to a fulfilment endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FulfilmentRequest {
    pub request_id: String,
    pub order_id: String,
    pub product_id: String,
    pub sku: String,
    /// Cards wanted; the answer must hold exactly this many.
    pub quantity: i64,
}

/// The supplier's `200` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FulfilmentAnswer {
    pub cards: Vec<NewCard>,
}

/// The supplier's cards, or why there are none (for the log and the failure record; never
/// shown to the reseller).
pub type Answer = std::result::Result<Vec<NewCard>, String>;

/// Sends a [`FulfilmentCall`]; implemented over HTTP by `events::fulfilment`.
pub trait SupplierCaller: Send + Sync {
    fn call(&self, call: FulfilmentCall) -> BoxFuture<'static, Answer>;
}

/// What the order path needs for just-in-time products (a part of `OrderDeps`).
#[derive(Clone)]
pub struct JitDeps {
    pub caller: Arc<dyn SupplierCaller>,
    /// How long a supplier stays paused after its circuit breaker trips (`KAMENG_JIT_COOLDOWN`).
    pub cooldown_ms: i64,
}

/// An answer is usable only whole: exactly `quantity` cards, none repeated. Each card's own
/// checks (empty, too long, expired) are the push's (`inventory::seal_answer`).
pub fn check_count(cards: &[NewCard], quantity: i64) -> Result<(), String> {
    if cards.len() as i64 != quantity {
        return Err(format!(
            "answered {} cards for a request of {quantity}",
            cards.len()
        ));
    }
    let distinct: HashSet<&str> = cards.iter().map(|c| c.code.trim()).collect();
    if distinct.len() != cards.len() {
        return Err("answered the same code twice".into());
    }
    Ok(())
}
