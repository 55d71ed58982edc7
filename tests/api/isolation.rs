//! Tenant isolation, generated from the route table: every documented operation whose path takes
//! an object id is called by a *different* reseller or supplier, validly signed, with another
//! tenant's id, and must answer 404 (or 403) and change nothing. The operations come from the
//! OpenAPI document, so a new `{param}` endpoint that is neither in [`probe`] nor in
//! [`allowed`] fails this test until someone decides how to check it.

use kameng::api::openapi::ApiDoc;
use kameng::client::{Client, RawResponse};
use kameng::domain::accounts::deposits::NewDeposit;
use kameng::domain::aftersales::tickets::NewTicket;
use reqwest::Method;
use serde_json::{json, Value};
use utoipa::OpenApi;

use kameng::api::Page;
use kameng::domain::accounts::keys::OwnerKind;
use kameng::domain::accounts::webhooks::EndpointUpdate;
use kameng::events::deliveries::EventDetail;

use crate::common::{new_direct_product, topup_req, TestApp};
use crate::receiver::Receiver;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every documented `(METHOD, path template)`.
fn operations() -> Vec<(String, String)> {
    let spec = serde_json::to_value(ApiDoc::openapi()).expect("spec as JSON");
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.push((m.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// Operations that take an id yet need no cross-tenant probe, each with the reason.
fn allowed(method: &str, path: &str) -> Option<&'static str> {
    if path.starts_with("/v1/admin/") {
        // Checked below: a tenant's signed request to any admin path is refused with 401.
        return Some("admin routes: the operator sees every tenant; tenants cannot call them");
    }
    match (method, path) {
        ("GET", "/v1/products/{id}") => {
            Some("shared catalogue: every reseller may read every product at its own price")
        }
        ("GET", "/v1/claims/{token}") | ("POST", "/v1/claims/{token}/redeem") => Some(
            "unsigned: the gift link's token is the credential, whoever holds it (tests/api/claims)",
        ),
        ("DELETE", "/v1/orders/{id}/claims/{claim_id}") => Some(
            "needs a gift-link order; another reseller's revoke is not_found in \
             claims::revoking_a_link_returns_card_and_price_once",
        ),
        ("POST", "/v1/payments/callback/{provider}") => Some(
            "a payment provider's callback: its secret authenticates it, no tenant key can (deposits.rs)",
        ),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Reseller,
    Supplier,
}

/// One cross-tenant request: who owns the object, the path parameters and a *valid* body (so
/// the ownership check is what answers, not body validation).
struct Probe {
    owner: Role,
    params: Vec<(&'static str, String)>,
    body: Option<Value>,
}

/// Objects owned by the victims: reseller A (and its network) and supplier S1.
struct Fixtures {
    order_id: String,
    ticket_id: String,
    key_id: String,
    sub_reseller_id: String,
    product_id: String,
    direct_order_id: String,
    /// Reseller A's `order.delivered` and supplier S1's `order.topup_requested`.
    reseller_event_id: String,
    supplier_event_id: String,
    deposit_id: String,
}

/// The fixture map: which victim object each id-taking operation is probed with.
fn probe(method: &str, path: &str, fx: &Fixtures) -> Option<Probe> {
    use Role::*;
    let p = |owner, params: Vec<(&'static str, &String)>, body| Probe {
        owner,
        params: params.into_iter().map(|(k, v)| (k, v.clone())).collect(),
        body,
    };
    Some(match (method, path) {
        ("GET", "/v1/orders/{id}") => p(Reseller, vec![("id", &fx.order_id)], None),
        ("GET", "/v1/orders/{id}/cards") => p(Reseller, vec![("id", &fx.order_id)], None),
        ("GET", "/v1/orders/{id}/claims") => p(Reseller, vec![("id", &fx.order_id)], None),
        ("GET", "/v1/tickets/{id}") => p(Reseller, vec![("id", &fx.ticket_id)], None),
        ("GET", "/v1/deposits/{id}") => p(Reseller, vec![("id", &fx.deposit_id)], None),
        ("DELETE", "/v1/keys/{key_id}") => p(Reseller, vec![("key_id", &fx.key_id)], None),
        ("GET", "/v1/sub-resellers/{id}/orders") => {
            p(Reseller, vec![("id", &fx.sub_reseller_id)], None)
        }
        ("POST", "/v1/sub-resellers/{id}/transfer") => p(
            Reseller,
            vec![("id", &fx.sub_reseller_id)],
            Some(json!({"amount": 1})),
        ),
        ("POST", "/v1/supplier/orders/{id}/result") => p(
            Supplier,
            vec![("id", &fx.direct_order_id)],
            Some(json!({"status": "success"})),
        ),
        ("PATCH", "/v1/supplier/products/{id}") => p(
            Supplier,
            vec![("id", &fx.product_id)],
            Some(json!({"low_stock_threshold": 5})),
        ),
        ("PUT", "/v1/supplier/products/{id}/fulfilment") => p(
            Supplier,
            vec![("id", &fx.product_id)],
            Some(json!({"url": "https://supplier.example/fulfil", "declared_stock": 5})),
        ),
        ("GET", "/v1/supplier/products/{id}/fulfilment") => {
            p(Supplier, vec![("id", &fx.product_id)], None)
        }
        ("DELETE", "/v1/supplier/products/{id}/fulfilment") => {
            p(Supplier, vec![("id", &fx.product_id)], None)
        }
        ("POST", "/v1/supplier/products/{id}/cards") => p(
            Supplier,
            vec![("id", &fx.product_id)],
            Some(json!({"cards": [{"code": "ISOLATION-NEW-1"}]})),
        ),
        ("POST", "/v1/supplier/tickets/{id}/response") => p(
            Supplier,
            vec![("id", &fx.ticket_id)],
            Some(json!({"action": "refund"})),
        ),
        ("GET", "/v1/webhooks/deliveries/{id}")
        | ("POST", "/v1/webhooks/deliveries/{id}/redeliver") => {
            p(Reseller, vec![("id", &fx.reseller_event_id)], None)
        }
        ("GET", "/v1/supplier/webhooks/deliveries/{id}")
        | ("POST", "/v1/supplier/webhooks/deliveries/{id}/redeliver") => {
            p(Supplier, vec![("id", &fx.supplier_event_id)], None)
        }
        _ => return None,
    })
}

fn fill(path: &str, params: &[(&str, String)]) -> String {
    let mut out = path.to_string();
    for (k, v) in params {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    assert!(
        !out.contains('{'),
        "{path}: a path parameter has no fixture"
    );
    out
}

async fn send(client: &Client, method: &str, path: &str, body: &Option<Value>) -> RawResponse {
    let bytes = body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    client
        .send_raw(Method::from_bytes(method.as_bytes()).unwrap(), path, bytes)
        .await
        .unwrap()
}

/// The victims' objects, plus an attacker of each role.
async fn setup(app: &TestApp) -> (Fixtures, [Client; 2], [Client; 2]) {
    let (s1, s1c, product) = app.stocked_product("ISO", 100, 80, 10).await;
    let product_id = product.product.id;
    let direct = new_direct_product(
        &app.admin,
        &s1.supplier.id,
        "ISO-DIRECT",
        (100, 80),
        &["account"],
    )
    .await;
    let (_, a) = app.reseller(None, 10_000).await;
    // Both victims have a callback URL, so their events can be redelivered by their owners.
    let rx = Receiver::start();
    let url = EndpointUpdate {
        url: Some(rx.url.clone()),
        event_types: None,
    };
    a.webhooks(OwnerKind::Reseller)
        .update_endpoint(&url)
        .await
        .unwrap();
    s1c.webhooks(OwnerKind::Supplier)
        .update_endpoint(&url)
        .await
        .unwrap();
    let order = a.buy(&product_id, 1, "ISO-A-1").await.unwrap();
    let topup = topup_req(&direct.product.id, 1, "ISO-A-2", json!({"account": "p1"}));
    let (direct_order, _) = a.create_order(&topup).await.unwrap();
    assert_eq!(direct_order.status, "processing");
    let ticket = a
        .open_ticket(&NewTicket {
            order_id: order.id.clone(),
            reason: "invalid_code".into(),
            card_code: None,
            message: None,
        })
        .await
        .unwrap();
    let key: Value = send(
        &a,
        "POST",
        "/v1/keys",
        &Some(json!({"name": "bot", "scopes": ["catalog:read"]})),
    )
    .await
    .json()
    .unwrap();
    let sub = a.create_sub_reseller("Sub shop").await.unwrap();
    let event_of = |page: Page<EventDetail>, event_type: &str| {
        page.data
            .into_iter()
            .find(|d| d.event.event_type == event_type)
            .map(|d| d.event.id)
            .unwrap()
    };
    let mine = a
        .webhooks(OwnerKind::Reseller)
        .deliveries("")
        .await
        .unwrap();
    let reseller_event_id = event_of(mine, "order.delivered");
    let theirs = s1c
        .webhooks(OwnerKind::Supplier)
        .deliveries("")
        .await
        .unwrap();
    let supplier_event_id = event_of(theirs, "order.topup_requested");
    let (deposit, _) = a
        .create_deposit(&NewDeposit {
            amount: 5_000,
            method: "bank_transfer".into(),
            out_trade_no: None,
        })
        .await
        .unwrap();
    let fx = Fixtures {
        reseller_event_id,
        supplier_event_id,
        order_id: order.id,
        ticket_id: ticket.id,
        key_id: key["key_id"].as_str().unwrap().to_string(),
        sub_reseller_id: sub.reseller.id,
        product_id,
        direct_order_id: direct_order.id,
        deposit_id: deposit.id,
    };
    // The attackers: a reseller with its own balance and sub-reseller, a supplier with stock.
    let (_, b) = app.reseller(None, 10_000).await;
    b.create_sub_reseller("Other sub").await.unwrap();
    let (_, s2c, _) = app.stocked_product("ISO-OTHER", 100, 80, 1).await;
    (fx, [a, s1c], [b, s2c])
}

#[actix_web::test]
async fn another_tenants_objects_are_not_found() {
    let app = TestApp::spawn().await;
    let (fx, [a, s1], [b, s2]) = setup(&app).await;
    let mut probed = Vec::new();
    let mut missing = Vec::new();
    for (method, path) in operations().into_iter().filter(|(_, p)| p.contains('{')) {
        if allowed(&method, &path).is_some() {
            continue;
        }
        let Some(pr) = probe(&method, &path, &fx) else {
            missing.push(format!("{method} {path}"));
            continue;
        };
        let url = fill(&path, &pr.params);
        let (same_role, other_role) = match pr.owner {
            Role::Reseller => (&b, &s2),
            Role::Supplier => (&s2, &b),
        };
        for (who, attacker) in [("same role", same_role), ("other role", other_role)] {
            let res = send(attacker, &method, &url, &pr.body).await;
            let status = res.status.as_u16();
            assert!(
                status == 404 || status == 403,
                "{method} {path} by another tenant ({who}) answered {status}: {}",
                String::from_utf8_lossy(&res.body)
            );
            let code = res.problem().map(|p| p.code).unwrap_or_default();
            assert!(
                ["not_found", "forbidden"].contains(&code.as_str()),
                "{method} {path} ({who}): code {code}"
            );
        }
        probed.push((method, path, url, pr));
    }
    assert!(
        missing.is_empty(),
        "operations taking an id with neither a cross-tenant probe nor an allow-list entry \
         (add them to `probe` or `allowed` in tests/api/isolation.rs): {missing:#?}"
    );
    assert!(
        probed.len() >= 10,
        "only {} operations probed",
        probed.len()
    );

    // Nothing the attackers tried took effect: the threshold is unset and the push stored no
    // code; then each owner's own request succeeds, proving the ids were real and untouched.
    let mine = s1.supplier_products().await.unwrap();
    let p = mine.iter().find(|p| p.id == fx.product_id).unwrap();
    assert_eq!(p.low_stock_threshold, None);
    assert_eq!(p.stock, 9);
    // Creating requests first: a settings resource (a product's fulfilment) is read and
    // deleted by its owner only once it exists. The sort is stable: GET stays before DELETE.
    probed.sort_by_key(|(method, ..)| *method != "PUT");
    for (method, path, url, pr) in &probed {
        let owner = match pr.owner {
            Role::Reseller => &a,
            Role::Supplier => &s1,
        };
        let res = send(owner, method, url, &pr.body).await;
        assert!(
            res.status.is_success(),
            "{method} {path} by its owner answered {}: {}",
            res.status,
            String::from_utf8_lossy(&res.body)
        );
        if path.ends_with("/cards") && *method == "POST" {
            let push: Value = res.json().unwrap();
            assert_eq!(push["accepted"], 1, "the attacker's push stored the code");
        }
    }
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn tenants_cannot_call_admin_routes() {
    let app = TestApp::spawn().await;
    let (_, reseller) = app.reseller(None, 0).await;
    let (_, supplier) = app.supplier().await;
    for (method, path) in operations() {
        if !path.starts_with("/v1/admin/") || path == "/v1/admin/login" {
            continue;
        }
        let url = path.replace('{', "x").replace('}', "");
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        for client in [&reseller, &supplier] {
            let res = send(client, &method, &url, &body).await;
            assert_eq!(
                res.status.as_u16(),
                401,
                "{method} {path} with a tenant's signature: {}",
                String::from_utf8_lossy(&res.body)
            );
        }
    }
}

/// Every documented operation is routed: an unsigned request reaches a handler (which refuses
/// it), never the fallback `route not found`. And every handler's route is documented.
#[actix_web::test]
async fn route_table_and_openapi_agree() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let documented = operations();
    for (method, path) in &documented {
        let url = format!("{}{}", app.base, path.replace('{', "x").replace('}', ""));
        let mut req = http.request(Method::from_bytes(method.as_bytes()).unwrap(), url);
        if method != "GET" && method != "DELETE" {
            req = req.header("content-type", "application/json").body("{}");
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(
            !(status == 404 && body["detail"] == "route not found") && status != 405,
            "{method} {path} is documented but not routed ({status})"
        );
    }
    // The other direction, from the handlers' route attributes in the source.
    let routed = routes_in_source();
    assert!(
        routed.len() >= documented.len(),
        "source scan found too few routes"
    );
    let undocumented: Vec<_> = routed
        .iter()
        .filter(|op| !documented.contains(op))
        // The script the `/docs` page loads: an asset, not an API operation.
        // The reference page's assets, not API operations.
        .filter(|(_, p)| p != "/docs/redoc.standalone.js" && p != "/favicon.ico")
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes without an OpenAPI entry: {undocumented:?}"
    );
}

/// `(METHOD, path)` of every `#[get("...")]`-style route attribute under `src/api/`.
fn routes_in_source() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().map(str::trim) {
                for m in METHODS {
                    let Some(rest) = line.strip_prefix(&format!("#[{m}(\"")) else {
                        continue;
                    };
                    if let Some((route, _)) = rest.split_once('"') {
                        out.push((m.to_ascii_uppercase(), route.to_string()));
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api"),
        &mut out,
    );
    out
}
