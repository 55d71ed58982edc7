//! Sales analytics equal the orders placed through the API, for each grouping and each
//! audience (reseller, admin, supplier); a reseller sees only its own.

use std::collections::HashMap;

use diesel::prelude::*;
use kameng::db::schema::api_keys;
use kameng::domain::trade::orders::Order;

use super::order_in;
use crate::common::TestApp;

/// Units and amount per key.
fn tally(orders: &[Order], key: impl Fn(&Order) -> String) -> HashMap<String, (i64, i64)> {
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for o in orders {
        let e = out.entry(key(o)).or_default();
        e.0 += o.quantity;
        e.1 += o.amount;
    }
    out
}

#[actix_web::test]
async fn analytics_totals_equal_the_orders_placed() {
    let app = TestApp::spawn().await;
    let (supplier, sc, p1) = app.stocked_product("AN-1", 1000, 800, 50).await;
    let p2 = app
        .card_product(&supplier.supplier.id, "AN-2", 500, 300)
        .await;
    sc.push_cards(&p2.product.id, &crate::common::cards("AN-2", 0..50))
        .await
        .unwrap();
    let (r1, c1) = app.reseller(None, 1_000_000).await;
    let (r2, c2) = app.reseller(None, 1_000_000).await;

    let plan: [(&str, i64, Option<&str>); 6] = [
        (&p1.product.id, 1, Some("CN-GD")),
        (&p1.product.id, 2, Some("CN-GD")),
        (&p2.product.id, 2, Some("CN-BJ")),
        (&p2.product.id, 1, Some("CN-BJ")),
        (&p1.product.id, 3, None),
        (&p2.product.id, 4, Some("CN-GD")),
    ];
    let mut mine = Vec::new();
    for (i, (product, qty, region)) in plan.iter().enumerate() {
        let req = order_in(product, *qty, &format!("A{i}"), *region);
        mine.push(c1.create_order(&req).await.unwrap().0);
    }
    let mut theirs = Vec::new();
    for i in 0..2 {
        let req = order_in(&p2.product.id, 5, &format!("B{i}"), Some("US-CA"));
        theirs.push(c2.create_order(&req).await.unwrap().0);
    }
    // A replayed out_trade_no creates nothing, so it must not count twice.
    c1.create_order(&order_in(&p1.product.id, 1, "A0", Some("CN-GD")))
        .await
        .unwrap();

    let units: i64 = mine.iter().map(|o| o.quantity).sum();
    let amount: i64 = mine.iter().map(|o| o.amount).sum();

    // Reseller, by day: today holds everything; the other 29 days are zeros.
    let by_day = c1.sales_analytics("").await.unwrap();
    assert_eq!(by_day.group_by, "day");
    assert_eq!(by_day.groups.len(), 30);
    assert_eq!((by_day.totals.orders, by_day.totals.units), (6, units));
    assert_eq!(by_day.totals.amount, amount);
    let today = by_day.groups.last().unwrap();
    assert_eq!(today.key, by_day.to);
    assert_eq!((today.figures.units, today.figures.amount), (units, amount));

    // By product and by region: the same sums as the order list.
    let report = c1.sales_analytics("group_by=product").await.unwrap();
    let want = tally(&mine, |o| o.product_id.clone());
    let got: HashMap<String, (i64, i64)> = report
        .groups
        .iter()
        .map(|g| (g.key.clone(), (g.figures.units, g.figures.amount)))
        .collect();
    assert_eq!(got, want);
    assert_eq!(report.groups[0].label.as_deref(), Some("Gift card AN-1"));

    let report = c1.sales_analytics("group_by=region").await.unwrap();
    let want = tally(&mine, |o| {
        o.buyer
            .as_ref()
            .and_then(|b| b.region.clone())
            .unwrap_or_default()
    });
    let got: HashMap<String, (i64, i64)> = report
        .groups
        .iter()
        .map(|g| (g.key.clone(), (g.figures.units, g.figures.amount)))
        .collect();
    assert_eq!(got, want);
    assert!(
        !got.contains_key("US-CA"),
        "another reseller's region leaked"
    );

    // The other reseller sees only its two orders.
    let other = c2.sales_analytics("group_by=product").await.unwrap();
    assert_eq!((other.totals.orders, other.totals.units), (2, 10));
    assert_eq!(other.groups.len(), 1);

    // Admin: GMV, cost and margin over everyone's orders.
    let everyone: Vec<Order> = mine.iter().chain(&theirs).cloned().collect();
    let gmv: i64 = everyone.iter().map(|o| o.amount).sum();
    let cost: i64 = everyone
        .iter()
        .map(|o| {
            o.quantity
                * if o.product_id == p1.product.id {
                    800
                } else {
                    300
                }
        })
        .sum();
    let admin = app.admin.sales_analytics("group_by=region").await.unwrap();
    assert_eq!(admin.currency, "CNY");
    assert_eq!((admin.totals.orders, admin.totals.gmv), (8, gmv));
    assert_eq!((admin.totals.cost, admin.totals.margin), (cost, gmv - cost));
    assert_eq!(admin.totals.refund_rate, 0.0);
    let regions: HashMap<String, i64> = admin
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.figures.gmv))
        .collect();
    assert_eq!(
        regions,
        tally(&everyone, |o| o
            .buyer
            .as_ref()
            .and_then(|b| b.region.clone())
            .unwrap_or_default())
        .into_iter()
        .map(|(k, v)| (k, v.1))
        .collect()
    );
    assert_eq!(admin.top_resellers.len(), 2);
    let top: Vec<(&str, i64)> = admin
        .top_resellers
        .iter()
        .map(|g| (g.key.as_str(), g.figures.gmv))
        .collect();
    let other_gmv: i64 = theirs.iter().map(|o| o.amount).sum();
    let mut want = vec![
        (r1.reseller.id.as_str(), amount),
        (r2.reseller.id.as_str(), other_gmv),
    ];
    want.sort_by_key(|w| std::cmp::Reverse(w.1));
    assert_eq!(top, want);
    assert_eq!(admin.top_products.len(), 2);
    let by_day = app.admin.sales_analytics("group_by=day").await.unwrap();
    assert_eq!(by_day.groups.last().unwrap().figures.gmv, gmv);
    let by_product = app.admin.sales_analytics("group_by=product").await.unwrap();
    assert_eq!(by_product.groups.len(), 2);
    assert!(app
        .admin
        .sales_analytics("currency=USD")
        .await
        .unwrap()
        .groups
        .iter()
        .all(|g| g.figures.orders == 0));

    // Supplier: units and what it is paid per product over the last 30 days.
    let products = sc.supplier_products().await.unwrap();
    for p in &products {
        let sold: Vec<&Order> = everyone.iter().filter(|o| o.product_id == p.id).collect();
        let units: i64 = sold.iter().map(|o| o.quantity).sum();
        assert_eq!(
            (p.sales.orders, p.sales.units),
            (sold.len() as i64, units),
            "{}",
            p.sku
        );
        assert_eq!(p.sales.amount, units * p.cost);
        assert_eq!(p.forecast.daily.len(), 14);
    }

    super::rollups::assert_backfills_agree(&app);
}

