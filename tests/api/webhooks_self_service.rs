//! Self-service webhooks: each account reads and changes its own endpoint and event types, sees
//! and redelivers only its own deliveries, and rotates its secret with an overlap in which both
//! secrets sign.

use std::time::Duration;

use kameng::auth::signing::verify_event_signature;
use kameng::client::Client;
use kameng::domain::accounts::keys::OwnerKind::{Reseller, Supplier};
use kameng::domain::accounts::webhooks::EndpointUpdate;
use kameng::events::deliveries::EventDetail;
use reqwest::Method;
use serde_json::json;

use crate::common::{new_direct_product, topup_req, TestApp};
use crate::receiver::{Received, Receiver};

fn verifies(secret: &str, r: &Received) -> bool {
    verify_event_signature(
        secret,
        &r.signature,
        &r.body,
        kameng::time::now_secs(),
        Some(300),
    )
}

fn v1_count(r: &Received) -> usize {
    r.signature
        .split(',')
        .filter(|p| p.starts_with("v1="))
        .count()
}

fn set_url(url: &str) -> EndpointUpdate {
    EndpointUpdate {
        url: Some(url.into()),
        event_types: None,
    }
}

fn set_types(types: &[&str]) -> EndpointUpdate {
    EndpointUpdate {
        url: None,
        event_types: Some(types.iter().map(|t| t.to_string()).collect()),
    }
}

