//! Self-service webhooks: an account (reseller or supplier) reads and changes where its events
//! go and which types it receives, and rotates the secret that signs them. A rotation keeps the
//! old secret signing beside the new one for an overlap (`t=…,v1=<new>,v1=<old>`, as Stripe
//! does) so receivers can switch without missing an event; after the overlap, or when the
//! account retires it early, only the new one signs. Each change is a record in the audit
//! chain (never the secret itself). Its delivery log is `events::deliveries`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::crypto::{random_token, Vault};
use crate::db::{Db, DbConn};
use crate::domain::accounts::keys::{Caller, OwnerKind};
use crate::domain::money::chain::{self, NewRecord};
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::events::settings::{self, event_types_of, Settings};
use crate::events::ssrf;
use crate::time::rfc3339;

/// How long a rotated-away secret keeps signing unless asked otherwise: a day, time for a
/// deploy of the receiver.
pub const DEFAULT_OVERLAP_SECONDS: i64 = 24 * 3600;
/// The longest overlap: a week (two secrets valid for longer would defeat the rotation).
pub const MAX_OVERLAP_SECONDS: i64 = 7 * 24 * 3600;
/// `event_types` entry meaning every type, including ones added later.
pub const ALL_TYPES: &str = "*";

/// Whose webhooks, and the key acting (recorded in the audit chain).
#[derive(Debug, Clone)]
pub struct Owner {
    pub kind: OwnerKind,
    pub id: String,
    pub key_id: String,
}

impl Owner {
    fn kind(&self) -> &'static str {
        self.kind.as_str()
    }
}

impl From<&Caller> for Owner {
    fn from(caller: &Caller) -> Owner {
        Owner {
            kind: caller.kind,
            id: caller.owner_id.clone(),
            key_id: caller.key_id.clone(),
        }
    }
}

/// An account's webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[schema(example = json!({"url": "https://shop.example/kameng/events",
    "event_types": ["order.delivered", "order.refunded"],
    "available_event_types": ["order.delivered", "order.completed", "order.failed", "order.refunded", "ticket.resolved"],
    "previous_secret_expires_at": null}))]
pub struct WebhookEndpoint {
    /// Where events go; null when none is registered (events are then recorded `skipped`).
    pub url: Option<String>,
    /// The types sent; `["*"]` (the default) is every type, including ones added later. Other
    /// events are recorded `skipped` in the delivery log and not sent; `webhook.test` always is.
    pub event_types: Vec<String>,
    /// Every type this kind of account can receive.
    pub available_event_types: Vec<String>,
    /// While a rotated-away secret still signs beside the current one: when it stops.
    pub previous_secret_expires_at: Option<String>,
}

/// A change of the endpoint; an absent field stays as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://shop.example/kameng/events", "event_types": ["order.delivered", "order.refunded"]}))]
pub struct EndpointUpdate {
    /// An http(s) URL whose host resolves to public addresses only, or `""` to remove it.
    pub url: Option<String>,
    /// The types to receive (see `available_event_types`), or `["*"]` for every type.
    pub event_types: Option<Vec<String>>,
}

/// A rotation of the webhook secret.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"overlap_seconds": 86400}))]
pub struct SecretRotation {
    /// How long the old secret keeps signing beside the new one: 0 (stop at once) to 604800
    /// (7 days); default 86400 (24 h).
    pub overlap_seconds: Option<i64>,
}

/// The new secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"webhook_secret": "whsec_3q2+7w…", "previous_secret_expires_at": "2026-12-15T10:00:00Z"}))]
pub struct RotatedSecret {
    pub webhook_secret: String,
    /// When the old secret stops signing; null when it stopped at once.
    pub previous_secret_expires_at: Option<String>,
}

/// The account's endpoint as it stands.
pub fn endpoint(conn: &mut DbConn, owner: &Owner) -> Result<WebhookEndpoint> {
    let url = settings::account_hooks(conn, owner.kind(), &owner.id)?.url;
    let chosen = settings::load(conn, owner.kind(), &owner.id)?;
    Ok(view(owner, url, &chosen, crate::time::now_ms()))
}

fn view(owner: &Owner, url: Option<String>, chosen: &Settings, now: i64) -> WebhookEndpoint {
    WebhookEndpoint {
        url,
        event_types: chosen
            .event_types
            .clone()
            .unwrap_or_else(|| vec![ALL_TYPES.to_string()]),
        available_event_types: event_types_of(owner.kind())
            .iter()
            .map(|t| t.to_string())
            .collect(),
        previous_secret_expires_at: chosen.previous_secret(now).map(|(_, until)| rfc3339(until)),
    }
}

