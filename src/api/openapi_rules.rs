//! Validation rules the handlers enforce, stated in the OpenAPI document so that clients (and
//! the Schemathesis run in `.ci/api-fuzz`) know them: page sizes, integer ranges, the fixed
//! sets of words some fields take. Only rules that JSON Schema expresses *exactly* are here;
//! text rules (trimmed, non-empty, URL syntax) and rules about other objects stay in prose.
//!
//! The table is applied to the generated document, so a rule lives next to the others rather
//! than scattered over field attributes; `rules_name_real_fields` checks every entry still
//! names a real schema property.

use serde_json::{json, Value};
use utoipa::openapi::schema::ArrayItems;
use utoipa::openapi::{RefOr, Schema};
use utoipa::Modify;

use crate::domain::states::{Delivery, ProductStatus};

pub struct ValidationRules;

/// `(schema, property, JSON Schema keywords to add)`.
fn property_rules() -> Vec<(&'static str, &'static str, Value)> {
    let bps = json!({"minimum": 0, "maximum": 10_000});
    let non_negative = json!({"minimum": 0});
    let positive = json!({"minimum": 1});
    let max_quantity = crate::domain::trade::catalog::MAX_ORDER_QUANTITY;
    let max_cards = crate::domain::trade::inventory::MAX_CARDS_PER_PUSH;
    let max_credit = crate::domain::accounts::MAX_CREDIT;
    let mut rules = vec![
        (
            "OrderRequest",
            "quantity",
            json!({"minimum": 1, "maximum": max_quantity}),
        ),
        (
            "OrderRequest",
            "out_trade_no",
            json!({"pattern": "^[!-~]{1,64}$"}),
        ),
        (
            "OrderRequest",
            "claim_ttl_days",
            json!({"minimum": 1, "maximum": crate::domain::trade::claims::MAX_TTL_DAYS}),
        ),
        ("NewProduct", "face_value", non_negative.clone()),
        ("NewProduct", "cost", non_negative.clone()),
        ("NewProduct", "price", non_negative.clone()),
        (
            "NewProduct",
            "delivery",
            json!({"enum": Delivery::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>()}),
        ),
        ("NewProduct", "min_quantity", positive.clone()),
        ("NewProduct", "low_stock_threshold", non_negative.clone()),
        ("ProductPatch", "face_value", non_negative.clone()),
        ("ProductPatch", "cost", non_negative.clone()),
        ("ProductPatch", "price", non_negative.clone()),
        (
            "ProductPatch",
            "status",
            json!({"enum": ProductStatus::ALL
                .iter()
                .map(|s| json!(s.as_str()))
                .chain([Value::Null])
                .collect::<Vec<_>>()}),
        ),
        ("ProductPatch", "min_quantity", positive.clone()),
        ("ProductPatch", "low_stock_threshold", non_negative.clone()),
        (
            "SupplierProductPatch",
            "low_stock_threshold",
            non_negative.clone(),
        ),
        ("PriceRequest", "price", non_negative),
        ("LevelRequest", "discount_bps", bps.clone()),
        ("Markups", "default_bps", bps.clone()),
        ("ProductMarkup", "markup_bps", bps),
        ("TransferRequest", "amount", positive.clone()),
        (
            "CreditRequest",
            "amount",
            json!({"minimum": -max_credit, "maximum": max_credit}),
        ),
        ("NewKey", "daily_spend_limit", positive),
        ("NewKey", "scopes", json!({"minItems": 1})),
        (
            "PushCards",
            "cards",
            json!({"minItems": 1, "maxItems": max_cards}),
        ),
        (
            "TopupResult",
            "status",
            json!({"enum": ["success", "failed"]}),
        ),
        (
            "KycDecision",
            "decision",
            json!({"enum": ["verified", "rejected"]}),
        ),
        (
            "LicenceReview",
            "decision",
            json!({"enum": ["approved", "rejected"]}),
        ),
        (
            "TicketDecision",
            "action",
            json!({"enum": ["refund", "replace", "reject"]}),
        ),
        (
            "SupplierResponse",
            "action",
            json!({"enum": ["replace", "refund", "contest"]}),
        ),
        (
            "NewTicket",
            "reason",
            json!({"enum": crate::domain::aftersales::tickets::REASONS}),
        ),
        (
            "ResellerPatch",
            "status",
            json!({"enum": ["active", "suspended", null]}),
        ),
        (
            "SupplierPatch",
            "status",
            json!({"enum": ["active", "suspended", null]}),
        ),
        ("ConfirmDeposit", "amount", json!({"minimum": 1})),
        ("NewDeposit", "amount", json!({"minimum": 1})),
        ("NewPayout", "amount", json!({"minimum": 1})),
        (
            "SecretRotation",
            "overlap_seconds",
            json!({"minimum": 0, "maximum": 604_800}),
        ),
        (
            "SupportMessage",
            "lang",
            json!({"enum": ["en", "zh", null]}),
        ),
        (
            "FulfilmentSettings",
            "timeout_ms",
            json!({"minimum": 1, "maximum": 10_000}),
        ),
        (
            "FulfilmentSettings",
            "declared_stock",
            json!({"minimum": 0}),
        ),
        (
            "KycRequest",
            "id_number",
            json!({"pattern": "^\\s*[A-Za-z0-9-]{4,64}\\s*$"}),
        ),
    ];
    // Text the server trims and requires non-empty: it must hold a non-whitespace character.
    let text = json!({"minLength": 1, "pattern": "\\S"});
    for (schema, property) in [
        ("NewReseller", "name"),
        ("NewReseller", "level"),
        ("NewSupplier", "name"),
        ("NewSubReseller", "name"),
        ("NewKey", "name"),
        ("NewProduct", "sku"),
        ("NewProduct", "name"),
        ("NewProduct", "category"),
        ("ProductPatch", "name"),
        ("ProductPatch", "category"),
        ("CategoryPatch", "name"),
        ("ResellerPatch", "name"),
        ("ResellerPatch", "level"),
        ("SupplierPatch", "name"),
        ("KycRequest", "legal_name"),
        ("KycRequest", "contact"),
        ("NewLicence", "reference"),
        ("NewLicence", "issuer"),
        ("KycDecision", "memo"),
        ("LicenceReview", "memo"),
        ("CreditRequest", "memo"),
        ("TransferRequest", "memo"),
        ("PushCards", "batch_ref"),
        ("NewPayout", "memo"),
        ("NewDeposit", "out_trade_no"),
        ("SupportMessage", "text"),
    ] {
        rules.push((schema, property, text.clone()));
    }
    rules
}

