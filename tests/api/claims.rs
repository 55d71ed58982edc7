//! Gift links: a claim-link order hands out links instead of codes; a link reveals its code
//! once (also to concurrent redeemers), ends by expiry or revocation with its card back in
//! stock and its price back to the buyer, once; the books stay clean throughout.

mod guard;
mod recipients;

use kameng::client::{fetch_jwks, verify_receipt, ClaimHolder, Client};
use kameng::domain::trade::claims::DeliveryMode;
use kameng::domain::trade::orders::{Order, OrderRequest};
use sha2::{Digest, Sha256};

use crate::common::{order_req, TestApp};
use crate::receiver::Receiver;

/// A claim-link order request for `quantity` cards.
pub fn links_req(product_id: &str, quantity: i64, out_trade_no: &str) -> OrderRequest {
    OrderRequest {
        delivery_mode: DeliveryMode::ClaimLinks,
        ..order_req(product_id, quantity, out_trade_no)
    }
}

/// Asserts the books check and the audit chain are clean.
pub async fn assert_books_clean(app: &TestApp) {
    let report = crate::ledger_check::check(app).await;
    assert!(report.balanced, "{report:?}");
    assert!(report.order_mismatches.is_empty(), "{report:?}");
    app.assert_books_balance().await;
}

/// Places a claim-link order and returns it with its tokens.
pub async fn buy_links(
    client: &Client,
    product_id: &str,
    n: i64,
    no: &str,
) -> (Order, Vec<String>) {
    let (order, created) = client
        .create_order(&links_req(product_id, n, no))
        .await
        .unwrap();
    assert!(created);
    let tokens = order
        .claims
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.token.clone())
        .collect();
    (order, tokens)
}

#[actix_web::test]
async fn a_claim_link_order_hands_out_links_and_a_link_reveals_its_code_once() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("GIFT", 10_000, 9_000, 5).await;
    let rx = Receiver::start();
    let (_, client) = app.reseller_with_callback(&rx.url, 50_000).await;

    let (order, tokens) = buy_links(&client, &p.product.id, 2, "LIVE-1").await;
    assert_eq!(order.status, "delivered");
    assert!(order.cards.is_none(), "a gift-link order shows no codes");
    let links = order.claims.clone().unwrap();
    assert_eq!(links.len(), 2);
    for l in &links {
        assert_eq!(l.url_path, format!("/v1/claims/{}", l.token));
        assert_eq!(l.status, "unclaimed");
        // 192 bits of token after the prefix.
        assert_eq!(l.token.len(), 3 + 48);
    }
    assert_ne!(tokens[0], tokens[1]);
    assert_eq!(client.account().await.unwrap().balance, 30_000);
    assert_eq!(client.product(&p.product.id).await.unwrap().stock, Some(3));

    // The order reads back with its links and never its codes, also through the codes' pages;
    // a repeat of the request gets the same links.
    let again = client.order(&order.id).await.unwrap();
    assert!(again.cards.is_none());
    assert_eq!(again.claims.unwrap(), links);
    let err = client.order_cards(&order.id, "").await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    let (replay, created) = client
        .create_order(&links_req(&p.product.id, 2, "LIVE-1"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(replay.claims.unwrap(), links);

    // The holder sees the product, then redeems the code once.
    let holder = ClaimHolder::new(&app.base);
    let seen = holder.see(&tokens[0]).await.unwrap();
    assert_eq!(
        (
            seen.status.as_str(),
            seen.product_name.as_str(),
            seen.face_value
        ),
        ("unclaimed", "Gift card GIFT", 10_000)
    );
    let redeemed = holder.redeem(&tokens[0]).await.unwrap();
    assert!(redeemed.card.code.starts_with("GIFT-CODE-"));
    let second = holder.redeem_raw(&tokens[0]).await.unwrap();
    assert_eq!(second.status.as_u16(), 409);
    assert_eq!(second.problem().unwrap().code, "already_claimed");
    let body = String::from_utf8_lossy(&second.body).into_owned();
    assert!(!body.contains(&redeemed.card.code), "{body}");
    assert_eq!(holder.see(&tokens[0]).await.unwrap().status, "claimed");
    assert_eq!(holder.see(&tokens[1]).await.unwrap().status, "unclaimed");

    // The buyer hears of it, and its receipt names the codes behind the links.
    let ev = rx.event("claim.redeemed").await.json();
    assert_eq!(ev["data"]["claim_id"], links[0].claim_id.as_str());
    assert_eq!(ev["data"]["order_id"], order.id.as_str());
    let receipt = verify_receipt(&order.receipt, &fetch_jwks(&app.base).await.unwrap()).unwrap();
    let hash = hex::encode(Sha256::digest(redeemed.card.code.as_bytes()));
    assert!(receipt.codes.contains(&hash));
    let listed = client.order_claims(&order.id, "").await.unwrap();
    assert_eq!(listed.data[0].status, "claimed");
    assert!(listed.data[0].claimed_at.is_some());
    assert_books_clean(&app).await;
}

#[actix_web::test]
async fn concurrent_redeems_of_one_link_reveal_the_code_exactly_once() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("RACE", 100, 90, 3).await;
    let (_, client) = app.reseller(None, 1_000).await;
    let (_, tokens) = buy_links(&client, &p.product.id, 1, "RACE-1").await;
    let holder = ClaimHolder::new(&app.base);
    let tries = (0..16).map(|_| {
        let (holder, token) = (holder.clone(), tokens[0].clone());
        actix_web::rt::spawn(async move { holder.redeem_raw(&token).await.unwrap() })
    });
    let answers: Vec<_> = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let won: Vec<_> = answers
        .iter()
        .filter(|r| r.status.as_u16() == 200)
        .collect();
    assert_eq!(won.len(), 1, "exactly one redeem wins");
    for lost in answers.iter().filter(|r| r.status.as_u16() != 200) {
        assert_eq!(lost.status.as_u16(), 409);
        assert_eq!(lost.problem().unwrap().code, "already_claimed");
        assert!(!String::from_utf8_lossy(&lost.body).contains("RACE-CODE"));
    }
    assert_books_clean(&app).await;
}

