//! Recommendations over the API: similar resellers first, regional and platform bestsellers
//! for a newcomer, never a product already sold or off sale. (The precision@5 evaluation
//! against a most-popular baseline is the unit test `domain::insight::recommend::evaluation`.)

use serde_json::json;

use super::order_in;
use crate::common::TestApp;

#[actix_web::test]
async fn recommends_what_similar_resellers_sell_and_falls_back_for_newcomers() {
    let app = TestApp::spawn().await;
    let (s, sc, a) = app.stocked_product("RC-A", 100, 50, 50).await;
    let mut products = vec![a];
    for sku in ["RC-B", "RC-C", "RC-D", "RC-E"] {
        let p = app.card_product(&s.supplier.id, sku, 100, 50).await;
        sc.push_cards(&p.product.id, &crate::common::cards(sku, 0..50))
            .await
            .unwrap();
        products.push(p);
    }
    let id = |i: usize| products[i].product.id.clone();
    let (_, me) = app.reseller(None, 100_000).await;
    let (_, twin) = app.reseller(None, 100_000).await;
    let (_, far) = app.reseller(None, 100_000).await;
    let (_, third) = app.reseller(None, 100_000).await;
    let (_, newcomer) = app.reseller(None, 100_000).await;

    // me: A, B. twin: A, B, C. third: A. far (buyers in CN-GD): D, lots of it.
    let mut n = 0;
    let mut buy = |client: &kameng::client::Client,
                   product: String,
                   qty: i64,
                   region: Option<&'static str>| {
        n += 1;
        let client = client.clone();
        let req = order_in(&product, qty, &format!("T{n}"), region);
        async move { client.create_order(&req).await.unwrap() }
    };
    buy(&me, id(0), 2, None).await;
    buy(&me, id(1), 1, None).await;
    buy(&twin, id(0), 3, None).await;
    buy(&twin, id(1), 1, None).await;
    buy(&twin, id(2), 2, None).await;
    buy(&third, id(0), 1, None).await;
    buy(&far, id(3), 9, Some("CN-GD")).await;

    let recs = me.recommendations("limit=5").await.unwrap().data;
    let got: Vec<(&str, &str)> = recs
        .iter()
        .map(|r| (r.product.sku.as_str(), r.basis.as_str()))
        .collect();
    // C from the twin; then D, the bestseller (E never sold; A and B already sold by me).
    assert_eq!(got, [("RC-C", "similar_resellers"), ("RC-D", "bestseller")]);
    assert!(recs[0]
        .reason
        .contains("resellers whose sales are most like yours"));
    assert_eq!(recs[0].product.price, 100, "priced for this reseller");

    // A newcomer: what sells where its buyers are (given as a hint), then bestsellers.
    let recs = newcomer
        .recommendations("region=CN-GD&limit=2")
        .await
        .unwrap()
        .data;
    assert_eq!(recs[0].product.sku, "RC-D");
    assert_eq!(recs[0].basis, "region");
    assert!(recs[0].reason.contains("CN-GD"));
    assert_eq!(recs[1].basis, "bestseller");
    let recs = newcomer.recommendations("").await.unwrap().data;
    assert!(recs.iter().all(|r| r.basis == "bestseller"));
    assert_eq!(recs[0].product.sku, "RC-D");

    // An off-sale product is never suggested.
    app.admin
        .update_product(&id(3), json!({ "status": "off_sale" }))
        .await
        .unwrap();
    let recs = newcomer.recommendations("region=CN-GD").await.unwrap().data;
    assert!(recs.iter().all(|r| r.product.sku != "RC-D"));

    let bad = me.recommendations("limit=0").await.unwrap_err();
    assert_eq!(bad.code(), Some("invalid_request"));
}
