//! The order path: instant delivery, pricing, idempotency, failures that change nothing, and
//! concurrency with no oversell and no double delivery.

use std::collections::HashSet;

use kameng::client::{fetch_jwks, verify_receipt};
use sha2::{Digest, Sha256};

use crate::common::{order_req, TestApp};

#[actix_web::test]
async fn a_card_order_delivers_codes_debits_balance_and_balances_the_books() {
    let app = TestApp::spawn().await;
    let (s, supplier, p) = app.stocked_product("STEAM-100", 10_000, 9_000, 5).await;
    let (r, client) = app.reseller(None, 50_000).await;

    let (order, created) = client
        .create_order(&order_req(&p.product.id, 2, "SHOP-1"))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(order.status, "delivered");
    assert_eq!(
        (order.unit_price, order.amount, order.quantity),
        (10_000, 20_000, 2)
    );
    let cards = order.cards.clone().unwrap();
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0].code, "STEAM-100-CODE-000000");
    assert_eq!(cards[0].secret.as_deref(), Some("PIN0"));

    assert_eq!(client.account().await.unwrap().balance, 30_000);
    assert_eq!(client.product(&p.product.id).await.unwrap().stock, Some(3));
    assert_eq!(supplier.supplier_products().await.unwrap()[0].stock, 3);

    // The order reads back with the same codes; the statement shows the debit.
    let again = client.order(&order.id).await.unwrap();
    assert_eq!(again.cards.unwrap(), cards);
    let ledger = client.ledger("").await.unwrap();
    assert_eq!(ledger.data[0].amount, -20_000);
    assert_eq!(ledger.data[0].balance_after, Some(30_000));
    assert_eq!(ledger.data[0].reference, order.id);
    assert_eq!(ledger.data[1].amount, 50_000);

    // The receipt verifies offline and names the hashes of the codes.
    let claims = verify_receipt(&order.receipt, &fetch_jwks(&app.base).await.unwrap()).unwrap();
    assert_eq!(
        (
            claims.sub.as_str(),
            claims.amount,
            claims.reseller_id.as_str()
        ),
        (order.id.as_str(), 20_000, r.reseller.id.as_str())
    );
    let hashes: Vec<String> = cards
        .iter()
        .map(|c| hex::encode(Sha256::digest(c.code.as_bytes())))
        .collect();
    assert_eq!(claims.codes, hashes);
    // A tampered receipt does not.
    let mut forged = order.receipt.clone();
    forged.insert(forged.len() - 5, 'A');
    assert!(verify_receipt(&forged, &fetch_jwks(&app.base).await.unwrap()).is_err());

    // Supplier payable and platform margin got their shares.
    let (sup, rev) = app
        .state
        .db
        .read(|c| {
            Ok((
                kameng::domain::money::ledger::account_sum(
                    c,
                    &format!("supplier:{}", s.supplier.id),
                )?,
                kameng::domain::money::ledger::account_sum(
                    c,
                    kameng::domain::money::ledger::PLATFORM_REVENUE,
                )?,
            ))
        })
        .unwrap();
    assert_eq!((sup, rev), (18_000, 2_000));
    // The outbox holds the order.delivered event.
    let events: Vec<String> = app
        .state
        .db
        .read(|c| {
            use diesel::prelude::*;
            use kameng::db::schema::events;
            Ok(events::table.select(events::event_type).load(c)?)
        })
        .unwrap();
    assert_eq!(events, vec!["order.delivered".to_string()]);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn prices_follow_level_discount_and_per_reseller_override() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("P", 10_000, 8_000, 10).await;
    app.admin.put_level("gold", 500).await.unwrap();
    let (_, std_client) = app.reseller(None, 100_000).await;
    let (gold, gold_client) = app.reseller(Some("gold"), 100_000).await;
    let (vip, vip_client) = app.reseller(Some("gold"), 100_000).await;
    app.admin
        .put_price(&vip.reseller.id, &p.product.id, 8_800)
        .await
        .unwrap();

    assert_eq!(
        std_client.product(&p.product.id).await.unwrap().price,
        10_000
    );
    assert_eq!(
        gold_client.product(&p.product.id).await.unwrap().price,
        9_500
    );
    assert_eq!(vip_client.all_products().await.unwrap()[0].price, 8_800);
    let order = gold_client.buy(&p.product.id, 1, "G1").await.unwrap();
    assert_eq!(order.amount, 9_500);
    assert_eq!(
        app.admin.reseller(&gold.reseller.id).await.unwrap().balance,
        90_500
    );
    let order = vip_client.buy(&p.product.id, 2, "V1").await.unwrap();
    assert_eq!(order.amount, 17_600);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn failed_orders_change_nothing() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("P", 1_000, 900, 2).await;
    let (_, client) = app.reseller(None, 1_500).await;
    let pid = p.product.id.clone();

    // 402: 2 × 1,000 > 1,500.
    let err = client.buy(&pid, 2, "T1").await.unwrap_err();
    assert_eq!(err.code(), Some("insufficient_balance"));
    // 409 out of stock (3 > 2 in stock) — with enough balance.
    app.admin
        .credit(&client.account().await.unwrap().id, 10_000)
        .await
        .unwrap();
    assert_eq!(
        client.buy(&pid, 3, "T2").await.unwrap_err().code(),
        Some("out_of_stock")
    );
    // 404 unknown product.
    assert_eq!(
        client.buy("prd_nope", 1, "T3").await.unwrap_err().code(),
        Some("not_found")
    );
    // 422 outside the product's quantity limits.
    app.admin
        .update_product(&pid, serde_json::json!({"max_quantity": 1}))
        .await
        .unwrap();
    assert_eq!(
        client.buy(&pid, 2, "T4").await.unwrap_err().code(),
        Some("invalid_request")
    );
    // 409 off sale.
    app.admin
        .update_product(&pid, serde_json::json!({"status": "off_sale"}))
        .await
        .unwrap();
    assert_eq!(
        client.buy(&pid, 1, "T5").await.unwrap_err().code(),
        Some("product_unavailable")
    );

    // Nothing moved: balance is the credits, stock intact, no orders, and the failed
    // out_trade_nos are still free to use.
    assert_eq!(client.account().await.unwrap().balance, 11_500);
    assert_eq!(client.product(&pid).await.unwrap().stock, Some(2));
    assert!(client.orders("").await.unwrap().data.is_empty());
    app.admin
        .update_product(&pid, serde_json::json!({"status": "on_sale"}))
        .await
        .unwrap();
    assert_eq!(client.buy(&pid, 1, "T1").await.unwrap().status, "delivered");
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_retry_gets_its_order_back_after_the_stock_and_balance_it_used_are_gone() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("LAST", 100, 90, 1).await;
    let (_, client) = app.reseller(None, 100).await;
    let (first, created) = client
        .create_order(&order_req(&p.product.id, 1, "ONLY"))
        .await
        .unwrap();
    assert!(created);
    // Out of stock and out of money now: the retry still answers with the first order.
    let (again, created) = client
        .create_order(&order_req(&p.product.id, 1, "ONLY"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!((again.id, again.cards), (first.id, first.cards));
    let err = client
        .create_order(&order_req(&p.product.id, 1, "OTHER"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.code(),
            Some("out_of_stock") | Some("insufficient_balance")
        ),
        "{err}"
    );
    let err = client
        .create_order(&order_req(&p.product.id, 2, "ONLY"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("idempotency_conflict"));
    assert_eq!(client.account().await.unwrap().balance, 0);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn same_out_trade_no_returns_the_original_and_different_parameters_conflict() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("P", 100, 90, 5).await;
    let (_, client) = app.reseller(None, 10_000).await;
    let (first, created) = client
        .create_order(&order_req(&p.product.id, 1, "SAME"))
        .await
        .unwrap();
    assert!(created);
    let (second, created) = client
        .create_order(&order_req(&p.product.id, 1, "SAME"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(second.id, first.id);
    assert_eq!(second.cards, first.cards);
    let err = client
        .create_order(&order_req(&p.product.id, 2, "SAME"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("idempotency_conflict"));
    assert_eq!(client.account().await.unwrap().balance, 9_900);
    // Another reseller may use the same out_trade_no.
    let (_, other) = app.reseller(None, 1_000).await;
    assert!(
        other
            .create_order(&order_req(&p.product.id, 1, "SAME"))
            .await
            .unwrap()
            .1
    );
}

#[actix_web::test]
async fn orders_are_private_to_their_reseller_and_paginate() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("P", 100, 90, 10).await;
    let (_, alice) = app.reseller(None, 10_000).await;
    let (_, bob) = app.reseller(None, 10_000).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            alice
                .buy(&p.product.id, 1, &format!("A{i}"))
                .await
                .unwrap()
                .id,
        );
    }
    assert_eq!(
        bob.order(&ids[0]).await.unwrap_err().code(),
        Some("not_found")
    );
    assert!(bob.orders("").await.unwrap().data.is_empty());

    let page1 = alice.orders("limit=2").await.unwrap();
    assert_eq!(page1.data.len(), 2);
    assert_eq!(page1.data[0].id, ids[4], "newest first");
    assert!(page1.data[0].cards.is_none(), "lists carry no codes");
    let page2 = alice
        .orders(&format!("limit=2&cursor={}", page1.next_cursor.unwrap()))
        .await
        .unwrap();
    let page3 = alice
        .orders(&format!("limit=2&cursor={}", page2.next_cursor.unwrap()))
        .await
        .unwrap();
    assert_eq!(page3.data.len(), 1);
    assert!(page3.next_cursor.is_none());
    let found = alice.orders("out_trade_no=A3").await.unwrap();
    assert_eq!(found.data[0].id, ids[3]);
    let all = app.admin.orders("limit=200").await.unwrap();
    assert_eq!(all.data.len(), 5);
}

#[actix_web::test]
async fn admin_credit_and_correction_never_below_zero() {
    let app = TestApp::spawn().await;
    let (r, _) = app.reseller(None, 1_000).await;
    let res = app
        .admin
        .send(
            reqwest::Method::POST,
            &format!("/v1/admin/resellers/{}/credit", r.reseller.id),
            Some(serde_json::json!({"amount": -1_001})),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 422);
    assert_eq!(app.admin.credit(&r.reseller.id, -400).await.unwrap(), 600);
    app.assert_books_balance().await;
}

/// 120 concurrent orders from 4 resellers against 50 cards: exactly 50 succeed, no code twice,
/// every balance equals credits minus its delivered orders, books balance, chain verifies.
#[actix_web::test]
async fn concurrent_orders_never_oversell_or_double_deliver() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("HOT", 100, 80, 50).await;
    let mut resellers = Vec::new();
    for _ in 0..4 {
        resellers.push(app.reseller(None, 1_000_000).await);
    }
    let mut tasks = Vec::new();
    for i in 0..120 {
        let client = resellers[i % 4].1.clone();
        let pid = p.product.id.clone();
        tasks.push(tokio::spawn(async move {
            client.buy(&pid, 1, &format!("C{i}")).await
        }));
    }
    let mut delivered = Vec::new();
    let mut failures = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(order) => delivered.push(order),
            Err(e) => {
                assert_eq!(e.code(), Some("out_of_stock"), "{e}");
                failures += 1;
            }
        }
    }
    assert_eq!(delivered.len(), 50);
    assert_eq!(failures, 70);
    let codes: HashSet<String> = delivered
        .iter()
        .flat_map(|o| o.cards.clone().unwrap())
        .map(|c| c.code)
        .collect();
    assert_eq!(codes.len(), 50, "a code was delivered twice");
    assert_eq!(
        resellers[0].1.product(&p.product.id).await.unwrap().stock,
        Some(0)
    );
    for (r, client) in &resellers {
        let spent: i64 = delivered
            .iter()
            .filter(|o| o.reseller_id == r.reseller.id)
            .map(|o| o.amount)
            .sum();
        assert_eq!(client.account().await.unwrap().balance, 1_000_000 - spent);
    }
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_raced_idempotency_key_yields_one_order() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("P", 100, 90, 50).await;
    let (_, client) = app.reseller(None, 1_000_000).await;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let client = client.clone();
        let pid = p.product.id.clone();
        tasks.push(tokio::spawn(async move {
            client.create_order(&order_req(&pid, 1, "RACE")).await
        }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for t in tasks {
        let (order, was_created) = t.await.unwrap().unwrap();
        ids.insert(order.id);
        created += was_created as usize;
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(created, 1);
    assert_eq!(client.account().await.unwrap().balance, 1_000_000 - 100);
    assert_eq!(client.product(&p.product.id).await.unwrap().stock, Some(49));
    app.assert_books_balance().await;
}