/// `(path, query parameter, keywords)`. An entry for `limit` replaces the usual page size.
fn query_rules() -> Vec<(&'static str, &'static str, Value)> {
    let group_by = json!({"enum": ["day", "product", "region"]});
    // `YYYY-MM-DD` or an RFC 3339 time (its UTC day).
    let day = json!({"anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
    ]});
    let orders = json!({"enum": crate::api::query::order_states()});
    let tickets = json!({"enum": crate::api::query::ticket_states()});
    let licences = json!({"enum": crate::api::query::LICENCE_STATES});
    let deposits = json!({"enum": ["pending", "credited", "expired", "review"]});
    let deliveries = json!({"enum": ["pending", "delivered", "failed", "skipped"]});
    vec![
        ("/v1/orders", "status", orders.clone()),
        ("/v1/admin/orders", "status", orders.clone()),
        ("/v1/sub-resellers/{id}/orders", "status", orders),
        ("/v1/tickets", "status", tickets.clone()),
        ("/v1/supplier/tickets", "status", tickets.clone()),
        ("/v1/admin/tickets", "status", tickets),
        ("/v1/supplier/licences", "status", licences.clone()),
        ("/v1/admin/licences", "status", licences),
        (
            "/v1/admin/webhooks",
            "status",
            json!({"enum": ["pending", "delivered", "failed", "skipped"]}),
        ),
        ("/v1/account/ledger", "from", day.clone()),
        ("/v1/account/ledger", "to", day.clone()),
        ("/v1/supplier/statement", "from", day.clone()),
        ("/v1/supplier/statement", "to", day.clone()),
        ("/v1/deposits", "status", deposits.clone()),
        ("/v1/admin/deposits", "status", deposits),
        (
            "/v1/orders/{id}/claims",
            "status",
            json!({"enum": ["unclaimed", "claimed", "expired", "revoked"]}),
        ),
        ("/v1/webhooks/deliveries", "status", deliveries.clone()),
        ("/v1/supplier/webhooks/deliveries", "status", deliveries),
        ("/v1/analytics/sales", "from", day.clone()),
        ("/v1/analytics/sales", "to", day.clone()),
        ("/v1/analytics/sales", "group_by", group_by.clone()),
        ("/v1/admin/analytics/sales", "from", day.clone()),
        ("/v1/admin/analytics/sales", "to", day),
        ("/v1/admin/analytics/sales", "group_by", group_by),
        (
            "/v1/admin/analytics/sales",
            "currency",
            json!({"pattern": "^[A-Z]{3}$"}),
        ),
        (
            "/v1/recommendations",
            "limit",
            json!({"minimum": 1, "maximum": crate::domain::insight::recommend::MAX_LIMIT}),
        ),
        ("/v1/recommendations", "region", json!({"maxLength": 64})),
        (
            "/v1/admin/products/slow-movers",
            "min_days",
            json!({"minimum": 0}),
        ),
    ]
}

/// Adds `rules`' keywords to `target` (an object schema).
fn merge(target: &mut Value, rules: &Value) {
    if let (Some(t), Some(r)) = (target.as_object_mut(), rules.as_object()) {
        for (k, v) in r {
            t.insert(k.clone(), v.clone());
        }
    }
}

