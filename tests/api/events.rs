//! Signed callbacks, retries, the admin view of deliveries, direct top-ups and stock.low.

use std::time::Duration;

use kameng::auth::signing::verify_event_signature;
use kameng::client::Client;
use reqwest::Method;
use serde_json::json;

use crate::common::{cards, new_direct_product, order_req, topup_req, topup_result, TestApp};
use crate::receiver::Receiver;

fn verified(secret: &str, r: &crate::receiver::Received) -> bool {
    verify_event_signature(
        secret,
        &r.signature,
        &r.body,
        kameng::time::now_secs(),
        Some(300),
    )
}

#[actix_web::test]
async fn a_card_order_sends_a_signed_order_delivered_callback() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let (_, _, p) = app.stocked_product("P", 100, 90, 5).await;
    let (r, client) = app.reseller_with_callback(&rx.url, 1_000).await;
    let order = client.buy(&p.product.id, 1, "CB-1").await.unwrap();

    let got = rx.wait_for(5, |g| !g.is_empty()).await;
    let cb = &got[0];
    assert_eq!(cb.event_type, "order.delivered");
    assert!(
        verified(&r.webhook_secret, cb),
        "signature must verify with the webhook secret"
    );
    assert!(!verified("whsec_other", cb));
    let body = cb.json();
    assert_eq!(body["id"], cb.event_id);
    assert_eq!(body["type"], "order.delivered");
    assert_eq!(body["data"]["order_id"], order.id);
    assert_eq!(body["data"]["out_trade_no"], "CB-1");
    // The callback carries no codes.
    assert!(!String::from_utf8_lossy(&cb.body).contains("P-CODE"));

    // A per-order notify_url overrides the account default.
    let rx2 = Receiver::start();
    let mut req = order_req(&p.product.id, 1, "CB-2");
    req.notify_url = Some(rx2.url.clone());
    client.create_order(&req).await.unwrap();
    rx2.wait_for(5, |g| g.len() == 1).await;

    // The admin sees the delivery and its attempt. The receiver has the request before the
    // worker has recorded the answer, so wait for the record.
    let mut page = admin_get(&app, "/v1/admin/webhooks?status=delivered").await;
    for _ in 0..50 {
        if page["data"].as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = admin_get(&app, "/v1/admin/webhooks?status=delivered").await;
    }
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let id = page["data"][1]["id"].as_str().unwrap().to_string();
    let detail = admin_get(&app, &format!("/v1/admin/webhooks/{id}")).await;
    assert_eq!(detail["attempt_log"][0]["status_code"], 200);
}

