//! `stock.low` on days of cover: the background refresh stores each product's expected sales
//! within `KAMENG_STOCK_LOW_DAYS`, orders fire once per low spell against it (or the
//! supplier's own count, whichever comes first), pushes end the spell.

use std::time::Duration;

use diesel::prelude::*;
use kameng::db::schema::products;
use kameng::domain::insight::stock_cover::{self as stock_low, Refreshed};
use reqwest::Method;
use serde_json::Value;

use crate::common::{cards, TestApp};
use crate::insight::seed_history;
use crate::receiver::Receiver;

/// Four weeks of exactly 10 units a day: the forecast expects 30 units within 3 days.
const TEN_A_DAY: [i64; 28] = [10; 28];

async fn refresh(app: &TestApp) -> Refreshed {
    let db = app.state.db.clone();
    let now = kameng::time::now_ms();
    kameng::db::run_blocking(move || stock_low::refresh(&db, now, 3.0))
        .await
        .unwrap()
}

/// (cover_units, stock_low_at) of a product.
fn cover_state(app: &TestApp, product_id: &str) -> (Option<i64>, Option<i64>) {
    let id = product_id.to_string();
    app.state
        .db
        .read(move |c| {
            Ok(products::table
                .find(&id)
                .select((products::cover_units, products::stock_low_at))
                .first(c)?)
        })
        .unwrap()
}

