//! The catalogue never lists as buyable what an order would refuse: each product the caller
//! cannot buy carries `purchasable: false` and the reason, and the order confirms it.

use kameng::domain::trade::catalog::NewProduct;
use serde_json::json;

use crate::common::{cards, new_card_product, TestApp};

#[actix_web::test]
async fn a_listed_product_is_buyable_and_a_refused_one_says_why() {
    let app = TestApp::spawn().await;
    let (s, supplier, _) = app.stocked_product("OK", 1_000, 800, 3).await;
    let stocked = |sku: &'static str, price: i64, currency: Option<&'static str>| {
        let (admin, supplier, supplier_id) = (&app.admin, &supplier, s.supplier.id.clone());
        async move {
            let p = admin
                .create_product(&NewProduct {
                    sku: sku.into(),
                    name: sku.into(),
                    category: if sku == "LICENSED" {
                        "licensed"
                    } else {
                        "steam"
                    }
                    .into(),
                    supplier_id,
                    face_value: price,
                    cost: price / 2,
                    price,
                    delivery: "card".into(),
                    currency: currency.map(String::from),
                    ..Default::default()
                })
                .await
                .unwrap();
            supplier
                .push_cards(&p.product.id, &cards(sku, 0..2))
                .await
                .unwrap();
            p.product.id
        }
    };
    stocked("USD", 1_000, Some("USD")).await;
    stocked("DEAR", 1_000_000, None).await;
    let off = stocked("OFF", 1_000, None).await;
    app.admin
        .update_product(&off, json!({"status": "off_sale"}))
        .await
        .unwrap();
    stocked("LICENSED", 1_000, None).await;
    app.require_licence("licensed").await;
    new_card_product(&app.admin, &s.supplier.id, "EMPTY", 1_000, 800).await;
    let (_, reseller) = app.reseller(None, 5_000).await;

    // sku → (reason, the code an order then gets)
    let expected = [
        ("OK", None),
        ("USD", Some(("currency_mismatch", "product_unavailable"))),
        (
            "DEAR",
            Some(("insufficient_balance", "insufficient_balance")),
        ),
        ("OFF", Some(("off_sale", "product_unavailable"))),
        ("LICENSED", Some(("licence_missing", "product_unavailable"))),
        ("EMPTY", Some(("out_of_stock", "out_of_stock"))),
    ];
    let listed = reseller.all_products().await.unwrap();
    assert_eq!(listed.len(), expected.len(), "every product is listed");
    for (n, (sku, refusal)) in expected.into_iter().enumerate() {
        let p = listed.iter().find(|p| p.sku == sku).unwrap();
        let json = serde_json::to_value(p).unwrap();
        assert_eq!(json["purchasable"], refusal.is_none(), "{sku}");
        assert_eq!(
            json["unpurchasable_reason"],
            json!(refusal.map(|r| r.0)),
            "{sku}"
        );
        // One product read alone says the same.
        let one = serde_json::to_value(reseller.product(&p.id).await.unwrap()).unwrap();
        assert_eq!(
            one["unpurchasable_reason"], json["unpurchasable_reason"],
            "{sku}"
        );

        let bought = reseller.buy(&p.id, p.min_quantity, &format!("P-{n}")).await;
        match refusal {
            None => assert_eq!(bought.unwrap().status, "delivered", "{sku}"),
            Some((_, code)) => assert_eq!(bought.unwrap_err().code(), Some(code), "{sku}"),
        }
    }
    app.assert_books_balance().await;
}