#[actix_web::test]
async fn analytics_checks_scope_and_parameters() {
    let app = TestApp::spawn().await;
    let (r, c) = app.reseller(None, 0).await;
    let bad = c.sales_analytics("group_by=week").await.unwrap_err();
    assert_eq!(bad.code(), Some("invalid_request"));
    let bad = c
        .sales_analytics("from=2026-02-01&to=2026-01-01")
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("invalid_request"));
    let range = c
        .sales_analytics("from=2026-01-01&to=2026-01-03T10:00:00Z")
        .await
        .unwrap();
    assert_eq!(
        range
            .groups
            .iter()
            .map(|g| g.key.as_str())
            .collect::<Vec<_>>(),
        ["2026-01-01", "2026-01-02", "2026-01-03"]
    );
    // A supplier key is refused; a reseller key without orders:read too.
    let (_, sc) = app.supplier().await;
    assert_eq!(
        sc.sales_analytics("").await.unwrap_err().code(),
        Some("forbidden")
    );
    app.state
        .db
        .write_direct(|conn| {
            diesel::update(api_keys::table.filter(api_keys::owner_id.eq(&r.reseller.id)))
                .set(api_keys::scopes.eq("catalog:read"))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        c.sales_analytics("").await.unwrap_err().code(),
        Some("insufficient_scope")
    );
    let bad = app
        .admin
        .sales_analytics("currency=yuan")
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("invalid_request"));
}