/// Waits until the account's delivery `id` reaches `status`.
async fn wait_delivery(
    client: &Client,
    kind: kameng::domain::accounts::keys::OwnerKind,
    id: &str,
    status: &str,
) -> EventDetail {
    for _ in 0..100 {
        let d = client.webhooks(kind).delivery(id).await.unwrap();
        if d.event.status == status {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("delivery {id} never reached {status}");
}

/// The id of the account's newest event of `event_type`.
async fn newest(
    client: &Client,
    kind: kameng::domain::accounts::keys::OwnerKind,
    event_type: &str,
) -> String {
    let page = client.webhooks(kind).deliveries("limit=50").await.unwrap();
    page.data
        .iter()
        .find(|d| d.event.event_type == event_type)
        .map(|d| d.event.id.clone())
        .unwrap_or_else(|| panic!("no {event_type} event"))
}

#[actix_web::test]
async fn each_account_sees_and_redelivers_only_its_own_deliveries() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let (s1, s1c, p) = app.stocked_product("OWN", 100, 80, 10).await;
    let direct = new_direct_product(
        &app.admin,
        &s1.supplier.id,
        "OWN-D",
        (100, 80),
        &["account"],
    )
    .await;
    s1c.webhooks(Supplier)
        .update_endpoint(&set_url(&rx.url))
        .await
        .unwrap();
    let (_, s2c) = app.supplier().await;
    let (_, a) = app.reseller_with_callback(&rx.url, 1_000).await;
    let (_, b) = app.reseller_with_callback(&rx.url, 1_000).await;
    a.buy(&p.product.id, 1, "OWN-A").await.unwrap();
    b.buy(&p.product.id, 1, "OWN-B").await.unwrap();
    a.create_order(&topup_req(
        &direct.product.id,
        1,
        "OWN-T",
        json!({"account": "p1"}),
    ))
    .await
    .unwrap();
    rx.wait_for(5, |g| g.len() >= 3).await;

    let a_event = newest(&a, Reseller, "order.delivered").await;
    let b_event = newest(&b, Reseller, "order.delivered").await;
    let s1_event = newest(&s1c, Supplier, "order.topup_requested").await;
    // Each list holds the account's own events only, with the attempt log.
    let a_list = a.webhooks(Reseller).deliveries("").await.unwrap();
    assert!(a_list
        .data
        .iter()
        .all(|d| d.event.id != b_event && d.event.id != s1_event));
    let delivered = wait_delivery(&a, Reseller, &a_event, "delivered").await;
    let attempt = &delivered.attempt_log[0];
    assert_eq!(attempt.status_code, Some(200));
    assert!(attempt.error.is_none() && attempt.latency_ms >= 0);
    assert!(s2c
        .webhooks(Supplier)
        .deliveries("")
        .await
        .unwrap()
        .data
        .is_empty());
    let s1_list = s1c
        .webhooks(Supplier)
        .deliveries("status=delivered")
        .await
        .unwrap();
    assert!(s1_list
        .data
        .iter()
        .all(|d| d.event.owner == format!("supplier:{}", s1.supplier.id)));

    // Another account's event is not found, to read or to redeliver, whatever its role.
    for (client, kind, id) in [
        (&b, Reseller, &a_event),
        (&a, Reseller, &s1_event),
        (&s2c, Supplier, &s1_event),
        (&s2c, Supplier, &a_event),
    ] {
        let err = client.webhooks(kind).delivery(id).await.unwrap_err();
        assert_eq!(err.code(), Some("not_found"));
        let err = client.webhooks(kind).redeliver(id).await.unwrap_err();
        assert_eq!(err.code(), Some("not_found"));
    }
    let sent = rx.received().len();

    // The owner's redelivery sends the same event again.
    let ev = a.webhooks(Reseller).redeliver(&a_event).await.unwrap();
    assert_eq!(ev.id, a_event);
    let got = rx.wait_for(5, |g| g.len() == sent + 1).await;
    assert_eq!(got[sent].event_id, a_event);
    let again = s1c.webhooks(Supplier).redeliver(&s1_event).await.unwrap();
    assert_eq!(again.id, s1_event);
    let got = rx.wait_for(5, |g| g.len() == sent + 2).await;
    assert_eq!(got[sent + 1].event_id, s1_event);

    // A bad status filter is refused.
    let res = a
        .send_raw(Method::GET, "/v1/webhooks/deliveries?status=lost", vec![])
        .await
        .unwrap();
    assert_eq!(res.status, 422);
}

#[actix_web::test]
async fn a_failed_delivery_shows_its_attempts_and_the_owner_can_redeliver_it() {
    let app = TestApp::spawn_with(|c| c.webhook_retry_schedule = vec![1]).await;
    let rx = Receiver::start();
    rx.respond_with(500);
    let (_, _, p) = app.stocked_product("FAIL", 100, 80, 5).await;
    let (_, a) = app.reseller_with_callback(&rx.url, 1_000).await;
    a.buy(&p.product.id, 1, "FAIL-1").await.unwrap();
    let id = newest(&a, Reseller, "order.delivered").await;
    let failed = wait_delivery(&a, Reseller, &id, "failed").await;
    let codes: Vec<Option<i32>> = failed.attempt_log.iter().map(|t| t.status_code).collect();
    assert_eq!(codes, vec![Some(500), Some(500)]);
    let page = a
        .webhooks(Reseller)
        .deliveries("status=failed")
        .await
        .unwrap();
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].attempt_log.len(), 2);

    rx.respond_with(200);
    a.webhooks(Reseller).redeliver(&id).await.unwrap();
    let done = wait_delivery(&a, Reseller, &id, "delivered").await;
    assert_eq!(done.attempt_log.len(), 3);
    assert!(rx.received().iter().all(|r| r.event_id == id));
}