/// Integers without bounds get the range of their Rust type, so a number the server cannot
/// hold is documented as invalid rather than being "valid" and refused.
fn bound_integers(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let is_int = m.get("type").is_some_and(|t| {
                t == "integer"
                    || t.as_array()
                        .is_some_and(|a| a.iter().any(|x| x == "integer"))
            });
            if is_int {
                let (lo, hi) = match m.get("format").and_then(Value::as_str) {
                    Some("int32") => (json!(i32::MIN), json!(i32::MAX)),
                    Some("int64") => (json!(i64::MIN), json!(i64::MAX)),
                    _ => (Value::Null, Value::Null),
                };
                if !lo.is_null() {
                    m.entry("minimum").or_insert(lo);
                    m.entry("maximum").or_insert(hi);
                }
            }
            m.values_mut().for_each(bound_integers);
        }
        Value::Array(a) => a.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// Adds `rule` (if any) to one schema and bounds its integers. Objects with properties,
/// arrays and compositions are walked rather than rewritten, so the documented order of
/// properties is kept; leaves are rewritten through JSON.
fn edit(schema: &mut RefOr<Schema>, rule: Option<&Value>) {
    match schema {
        RefOr::T(Schema::Object(o)) if !o.properties.is_empty() => {
            o.properties.values_mut().for_each(|p| edit(p, None));
            return;
        }
        RefOr::T(Schema::Array(a)) if rule.is_none() => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                edit(items, None);
            }
            return;
        }
        RefOr::T(Schema::AllOf(c)) => return c.items.iter_mut().for_each(|p| edit(p, rule)),
        RefOr::T(Schema::OneOf(c)) => return c.items.iter_mut().for_each(|p| edit(p, rule)),
        RefOr::T(Schema::AnyOf(c)) => return c.items.iter_mut().for_each(|p| edit(p, rule)),
        _ => {}
    }
    let Ok(mut v) = serde_json::to_value(&*schema) else {
        return;
    };
    if let Some(rule) = rule {
        merge(&mut v, rule);
    }
    bound_integers(&mut v);
    // A rule with `anyOf` makes the leaf a composition, which the untagged `Schema` would
    // read back as a plain object and drop.
    if v.get("anyOf").is_some() {
        if let Ok(any_of) = serde_json::from_value(v) {
            *schema = RefOr::T(Schema::AnyOf(any_of));
        }
    } else if let Ok(updated) = serde_json::from_value(v) {
        *schema = updated;
    }
}

fn apply(openapi: &mut utoipa::openapi::OpenApi) {
    let rules = property_rules();
    if let Some(components) = openapi.components.as_mut() {
        for (name, schema) in components.schemas.iter_mut() {
            let RefOr::T(Schema::Object(object)) = schema else {
                continue;
            };
            for (property, value) in object.properties.iter_mut() {
                let rule = rules
                    .iter()
                    .find(|(s, p, _)| s == name && p == property)
                    .map(|r| r.2.clone());
                edit(value, rule.as_ref());
            }
        }
    }
    let query = query_rules();
    super::openapi::for_each_operation(openapi, |path, op| {
        for param in op.parameters.iter_mut().flatten() {
            let is_limit = param.name == "limit"
                && matches!(
                    param.parameter_in,
                    utoipa::openapi::path::ParameterIn::Query
                );
            let rule = query
                .iter()
                .find(|(p, n, _)| *p == path && *n == param.name)
                .map(|r| r.2.clone())
                // Page sizes: `?limit=` is 1..=200 on every other list.
                .or_else(|| is_limit.then(|| json!({"minimum": 1, "maximum": 200})));
            if let Some(schema) = param.schema.as_mut() {
                edit(schema, rule.as_ref());
            }
        }
    });
}

impl Modify for ValidationRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        apply(openapi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi;

    #[test]
    fn rules_name_real_fields() {
        let doc = serde_json::to_value(crate::api::openapi::ApiDoc::openapi()).expect("json");
        for (schema, property, rules) in property_rules() {
            let p = doc
                .pointer(&format!(
                    "/components/schemas/{schema}/properties/{property}"
                ))
                .unwrap_or_else(|| panic!("{schema}.{property} is not in the document"));
            for (k, v) in rules.as_object().expect("object") {
                assert_eq!(&p[k], v, "{schema}.{property}.{k}");
            }
        }
        let param = |path: &str, name: &str| {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .unwrap_or_else(|| panic!("{path} ?{name} is not in the document"))
                .clone()
        };
        assert_eq!(param("/v1/orders", "limit")["schema"]["maximum"], 200);
        for (path, name, rules) in query_rules() {
            let p = param(path, name);
            for (k, v) in rules.as_object().expect("object") {
                assert_eq!(&p["schema"][k], v, "{path} ?{name}.{k}");
            }
        }
    }
}