#[actix_web::test]
async fn failed_deliveries_retry_with_the_same_id_then_fail_and_can_be_redelivered() {
    let app = TestApp::spawn_with(|c| c.webhook_retry_schedule = vec![1, 1]).await;
    let rx = Receiver::start();
    rx.respond_with(500);
    let (_, _, p) = app.stocked_product("P", 100, 90, 5).await;
    let (_, client) = app.reseller_with_callback(&rx.url, 1_000).await;
    client.buy(&p.product.id, 1, "R-1").await.unwrap();

    // 1 attempt + 2 retries, all with one event id.
    let got = rx.wait_for(10, |g| g.len() >= 3).await;
    assert!(got.iter().all(|g| g.event_id == got[0].event_id));
    let failed = wait_status(&app, "failed").await;
    assert_eq!(failed["attempts"], 3);
    assert_eq!(failed["last_error"], "HTTP 500");
    let id = failed["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        rx.received().len(),
        3,
        "no attempts after the schedule is exhausted"
    );

    rx.respond_with(204);
    let res = app
        .admin
        .send(
            Method::POST,
            &format!("/v1/admin/webhooks/{id}/redeliver"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    let got = rx.wait_for(5, |g| g.len() == 4).await;
    assert_eq!(got[3].event_id, got[0].event_id);
    wait_status(&app, "delivered").await;
    let detail = admin_get(&app, &format!("/v1/admin/webhooks/{id}")).await;
    let codes: Vec<i64> = detail["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![500, 500, 500, 204]);
}

/// An admin `GET` of `path`, as JSON.
async fn admin_get(app: &TestApp, path: &str) -> serde_json::Value {
    let res = app.admin.send(Method::GET, path, None).await.unwrap();
    res.json().unwrap()
}

async fn wait_status(app: &TestApp, status: &str) -> serde_json::Value {
    for _ in 0..100 {
        let page = admin_get(app, &format!("/v1/admin/webhooks?status={status}")).await;
        if let Some(first) = page["data"].as_array().and_then(|a| a.first()) {
            return first.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no event reached {status}");
}

#[actix_web::test]
async fn callbacks_to_private_addresses_are_refused_unless_allowed() {
    let app = TestApp::spawn_with(|c| {
        c.allow_private_webhooks = false;
        c.webhook_retry_schedule = vec![];
    })
    .await;
    let rx = Receiver::start();
    let (_, _, p) = app.stocked_product("P", 100, 90, 5).await;
    let (_, client) = app.reseller_with_callback(&rx.url, 1_000).await;
    client.buy(&p.product.id, 1, "S-1").await.unwrap();
    let failed = wait_status(&app, "failed").await;
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{failed}"
    );
    assert!(
        rx.received().is_empty(),
        "nothing may reach the loopback receiver"
    );
}

#[actix_web::test]
async fn a_slow_receiver_does_not_slow_orders() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    rx.delay(Duration::from_secs(3));
    let (_, _, p) = app.stocked_product("P", 100, 90, 20).await;
    let (_, client) = app.reseller_with_callback(&rx.url, 10_000).await;
    let started = std::time::Instant::now();
    for i in 0..10 {
        client
            .buy(&p.product.id, 1, &format!("SL-{i}"))
            .await
            .unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "orders waited for callbacks: {:?}",
        started.elapsed()
    );
    // And the callbacks are sent concurrently, not one after another.
    rx.wait_for(6, |g| g.len() == 10).await;
}

/// A direct top-up product asking for `account` and `server` (price 580), its supplier, and a
/// reseller holding 10,000; each side's callbacks go to its own receiver.
struct Direct {
    reseller: Client,
    reseller_rx: Receiver,
    supplier: Client,
    supplier_rx: Receiver,
    supplier_secret: String,
    product_id: String,
}

async fn direct_setup(app: &TestApp) -> Direct {
    let (supplier_rx, reseller_rx) = (Receiver::start(), Receiver::start());
    let (s, supplier) = app.supplier_with_webhook(&supplier_rx.url).await;
    let fields = ["account", "server"];
    let p = new_direct_product(&app.admin, &s.supplier.id, "GEMS-60", (580, 500), &fields).await;
    let (_, reseller) = app.reseller_with_callback(&reseller_rx.url, 10_000).await;
    Direct {
        reseller,
        reseller_rx,
        supplier,
        supplier_rx,
        supplier_secret: s.webhook_secret,
        product_id: p.product.id,
    }
}

/// A top-up order for player 42 on server asia-1.
fn player_topup(pid: &str, no: &str) -> kameng::domain::trade::orders::OrderRequest {
    topup_req(
        pid,
        1,
        no,
        json!({"account": "player-42", "server": "asia-1"}),
    )
}

#[actix_web::test]
async fn direct_topup_success_and_failure_end_to_end() {
    let app = TestApp::spawn().await;
    let d = direct_setup(&app).await;
    let (reseller, pid) = (&d.reseller, &d.product_id);

    // Missing top-up fields: 422, nothing charged.
    let err = reseller
        .create_order(&order_req(pid, 1, "D-0"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));

    let (order, _) = reseller
        .create_order(&player_topup(pid, "D-1"))
        .await
        .unwrap();
    assert_eq!(order.status, "processing");
    assert!(order.cards.is_none());
    assert_eq!(reseller.account().await.unwrap().balance, 10_000 - 580);
    let asked = d.supplier_rx.wait_for(5, |g| g.len() == 1).await;
    assert_eq!(asked[0].event_type, "order.topup_requested");
    assert!(verified(&d.supplier_secret, &asked[0]));
    assert_eq!(asked[0].json()["data"]["topup"]["account"], "player-42");

    let done = topup_result(&d.supplier, &order.id, json!({"status": "success"})).await;
    assert_eq!(
        done.json::<serde_json::Value>().unwrap()["status"],
        "completed"
    );
    // Only once.
    let again = topup_result(&d.supplier, &order.id, json!({"status": "failed"})).await;
    assert_eq!(again.status, 409);
    let cb = d.reseller_rx.wait_for(5, |g| g.len() == 1).await;
    assert_eq!(cb[0].event_type, "order.completed");
    assert_eq!(reseller.order(&order.id).await.unwrap().status, "completed");

    // A failed top-up refunds.
    let (order2, _) = reseller
        .create_order(&player_topup(pid, "D-2"))
        .await
        .unwrap();
    let failed = json!({"status": "failed", "message": "no such account"});
    let res = topup_result(&d.supplier, &order2.id, failed).await;
    assert_eq!(res.status, 200);
    let cb = d.reseller_rx.wait_for(5, |g| g.len() == 2).await;
    assert_eq!(cb[1].event_type, "order.failed");
    assert_eq!(cb[1].json()["data"]["refunded"], true);
    let o2 = reseller.order(&order2.id).await.unwrap();
    assert_eq!(
        (o2.status.as_str(), o2.result_message.as_deref()),
        ("failed", Some("no such account"))
    );
    assert_eq!(reseller.account().await.unwrap().balance, 10_000 - 580);

    // Another supplier cannot answer for it.
    let (_, other) = app.supplier().await;
    let (order3, _) = reseller
        .create_order(&player_topup(pid, "D-3"))
        .await
        .unwrap();
    let res = topup_result(&other, &order3.id, json!({"status": "success"})).await;
    assert_eq!(res.status, 404);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn an_unanswered_topup_times_out_and_refunds() {
    let app = TestApp::spawn_with(|c| c.topup_timeout_secs = 1).await;
    let d = direct_setup(&app).await;
    let (order, _) = d
        .reseller
        .create_order(&player_topup(&d.product_id, "T-1"))
        .await
        .unwrap();
    let cb = d.reseller_rx.wait_for(6, |g| !g.is_empty()).await;
    assert_eq!(cb[0].event_type, "order.failed");
    assert_eq!(d.reseller.order(&order.id).await.unwrap().status, "failed");
    assert_eq!(d.reseller.account().await.unwrap().balance, 10_000);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn stock_low_fires_once_when_an_order_crosses_the_threshold() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let (s, supplier) = app.supplier_with_webhook(&rx.url).await;
    let p = app.card_product(&s.supplier.id, "LOW", 100, 90).await;
    supplier
        .push_cards(&p.product.id, &cards("LOW", 0..5))
        .await
        .unwrap();
    let res = supplier
        .send_raw(
            Method::PATCH,
            &format!("/v1/supplier/products/{}", p.product.id),
            br#"{"low_stock_threshold":3}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    let (_, buyer) = app.reseller(None, 10_000).await;
    for i in 0..4 {
        buyer.buy(&p.product.id, 1, &format!("L{i}")).await.unwrap();
    }
    let got = rx.wait_for(5, |g| !g.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lows: Vec<_> = rx
        .received()
        .into_iter()
        .filter(|r| r.event_type == "stock.low")
        .collect();
    assert_eq!(lows.len(), 1, "{got:?}");
    assert_eq!(lows[0].json()["data"]["stock"], 2);
}

#[actix_web::test]
async fn accounts_can_send_themselves_a_test_event() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let (r, client) = app.reseller_with_callback(&rx.url, 0).await;
    let res: serde_json::Value = client
        .send_raw(Method::POST, "/v1/webhooks/test", vec![])
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(res["delivered"], true);
    assert_eq!(res["attempt"]["status_code"], 200);
    let got = rx.received();
    assert_eq!(got[0].event_type, "webhook.test");
    assert!(verified(&r.webhook_secret, &got[0]));
    // Without a registered URL: a clear conflict.
    let (_, supplier) = app.supplier().await;
    let res = supplier
        .send_raw(Method::POST, "/v1/supplier/webhooks/test", vec![])
        .await
        .unwrap();
    assert_eq!(res.status, 409);
}
