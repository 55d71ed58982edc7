//! HTTP layer: one module per resource, thin handlers (parse, authorise, call the domain, map
//! errors). Every route is listed once, in [`routes::table`].

pub mod account;
pub mod admin;
pub mod analytics;
pub mod bulk;
pub mod claims;
pub mod deposits;
pub mod fallback;
pub mod fulfilment;
pub mod json_body;
pub mod keys;
pub mod kyc;
pub mod licences;
pub mod middleware;
pub mod network;
pub mod openapi;
pub mod openapi_rules;
pub mod orders;
pub mod page;
pub mod products;
pub mod query;
pub mod routes;
pub mod sandbox;
pub mod settlement;
pub mod statements;
pub mod supplier;
pub mod support;
pub mod system;
pub mod tickets;
pub mod topups;
pub mod webhooks;

use actix_web::{error::JsonPayloadError, web, HttpRequest};

use crate::error::Error;

pub use page::{Page, PageQuery, Paged};

/// Actix's own extractor failures rendered as our problem+json.
fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => Error::PayloadTooLarge(*limit),
        JsonPayloadError::ContentType => {
            Error::BadRequest("expected Content-Type: application/json".into())
        }
        JsonPayloadError::Deserialize(de) if de.is_data() => {
            let message = crate::redact::serde_message(&de.to_string());
            Error::Invalid {
                detail: message.clone(),
                errors: vec![crate::error::FieldError::new("body", message)],
            }
        }
        other => Error::BadRequest(format!("malformed JSON: {other}")),
    };
    e.into()
}

fn query_error(err: actix_web::error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    Error::Invalid {
        detail: err.to_string(),
        errors: vec![crate::error::FieldError::new("query", err.to_string())],
    }
    .into()
}

fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    Error::BadRequest(format!("bad path parameter: {err}")).into()
}

/// Registers the extractor error handlers, every route and the fallback.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body_bytes)
            .error_handler(json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::PayloadConfig::default().limit(max_body_bytes));
    routes::table(cfg);
    // What the `/docs` page loads (its script and icon): assets, not API operations, so not in
    // the table (nor in the document); their paths overlap no other route.
    cfg.service(system::redoc_js)
        .service(system::favicon)
        .default_service(web::to(fallback::not_routed));
}