/// The `data` of every `stock.low` received so far, after a moment for stragglers.
async fn lows(rx: &Receiver, expect: usize) -> Vec<Value> {
    rx.wait_for(5, |g| {
        g.iter().filter(|r| r.event_type == "stock.low").count() >= expect
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    rx.received()
        .into_iter()
        .filter(|r| r.event_type == "stock.low")
        .map(|r| r.json()["data"].clone())
        .collect()
}

struct Setup {
    supplier_id: String,
    supplier: kameng::client::Client,
    product_id: String,
    buyer: kameng::client::Client,
    reseller_id: String,
}

/// A supplier whose webhook is `rx`, one card product with `stock` codes, and a funded buyer.
async fn setup(app: &TestApp, rx: &Receiver, sku: &str, stock: usize) -> Setup {
    let s = app
        .admin
        .create_supplier("Acme", Some(&rx.url))
        .await
        .unwrap();
    let supplier = app.client(&s.api_key.key_id, &s.api_key.secret);
    let p = app.card_product(&s.supplier.id, sku, 100, 90).await;
    supplier
        .push_cards(&p.product.id, &cards(sku, 0..stock))
        .await
        .unwrap();
    let (r, buyer) = app.reseller(None, 1_000_000).await;
    Setup {
        supplier_id: s.supplier.id,
        supplier,
        product_id: p.product.id,
        buyer,
        reseller_id: r.reseller.id,
    }
}

#[actix_web::test]
async fn stock_low_fires_once_per_spell_when_stock_covers_fewer_than_three_days() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let Setup {
        supplier,
        product_id: id,
        buyer,
        reseller_id,
        ..
    } = setup(&app, &rx, "COV", 40).await;
    seed_history(&app, &reseller_id, &id, 100, &TEN_A_DAY);

    let r = refresh(&app).await;
    assert_eq!((r.updated, r.fired), (1, 0), "{r:?}");
    let (cover, at) = cover_state(&app, &id);
    let cover = cover.unwrap();
    assert!((29..=31).contains(&cover), "{cover}");
    assert_eq!(at, None);

    // 40 -> 34: still more than three days.
    buyer.buy(&id, 6, "C1").await.unwrap();
    // 34 -> 28: below ~30, the spell starts; further orders stay quiet.
    buyer.buy(&id, 6, "C2").await.unwrap();
    buyer.buy(&id, 2, "C3").await.unwrap();
    buyer.buy(&id, 1, "C4").await.unwrap();
    let got = lows(&rx, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let low = &got[0];
    assert_eq!(low["product_id"], id.as_str());
    assert_eq!(low["sku"], "COV");
    assert_eq!(low["stock"], 28);
    assert_eq!(low["threshold"], cover);
    assert_eq!(low["stock_low_days"], 3.0);
    let days = low["days_of_cover"].as_f64().unwrap();
    assert!(days < 3.0 && days > 2.5, "{days}");
    assert!(cover_state(&app, &id).1.is_some());

    // Stock back above the threshold ends the spell; the next crossing notifies again.
    let pushed = supplier
        .push_cards(&id, &cards("COV", 40..55))
        .await
        .unwrap();
    assert_eq!(pushed.stock, 40);
    assert_eq!(cover_state(&app, &id).1, None);
    buyer.buy(&id, 5, "C5").await.unwrap();
    buyer.buy(&id, 10, "C6").await.unwrap();
    let got = lows(&rx, 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1]["stock"], 25);

    // A push that leaves it below does not end the spell.
    supplier
        .push_cards(&id, &cards("COV", 55..57))
        .await
        .unwrap();
    assert!(cover_state(&app, &id).1.is_some());
    buyer.buy(&id, 1, "C7").await.unwrap();
    assert_eq!(lows(&rx, 2).await.len(), 2);
}

#[actix_web::test]
async fn without_a_forecast_only_the_suppliers_count_fires() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    // No history, no count: never low.
    let Setup {
        supplier_id,
        supplier,
        product_id: quiet,
        buyer,
        ..
    } = setup(&app, &rx, "NOHIST", 6).await;
    // The supplier's count, no history.
    let counted = app
        .card_product(&supplier_id, "COUNT", 100, 90)
        .await
        .product
        .id;
    supplier
        .push_cards(&counted, &cards("COUNT", 0..6))
        .await
        .unwrap();
    let res = supplier
        .send_raw(
            Method::PATCH,
            &format!("/v1/supplier/products/{counted}"),
            br#"{"low_stock_threshold":3}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);

    let r = refresh(&app).await;
    assert_eq!((r.products, r.updated, r.fired), (2, 0, 0), "{r:?}");
    assert_eq!(cover_state(&app, &quiet), (None, None));
    for i in 0..6 {
        buyer.buy(&quiet, 1, &format!("Q{i}")).await.unwrap();
        buyer.buy(&counted, 1, &format!("K{i}")).await.unwrap();
    }
    let got = lows(&rx, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["product_id"], counted.as_str());
    assert_eq!(got[0]["stock"], 2);
    assert_eq!(got[0]["threshold"], 3);
    assert_eq!(got[0]["days_of_cover"], Value::Null);
    assert_eq!(refresh(&app).await.fired, 0);
}

#[actix_web::test]
async fn the_refresh_notifies_products_already_below_cover() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let Setup {
        supplier_id,
        supplier,
        product_id: id,
        reseller_id,
        ..
    } = setup(&app, &rx, "SWEEP", 20).await;
    // With a forecast and a count, the larger threshold applies: whichever comes first.
    let counted = app
        .card_product(&supplier_id, "SWEEP-COUNT", 100, 90)
        .await
        .product
        .id;
    supplier
        .push_cards(&counted, &cards("SWEEP-COUNT", 0..45))
        .await
        .unwrap();
    // Off sale: no restock needed, no notice.
    let off = app
        .card_product(&supplier_id, "SWEEP-OFF", 100, 90)
        .await
        .product
        .id;
    for p in [&id, &counted, &off] {
        seed_history(&app, &reseller_id, p, 100, &TEN_A_DAY);
    }
    app.admin
        .update_product(&counted, serde_json::json!({"low_stock_threshold": 50}))
        .await
        .unwrap();
    app.admin
        .update_product(&off, serde_json::json!({"status": "off_sale"}))
        .await
        .unwrap();

    // Demand rose (here: history arrived) while no order crossed the threshold.
    let r = refresh(&app).await;
    assert_eq!((r.products, r.updated, r.fired), (3, 3, 2), "{r:?}");
    let got = lows(&rx, 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let of = |pid: &str| got.iter().find(|d| d["product_id"] == pid).unwrap().clone();
    let low = of(&id);
    assert_eq!(low["stock"], 20);
    let days = low["days_of_cover"].as_f64().unwrap();
    assert!((1.8..2.2).contains(&days), "{days}");
    let counted_low = of(&counted);
    assert_eq!(counted_low["threshold"], 50);
    assert_eq!(counted_low["stock"], 45);

    // Once per spell.
    assert_eq!(refresh(&app).await.fired, 0);
    assert_eq!(lows(&rx, 2).await.len(), 2);

    // A refresh that finds the stock healthy again (after a push) keeps it cleared.
    supplier
        .push_cards(&id, &cards("SWEEP", 20..60))
        .await
        .unwrap();
    assert_eq!(cover_state(&app, &id).1, None);
    let r = refresh(&app).await;
    assert_eq!((r.fired, r.cleared), (0, 0), "{r:?}");
}