#[actix_web::test]
async fn revoking_a_link_returns_card_and_price_once() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("REV", 10_000, 9_000, 3).await;
    let rx = Receiver::start();
    let (_, client) = app.reseller_with_callback(&rx.url, 50_000).await;
    let (order, tokens) = buy_links(&client, &p.product.id, 3, "REV-1").await;
    let links = order.claims.clone().unwrap();
    assert_eq!(client.account().await.unwrap().balance, 20_000);
    assert_eq!(client.product(&p.product.id).await.unwrap().stock, Some(0));

    let revoked = client
        .revoke_claim(&order.id, &links[1].claim_id)
        .await
        .unwrap();
    assert_eq!(revoked.status, "revoked");
    assert_eq!(client.account().await.unwrap().balance, 30_000);
    assert_eq!(client.product(&p.product.id).await.unwrap().stock, Some(1));
    let ev = rx.event("claim.revoked").await.json();
    assert_eq!(ev["data"]["refund_amount"], 10_000);

    // Twice refunds once; a revoked link redeems nothing; a redeemed one cannot be revoked.
    let again = client.revoke_claim(&order.id, &links[1].claim_id).await;
    assert_eq!(again.unwrap_err().code(), Some("conflict"));
    assert_eq!(client.account().await.unwrap().balance, 30_000);
    let holder = ClaimHolder::new(&app.base);
    let res = holder.redeem_raw(&tokens[1]).await.unwrap();
    assert_eq!(res.problem().unwrap().code, "conflict");
    holder.redeem(&tokens[0]).await.unwrap();
    let late = client.revoke_claim(&order.id, &links[0].claim_id).await;
    assert_eq!(late.unwrap_err().code(), Some("already_claimed"));

    // No ticket either: it would refund the revoked unit a second time.
    let ticket = client
        .open_ticket(&crate::tickets::new_ticket(&order.id, None))
        .await;
    assert_eq!(ticket.unwrap_err().code(), Some("conflict"));

    // Only the buyer's own order's links.
    let (_, other) = app.reseller(None, 0).await;
    let err = other.revoke_claim(&order.id, &links[2].claim_id).await;
    assert_eq!(err.unwrap_err().code(), Some("not_found"));

    // The returned card sells again; the first order's receipt still checks out.
    let (resold, _) = client
        .create_order(&order_req(&p.product.id, 1, "REV-2"))
        .await
        .unwrap();
    assert_eq!(resold.cards.unwrap().len(), 1);
    assert_books_clean(&app).await;
}

