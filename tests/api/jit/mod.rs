//! Just-in-time (declared-stock) products: a supplier's fulfilment endpoint answers for the
//! codes an order misses (`trade::fulfilment`, `trade::orders::jit`). Against a real supplier
//! server (`fake_supplier`): delivered in the 201, mixed with pushed codes, declared stock
//! shown and lowered; failures (`failures`); a slow call and a retry, and a crash mid-call
//! (`recovery`).

mod failures;
pub mod fake_supplier;
mod recovery;

use kameng::client::{Client, ClientError};
use kameng::domain::accounts::SupplierCreated;
use kameng::domain::trade::fulfilment::FulfilmentSettings;

use crate::common::{cards, order_req, TestApp};
use fake_supplier::FakeSupplier;

/// A card product whose supplier answers fulfilment requests through a [`FakeSupplier`].
pub struct JitProduct {
    pub supplier: SupplierCreated,
    pub supplier_client: Client,
    pub product_id: String,
    pub fake: FakeSupplier,
}

/// A just-in-time product (price 100) with `pushed` codes in stock and `declared` more.
pub async fn jit_product(
    app: &TestApp,
    sku: &str,
    pushed: usize,
    declared: i64,
    timeout_ms: Option<i64>,
) -> JitProduct {
    let (supplier, supplier_client, p) = app.stocked_product(sku, 100, 90, pushed).await;
    let fake = FakeSupplier::start();
    fake.set_secret(&supplier.webhook_secret);
    supplier_client
        .put_fulfilment(
            &p.product.id,
            &FulfilmentSettings {
                url: fake.url.clone(),
                declared_stock: declared,
                timeout_ms,
            },
        )
        .await
        .unwrap();
    JitProduct {
        supplier,
        supplier_client,
        product_id: p.product.id,
        fake,
    }
}

/// The status and problem code of a refused request.
pub fn refusal(e: ClientError) -> (u16, String) {
    match e {
        ClientError::Api { status, problem } => (status, problem.code),
        other => panic!("expected a problem document, got {other}"),
    }
}

fn codes(order: &kameng::domain::trade::orders::Order) -> Vec<String> {
    order
        .cards
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.code.clone())
        .collect()
}

