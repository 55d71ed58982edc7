//! Enterprise bulk orders: one atomic claim of up to 10,000 codes, answered `processing` and
//! delivered after the commit, codes paged from `GET /v1/orders/{id}/cards`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use kameng::client::{fetch_jwks, verify_receipt, Client};
use kameng::domain::money::receipts::codes_digest;
use kameng::domain::trade::catalog::NewProduct;
use kameng::domain::trade::orders::Order;

use crate::common::{cards, order_req, TestApp};

/// Waits until the order leaves `processing`.
async fn delivered(client: &Client, id: &str) -> Order {
    let start = Instant::now();
    loop {
        let o = client.order(id).await.unwrap();
        if o.status != "processing" {
            return o;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "still processing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A card product that sells up to 10,000 a order, with `stock` codes.
async fn bulk_product(app: &TestApp, sku: &str, stock: usize) -> String {
    let (s, sc) = app.supplier().await;
    let p = app
        .admin
        .create_product(&NewProduct {
            sku: sku.into(),
            name: "Bulk card".into(),
            category: "steam".into(),
            supplier_id: s.supplier.id.clone(),
            face_value: 10,
            cost: 8,
            price: 10,
            delivery: "card".into(),
            max_quantity: Some(10_000),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut pushed = 0;
    while pushed < stock {
        let n = (stock - pushed).min(10_000);
        let res = sc
            .push_cards(&p.product.id, &cards(sku, pushed..pushed + n))
            .await
            .unwrap();
        assert_eq!(res.accepted, n);
        pushed += n;
    }
    p.product.id
}

fn delivered_events(app: &TestApp, order_id: &str) -> usize {
    use kameng::db::schema::events;
    let payloads: Vec<String> = app
        .state
        .db
        .read(|c| {
            Ok(events::table
                .filter(events::event_type.eq("order.delivered"))
                .select(events::payload)
                .load(c)?)
        })
        .unwrap();
    payloads.iter().filter(|p| p.contains(order_id)).count()
}

#[actix_web::test]
async fn orders_above_the_threshold_are_processing_then_delivered_with_paged_codes() {
    let app = TestApp::spawn_with(|c| c.bulk_async_threshold = 5).await;
    let pid = bulk_product(&app, "BULK-S", 20).await;
    let (_, rc) = app.reseller(None, 1_000).await;
    let (_, other) = app.reseller(None, 1_000).await;

    // At the threshold: delivered in the response.
    let small = rc.buy(&pid, 5, "S-5").await.unwrap();
    assert_eq!(small.status, "delivered");
    assert_eq!(small.cards.as_ref().unwrap().len(), 5);

    // Above it: 202 processing, no codes, then delivered once.
    let res = rc
        .send_raw(
            reqwest::Method::POST,
            "/v1/orders",
            serde_json::to_vec(&order_req(&pid, 6, "S-6")).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 202);
    let placed: Order = res.json().unwrap();
    assert_eq!(placed.status, "processing");
    assert!(placed.cards.is_none());
    assert_eq!(rc.account().await.unwrap().balance, 1_000 - 110);
    let done = delivered(&rc, &placed.id).await;
    assert_eq!(done.status, "delivered");
    assert!(done.completed_at.is_some());

    // Pages of 4: 4 + 2, in delivery order, the same codes GET /v1/orders/{id} shows.
    let p1 = rc.order_cards(&placed.id, "limit=4").await.unwrap();
    assert_eq!(p1.data.len(), 4);
    let p2 = rc
        .order_cards(
            &placed.id,
            &format!("limit=4&cursor={}", p1.next_cursor.unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(p2.data.len(), 2);
    assert!(p2.next_cursor.is_none());
    let paged: Vec<_> = p1.data.into_iter().chain(p2.data).collect();
    assert_eq!(&paged, done.cards.as_ref().unwrap());

    // The receipt carries a digest over the ordered code hashes instead of the list.
    let claims = verify_receipt(&done.receipt, &fetch_jwks(&app.base).await.unwrap()).unwrap();
    assert!(claims.codes.is_empty());
    assert_eq!(claims.quantity, 6);
    assert_eq!(
        claims.codes_digest.as_deref(),
        Some(codes_digest(paged.iter().map(|c| c.code.as_str())).as_str())
    );
    assert_eq!(delivered_events(&app, &placed.id), 1);

    // A replay returns the order; another reseller cannot page its codes.
    let (again, _) = rc.create_order(&order_req(&pid, 6, "S-6")).await.unwrap();
    assert_eq!(again.id, placed.id);
    let err = other.order_cards(&placed.id, "").await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_10000_code_order_racing_40_small_ones_never_double_delivers() {
    let app = TestApp::spawn().await;
    const STOCK: usize = 10_500;
    let pid = bulk_product(&app, "BULK-L", STOCK).await;
    let (_, big) = app.reseller(None, 100_000).await;
    let mut small = Vec::new();
    for _ in 0..8 {
        small.push(app.reseller(None, 1_000).await.1);
    }

    let started = Instant::now();
    let bulk = {
        let big = big.clone();
        let pid = pid.clone();
        actix_web::rt::spawn(async move { big.create_order(&order_req(&pid, 10_000, "BIG")).await })
    };
    let mut singles = Vec::new();
    for (i, c) in small.iter().enumerate() {
        for j in 0..5 {
            let c = c.clone();
            let pid = pid.clone();
            singles.push(actix_web::rt::spawn(async move {
                c.buy(&pid, 1, &format!("S-{i}-{j}")).await
            }));
        }
    }
    let mut codes: Vec<String> = Vec::new();
    for s in singles {
        let o = s.await.unwrap().unwrap();
        codes.extend(o.cards.unwrap().into_iter().map(|c| c.code));
    }
    let (placed, _) = bulk.await.unwrap().unwrap();
    let placed_in = started.elapsed();
    assert_eq!(placed.status, "processing");
    let done = delivered(&big, &placed.id).await;
    let delivered_in = started.elapsed();
    assert_eq!(done.status, "delivered");

    let bulk_codes = big.all_order_cards(&placed.id).await.unwrap();
    let paged_in = started.elapsed();
    assert_eq!(bulk_codes.len(), 10_000, "the paged codes are complete");
    let claims = verify_receipt(&done.receipt, &fetch_jwks(&app.base).await.unwrap()).unwrap();
    assert_eq!(
        claims.codes_digest.as_deref(),
        Some(codes_digest(bulk_codes.iter().map(|c| c.code.as_str())).as_str())
    );
    codes.extend(bulk_codes.into_iter().map(|c| c.code));

    let total = codes.len();
    assert_eq!(total, 10_040);
    assert!(total <= STOCK);
    let distinct: HashSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), total, "a code was delivered twice");

    // The stock counter agrees with the cards left.
    use kameng::db::schema::{cards as cards_t, products};
    let (counter, available): (i64, i64) = app
        .state
        .db
        .read(|c| {
            let counter = products::table
                .find(&pid)
                .select(products::stock)
                .first(c)?;
            let available = cards_t::table
                .filter(cards_t::product_id.eq(&pid))
                .filter(cards_t::status.eq("available"))
                .count()
                .get_result(c)?;
            Ok((counter, available))
        })
        .unwrap();
    assert_eq!(
        (counter, available),
        ((STOCK - total) as i64, (STOCK - total) as i64)
    );
    assert_eq!(big.account().await.unwrap().balance, 0);
    assert_eq!(delivered_events(&app, &placed.id), 1);
    app.assert_books_balance().await;
    eprintln!(
        "bulk 10,000 racing 40 singles: placed (202) after {placed_in:?}, delivered after \
         {delivered_in:?}, 10,000 codes paged after {paged_in:?}"
    );
}
