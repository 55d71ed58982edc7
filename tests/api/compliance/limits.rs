//! Daily spend limits (a key's cap, the unverified-account limit) under 20 racing orders.

use kameng::auth::Scope;
use kameng::client::Client;
use kameng::domain::accounts::kyc::KycRequest;

use super::scoped;
use crate::common::TestApp;

/// Four products with 10 codes each, price 100. Racing orders spread over several products so
/// that the product row (locked by the stock update) does not serialise them: only the spend
/// limit's own reasoning (the reseller row lock) may keep them from passing the limit together.
async fn four_products(app: &TestApp, tag: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..4 {
        let (_, _, p) = app.stocked_product(&format!("{tag}{i}"), 100, 80, 10).await;
        ids.push(p.product.id);
    }
    ids
}

/// Races `n` single-unit orders over `products` through `client`; returns (delivered, limited).
async fn race_orders(client: &Client, products: &[String], n: usize, tag: &str) -> (usize, usize) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let client = client.clone();
        let pid = products[i % products.len()].clone();
        let trade_no = format!("{tag}-{i}");
        tasks.push(tokio::spawn(
            async move { client.buy(&pid, 1, &trade_no).await },
        ));
    }
    let (mut ok, mut limited) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), Some("spending_limit_exceeded"), "{e}");
                limited += 1;
            }
        }
    }
    (ok, limited)
}

#[actix_web::test]
async fn a_key_cap_lets_exactly_its_share_of_20_racing_orders_through() {
    let app = TestApp::spawn().await;
    let products = four_products(&app, "CAP").await;
    let (_, main) = app.reseller(None, 1_000_000).await;
    let bot = scoped(&app, &main, &[Scope::OrdersWrite], Some(700)).await;

    assert_eq!(race_orders(&bot, &products, 20, "B").await, (7, 13));
    assert_eq!(main.account().await.unwrap().balance, 1_000_000 - 700);
    let mut stock = 0;
    for p in &products {
        stock += main.product(p).await.unwrap().stock.unwrap();
    }
    assert_eq!(stock, 40 - 7);
    // The cap is the key's: the account's main key still buys.
    main.buy(&products[0], 1, "MAIN-1").await.unwrap();
    app.assert_books_balance().await;
}

/// A capped key's spend is read through the partial index of capped keys' orders, which the
/// other orders (most of them) never write.
#[actix_web::test]
async fn a_key_cap_reads_only_the_capped_keys_index() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("CAPIX", 100, 80, 10).await;
    let (_, main) = app.reseller(None, 100_000).await;
    let bot = scoped(&app, &main, &[Scope::OrdersWrite], Some(1_000)).await;
    main.buy(&p.product.id, 1, "IX-MAIN").await.unwrap();
    bot.buy(&p.product.id, 1, "IX-BOT").await.unwrap();
    let capped: Vec<(String, bool)> = app
        .state
        .db
        .read(|c| {
            use diesel::prelude::*;
            use kameng::db::schema::orders;
            Ok(orders::table
                .select((orders::out_trade_no, orders::key_capped))
                .order(orders::out_trade_no)
                .load(c)?)
        })
        .unwrap();
    assert_eq!(
        capped,
        [("IX-BOT".to_string(), true), ("IX-MAIN".to_string(), false)]
    );
    // PostgreSQL plans a table this small with a sequential scan whatever its indexes.
    if app.state.db.backend() == kameng::db::Backend::Sqlite {
        let plan = app
            .state
            .db
            .read(|c| kameng::domain::money::limits::key_spend_plan(c, bot.key_id()))
            .unwrap()
            .join("\n");
        assert!(
            plan.contains("orders_key_capped"),
            "key spend plan:\n{plan}"
        );
    }
}

#[actix_web::test]
async fn the_unverified_limit_holds_under_20_racing_orders_until_kyc_is_verified() {
    let app = TestApp::spawn_with(|c| c.unverified_daily_limit = 500).await;
    let products = four_products(&app, "KYC").await;
    let (r, client) = app.reseller(None, 1_000_000).await;

    assert_eq!(race_orders(&client, &products, 20, "U").await, (5, 15));
    assert_eq!(client.account().await.unwrap().balance, 1_000_000 - 500);
    app.assert_books_balance().await;

    // A pending submission does not lift the limit; a verification does.
    client
        .submit_kyc(&KycRequest {
            legal_name: "Zhang San".into(),
            id_number: "110101199003071234".into(),
            contact: "+8613812345678".into(),
        })
        .await
        .unwrap();
    let err = client.buy(&products[0], 1, "AFTER-1").await.unwrap_err();
    assert_eq!(err.code(), Some("spending_limit_exceeded"));
    app.admin
        .decide_kyc(&r.reseller.id, "verified")
        .await
        .unwrap();
    client.buy(&products[0], 3, "AFTER-2").await.unwrap();
    assert_eq!(client.account().await.unwrap().balance, 1_000_000 - 800);
    app.assert_books_balance().await;
}