#[actix_web::test]
async fn a_jit_order_gets_the_suppliers_codes_in_its_201() {
    let app = TestApp::spawn().await;
    let j = jit_product(&app, "J1", 0, 10, None).await;
    let (_, shop) = app.reseller(None, 1_000).await;
    assert_eq!(shop.product(&j.product_id).await.unwrap().stock, Some(10));

    let (order, created) = shop
        .create_order(&order_req(&j.product_id, 2, "J1-1"))
        .await
        .unwrap();
    assert!(created);
    let calls = j.fake.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert!(call.signed, "signed with the supplier's webhook secret");
    assert_eq!(call.body["order_id"], order.id.as_str());
    assert_eq!(call.body["product_id"], j.product_id.as_str());
    assert_eq!(call.body["sku"], "J1");
    assert_eq!(call.body["quantity"], 2);
    assert_eq!(codes(&order), j.fake.issued(&call.request_id));
    let first = &order.cards.as_ref().unwrap()[0];
    assert_eq!(
        first.secret.as_deref(),
        Some(format!("S-{}", first.code).as_str())
    );

    // Charged once; the codes are the order's, stored like pushed ones.
    assert_eq!(shop.account().await.unwrap().balance, 800);
    assert_eq!(codes(&shop.order(&order.id).await.unwrap()), codes(&order));
    // Declared stock is shown and lowered by the sale.
    assert_eq!(shop.product(&j.product_id).await.unwrap().stock, Some(8));
    let f = j.supplier_client.fulfilment(&j.product_id).await.unwrap();
    assert_eq!((f.declared_stock, f.remaining), (10, 8));
    // A retry of the same out_trade_no is the same order, and no second call.
    let (again, created) = shop
        .create_order(&order_req(&j.product_id, 2, "J1-1"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!((&again.id, codes(&again)), (&order.id, codes(&order)));
    assert_eq!(j.fake.calls().len(), 1);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn pushed_codes_go_first_and_the_supplier_is_asked_only_for_the_rest() {
    let app = TestApp::spawn().await;
    let j = jit_product(&app, "J2", 3, 5, None).await;
    let (_, shop) = app.reseller(None, 10_000).await;
    assert_eq!(shop.product(&j.product_id).await.unwrap().stock, Some(8));

    // Enough pushed codes: no call.
    let first = shop.buy(&j.product_id, 2, "J2-1").await.unwrap();
    assert!(j.fake.calls().is_empty());
    assert_eq!(codes(&first), ["J2-CODE-000000", "J2-CODE-000001"]);

    // One pushed code left, three wanted: two from the supplier.
    let (mixed, _) = shop
        .create_order(&order_req(&j.product_id, 3, "J2-2"))
        .await
        .unwrap();
    let calls = j.fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body["quantity"], 2);
    let mut expected = vec!["J2-CODE-000002".to_string()];
    expected.extend(j.fake.issued(&calls[0].request_id));
    assert_eq!(codes(&mixed), expected);
    // 0 pushed left, 5 − 2 declared.
    assert_eq!(shop.product(&j.product_id).await.unwrap().stock, Some(3));
    assert_eq!(shop.account().await.unwrap().balance, 10_000 - 500);

    // More than the declared stock left: out of stock, without a call.
    let e = shop
        .create_order(&order_req(&j.product_id, 4, "J2-3"))
        .await
        .unwrap_err();
    assert_eq!(refusal(e), (409, "out_of_stock".into()));
    assert_eq!(j.fake.calls().len(), 1);

    // A new declaration starts a new count.
    j.supplier_client
        .put_fulfilment(
            &j.product_id,
            &FulfilmentSettings {
                url: j.fake.url.clone(),
                declared_stock: 50,
                timeout_ms: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(shop.product(&j.product_id).await.unwrap().stock, Some(50));
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn fulfilment_settings_are_checked_and_delete_turns_it_off() {
    let app = TestApp::spawn().await;
    let j = jit_product(&app, "J3", 0, 10, Some(3_000)).await;
    let settings = |url: &str, declared_stock: i64, timeout_ms: Option<i64>| FulfilmentSettings {
        url: url.into(),
        declared_stock,
        timeout_ms,
    };
    let sc = &j.supplier_client;
    let f = sc.fulfilment(&j.product_id).await.unwrap();
    assert_eq!((f.timeout_ms, f.url.as_str()), (3_000, j.fake.url.as_str()));
    for bad in [
        settings(&j.fake.url, 1, Some(10_001)),
        settings(&j.fake.url, 1, Some(0)),
        settings(&j.fake.url, -1, None),
        settings("ftp://example.com/x", 1, None),
        settings("not a url", 1, None),
    ] {
        let e = sc.put_fulfilment(&j.product_id, &bad).await.unwrap_err();
        assert_eq!(refusal(e).1, "invalid_request", "{bad:?}");
    }
    // Unchanged by the refused requests.
    assert_eq!(
        sc.fulfilment(&j.product_id).await.unwrap().timeout_ms,
        3_000
    );
    // Default timeout.
    let f = sc
        .put_fulfilment(&j.product_id, &settings(&j.fake.url, 4, None))
        .await
        .unwrap();
    assert_eq!((f.timeout_ms, f.remaining), (3_000, 4));

    // Another supplier's product is not found.
    let (_, other) = app.supplier().await;
    let e = other
        .put_fulfilment(&j.product_id, &settings(&j.fake.url, 1, None))
        .await
        .unwrap_err();
    assert_eq!(refusal(e), (404, "not_found".into()));
    assert_eq!(
        refusal(other.delete_fulfilment(&j.product_id).await.unwrap_err()),
        (404, "not_found".into())
    );

    // Off: the product sells pushed codes only.
    sc.delete_fulfilment(&j.product_id).await.unwrap();
    let (_, shop) = app.reseller(None, 1_000).await;
    assert_eq!(shop.product(&j.product_id).await.unwrap().stock, Some(0));
    let e = shop
        .create_order(&order_req(&j.product_id, 1, "J3-1"))
        .await
        .unwrap_err();
    assert_eq!(refusal(e), (409, "out_of_stock".into()));
    assert!(j.fake.calls().is_empty());
    assert_eq!(
        refusal(sc.delete_fulfilment(&j.product_id).await.unwrap_err()),
        (404, "not_found".into())
    );
    sc.push_cards(&j.product_id, &cards("J3", 0..1))
        .await
        .unwrap();
    shop.buy(&j.product_id, 1, "J3-2").await.unwrap();
}