#[actix_web::test]
async fn expired_links_go_back_to_stock_and_refund_the_buyer() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("EXP", 10_000, 9_000, 2).await;
    let rx = Receiver::start();
    let (_, client) = app.reseller_with_callback(&rx.url, 20_000).await;
    let mut req = links_req(&p.product.id, 1, "EXP-1");
    req.claim_ttl_days = Some(1);
    let (order, _) = client.create_order(&req).await.unwrap();
    let link = order.claims.unwrap().remove(0);
    let expires = chrono_days(&order.created_at, &link.expires_at);
    assert_eq!(expires, 1);
    assert_eq!(client.account().await.unwrap().balance, 10_000);

    // A day later (moved back in the database), the sweep ends it.
    backdate_expiry(&app, &link.claim_id);
    let ev = rx.event("claim.expired").await.json();
    assert_eq!(ev["data"]["claim_id"], link.claim_id.as_str());
    assert_eq!(client.account().await.unwrap().balance, 20_000);
    assert_eq!(client.product(&p.product.id).await.unwrap().stock, Some(2));
    let after = client.order(&order.id).await.unwrap();
    assert_eq!(after.status, "refunded");
    assert_eq!(after.claims.unwrap()[0].status, "expired");
    let holder = ClaimHolder::new(&app.base);
    assert_eq!(holder.see(&link.token).await.unwrap().status, "expired");
    let res = holder.redeem_raw(&link.token).await.unwrap();
    assert_eq!(res.problem().unwrap().code, "conflict");
    let revoke = client.revoke_claim(&order.id, &link.claim_id).await;
    assert_eq!(revoke.unwrap_err().code(), Some("conflict"));
    assert_eq!(client.account().await.unwrap().balance, 20_000);
    assert_books_clean(&app).await;
}

/// Whole days between two RFC 3339 times.
fn chrono_days(from: &str, to: &str) -> i64 {
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    (parse(to) - parse(from)).num_days()
}

/// Moves a claim's expiry into the past, as if its days had gone by.
pub fn backdate_expiry(app: &TestApp, claim_id: &str) {
    use diesel::prelude::*;
    use kameng::db::schema::claims;
    let id = claim_id.to_string();
    app.state
        .db
        .write(move |c| {
            diesel::update(claims::table.find(&id))
                .set(claims::expires_at.eq(kameng::time::now_ms() - 1))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
}

#[actix_web::test]
async fn gift_link_fields_are_checked_and_a_refused_order_changes_nothing() {
    let app = TestApp::spawn().await;
    let (s, _, p) = app.stocked_product("CHK", 100, 90, 3).await;
    let direct = crate::common::new_direct_product(
        &app.admin,
        &s.supplier.id,
        "TOPUP",
        (100, 90),
        &["account"],
    )
    .await;
    let (_, client) = app.reseller(None, 1_000).await;
    let mut cases: Vec<(OrderRequest, &str)> = Vec::new();
    let mut topup = crate::common::topup_req(
        &direct.product.id,
        1,
        "C-1",
        serde_json::json!({"account": "13800000000"}),
    );
    topup.delivery_mode = DeliveryMode::ClaimLinks;
    cases.push((topup, "delivery_mode"));
    for days in [0, 366] {
        let mut r = links_req(&p.product.id, 1, "C-2");
        r.claim_ttl_days = Some(days);
        cases.push((r, "claim_ttl_days"));
    }
    let mut r = order_req(&p.product.id, 1, "C-3");
    r.claim_ttl_days = Some(3);
    cases.push((r, "delivery_mode"));
    for (req, field) in cases {
        let err = client.create_order(&req).await.unwrap_err();
        assert_eq!(err.code(), Some("invalid_request"), "{field}: {err}");
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    assert_eq!(client.account().await.unwrap().balance, 1_000);
    assert_eq!(client.product(&p.product.id).await.unwrap().stock, Some(3));
}