#[actix_web::test]
async fn a_rotated_secret_signs_beside_the_new_one_until_retired() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let (_, _, p) = app.stocked_product("ROT", 100, 80, 10).await;
    let (r, a) = app.reseller_with_callback(&rx.url, 10_000).await;
    let old = r.webhook_secret.clone();

    // Bounds: at most 7 days, never negative; nothing changes.
    for bad in [-1, 604_801] {
        let err = a
            .webhooks(Reseller)
            .rotate_secret(Some(bad))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("invalid_request"));
    }
    // A key without every scope cannot take the secret.
    let limited: serde_json::Value = a
        .send_raw(
            Method::POST,
            "/v1/keys",
            json!({"name": "bot", "scopes": ["account:read"]})
                .to_string()
                .into_bytes(),
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    let bot = app.client(
        limited["key_id"].as_str().unwrap(),
        limited["secret"].as_str().unwrap(),
    );
    let err = bot
        .webhooks(Reseller)
        .rotate_secret(None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("insufficient_scope"));
    assert!(
        bot.webhooks(Reseller).endpoint().await.is_ok(),
        "reading needs account:read only"
    );

    a.buy(&p.product.id, 1, "ROT-0").await.unwrap();
    let before = rx.wait_for(5, |g| g.len() == 1).await;
    assert_eq!(
        v1_count(&before[0]),
        1,
        "one secret, one v1: {}",
        before[0].signature
    );
    assert!(verifies(&old, &before[0]));

    // Rotation with the default overlap: both secrets sign, the new one first.
    let rotated = a.webhooks(Reseller).rotate_secret(None).await.unwrap();
    let new = rotated.webhook_secret.clone();
    assert_ne!(new, old);
    let until = rotated
        .previous_secret_expires_at
        .clone()
        .expect("an overlap");
    let ep = a.webhooks(Reseller).endpoint().await.unwrap();
    assert_eq!(ep.previous_secret_expires_at, Some(until));
    a.buy(&p.product.id, 1, "ROT-1").await.unwrap();
    let got = rx.wait_for(5, |g| g.len() == 2).await;
    assert_eq!(v1_count(&got[1]), 2, "{}", got[1].signature);
    assert!(verifies(&new, &got[1]) && verifies(&old, &got[1]));
    let first_v1 = got[1].signature.split(',').nth(1).unwrap().to_string();
    let new_only = kameng::auth::signing::sign_event(
        &new,
        got[1].signature[2..12].parse().unwrap(),
        &got[1].body,
    );
    assert!(
        new_only.ends_with(&first_v1),
        "the new secret's v1 comes first"
    );
    // The test event is signed the same way.
    assert!(a.webhooks(Reseller).send_test().await.unwrap().delivered);
    let got = rx.wait_for(5, |g| g.len() == 3).await;
    assert!(verifies(&new, &got[2]) && verifies(&old, &got[2]));

    // Retired early: only the new secret signs.
    let ep = a.webhooks(Reseller).retire_previous_secret().await.unwrap();
    assert_eq!(ep.previous_secret_expires_at, None);
    a.buy(&p.product.id, 1, "ROT-2").await.unwrap();
    let got = rx.wait_for(5, |g| g.len() == 4).await;
    assert_eq!(v1_count(&got[3]), 1);
    assert!(verifies(&new, &got[3]) && !verifies(&old, &got[3]));
    // Retiring again is harmless.
    a.webhooks(Reseller).retire_previous_secret().await.unwrap();

    // An overlap ends by itself.
    let third = a
        .webhooks(Reseller)
        .rotate_secret(Some(1))
        .await
        .unwrap()
        .webhook_secret;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    a.buy(&p.product.id, 1, "ROT-3").await.unwrap();
    let got = rx.wait_for(5, |g| g.len() == 5).await;
    assert_eq!(v1_count(&got[4]), 1);
    assert!(verifies(&third, &got[4]) && !verifies(&new, &got[4]));

    // Overlap 0 stops the old secret at once.
    let fourth = a.webhooks(Reseller).rotate_secret(Some(0)).await.unwrap();
    assert_eq!(fourth.previous_secret_expires_at, None);
    a.buy(&p.product.id, 1, "ROT-4").await.unwrap();
    let got = rx.wait_for(5, |g| g.len() == 6).await;
    assert!(verifies(&fourth.webhook_secret, &got[5]) && !verifies(&third, &got[5]));

    // Each change is in the audit chain, by the acting key, without the secret.
    let audit = app
        .admin
        .send(Method::GET, "/v1/admin/audit?kind=account", None)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&audit.body).to_string();
    assert!(text.contains("webhook.secret.rotate") && text.contains("webhook.secret.retire"));
    assert!(!text.contains(&fourth.webhook_secret) && !text.contains(&old));
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_supplier_rotates_its_secret_on_its_own_paths() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let (s, sc) = app.supplier_with_webhook(&rx.url).await;
    let rotated = sc
        .webhooks(Supplier)
        .rotate_secret(Some(600))
        .await
        .unwrap();
    assert!(sc.webhooks(Supplier).send_test().await.unwrap().delivered);
    let got = rx.wait_for(5, |g| g.len() == 1).await;
    assert!(verifies(&rotated.webhook_secret, &got[0]) && verifies(&s.webhook_secret, &got[0]));
    // A supplier key on the reseller paths (and the reverse) is refused.
    let err = sc.webhooks(Reseller).endpoint().await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    let (_, a) = app.reseller(None, 0).await;
    let err = a.webhooks(Supplier).rotate_secret(None).await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
}

