//! Reseller deposits: a reseller asks to fund its balance and quotes the reference with its
//! payment; a payment provider's signed callback settles it (or an admin, `admin::deposits`).
//!
//! Scope: `account:read` for all three reseller endpoints. A deposit request moves no money and
//! commits the reseller to nothing — only a payment that arrives credits — so it needs no more
//! than reading the account does, and every existing key keeps working without a new scope.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::page::{page_query, Page, Paged};
use crate::api::query::Query;
use crate::auth::signed::parse_json;
use crate::auth::signing::{verify_event_signature, HEADER_SIGNATURE};
use crate::auth::{Scope, Signed};
use crate::domain::accounts::deposits::{
    self, CallbackOutcome, Deposit, DepositRules, DepositStatus, NewDeposit, PaymentCallback,
    BANK_TRANSFER,
};
use crate::error::{Error, Problem, Result};
use crate::state::AppState;

/// What the configuration allows a deposit.
pub fn rules(state: &AppState) -> DepositRules {
    let c = &state.config;
    DepositRules {
        max_amount: c.deposit_max_amount,
        ttl_ms: c.deposit_ttl_secs.saturating_mul(1000),
        methods: std::iter::once(BANK_TRANSFER.to_string())
            .chain(c.payment_providers.iter().map(|p| p.name.clone()))
            .collect(),
    }
}

/// Ask to fund this reseller's balance: a `pending` deposit with a reference to quote with the
/// payment, valid until `expires_at`.
#[utoipa::path(tag = "account", operation_id = "createDeposit", request_body = NewDeposit,
    responses((status = 201, description = "opened now", body = Deposit),
        (status = 200, description = "opened before with this out_trade_no", body = Deposit),
        (status = 409, description = "idempotency_conflict (the out_trade_no was used with another amount or method)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request (amount outside 1..the maximum, unknown method)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["account:read"])))]
#[post("/v1/deposits")]
pub async fn create(
    state: web::Data<AppState>,
    signed: Signed<NewDeposit>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let req = signed.body()?;
    let rules = rules(&state);
    let now = crate::time::now_ms();
    let (deposit, created) = state
        .db
        .write_async(move |c| deposits::create(c, &caller.owner_id, &req, &rules, now))
        .await?;
    Ok(if created {
        HttpResponse::Created().json(deposit)
    } else {
        HttpResponse::Ok().json(deposit)
    })
}

page_query! {
    pub struct DepositQuery {
        /// `pending`, `credited`, `expired` or `review`.
        pub status: Option<String>,
    }
}

/// A `?status=` filter, named in the error when it is not a deposit status.
pub fn status_filter(status: Option<&str>) -> Result<Option<DepositStatus>> {
    status
        .map(|s| {
            DepositStatus::parse(s).ok_or_else(|| {
                Error::invalid("status", "must be pending, credited, expired or review")
            })
        })
        .transpose()
}

/// This reseller's deposits, newest first.
#[utoipa::path(tag = "account", operation_id = "listDeposits", params(DepositQuery),
    responses((status = 200, body = Page<Deposit>),
        (status = 422, description = "invalid_request", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["account:read"])))]
#[get("/v1/deposits")]
pub async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    query: Query<DepositQuery>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let limit = query.page_size()?;
    let before = query.cursor_key()?;
    let status = status_filter(query.status.as_deref())?;
    let rows = state
        .db
        .read_async(move |c| {
            deposits::list(c, Some(&caller.owner_id), status, before.as_deref(), limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(rows, limit, |d| d.id.clone())))
}

/// One of this reseller's deposits.
#[utoipa::path(tag = "account", operation_id = "getDeposit", params(("id" = String, Path)),
    responses((status = 200, body = Deposit),
        (status = 404, description = "not_found (also another reseller's deposit)", body = Problem, content_type = "application/problem+json")),
    security(("signed" = ["account:read"])))]
#[get("/v1/deposits/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::AccountRead)?.clone();
    let d = state
        .db
        .read_async(move |c| deposits::get_deposit(c, &id, Some(&caller.owner_id)))
        .await?;
    Ok(HttpResponse::Ok().json(d))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProviderPath {
    /// A provider named in `KAMENG_PAYMENT_PROVIDERS`.
    pub provider: String,
}

/// A payment provider reports a deposit's payment. Signed like kameng's own events, with the
/// provider's secret (`KAMENG_PAYMENT_<NAME>_SECRET`): `X-Kameng-Signature: t=<unix seconds>,
/// v1=<hex HMAC-SHA256(secret, t + "." + raw body)>`, `t` within `KAMENG_SIGNATURE_WINDOW`. A
/// deposit is credited once however often this comes; the answer says what this call did.
#[utoipa::path(tag = "payments", operation_id = "paymentCallback", params(ProviderPath),
    request_body = PaymentCallback,
    responses((status = 200, body = CallbackOutcome),
        (status = 401, description = "unauthorized (missing or wrong signature, stale timestamp)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found (no such provider, or no deposit with this reference)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request", body = Problem, content_type = "application/problem+json")),
    security(()))]
#[post("/v1/payments/callback/{provider}")]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<ProviderPath>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let name = path.into_inner().provider;
    let provider = state
        .config
        .payment_provider(&name)
        .ok_or(Error::NotFound("payment provider"))?;
    let signature = req
        .headers()
        .get(HEADER_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let window = state.config.signature_window_secs;
    if !verify_event_signature(
        &provider.secret,
        signature,
        &body,
        crate::time::now_secs(),
        Some(window),
    ) {
        return Err(Error::Unauthorized(
            "the payment callback's signature does not verify".into(),
        ));
    }
    let cb: PaymentCallback = parse_json(&body)?;
    let now = crate::time::now_ms();
    let outcome = state
        .db
        .write_async(move |c| deposits::apply_callback(c, &name, &cb, now))
        .await?;
    state.events_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(outcome))
}
