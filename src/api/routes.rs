//! The route table: every API operation listed once, in matching order, and read twice — by the
//! actix router (`api::configure`) and by the OpenAPI document (`api::openapi::ApiDoc`). A
//! handler carries its method and path once, in its `#[get("...")]`-style attribute, which
//! `#[utoipa::path]` also reads.
//!
//! Why a generic list over a two-method trait rather than `utoipa-actix-web`: its release for
//! utoipa 5 (0.1.x) builds the document only while building an actix `App`, yet the document is
//! wanted without one (`kameng openapi`, the fallback's 405 answers, the tests), and it would
//! take a dependency to replace about forty lines. A `macro_rules!` list would do the same with
//! more syntax than a plain function.

use actix_web::dev::HttpServiceFactory;
use actix_web::web;
use utoipa::__dev::{SchemaReferences, Tags};

use super::{
    account, admin, analytics, bulk, claims, deposits, fulfilment, keys, kyc, licences, network,
    orders, products, sandbox, settlement, supplier, support, system, tickets, topups, webhooks,
};

/// A handler with both an actix route and an OpenAPI operation: a function carrying
/// `#[utoipa::path]` above its actix route attribute (utoipa then implements `Path` for the
/// route's service type).
pub trait Endpoint:
    HttpServiceFactory + utoipa::Path + SchemaReferences + Tags<'static> + 'static
{
}

impl<T> Endpoint for T where
    T: HttpServiceFactory + utoipa::Path + SchemaReferences + Tags<'static> + 'static
{
}

/// What the route table is read into.
pub trait RouteSink {
    fn route<E: Endpoint>(&mut self, endpoint: E) -> &mut Self;
}

impl RouteSink for web::ServiceConfig {
    fn route<E: Endpoint>(&mut self, endpoint: E) -> &mut Self {
        self.service(endpoint)
    }
}

/// What `#[derive(OpenApi)]`'s `paths(...)` does for each handler: the operation under its
/// path with its tags, and the schemas its parameters and bodies name.
impl RouteSink for utoipa::openapi::OpenApi {
    fn route<E: Endpoint>(&mut self, _: E) -> &mut Self {
        let mut operation = E::operation();
        operation
            .tags
            .get_or_insert_with(Vec::new)
            .extend(E::tags().into_iter().map(String::from));
        self.paths
            .add_path_operation(E::path(), E::methods(), operation);
        let mut schemas = Vec::new();
        E::schemas(&mut schemas);
        self.components
            .get_or_insert_with(Default::default)
            .schemas
            .extend(schemas);
        self
    }
}

/// Every documented route. Order matters where two patterns match one path: a literal route
/// goes before the `{param}` one that would take its last segment.
pub fn table(to: &mut impl RouteSink) {
    to.route(system::healthz)
        .route(system::readyz)
        .route(system::metrics)
        .route(system::openapi_json)
        .route(system::docs)
        .route(system::jwks)
        // reseller
        .route(products::list)
        .route(products::get)
        .route(products::categories)
        .route(orders::create)
        .route(orders::list)
        .route(orders::get)
        .route(bulk::order_cards)
        .route(claims::list)
        .route(claims::revoke)
        // gift links' holders (unsigned)
        .route(claims::get)
        .route(claims::redeem)
        .route(account::get)
        .route(account::ledger)
        .route(deposits::create)
        .route(deposits::list)
        .route(deposits::get)
        .route(kyc::submit)
        .route(kyc::get)
        .route(keys::create)
        .route(keys::list)
        .route(keys::revoke)
        .route(network::create_sub_reseller)
        .route(network::list_sub_resellers)
        .route(network::get_markups)
        .route(network::put_markups)
        .route(network::commission_statement)
        .route(network::transfer_to_sub_reseller)
        .route(network::sub_reseller_orders)
        .route(analytics::sales)
        .route(analytics::recommendations)
        .route(sandbox::reset)
        .route(support::create_message)
        .route(webhooks::reseller::get_endpoint)
        .route(webhooks::reseller::put_endpoint)
        .route(webhooks::reseller::list_deliveries)
        .route(webhooks::reseller::get_delivery)
        .route(webhooks::reseller::redeliver)
        .route(webhooks::reseller::rotate_secret)
        .route(webhooks::reseller::retire_previous_secret)
        // supplier
        .route(supplier::push_cards)
        .route(supplier::products)
        .route(supplier::update_product)
        .route(fulfilment::put_fulfilment)
        .route(fulfilment::get_fulfilment)
        .route(fulfilment::delete_fulfilment)
        .route(topups::result)
        .route(webhooks::reseller_test)
        .route(webhooks::supplier_test)
        .route(webhooks::supplier::supplier_get_endpoint)
        .route(webhooks::supplier::supplier_put_endpoint)
        .route(webhooks::supplier::supplier_list_deliveries)
        .route(webhooks::supplier::supplier_get_delivery)
        .route(webhooks::supplier::supplier_redeliver)
        .route(webhooks::supplier::supplier_rotate_secret)
        .route(webhooks::supplier::supplier_retire_previous_secret)
        .route(licences::submit)
        .route(licences::list)
        .route(settlement::balance)
        .route(settlement::statement)
        // payment providers (signed with the provider's secret)
        .route(deposits::callback)
        // admin
        .route(admin::auth::login)
        .route(admin::suppliers::create)
        .route(admin::suppliers::list)
        .route(admin::suppliers::get)
        .route(admin::suppliers::update)
        .route(admin::suppliers::issue_key)
        .route(admin::payouts::create)
        .route(admin::payouts::list)
        .route(admin::resellers::create)
        .route(admin::resellers::list)
        .route(admin::resellers::get)
        .route(admin::resellers::update)
        .route(admin::resellers::issue_key)
        .route(admin::resellers::credit)
        .route(admin::deposits::list)
        .route(admin::deposits::confirm)
        .route(admin::resellers::put_price)
        .route(admin::keys::revoke)
        .route(admin::catalog::list_categories)
        .route(admin::catalog::update_category)
        .route(admin::catalog::create_product)
        .route(admin::catalog::list_products)
        // before `get_product`, whose `{id}` would take "slow-movers"
        .route(admin::insight::slow_movers)
        .route(admin::catalog::get_product)
        .route(admin::catalog::update_product)
        .route(admin::catalog::put_level)
        .route(admin::catalog::list_levels)
        .route(admin::orders::list)
        .route(admin::audit::list)
        .route(admin::audit::verify)
        .route(admin::ledger::check)
        .route(admin::webhooks::list)
        .route(admin::webhooks::get)
        .route(admin::webhooks::redeliver)
        .route(admin::compliance::get_kyc)
        .route(admin::compliance::decide_kyc)
        .route(admin::compliance::list_licences)
        .route(admin::compliance::review_licence)
        // after-sales and supplier quality
        .route(tickets::create)
        .route(tickets::list)
        .route(tickets::get)
        .route(tickets::supplier_list)
        .route(tickets::respond)
        .route(admin::tickets::list)
        .route(admin::tickets::get)
        .route(admin::tickets::resolve)
        .route(admin::quality::product_quality)
        .route(admin::quality::withdraw_batch)
        .route(admin::quality::list_duplicates)
        .route(admin::insight::sales)
        .route(admin::insight::product_forecast);
}
