//! The unsigned gift-link endpoints against guessing: a per-IP rate limit, a lockout after
//! unknown tokens, and tokens (like codes) never in the logs.

use kameng::client::{AdminClient, ClaimHolder, Client};

use super::{buy_links, links_req};
use crate::common::{cards, new_card_product, test_database, TestApp, ADMIN_PASS, ADMIN_USER};
use crate::process::ServerProcess;

/// A token of the right shape that no link has.
fn unknown_token(n: usize) -> String {
    format!("gl_{:048x}", n + 1)
}

#[actix_web::test]
async fn unknown_tokens_lock_the_guessing_ip_out() {
    let app = TestApp::spawn_with(|c| {
        c.claim_lockout_misses = 5;
        c.claim_lockout_secs = 600;
        c.claim_rate_limit_per_ip = 0;
    })
    .await;
    let (_, _, p) = app.stocked_product("LOCK", 100, 90, 2).await;
    let (_, client) = app.reseller(None, 1_000).await;
    let (_, tokens) = buy_links(&client, &p.product.id, 1, "LOCK-1").await;
    let holder = ClaimHolder::new(&app.base);
    // A real link works before; malformed and unknown tokens are plain 404s (and count).
    holder.see(&tokens[0]).await.unwrap();
    assert_eq!(holder.see_raw("short").await.unwrap().status.as_u16(), 404);
    for n in 0..4 {
        let res = holder.redeem_raw(&unknown_token(n)).await.unwrap();
        assert_eq!(res.status.as_u16(), 404);
    }
    // Five misses: the IP is refused, even with a real token, and told when to come back.
    let res = holder.redeem_raw(&tokens[0]).await.unwrap();
    assert_eq!(res.status.as_u16(), 429);
    assert_eq!(res.problem().unwrap().code, "rate_limited");
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 500, "{retry}");
    assert_eq!(
        holder.see_raw(&tokens[0]).await.unwrap().status.as_u16(),
        429
    );
    // Nothing was redeemed meanwhile; the buyer's signed side is not locked.
    let listed = client
        .order_claims(&links_order(&client).await, "")
        .await
        .unwrap();
    assert_eq!(listed.data[0].status, "unclaimed");
}

async fn links_order(client: &Client) -> String {
    client.orders("").await.unwrap().data[0].id.clone()
}

#[actix_web::test]
async fn the_unsigned_endpoints_are_rate_limited_per_ip() {
    let app = TestApp::spawn_with(|c| {
        c.claim_rate_limit_per_ip = 1;
        c.claim_lockout_misses = 0;
    })
    .await;
    let holder = ClaimHolder::new(&app.base);
    // Burst of two, then refused.
    let statuses: Vec<u16> = futures_util::future::join_all((0..4).map(|n| {
        let holder = holder.clone();
        async move {
            holder
                .see_raw(&unknown_token(n))
                .await
                .unwrap()
                .status
                .as_u16()
        }
    }))
    .await;
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 404).count() <= 2,
        "{statuses:?}"
    );
}

#[actix_web::test]
async fn tokens_and_codes_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let log = dir.path().join("kameng.log");
    let server =
        ServerProcess::start_logged(&db.url, dir.path(), &[("KAMENG_LOG", "trace")], Some(&log))
            .await;
    let admin = AdminClient::login(&server.base, ADMIN_USER, ADMIN_PASS)
        .await
        .unwrap();
    let s = admin.create_supplier("Acme", None).await.unwrap();
    let supplier = Client::new(&server.base, &s.api_key.key_id, &s.api_key.secret);
    let p = new_card_product(&admin, &s.supplier.id, "LOGS", 100, 90).await;
    supplier
        .push_cards(&p.product.id, &cards("LOGS", 0..3))
        .await
        .unwrap();
    let r = admin.create_reseller("Shop", None, None).await.unwrap();
    admin.credit(&r.reseller.id, 1_000).await.unwrap();
    let client = Client::new(&server.base, &r.api_key.key_id, &r.api_key.secret);
    let (order, _) = client
        .create_order(&links_req(&p.product.id, 2, "LOGS-1"))
        .await
        .unwrap();
    let links = order.claims.unwrap();
    let holder = ClaimHolder::new(&server.base);
    holder.see(&links[0].token).await.unwrap();
    let code = holder.redeem(&links[0].token).await.unwrap().card.code;
    // Answers that log at info: a second redeem, a revoked link, a guess.
    holder.redeem_raw(&links[0].token).await.unwrap();
    client
        .revoke_claim(&order.id, &links[1].claim_id)
        .await
        .unwrap();
    holder.redeem_raw(&links[1].token).await.unwrap();
    holder.see_raw(&unknown_token(7)).await.unwrap();
    client.order_claims_csv(&order.id, "").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("TRACE"), "the server logged at trace");
    assert!(
        logs.contains("/v1/claims/{token}"),
        "requests logged by pattern"
    );
    for (what, secret) in [
        ("a token", links[0].token.as_str()),
        ("a token", links[1].token.as_str()),
        ("a guessed token", unknown_token(7).as_str()),
        ("a code", code.as_str()),
    ] {
        assert!(!logs.contains(secret), "{what} found in the logs");
    }
}
