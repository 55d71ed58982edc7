//! Request id, access log and metrics for every request.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::auth::ratelimit::Allowance;
use crate::auth::signed::SandboxRequest;
use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";
/// On every response to a request signed with a sandbox key.
pub const SANDBOX_HEADER: &str = "x-kameng-sandbox";

/// The request id of the current request (echoed from the client when it is sane).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn client_request_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| v.to_string())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = client_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let mut res = next.call(req).await?;
    let elapsed = started.elapsed().as_secs_f64();
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), v);
    }
    // A signed request that passed the per-key limiter says what is left of it.
    let allowance = res.request().extensions().get::<Allowance>().copied();
    if let Some(a) = allowance {
        let headers = res.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", a.limit as u64),
            ("ratelimit-remaining", a.remaining as u64),
            ("ratelimit-reset", a.reset_secs),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
    if res.request().extensions().get::<SandboxRequest>().is_some() {
        res.headers_mut().insert(
            HeaderName::from_static(SANDBOX_HEADER),
            HeaderValue::from_static("true"),
        );
    }
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16();
    if let Some(state) = state {
        state.metrics.observe(&method, &route, status, elapsed);
    }
    // The path pattern, never the raw query or headers: those can carry secrets. Successful
    // requests log at debug (at thousands of orders a second an info line each is real work);
    // client errors at info, server errors at warn.
    let ms = elapsed * 1000.0;
    match status {
        500.. => tracing::warn!(request_id = %id, %method, %route, status, ms, "request"),
        400.. => tracing::info!(request_id = %id, %method, %route, status, ms, "request"),
        _ => tracing::debug!(request_id = %id, %method, %route, status, ms, "request"),
    }
    Ok(res)
}
