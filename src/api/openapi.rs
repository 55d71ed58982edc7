//! The OpenAPI document, generated from the handlers' annotations and the route table. The checked-in copy at
//! `openapi/openapi.json` is compared with this in a test, so the two cannot drift.
//!
//! Operation ids are what generated clients name their methods after (`list_products()` in
//! Python, `createOrder` in a TypeScript wrapper), so each is explicit, unique and camelCase:
//! verb + audience + resource. The verb is `list`, `get`, `create`, `update` (PATCH), `set`
//! (PUT of a value), `revoke`, `push`, or the action's own word (`credit`, `redeliver`,
//! `verify`). The audience is empty for a reseller's operations (the main integrators:
//! `listProducts`, `createOrder`), `Supplier` for a supplier key's (`pushSupplierCards`) and
//! `Admin` for the operator's (`listAdminOrders`), so one resource seen by two audiences never
//! clashes and a generated client reads like the role using it. `tests/api/openapi.rs` checks
//! every operation has a unique id of that shape, a tag and a summary.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::openapi_rules::ValidationRules;

const SIGNING: &str = "Reseller and supplier requests are signed with the API key's secret. Send four headers:\n\n\
```\nX-Kameng-Key:        <key_id>\nX-Kameng-Timestamp:  <unix seconds>\nX-Kameng-Nonce:      <8..64 chars of [A-Za-z0-9_-], unique per key>\n\
X-Kameng-Signature:  <lowercase hex HMAC-SHA256(secret, string_to_sign)>\n\n\
string_to_sign = METHOD + \"\\n\" + PATH + \"\\n\" + QUERY + \"\\n\" + TIMESTAMP + \"\\n\" + NONCE + \"\\n\"\n\
                 + lowercase_hex(SHA256(raw request body bytes))\n```\n\n\
PATH is the path as sent (no host, no query); QUERY the raw query string without `?` (empty when none). \
Timestamps more than 300 s from the server clock are refused (401 `unauthorized`); a nonce reused by the \
same key within the window is refused (401 `replayed_request`). The scopes listed on an operation are \
the key scopes it needs (403 `insufficient_scope`). Outbound events carry \
`X-Kameng-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(webhook_secret, t + \".\" + raw body)>`; \
while a rotated-away secret overlaps the new one, a second `v1=` (new first, then old) follows.\n\n\
OpenAPI has no scheme type for a request HMAC, so this is declared as an API key in the \
`X-Kameng-Signature` header: a generated client will not compute it. Add a request hook that sets \
the four headers just before sending, over the exact bytes sent: `examples/python/kameng_signing.py` \
(an httpx event hook), `examples/typescript/src/signing.ts` (an openapi-fetch middleware), \
`examples/php/purchase.php` (hash_hmac). Test vector: secret `sk_test_5f2a9c1e7b3d4f60`, \
`POST /v1/orders`, no query, timestamp `1767225600`, nonce `n0nce-0001`, body \
`{\"product_id\":\"prd_01\",\"quantity\":1,\"out_trade_no\":\"T1001\"}` → signature \
`1d03bb7cc72dcc2cc4fb47298867269224f95cb782af0bcbd6ea66c598dff0ff`.";

/// Title, shared schemas and tags: the document without its operations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kameng",
        description = "Headless distribution API for digital goods: suppliers push stock, resellers buy with instant delivery from a prepaid balance. Money is integer minor units. Errors are RFC 9457 problem+json with a stable `code`.\n\n# Authentication\n\nResellers and suppliers sign every request with their API key (scheme `signed` below); the operator uses a bearer token from `POST /v1/admin/login` (scheme `admin`).\n\n<!-- ReDoc-Inject: <security-definitions> -->",
        version = "0.1.0"
    ),
    // Relative, so the document is right wherever it is served (behind a proxy, on any port):
    // clients resolve it against the URL they fetched the document from, and generators take a
    // base URL when a client is built.
    servers((url = "/", description = "The server this document is served by")),
    components(schemas(crate::error::Problem, crate::error::FieldError, crate::domain::money::receipts::ReceiptClaims, crate::domain::trade::inventory::stock_low::StockLow)),
    tags(
        (name = "catalogue", description = "Products at the caller's price (reseller keys)"),
        (name = "orders", description = "Purchases with instant delivery (reseller keys)"),
        (name = "claims", description = "Gift links: a card handed to someone other than the buyer. The holder's side is unsigned (the token is the credential); the buyer's side takes reseller keys"),
        (name = "account", description = "Balance, statement and deposits (reseller keys)"),
        (name = "network", description = "Sub-resellers, markups and commission (reseller keys with `sub_resellers:write`)"),
        (name = "supplier", description = "Stock and fulfilment (supplier keys)"),
        (name = "tickets", description = "After-sales tickets (reseller keys)"),
        (name = "support", description = "The support assistant: answers a customer's message from the order's state (reseller keys)"),
        (name = "sandbox", description = "Sandbox keys: test the whole API without money, stock or suppliers; trigger products for every failure path (reseller sandbox keys)"),
        (name = "insight", description = "Sales analytics and recommendations (reseller keys)"),
        (name = "webhooks", description = "An account's own callbacks: endpoint, event types, delivery log, secret rotation (reseller and supplier keys)"),
        (name = "admin", description = "Platform operation (admin bearer token)"),
        (name = "payments", description = "Payment providers report deposit payments (signed with the provider's secret)"),
        (name = "system", description = "Health, metrics, documents"),
    )
)]
struct Base;

