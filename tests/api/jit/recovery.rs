//! A slow supplier and a retry, and a kameng killed mid-call: the supplier is never asked twice
//! for one attempt, the reseller is charged once, no code is lost.

use std::time::Duration;

use kameng::client::{AdminClient, Client};
use kameng::domain::trade::fulfilment::FulfilmentSettings;

use super::codes;
use super::fake_supplier::{FakeSupplier, Mode};
use super::jit_product;
use crate::common::{order_req, test_database, TestApp, ADMIN_PASS, ADMIN_USER};
use crate::process::ServerProcess;

#[actix_web::test]
async fn a_retry_during_a_slow_call_waits_for_it_and_never_calls_twice() {
    let app = TestApp::spawn().await;
    let j = jit_product(&app, "JC", 0, 10, Some(5_000)).await;
    j.fake.set_mode(Mode::Slow(Duration::from_millis(1_000)));
    let (_, shop) = app.reseller(None, 1_000).await;
    let req = order_req(&j.product_id, 2, "JC-1");
    let (first, second) = tokio::join!(shop.create_order(&req), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        shop.create_order(&req).await
    });
    let ((a, a_created), (b, b_created)) = (first.unwrap(), second.unwrap());
    assert_eq!(a.id, b.id);
    assert_eq!(codes(&a), codes(&b));
    assert!(a_created && !b_created);
    assert_eq!(j.fake.calls().len(), 1);
    assert_eq!(shop.account().await.unwrap().balance, 800);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_jit_order_killed_mid_call_is_completed_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let fake = FakeSupplier::start();
    // Issues its codes, then is slow to answer: kameng dies before it hears them.
    fake.set_mode(Mode::Slow(Duration::from_secs(30)));
    let server = ServerProcess::start(&db.url, dir.path(), &[]).await;
    let admin = AdminClient::login(&server.base, ADMIN_USER, ADMIN_PASS)
        .await
        .unwrap();
    let s = admin.create_supplier("Acme", None).await.unwrap();
    fake.set_secret(&s.webhook_secret);
    let p = crate::common::card_product_on(&admin, &s.supplier.id, "JK").await;
    let supplier = Client::new(&server.base, &s.api_key.key_id, &s.api_key.secret);
    supplier
        .put_fulfilment(
            &p,
            &FulfilmentSettings {
                url: fake.url.clone(),
                declared_stock: 10,
                timeout_ms: Some(2_000),
            },
        )
        .await
        .unwrap();
    let r = admin.create_reseller("Shop", None, None).await.unwrap();
    admin.credit(&r.reseller.id, 1_000).await.unwrap();
    let shop = Client::new(&server.base, &r.api_key.key_id, &r.api_key.secret);
    let req = order_req(&p, 2, "JK-1");
    let pending = {
        let (shop, req) = (shop.clone(), req.clone());
        actix_web::rt::spawn(async move { shop.create_order(&req).await })
    };
    let calls = fake.wait_calls(1, 10).await;
    server.kill9();
    assert!(pending.await.unwrap().is_err(), "the first attempt died");
    let request_id = calls[0].request_id.clone();
    let issued = fake.issued(&request_id);
    assert_eq!(issued.len(), 2);

    fake.set_mode(Mode::Issue);
    let server = ServerProcess::start(&db.url, dir.path(), &[]).await;
    let shop = Client::new(&server.base, &r.api_key.key_id, &r.api_key.secret);
    // The resume job takes the reservation once its lease (timeout + 5 s) has passed.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let order = loop {
        let page = shop.orders("out_trade_no=JK-1").await.unwrap();
        if let Some(o) = page.data.into_iter().next() {
            break o;
        }
        assert!(std::time::Instant::now() < deadline, "never resumed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let calls = fake.calls();
    assert_eq!(calls.len(), 2, "asked again once, at restart");
    assert_eq!(calls[1].request_id, request_id, "with the same request_id");
    assert_eq!(calls[1].body["order_id"], order.id.as_str());
    assert_eq!(calls[0].body["order_id"], order.id.as_str());
    assert_eq!(codes(&shop.order(&order.id).await.unwrap()), issued);
    assert_eq!(shop.account().await.unwrap().balance, 800, "charged once");
    // The reseller's retry finds the order.
    let (again, created) = shop.create_order(&req).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, order.id);
    assert_eq!(fake.calls().len(), 2);
    let admin = AdminClient::login(&server.base, ADMIN_USER, ADMIN_PASS)
        .await
        .unwrap();
    assert!(admin.verify_audit().await.unwrap().ok);
}
