//! Sandbox keys: a world of their own (balance, orders, synthetic codes, trigger products)
//! that never touches anything live, and that live keys never see.

use std::time::{Duration, Instant};

use kameng::auth::Scope;
use kameng::client::Client;
use kameng::domain::accounts::keys::NewKey;
use reqwest::Method;
use serde_json::json;

use crate::common::{order_req, TestApp};
use crate::receiver::Receiver;

/// A sandbox key of the reseller `live` signs for, with every scope.
async fn sandbox_key(app: &TestApp, live: &Client) -> Client {
    let k = live
        .create_key(&NewKey {
            name: "sandbox".into(),
            scopes: Scope::ALL.to_vec(),
            daily_spend_limit: None,
            sandbox: true,
        })
        .await
        .expect("create sandbox key");
    assert!(k.sandbox);
    app.client(&k.key_id, k.secret.as_deref().unwrap())
}

fn topup(product_id: &str, out_trade_no: &str) -> kameng::domain::trade::orders::OrderRequest {
    let mut req = order_req(product_id, 1, out_trade_no);
    req.topup = Some(json!({"account": "player-1"}).as_object().unwrap().clone());
    req
}

async fn wait_status(client: &Client, id: &str, status: &str, within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        let o = client.order(id).await.unwrap();
        if o.status == status {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "order {id} still {} after {within:?}",
            o.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_sandbox_order_buys_a_live_product_with_synthetic_codes_and_changes_nothing_live() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("SBX", 100, 90, 5).await;
    let (_, live) = app.reseller(None, 1_000).await;
    let sandbox = sandbox_key(&app, &live).await;

    // The catalogue: the live product at the live price, stock shown as 1000, and the triggers.
    let products = sandbox.all_products().await.unwrap();
    let shown = products.iter().find(|x| x.id == p.product.id).unwrap();
    assert_eq!((shown.price, shown.stock), (100, Some(1000)));
    for sku in [
        "SANDBOX-OUT-OF-STOCK",
        "SANDBOX-UNAVAILABLE",
        "SANDBOX-SLOW",
        "SANDBOX-TOPUP-OK",
        "SANDBOX-TOPUP-FAIL",
        "SANDBOX-TOPUP-TIMEOUT",
    ] {
        assert!(products.iter().any(|x| x.sku == sku), "{sku} listed");
    }
    assert!(
        !live
            .all_products()
            .await
            .unwrap()
            .iter()
            .any(|x| x.sku.starts_with("SANDBOX-")),
        "a live key never sees trigger products"
    );

    let res = sandbox
        .send_raw(
            Method::POST,
            "/v1/orders",
            serde_json::to_vec(&order_req(&p.product.id, 2, "S-1")).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 201);
    assert_eq!(res.headers["x-kameng-sandbox"], "true");
    let order: serde_json::Value = res.json().unwrap();
    assert_eq!(order["sandbox"], true);
    assert_eq!(order["amount"], 200);
    let codes = order["cards"].as_array().unwrap();
    assert_eq!(codes.len(), 2);
    assert!(codes
        .iter()
        .all(|c| c["code"].as_str().unwrap().starts_with("SANDBOX-")));
    // Its receipt is signed, but by the sandbox issuer: a live verifier refuses it.
    let jwks = kameng::client::fetch_jwks(&app.base).await.unwrap();
    assert!(kameng::client::verify_receipt(order["receipt"].as_str().unwrap(), &jwks).is_err());

    assert_eq!(sandbox.account().await.unwrap().balance, 1_000_000 - 200);
    let id = order["id"].as_str().unwrap();
    assert_eq!(sandbox.order(id).await.unwrap().status, "delivered");
    assert_eq!(sandbox.orders("").await.unwrap().data.len(), 1);

    // Nothing live moved: balance, ledger, stock, orders; and the worlds don't see each other.
    let live_order = live.buy(&p.product.id, 1, "L-1").await.unwrap();
    assert_eq!(live.account().await.unwrap().balance, 900);
    assert!(!live
        .send_raw(Method::GET, "/v1/account", Vec::new())
        .await
        .unwrap()
        .headers
        .contains_key("x-kameng-sandbox"));
    assert_eq!(live.orders("").await.unwrap().data.len(), 1);
    assert_eq!(live.order(id).await.unwrap_err().code(), Some("not_found"));
    assert_eq!(
        sandbox.order(&live_order.id).await.unwrap_err().code(),
        Some("not_found")
    );
    let stock = live.product(&p.product.id).await.unwrap().stock;
    assert_eq!(stock, Some(4), "only the live order took stock");
    let lines = live.ledger("").await.unwrap().data;
    assert_eq!(lines.len(), 2, "the credit and the live order only");
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn trigger_products_fail_and_succeed_as_documented() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let (_, live) = app.reseller_with_callback(&rx.url, 0).await;
    let sandbox = sandbox_key(&app, &live).await;

    let err = sandbox
        .create_order(&order_req("prd_sandbox_out_of_stock", 1, "T-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("out_of_stock"));

    // First attempt 503, the retry with the same out_trade_no succeeds, a third replays it.
    let unavailable = order_req("prd_sandbox_unavailable", 1, "T-2");
    let err = sandbox.create_order(&unavailable).await.unwrap_err();
    assert_eq!(err.code(), Some("unavailable"));
    let (first, created) = sandbox.create_order(&unavailable).await.unwrap();
    assert!(created && first.status == "delivered");
    let (again, created) = sandbox.create_order(&unavailable).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id);

    let started = Instant::now();
    let (slow, _) = sandbox
        .create_order(&order_req("prd_sandbox_slow", 1, "T-3"))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(slow.status, "delivered");

    // Direct top-ups: 202, then the trigger's ending with its callback.
    let (ok, _) = sandbox
        .create_order(&topup("prd_sandbox_topup_ok", "T-4"))
        .await
        .unwrap();
    assert_eq!(ok.status, "processing");
    let placed = Instant::now();
    let done = wait_status(&sandbox, &ok.id, "completed", Duration::from_secs(2)).await;
    assert!(done - placed <= Duration::from_secs(2));
    let cb = rx.event("order.completed").await.json();
    assert_eq!(cb["data"]["order_id"], ok.id.as_str());
    assert_eq!(cb["data"]["sandbox"], true);

    let before = sandbox.account().await.unwrap().balance;
    let (fail, _) = sandbox
        .create_order(&topup("prd_sandbox_topup_fail", "T-5"))
        .await
        .unwrap();
    wait_status(&sandbox, &fail.id, "failed", Duration::from_secs(3)).await;
    assert_eq!(sandbox.account().await.unwrap().balance, before, "refunded");
    let cb = rx.event("order.failed").await.json();
    assert_eq!(cb["data"]["refunded"], true);

    let (timeout, _) = sandbox
        .create_order(&topup("prd_sandbox_topup_timeout", "T-6"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        sandbox.order(&timeout.id).await.unwrap().status,
        "processing"
    );
    wait_status(&sandbox, &timeout.id, "failed", Duration::from_secs(8)).await;
    assert_eq!(sandbox.account().await.unwrap().balance, before);

    // None of it reached the live account.
    assert_eq!(live.account().await.unwrap().balance, 0);
    assert!(live.orders("").await.unwrap().data.is_empty());
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_reset_restores_the_balance_and_forgets_sandbox_orders() {
    let app = TestApp::spawn().await;
    let (_, live) = app.reseller(None, 0).await;
    let sandbox = sandbox_key(&app, &live).await;
    let req = order_req("prd_sandbox_unavailable", 3, "R-1");
    assert_eq!(
        sandbox.create_order(&req).await.unwrap_err().code(),
        Some("unavailable")
    );
    sandbox.create_order(&req).await.unwrap();
    assert_eq!(sandbox.account().await.unwrap().balance, 1_000_000 - 300);
    assert_eq!(sandbox.orders("").await.unwrap().data.len(), 1);

    let reset = sandbox.reset_sandbox().await.unwrap();
    assert_eq!(reset.balance, 1_000_000);
    assert_eq!(sandbox.account().await.unwrap().balance, 1_000_000);
    assert!(sandbox.orders("").await.unwrap().data.is_empty());
    // The trigger forgot the attempt too: the first try after a reset is refused again.
    let err = sandbox
        .create_order(&order_req("prd_sandbox_unavailable", 3, "R-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("unavailable"));

    let err = live.reset_sandbox().await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
}

#[actix_web::test]
async fn sandbox_rules_match_live_ones_and_live_only_endpoints_refuse_sandbox_keys() {
    let app = TestApp::spawn().await;
    let (s, _) = app.supplier().await;
    let dear = app.card_product(&s.supplier.id, "DEAR", 600_000, 1).await;
    let (_, live) = app.reseller(None, 0).await;
    let sandbox = sandbox_key(&app, &live).await;

    sandbox.buy(&dear.product.id, 1, "D-1").await.unwrap();
    let err = sandbox.buy(&dear.product.id, 1, "D-2").await.unwrap_err();
    assert_eq!(err.code(), Some("insufficient_balance"));
    let err = sandbox.buy(&dear.product.id, 2, "D-1").await.unwrap_err();
    assert_eq!(err.code(), Some("idempotency_conflict"));
    let err = sandbox.buy("prd_missing", 1, "D-3").await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    assert_eq!(sandbox.orders("").await.unwrap().data.len(), 1);

    for (method, path) in [
        (Method::GET, "/v1/account/ledger"),
        (Method::GET, "/v1/keys"),
        (Method::POST, "/v1/tickets"),
        (Method::GET, "/v1/analytics/sales"),
    ] {
        let res = sandbox
            .send_raw(method.clone(), path, b"{}".to_vec())
            .await
            .unwrap();
        assert_eq!(res.status, 403, "{method} {path}");
        assert_eq!(res.headers["x-kameng-sandbox"], "true");
    }
}

#[actix_web::test]
async fn the_operator_can_issue_a_reseller_a_sandbox_key() {
    let app = TestApp::spawn().await;
    let (r, live) = app.reseller(None, 0).await;
    let path = format!("/v1/admin/resellers/{}/keys?sandbox=true", r.reseller.id);
    let key: kameng::domain::accounts::keys::IssuedKey = app
        .admin
        .send(Method::POST, &path, None)
        .await
        .unwrap()
        .json()
        .unwrap();
    let sandbox = app.client(&key.key_id, &key.secret);
    assert_eq!(sandbox.account().await.unwrap().balance, 1_000_000);
    sandbox.buy("prd_sandbox_slow", 1, "A-1").await.unwrap();
    assert!(live.orders("").await.unwrap().data.is_empty());
    let listed = live.keys("").await.unwrap().data;
    assert!(listed.iter().any(|k| k.key_id == key.key_id && k.sandbox));
}
