//! The signed-request extractor for reseller and supplier endpoints.
//!
//! It reads the raw body (the signature covers its bytes), checks the timestamp window, loads the
//! key, verifies the HMAC in constant time, then records the nonce so a replay is refused on any
//! instance sharing the database. Handlers then ask for the role and scope they need, and only
//! then for the body: a caller without the right role or scope is refused (403) before its body
//! is judged (400/422).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::nonces::NonceClaim;
use super::signing::{self, HEADER_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use crate::domain::accounts::keys::store::LoadedKey;
use crate::domain::accounts::keys::Scope;
use crate::domain::accounts::keys::{Caller, OwnerKind};
use crate::error::{Error, Result};
use crate::state::AppState;

/// A verified signed request: who sent it, and a body of type `T` read from exactly the bytes
/// that were signed. The body is parsed on request ([`Signed::body`]), after the handler has
/// authorised the caller. Endpoints that read no body take `Signed` (= `Signed<NoBody>`).
pub struct Signed<T = NoBody> {
    pub caller: Caller,
    bytes: Bytes,
    body: PhantomData<fn() -> T>,
}

/// The body type of a signed endpoint that reads none (the bytes are still signed). It is no
/// `Deserialize` type, so such a handler has no [`Signed::body`] to call.
pub struct NoBody;

/// Marks a request signed with a sandbox key, so its response carries `X-Kameng-Sandbox: true`
/// (set in `api::middleware::observe`), errors included.
#[derive(Debug, Clone, Copy)]
pub struct SandboxRequest;

impl<T> Signed<T> {
    /// The caller as a live reseller key holding `scope`. Sandbox keys are refused here: an
    /// endpoint serves them only by asking [`Signed::reseller_or_sandbox`], so a sandbox key
    /// can never reach live data through an endpoint that forgot about it.
    pub fn reseller(&self, scope: Scope) -> Result<&Caller> {
        let caller = self.reseller_or_sandbox(scope)?;
        if caller.sandbox {
            return Err(Error::Forbidden(
                "sandbox keys can call the catalogue, orders, account and sandbox endpoints only"
                    .into(),
            ));
        }
        Ok(caller)
    }

    /// The caller as a reseller key holding `scope`, live or sandbox (`caller.sandbox` tells);
    /// for the endpoints that serve the sandbox world.
    pub fn reseller_or_sandbox(&self, scope: Scope) -> Result<&Caller> {
        if self.caller.kind != OwnerKind::Reseller {
            return Err(Error::Forbidden(
                "this endpoint is for reseller keys".into(),
            ));
        }
        if !self.caller.scopes.contains(&scope) {
            return Err(Error::InsufficientScope(scope.as_str().into()));
        }
        Ok(&self.caller)
    }

    /// The caller as a supplier.
    pub fn supplier(&self) -> Result<&Caller> {
        if self.caller.kind != OwnerKind::Supplier {
            return Err(Error::Forbidden(
                "this endpoint is for supplier keys".into(),
            ));
        }
        Ok(&self.caller)
    }
}

impl<T: DeserializeOwned> Signed<T> {
    /// The signed body as a `T` (see [`parse_json`] for its errors).
    pub fn body(&self) -> Result<T> {
        parse_json(&self.bytes)
    }

    /// Like [`Signed::body`], with `T`'s default for an empty body (endpoints whose every
    /// field is optional, called as `POST` without a body).
    pub fn body_or_default(&self) -> Result<T>
    where
        T: Default,
    {
        if self.bytes.is_empty() {
            return Ok(T::default());
        }
        self.body()
    }
}

/// JSON body parsing with problem+json errors: malformed JSON is 400, a well-formed document
/// with wrong or missing fields is 422 naming the field. Every request body is a JSON object:
/// anything else is refused, since serde would fill a struct from an array by position.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    let first = body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first.is_some_and(|b| *b != b'{') {
        return Err(Error::invalid("body", "must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Error::BadRequest(format!("malformed JSON: {inner}"));
        }
        let message = crate::redact::serde_message(&inner.to_string());
        Error::invalid(&field_of(&path, &message, "body"), message)
    })?;
    // Exactly one JSON value: `{…}xx` or `{…}{…}` is not a request (it was taken as the first
    // object, and an order was placed from it).
    de.end().map_err(|e| {
        Error::BadRequest(format!(
            "malformed JSON: {e} (the body must be exactly one JSON object)"
        ))
    })?;
    Ok(value)
}

/// The field an error is about: its path in the document, or for a missing field (which serde
/// reports at the enclosing object) the missing field's own name under that path; `whole` names
/// the document itself (`body`, `query`). Shared by bodies and query strings.
pub fn field_of(path: &str, message: &str, whole: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_string(),
        (".", None) => whole.to_string(),
        (p, Some(name)) => format!("{p}.{name}"),
        (p, None) => p.to_string(),
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Result<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::Unauthorized(format!("missing {name} header")))
}