/// The whole document: `Base`, the operations of the route table, then the modifiers (which
/// walk the operations, so they come last, as `#[openapi(modifiers(...))]` would run them).
pub struct ApiDoc;

impl OpenApi for ApiDoc {
    fn openapi() -> utoipa::openapi::OpenApi {
        let mut doc = Base::openapi();
        super::routes::table(&mut doc);
        let modifiers: [&dyn Modify; 5] = [
            &Security,
            &StandardErrors,
            &Public,
            &ValidationRules,
            &Summaries,
        ];
        for modifier in modifiers {
            modifier.modify(&mut doc);
        }
        doc
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut signed =
            ApiKey::Header(ApiKeyValue::with_description("X-Kameng-Signature", SIGNING));
        if let ApiKey::Header(v) = &mut signed {
            v.description = Some(SIGNING.to_string());
        }
        components.add_security_scheme("signed", SecurityScheme::ApiKey(signed));
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        bearer.description = Some("Admin session token from `POST /v1/admin/login`.".into());
        components.add_security_scheme("admin", SecurityScheme::Http(bearer));
    }
}

/// Operations that take no credentials (health, documents, admin login) say so with an empty
/// requirement, `security: [{}]`, rather than by leaving security out, which linters and
/// generators read as "unknown". Runs after `StandardErrors`, which adds 401/403 only where
/// credentials are named.
struct Public;

impl Modify for Public {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for_each_operation(openapi, |_, op| {
            op.security
                .get_or_insert_with(|| vec![SecurityRequirement::default()]);
        });
    }
}

/// Adds the error responses every operation can produce (unless it documents its own).
struct StandardErrors;

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| problem(description).into());
}

impl Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for_each_operation(openapi, |path, op| {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_body = op.request_body.is_some();
            if secured {
                add(op, "401", "unauthorized (missing or invalid credentials, bad signature, stale timestamp) or replayed_request");
                add(
                    op,
                    "403",
                    "forbidden (wrong role, suspended account) or insufficient_scope",
                );
                add(op, "429", "rate_limited (see Retry-After)");
            }
            if has_body || !op.parameters.as_ref().is_none_or(|p| p.is_empty()) || secured {
                add(op, "400", "invalid_request (malformed JSON or parameters)");
                add(op, "422", "invalid_request (a field is missing, of the wrong type or out of range; see `errors`)");
            }
            if has_body || path.starts_with("/v1/supplier") || path == "/v1/orders" {
                add(op, "413", "payload_too_large");
            }
            add(op, "500", "internal_error");
            add(op, "503", "unavailable (the database is restarting or unreachable; nothing changed: repeat the same request after Retry-After seconds)");
        });
    }
}

/// Calls `f` with every operation of the document and its path (the modifiers' one walk).
pub(super) fn for_each_operation(
    openapi: &mut utoipa::openapi::OpenApi,
    mut f: impl FnMut(&str, &mut Operation),
) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            f(path, op);
        }
    }
}

/// The document as checked in: pretty JSON with a trailing newline.
pub fn spec_json() -> String {
    let mut s = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

/// Sidebar labels: an operation's summary is the first sentence of its doc comment, plain text
/// (utoipa takes a comment's whole first paragraph, backticks and all, which made the reference
/// page's sidebar a column of paragraphs). The full text stays, as the description.
struct Summaries;

/// Longest label kept whole; a longer first sentence is cut at its first clause.
const LABEL_MAX: usize = 90;

/// The first sentence of `text`, without markup, on one line; a long one cut at its first
/// clause outside parentheses, else at a word.
fn label(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = flat
        .match_indices(". ")
        .map(|(i, _)| i)
        .find(|&i| flat[i + 2..].starts_with(|c: char| c.is_uppercase()))
        .unwrap_or(flat.len());
    let sentence = flat[..end].trim_end_matches('.').replace('`', "");
    if sentence.len() <= LABEL_MAX {
        return sentence;
    }
    let mut depth = 0i32;
    for (i, c) in sentence.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ':' | ';' | ',' if depth == 0 && (15..=LABEL_MAX).contains(&i) => {
                return sentence[..i].to_string();
            }
            _ => {}
        }
    }
    let cut = sentence[..LABEL_MAX].rfind(' ').unwrap_or(LABEL_MAX);
    format!("{}…", &sentence[..cut])
}

impl Modify for Summaries {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for_each_operation(openapi, |_, op| {
            let Some(text) = op.summary.clone() else {
                return;
            };
            let short = label(&text);
            if short == text {
                return;
            }
            op.description = Some(match op.description.take() {
                Some(more) => format!("{text}\n\n{more}"),
                None => text,
            });
            op.summary = Some(short);
        });
    }
}

#[cfg(test)]
mod summary_tests {
    use super::label;

    #[test]
    fn a_label_is_the_first_plain_sentence() {
        assert_eq!(
            label("Submit details; the account becomes `pending` (202). The details are\nstored."),
            "Submit details; the account becomes pending (202)"
        );
        assert_eq!(
            label("Liveness: the process answers."),
            "Liveness: the process answers"
        );
        assert_eq!(label("Prices, e.g. 5 CNY. More"), "Prices, e.g. 5 CNY");
        let long = "Recompute the books from one snapshot: each currency's entries sum to zero, \
                    each transaction sums to zero";
        assert_eq!(label(long), "Recompute the books from one snapshot");
    }
}
