//! A supplier that fails, times out, answers the wrong count or a known code costs the reseller
//! nothing (`503 supplier_unavailable`, balance, stock and books untouched) and is counted in
//! its quality figures; five in a row pause it; a private address is never called.

use std::time::Duration;

use kameng::domain::trade::fulfilment::FulfilmentSettings;

use super::fake_supplier::Mode;
use super::{jit_product, refusal};
use crate::common::{order_req, TestApp};
use crate::process::free_port;

#[actix_web::test]
async fn every_kind_of_supplier_failure_costs_the_reseller_nothing() {
    let app = TestApp::spawn().await;
    let j = jit_product(&app, "JF", 0, 100, Some(500)).await;
    // A code kameng has stored before, in another product of the same supplier.
    let other = app
        .card_product(&j.supplier.supplier.id, "JF-OTHER", 100, 90)
        .await;
    j.supplier_client
        .push_cards(&other.product.id, &crate::common::cards("SEEN", 0..1))
        .await
        .unwrap();
    let (_, shop) = app.reseller(None, 1_000).await;
    let down = format!("http://127.0.0.1:{}/fulfil", free_port());
    let cases: [(&str, Mode); 5] = [
        ("HTTP 500", Mode::Status(500)),
        ("wrong count", Mode::WrongCount),
        ("known code", Mode::Known("SEEN-CODE-000000".into())),
        ("timeout", Mode::Slow(Duration::from_millis(2_000))),
        ("connection refused", Mode::Issue),
    ];
    for (i, (what, mode)) in cases.into_iter().enumerate() {
        if what == "connection refused" {
            j.supplier_client
                .put_fulfilment(
                    &j.product_id,
                    &FulfilmentSettings {
                        url: down.clone(),
                        declared_stock: 100,
                        timeout_ms: Some(500),
                    },
                )
                .await
                .unwrap();
        }
        j.fake.set_mode(mode);
        let e = shop
            .create_order(&order_req(&j.product_id, 2, &format!("JF-{i}")))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), (503, "supplier_unavailable".into()), "{what}");
        assert_eq!(shop.account().await.unwrap().balance, 1_000, "{what}");
        // The fifth failure in a row pauses the supplier: its declared stock is not shown.
        let shown = if i < 4 { 100 } else { 0 };
        assert_eq!(
            shop.product(&j.product_id).await.unwrap().stock,
            Some(shown),
            "{what}"
        );
        assert_eq!(shop.orders("").await.unwrap().data.len(), 0, "{what}");
    }
    assert_eq!(j.fake.calls().len(), 4, "the fifth went to a closed port");
    let products = j.supplier_client.supplier_products().await.unwrap();
    let q = products.iter().find(|p| p.id == j.product_id).unwrap();
    assert_eq!(q.jit_failures, 5);
    assert_eq!(q.delivered, 0);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn the_breaker_pauses_a_failing_supplier_and_closes_after_the_cooldown() {
    let app = TestApp::spawn_with(|c| c.jit_cooldown = Duration::from_millis(1_500)).await;
    let j = jit_product(&app, "JB", 0, 20, None).await;
    let (_, shop) = app.reseller(None, 1_000).await;
    j.fake.set_mode(Mode::Status(500));
    for i in 0..5 {
        let e = shop
            .buy(&j.product_id, 1, &format!("JB-{i}"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e).1, "supplier_unavailable");
    }
    assert_eq!(j.fake.calls().len(), 5);
    // Open: refused without a call, shown unavailable.
    let e = shop.buy(&j.product_id, 1, "JB-5").await.unwrap_err();
    assert_eq!(refusal(e), (503, "supplier_unavailable".into()));
    assert_eq!(j.fake.calls().len(), 5);
    let shown = shop.product(&j.product_id).await.unwrap();
    assert_eq!((shown.stock, shown.available), (Some(0), false));
    let f = j.supplier_client.fulfilment(&j.product_id).await.unwrap();
    assert!(f.paused_until.is_some());

    // After the cooldown the next order calls again (and a success keeps it closed).
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    j.fake.set_mode(Mode::Issue);
    let shown = shop.product(&j.product_id).await.unwrap();
    assert_eq!((shown.stock, shown.available), (Some(20), true));
    shop.buy(&j.product_id, 1, "JB-6").await.unwrap();
    shop.buy(&j.product_id, 1, "JB-7").await.unwrap();
    assert_eq!(j.fake.calls().len(), 7);
    assert_eq!(shop.account().await.unwrap().balance, 800);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_fulfilment_endpoint_on_a_private_address_is_never_called() {
    let app = TestApp::spawn_with(|c| c.allow_private_webhooks = false).await;
    let j = jit_product(&app, "JS", 0, 10, None).await;
    let (_, shop) = app.reseller(None, 1_000).await;
    let e = shop.buy(&j.product_id, 1, "JS-1").await.unwrap_err();
    assert_eq!(refusal(e), (503, "supplier_unavailable".into()));
    assert!(
        j.fake.calls().is_empty(),
        "nothing may reach the loopback supplier"
    );
    assert_eq!(shop.account().await.unwrap().balance, 1_000);
}
