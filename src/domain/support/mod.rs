//! The support assistant: a reseller's bot forwards a customer's message (`POST
//! /v1/support/messages`); the assistant classifies it ([`classify`]), reads the named order's
//! real state ([`facts`]), takes the actions the message calls for when they are allowed
//! ([`actions`]) and answers in the customer's language ([`answer`]).
//!
//! May use `aftersales`, `trade`, `accounts` and `money` (it sits above them all).

pub mod actions;
mod answer;
pub mod classify;
pub mod dataset;
pub mod facts;
pub mod intent;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use actions::{ActionKind, SupportAction, TicketPolicy};
pub use intent::{Intent, Lang};

use crate::crypto::Vault;
use crate::db::DbConn;
use crate::error::{Error, Result};

/// Longest message taken, in characters: a chat message, not a document.
pub const MAX_TEXT_CHARS: usize = 1000;

/// `POST /v1/support/messages` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "I paid but never got my code", "order_id": "ord_0193a7c2d4e57b10a9c3e2f1d0b4a688"}))]
pub struct SupportMessage {
    /// The customer's message as they wrote it (1–1000 characters).
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
    /// The order it is about, when the bot knows it: the answer then comes from its state.
    pub order_id: Option<String>,
    /// `en` or `zh`; omitted = Chinese if the text holds Chinese characters, else English.
    pub lang: Option<String>,
}

/// The assistant's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "intent": "code_not_received", "confidence": 0.97, "lang": "en",
    "answer": "Order ord_0193a7c2d4e57b10a9c3e2f1d0b4a688 (Steam 100 × 1) is delivered, on 2026-12-02 08:15 UTC. The codes are in your order in the shop. I have sent the delivery to the shop again, so it should reach you shortly.",
    "actions": [{"kind": "resend_callback", "taken": true, "event_id": "evt_0193a7c2d4e57b10a9c3e2f1d0b4a690"}]
}))]
pub struct SupportAnswer {
    pub intent: Intent,
    /// The classifier's probability for its best intent, in [0, 1]. Below 0.3 the intent is
    /// `other`.
    pub confidence: f64,
    /// The language of `answer`.
    pub lang: Lang,
    /// Text to show the customer.
    pub answer: String,
    /// What the message called for, taken or not (with the reason).
    pub actions: Vec<SupportAction>,
}

/// A checked message.
pub struct Question {
    text: String,
    order_id: Option<String>,
    lang: Lang,
}

impl Question {
    /// Checks a message: text present and not too long, `lang` known.
    pub fn parse(msg: SupportMessage) -> Result<Question> {
        let text = msg.text.trim();
        if text.is_empty() {
            return Err(Error::invalid("text", "must not be empty"));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(Error::invalid(
                "text",
                format!("must be at most {MAX_TEXT_CHARS} characters"),
            ));
        }
        let lang = match msg.lang.as_deref() {
            None => Lang::detect(text),
            Some(l) => Lang::parse(l).ok_or_else(|| Error::invalid("lang", "must be en or zh"))?,
        };
        Ok(Question {
            text: text.to_string(),
            order_id: msg.order_id.filter(|o| !o.trim().is_empty()),
            lang,
        })
    }
}

/// Answers `reseller_id`'s question inside the caller's transaction: classify, read the
/// order, act where the intent calls for it and it is allowed, compose the answer. A failure
/// (an order that is not the reseller's) changes nothing.
pub fn reply(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    q: &Question,
    tickets: &TicketPolicy,
    now: i64,
) -> Result<SupportAnswer> {
    let (intent, confidence) = classify::classify(&q.text);
    let facts = match &q.order_id {
        Some(id) => Some(facts::load(conn, reseller_id, id)?),
        None => None,
    };
    let mut taken = Vec::new();
    if let Some(f) = facts.as_ref().filter(|f| f.delivered()) {
        match intent {
            Intent::CodeNotReceived => {
                taken.push(actions::resend_callback(conn, reseller_id, f, now)?);
            }
            Intent::CodeInvalid => taken.push(actions::open_ticket(
                conn,
                vault,
                reseller_id,
                f,
                &q.text,
                tickets,
                now,
            )?),
            _ => {}
        }
    }
    Ok(SupportAnswer {
        intent,
        confidence,
        lang: q.lang,
        answer: answer::compose(intent, q.lang, facts.as_ref(), &taken),
        actions: taken,
    })
}
