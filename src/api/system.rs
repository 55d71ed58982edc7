//! Unauthenticated system endpoints: health, readiness, metrics, the OpenAPI document, the
//! reference page (assets embedded in the binary) and the receipt-verification keys.

use actix_web::{get, web, HttpResponse};
use utoipa::OpenApi;

use crate::domain::money::receipts::Jwks;
use crate::error::{Error, Result};
use crate::state::AppState;

const REDOC_JS: &str = include_str!("../../openapi/vendor/redoc.standalone.js");
const FAVICON: &[u8] = include_bytes!("../../openapi/vendor/favicon.ico");

/// The one outside address the vendored Redoc bundle loads: its footer logo. The page must
/// load nothing from elsewhere (it is served offline and behind firewalls), so the bundle is
/// served with that image pointing at our own icon.
const REDOC_LOGO: &str = "https://cdn.redoc.ly/redoc/logo-mini.svg";

fn redoc_bundle() -> &'static str {
    static BUNDLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUNDLE.get_or_init(|| REDOC_JS.replace(REDOC_LOGO, "/favicon.ico"))
}

const DOCS_HTML: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kameng API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.ico">
<style>body{margin:0;padding:0}</style></head>
<body><redoc spec-url="/openapi.json" hide-download-button="false"></redoc>
<script src="/docs/redoc.standalone.js"></script></body></html>"#;

/// Liveness: the process answers.
#[utoipa::path(operation_id = "getHealth", tag = "system", responses((status = 200, description = "alive", body = String)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Readiness: the database answers.
#[utoipa::path(operation_id = "getReadiness", tag = "system", responses((status = 200, description = "ready", body = String), (status = 503, description = "database unreachable", body = crate::error::Problem)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    state
        .db
        .read_async(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("SELECT 1")
                .map_err(|e| Error::Unavailable(e.to_string()))
        })
        .await?;
    Ok(HttpResponse::Ok().content_type("text/plain").body("ready"))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(operation_id = "getMetrics", tag = "system", responses((status = 200, description = "Prometheus text", body = String)))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let now = crate::time::now_ms();
    match state
        .db
        .read_async(move |c| crate::metrics::read_gauges(c, now))
        .await
    {
        Ok(gauges) => state.metrics.set_gauges(&gauges),
        // The HTTP metrics still answer; the gauges keep their last values.
        Err(e) => tracing::warn!(error = %e, "reading the metrics gauges failed"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// This OpenAPI document.
#[utoipa::path(operation_id = "getOpenApiDocument", tag = "system", responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(super::openapi::ApiDoc::openapi())
}

/// Human-readable API reference (works offline).
#[utoipa::path(operation_id = "getApiReference", tag = "system", responses((status = 200, description = "HTML page", content_type = "text/html", body = String)))]
#[get("/docs")]
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(DOCS_HTML)
}

#[get("/docs/redoc.standalone.js")]
pub async fn redoc_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(redoc_bundle())
}

#[get("/favicon.ico")]
pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/x-icon")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(FAVICON)
}

/// Public keys that verify order receipts (JWKS).
#[utoipa::path(operation_id = "getJwks", tag = "system", responses((status = 200, body = Jwks)))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.receipts.jwks())
}