#[actix_web::test]
async fn events_of_types_not_chosen_are_recorded_skipped_and_not_sent() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let (_, _, p) = app.stocked_product("TYP", 100, 80, 10).await;
    let (_, a) = app.reseller_with_callback(&rx.url, 1_000).await;
    let hooks = a.webhooks(Reseller);
    let ep = hooks.endpoint().await.unwrap();
    assert_eq!(ep.event_types, vec!["*"], "every type by default");
    assert!(ep
        .available_event_types
        .contains(&"order.delivered".to_string()));

    // Bad lists are refused and change nothing.
    for bad in [
        vec!["order.lost"],
        vec!["stock.low"],
        vec![],
        vec!["*", "order.refunded"],
    ] {
        let err = hooks.update_endpoint(&set_types(&bad)).await.unwrap_err();
        assert_eq!(err.code(), Some("invalid_request"), "{bad:?}");
    }
    assert_eq!(hooks.endpoint().await.unwrap().event_types, vec!["*"]);

    let ep = hooks
        .update_endpoint(&set_types(&["order.refunded", "order.refunded"]))
        .await
        .unwrap();
    assert_eq!(ep.event_types, vec!["order.refunded"]);
    assert_eq!(
        ep.url.as_deref(),
        Some(rx.url.as_str()),
        "an absent url stays"
    );
    a.buy(&p.product.id, 1, "TYP-1").await.unwrap();
    let id = newest(&a, Reseller, "order.delivered").await;
    let skipped = wait_delivery(&a, Reseller, &id, "skipped").await;
    assert_eq!(
        skipped.event.last_error.as_deref(),
        Some(kameng::events::outbox::NOT_CHOSEN)
    );
    assert!(skipped.attempt_log.is_empty());
    // The test event always goes out.
    assert!(a.webhooks(Reseller).send_test().await.unwrap().delivered);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = rx.received();
    assert!(
        got.iter().all(|r| r.event_type == "webhook.test"),
        "{got:?}"
    );
    // Redelivering a type not chosen is refused until it is chosen again.
    let err = hooks.redeliver(&id).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    hooks.update_endpoint(&set_types(&["*"])).await.unwrap();
    hooks.redeliver(&id).await.unwrap();
    rx.wait_for(5, |g| g.iter().any(|r| r.event_id == id)).await;
    wait_delivery(&a, Reseller, &id, "delivered").await;
}