async fn read_body(payload: &mut Payload, limit: usize) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => Error::PayloadTooLarge(limit),
            other => Error::BadRequest(format!("could not read body: {other}")),
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The caller and the body bytes of a request whose signature holds. Its nonce is recorded
/// here, unless `defer` and the nonce store lets the handler's transaction record it: then it
/// comes back as a [`NonceClaim`].
async fn verify(
    req: HttpRequest,
    mut payload: Payload,
    defer: bool,
) -> Result<(Caller, Bytes, Option<NonceClaim>)> {
    let state = AppState::from_request(&req)?;
    let limit = state.config.max_body_bytes;
    if let Some(len) = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
    {
        if len > limit {
            return Err(Error::PayloadTooLarge(limit));
        }
    }
    let key_id = header(&req, HEADER_KEY)?.to_string();
    let timestamp = header(&req, HEADER_TIMESTAMP)?.to_string();
    let nonce = header(&req, HEADER_NONCE)?.to_string();
    let signature = header(&req, HEADER_SIGNATURE)?.to_string();

    let ts: i64 = timestamp
        .parse()
        .map_err(|_| Error::Unauthorized("X-Kameng-Timestamp must be unix seconds".into()))?;
    let now = crate::time::now_secs();
    if (now - ts).abs() > state.config.signature_window_secs {
        return Err(Error::Unauthorized(
            "timestamp outside the allowed window".into(),
        ));
    }
    if !signing::valid_nonce(&nonce) {
        return Err(Error::Unauthorized(
            "X-Kameng-Nonce must be 8..64 characters of [A-Za-z0-9_-]".into(),
        ));
    }
    // A replay of a request this process accepted is refused before any database work.
    if state.nonces.seen_here(&key_id, &nonce, now * 1000) {
        return Err(Error::Replayed);
    }
    let body = read_body(&mut payload, limit).await?;
    let sts = signing::string_to_sign(
        req.method().as_str(),
        req.path(),
        req.query_string(),
        &timestamp,
        &nonce,
        &body,
    );
    let window_ms = state.config.signature_window_secs * 1000;
    let check = KeyCheck {
        key_id,
        nonce,
        sts,
        signature,
        ts,
        // Only a verified request may consume a nonce, so strangers cannot burn them.
        expires_at: (ts * 1000 + window_ms).max(now * 1000 + window_ms),
        defer,
    };
    // On SQLite the key is a point read made here; elsewhere (or with every pooled connection
    // busy) on a blocking thread.
    let (caller, claim) =
        match state
            .key_reads
            .load_in_place(&state.db, &state.vault, &check.key_id)
        {
            Some(key) => check.finish(&state, key?)?,
            None => {
                let state = state.clone();
                crate::db::run_blocking(move || {
                    let key =
                        state
                            .key_reads
                            .load_active(&state.db, &state.vault, &check.key_id)?;
                    check.finish(&state, key)
                })
                .await?
            }
        };
    if caller.suspended {
        return Err(Error::Forbidden("this account is suspended".into()));
    }
    if caller.sandbox {
        req.extensions_mut().insert(SandboxRequest);
    }
    if let Some(allowance) = state.limits.check_key(&caller.key_id)? {
        req.extensions_mut().insert(allowance);
    }
    state.metrics.record_request(caller.sandbox);
    Ok((caller, body, claim))
}

/// What a request's signature is checked against once its key is loaded.
struct KeyCheck {
    key_id: String,
    nonce: String,
    sts: String,
    signature: String,
    ts: i64,
    expires_at: i64,
    defer: bool,
}

impl KeyCheck {
    /// Verifies the signature with `key`, then records the nonce (or, when the handler may,
    /// hands it back as a claim for its own transaction).
    fn finish(&self, state: &AppState, key: LoadedKey) -> Result<(Caller, Option<NonceClaim>)> {
        if !signing::verify_request_signature(&key.secret, &self.sts, &self.signature) {
            return Err(Error::Unauthorized("signature does not match".into()));
        }
        if self.defer && state.nonces.defers() {
            let claim = NonceClaim::new(&self.key_id, &self.nonce, self.expires_at);
            return Ok((key.caller, Some(claim)));
        }
        state.nonces.record(
            &state.db,
            &self.key_id,
            &self.nonce,
            self.ts,
            self.expires_at,
        )?;
        Ok((key.caller, None))
    }
}

/// The verified request and, when `defer` is granted, its nonce for the handler to record.
async fn extract<T>(req: HttpRequest, payload: Payload, defer: bool) -> Result<SignedDeferred<T>> {
    let (caller, bytes, nonce) = verify(req, payload, defer).await?;
    Ok(SignedDeferred {
        signed: Signed {
            caller,
            bytes,
            body: PhantomData,
        },
        nonce,
    })
}

impl<T: 'static> FromRequest for Signed<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let extracted = extract::<T>(req.clone(), payload.take(), false);
        Box::pin(async move { Ok(extracted.await?.signed) })
    }
}

/// A signed request whose nonce its handler records in its own transaction: on PostgreSQL the
/// order path inserts it with the order (`nonce` is then `Some`; the handler must end with
/// [`crate::auth::nonces::NonceStore::settle`]). Elsewhere the nonce was recorded here, as
/// [`Signed`] does, and `nonce` is `None`.
pub struct SignedDeferred<T> {
    pub signed: Signed<T>,
    pub nonce: Option<NonceClaim>,
}

impl<T: 'static> FromRequest for SignedDeferred<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        Box::pin(extract(req.clone(), payload.take(), true))
    }
}
