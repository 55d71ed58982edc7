//! HTTP layer: one module per resource, thin handlers (parse, authorise, call the domain, map
//! errors). Every route is registered in [`configure`].

pub mod account;
pub mod admin;
pub mod analytics;
pub mod bulk;
pub mod fallback;
pub mod json_body;
pub mod keys;
pub mod kyc;
pub mod licences;
pub mod middleware;
pub mod network;
pub mod openapi;
pub mod openapi_rules;
pub mod orders;
pub mod products;
pub mod supplier;
pub mod system;
pub mod tickets;
pub mod topups;
pub mod webhooks;

use actix_web::{error::JsonPayloadError, web, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;

/// A page of results: pass `next_cursor` back as `?cursor=` for the next page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn new((data, next_cursor): (Vec<T>, Option<String>)) -> Self {
        Page { data, next_cursor }
    }
}

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

/// Registers every route and the extractor error handlers.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body_bytes)
            .error_handler(json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::PayloadConfig::default().limit(max_body_bytes))
    .service(system::healthz)
    .service(system::readyz)
    .service(system::metrics)
    .service(system::openapi_json)
    .service(system::docs)
    .service(system::redoc_js)
    .service(system::jwks)
    // reseller
    .service(products::list)
    .service(products::get)
    .service(products::categories)
    .service(orders::create)
    .service(orders::list)
    .service(orders::get)
    .service(bulk::order_cards)
    .service(account::get)
    .service(account::ledger)
    .service(kyc::submit)
    .service(kyc::get)
    .service(keys::create)
    .service(keys::list)
    .service(keys::revoke)
    .service(network::create_sub_reseller)
    .service(network::list_sub_resellers)
    .service(network::get_markups)
    .service(network::put_markups)
    .service(network::commission_statement)
    .service(network::transfer_to_sub_reseller)
    .service(network::sub_reseller_orders)
    .service(analytics::sales)
    .service(analytics::recommendations)
    // supplier
    .service(supplier::push_cards)
    .service(supplier::products)
    .service(supplier::update_product)
    .service(topups::result)
    .service(webhooks::reseller_test)
    .service(webhooks::supplier_test)
    .service(licences::submit)
    .service(licences::list)
    // admin
    .service(admin::auth::login)
    .service(admin::suppliers::create)
    .service(admin::suppliers::list)
    .service(admin::suppliers::get)
    .service(admin::suppliers::update)
    .service(admin::suppliers::issue_key)
    .service(admin::resellers::create)
    .service(admin::resellers::list)
    .service(admin::resellers::get)
    .service(admin::resellers::update)
    .service(admin::resellers::issue_key)
    .service(admin::resellers::credit)
    .service(admin::resellers::put_price)
    .service(admin::keys::revoke)
    .service(admin::catalog::list_categories)
    .service(admin::catalog::update_category)
    .service(admin::catalog::create_product)
    .service(admin::catalog::list_products)
    // before `get_product`, whose `{id}` would take "slow-movers"
    .service(admin::insight::slow_movers)
    .service(admin::catalog::get_product)
    .service(admin::catalog::update_product)
    .service(admin::catalog::put_level)
    .service(admin::catalog::list_levels)
    .service(admin::orders::list)
    .service(admin::audit::list)
    .service(admin::audit::verify)
    .service(admin::ledger::check)
    .service(admin::webhooks::list)
    .service(admin::webhooks::get)
    .service(admin::webhooks::redeliver)
    .service(admin::compliance::get_kyc)
    .service(admin::compliance::decide_kyc)
    .service(admin::compliance::list_licences)
    .service(admin::compliance::review_licence)
    // after-sales and supplier quality
    .service(tickets::create)
    .service(tickets::list)
    .service(tickets::get)
    .service(tickets::supplier_list)
    .service(tickets::respond)
    .service(admin::tickets::list)
    .service(admin::tickets::get)
    .service(admin::tickets::resolve)
    .service(admin::quality::product_quality)
    .service(admin::quality::withdraw_batch)
    .service(admin::quality::list_duplicates)
    .service(admin::insight::sales)
    .service(admin::insight::product_forecast)
    .default_service(web::to(fallback::not_routed));
}