#[actix_web::test]
async fn endpoint_urls_must_be_public_http_urls() {
    let app = TestApp::spawn_with(|c| c.allow_private_webhooks = false).await;
    let (_, a) = app.reseller(None, 0).await;
    let (_, s) = app.supplier().await;
    for (client, kind) in [(&a, Reseller), (&s, Supplier)] {
        let hooks = client.webhooks(kind);
        for bad in [
            "http://127.0.0.1:9/hook",
            "http://10.0.0.8/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "ftp://93.184.216.34/x",
            "not a url",
            "https://user:pw@93.184.216.34/x",
        ] {
            let err = hooks.update_endpoint(&set_url(bad)).await.unwrap_err();
            assert_eq!(err.code(), Some("invalid_request"), "{bad}");
        }
        assert_eq!(
            hooks.endpoint().await.unwrap().url,
            None,
            "refusals change nothing"
        );
        let ep = hooks
            .update_endpoint(&set_url("https://93.184.216.34/hook"))
            .await
            .unwrap();
        assert_eq!(ep.url.as_deref(), Some("https://93.184.216.34/hook"));
        let ep = hooks.update_endpoint(&set_url("")).await.unwrap();
        assert_eq!(ep.url, None, "an empty url removes it");
    }
    // Unknown fields are refused.
    let res = a
        .send_raw(
            Method::PUT,
            "/v1/webhooks/endpoint",
            br#"{"uri":"https://93.184.216.34/"}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 422);
}

/// The value of the first sample line of `/metrics` starting with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics_text(app: &TestApp) -> String {
    let res = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    res.text().await.unwrap()
}

#[actix_web::test]
async fn metrics_count_orders_webhook_failures_and_the_backlog() {
    let app = TestApp::spawn_with(|c| c.webhook_retry_schedule = vec![3600]).await;
    let rx = Receiver::start();
    rx.respond_with(500);
    let (_, sc, p) = app.stocked_product("MET", 100, 80, 3).await;
    let (_, a) = app.reseller_with_callback(&rx.url, 250).await;
    let before = metrics_text(&app).await;
    assert_eq!(sample(&before, "kameng_outbox_pending "), Some(0.0));
    assert_eq!(sample(&before, "kameng_products_stock_low "), Some(0.0));

    // The supplier's own threshold makes the second sale start a stock-low spell.
    let res = sc
        .send_raw(
            Method::PATCH,
            &format!("/v1/supplier/products/{}", p.product.id),
            br#"{"low_stock_threshold":2}"#.to_vec(),
        )
        .await
        .unwrap();
    assert!(res.status.is_success());
    a.buy(&p.product.id, 1, "MET-1").await.unwrap();
    a.buy(&p.product.id, 1, "MET-2").await.unwrap();
    let err = a.buy(&p.product.id, 1, "MET-3").await.unwrap_err();
    assert_eq!(err.code(), Some("insufficient_balance"));
    a.buy(&p.product.id, 1, "MET-1").await.unwrap(); // a replay
    rx.wait_for(5, |g| g.len() >= 2).await;
    app.state.settled().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let text = metrics_text(&app).await;
    let orders = |outcome: &str, delivery: &str| {
        sample(&text, &format!("kameng_orders_total{{delivery=\"{delivery}\",mode=\"live\",outcome=\"{outcome}\"}}"))
    };
    assert_eq!(orders("delivered", "card"), Some(2.0), "{text}");
    assert_eq!(orders("insufficient_balance", "unknown"), Some(1.0));
    assert_eq!(orders("replayed", "card"), Some(1.0));
    assert_eq!(sample(&text, "kameng_order_seconds_count"), Some(4.0));
    assert!(
        sample(
            &text,
            "kameng_webhook_failures_total{event_type=\"order.delivered\"}"
        )
        .unwrap()
            >= 2.0
    );
    // Both callbacks wait an hour for their retry: the backlog and its age show it.
    assert_eq!(sample(&text, "kameng_outbox_pending "), Some(2.0));
    assert!(sample(&text, "kameng_outbox_oldest_pending_seconds ").unwrap() > 0.0);
    assert_eq!(sample(&text, "kameng_products_stock_low "), Some(1.0));
    assert!(sample(&text, "kameng_requests_total{mode=\"live\"}").unwrap() >= 5.0);
    if app.state.db.backend() == kameng::db::Backend::Sqlite {
        assert!(sample(&text, "kameng_commit_batch_size_count").unwrap() >= 4.0);
    }
}