/// Checks a list of event types: known for this kind of account, or `["*"]`; None means every
/// type.
fn checked_types(owner: &Owner, types: &[String]) -> Result<Option<Vec<String>>> {
    if types.iter().any(|t| t == ALL_TYPES) {
        if types.len() > 1 {
            return Err(Error::invalid(
                "event_types",
                "`*` (every type) cannot be combined with other types",
            ));
        }
        return Ok(None);
    }
    if types.is_empty() {
        return Err(Error::invalid(
            "event_types",
            "must name at least one type (remove the URL to receive nothing)",
        ));
    }
    let known = event_types_of(owner.kind());
    let mut out: Vec<String> = Vec::new();
    for t in types {
        if !known.contains(&t.as_str()) {
            return Err(Error::invalid(
                "event_types",
                format!(
                    "unknown event type `{t}`; one of {} or `*`",
                    known.join(", ")
                ),
            ));
        }
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(Some(out))
}

/// Changes the endpoint. A new URL must be a valid http(s) URL whose host resolves to public
/// addresses only (unless `allow_private`, `KAMENG_ALLOW_PRIVATE_WEBHOOKS`); the worker checks
/// again at every send, so a name that later resolves elsewhere is still refused.
pub async fn update_endpoint(
    db: &Db,
    owner: Owner,
    req: EndpointUpdate,
    allow_private: bool,
) -> Result<WebhookEndpoint> {
    let url = match req.url.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(u) => {
            let u = validate::callback_url("url", u)?;
            let parsed = url::Url::parse(&u).map_err(Error::internal)?;
            ssrf::resolve_target(&parsed, allow_private)
                .await
                .map_err(|e| Error::invalid("url", e.to_string()))?;
            Some(Some(u))
        }
    };
    let types = req
        .event_types
        .as_deref()
        .map(|t| checked_types(&owner, t))
        .transpose()?;
    db.write_async(move |c| {
        let now = crate::time::now_ms();
        let mut hooks = settings::account_hooks(c, owner.kind(), &owner.id)?;
        if let Some(url) = url {
            hooks.url = url;
        }
        settings::set_account_hooks(c, owner.kind(), &owner.id, &hooks)?;
        let mut chosen = settings::load(c, owner.kind(), &owner.id)?;
        if let Some(types) = types {
            chosen.event_types = types;
        }
        settings::save(c, owner.kind(), &owner.id, &chosen, now)?;
        let ep = view(&owner, hooks.url, &chosen, now);
        record(
            c,
            &owner,
            "webhook.endpoint.update",
            json!({ "url": ep.url, "event_types": ep.event_types }),
        )?;
        Ok(ep)
    })
    .await
}

/// Issues a new webhook secret; the old one signs beside it for `overlap_seconds` (a second
/// rotation within an overlap drops the oldest secret: at most two ever sign).
pub fn rotate_secret(
    conn: &mut DbConn,
    vault: &Vault,
    owner: &Owner,
    req: &SecretRotation,
) -> Result<RotatedSecret> {
    let overlap = req.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECONDS);
    if !(0..=MAX_OVERLAP_SECONDS).contains(&overlap) {
        return Err(Error::invalid(
            "overlap_seconds",
            format!("must be from 0 to {MAX_OVERLAP_SECONDS} (7 days)"),
        ));
    }
    let now = crate::time::now_ms();
    let mut hooks = settings::account_hooks(conn, owner.kind(), &owner.id)?;
    let secret = random_token("whsec_", 24);
    let old = std::mem::replace(&mut hooks.secret_enc, vault.encrypt_str(&secret));
    settings::set_account_hooks(conn, owner.kind(), &owner.id, &hooks)?;
    let mut chosen = settings::load(conn, owner.kind(), &owner.id)?;
    let until = (overlap > 0).then(|| now + overlap * 1000);
    chosen.previous_secret_enc = until.map(|_| old);
    chosen.previous_secret_until = until;
    settings::save(conn, owner.kind(), &owner.id, &chosen, now)?;
    record(
        conn,
        owner,
        "webhook.secret.rotate",
        json!({ "overlap_seconds": overlap }),
    )?;
    Ok(RotatedSecret {
        webhook_secret: secret,
        previous_secret_expires_at: until.map(rfc3339),
    })
}

/// Stops the previous secret signing now (idempotent).
pub fn retire_previous_secret(conn: &mut DbConn, owner: &Owner) -> Result<WebhookEndpoint> {
    let now = crate::time::now_ms();
    let hooks = settings::account_hooks(conn, owner.kind(), &owner.id)?;
    // Rewritten unchanged: it orders this account's changes (see `settings::save`).
    settings::set_account_hooks(conn, owner.kind(), &owner.id, &hooks)?;
    let mut chosen = settings::load(conn, owner.kind(), &owner.id)?;
    let was_signing = chosen.previous_secret(now).is_some();
    chosen.previous_secret_enc = None;
    chosen.previous_secret_until = None;
    settings::save(conn, owner.kind(), &owner.id, &chosen, now)?;
    if was_signing {
        record(conn, owner, "webhook.secret.retire", json!({}))?;
    }
    Ok(view(owner, hooks.url, &chosen, now))
}

/// A self-service change in the audit chain, by the acting key.
fn record(conn: &mut DbConn, owner: &Owner, action: &str, detail: serde_json::Value) -> Result<()> {
    chain::append(
        conn,
        NewRecord {
            kind: "account",
            actor: &format!("key:{}", owner.key_id),
            action,
            subject: &format!("{}:{}", owner.kind(), owner.id),
            detail,
        },
        "",
        &[],
    )?;
    Ok(())
}
