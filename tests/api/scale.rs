//! Several `kameng serve` instances on one PostgreSQL database (skipped on SQLite, which is a
//! single-instance backend): no oversell, no double delivery, one order per idempotency key,
//! shared replay protection, balanced books, a valid chain, each event delivered once.

use std::collections::{HashMap, HashSet};

use kameng::client::{new_nonce, AdminClient, Client};
use reqwest::Method;

use crate::common::{card_product_on, cards, order_req, test_database, ADMIN_PASS, ADMIN_USER};
use crate::process::ServerProcess;
use crate::receiver::Receiver;

#[actix_web::test]
async fn three_instances_share_one_postgres_database() {
    if std::env::var("KAMENG_TEST_DATABASE_URL").map_or(true, |v| v.is_empty()) {
        eprintln!(
            "multi-instance test needs PostgreSQL (KAMENG_TEST_DATABASE_URL); skipped on SQLite"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let key = hex::encode(rand::random::<[u8; 32]>());
    let env = [("KAMENG_MASTER_KEY", key.as_str())];
    let a = ServerProcess::start(&db.url, dir.path(), &env).await;
    let b = ServerProcess::start(&db.url, dir.path(), &env).await;
    let c = ServerProcess::start(&db.url, dir.path(), &env).await;
    let bases = [a.base.clone(), b.base.clone(), c.base.clone()];

    let rx = Receiver::start();
    let admin = AdminClient::login(&bases[0], ADMIN_USER, ADMIN_PASS)
        .await
        .unwrap();
    let s = admin.create_supplier("Acme", None).await.unwrap();
    let pid = card_product_on(&admin, &s.supplier.id, "MULTI").await;
    Client::new(&bases[1], &s.api_key.key_id, &s.api_key.secret)
        .push_cards(&pid, &cards("MULTI", 0..60))
        .await
        .unwrap();

    let mut resellers = Vec::new();
    for _ in 0..3 {
        let r = admin
            .create_reseller("Shop", None, Some(&rx.url))
            .await
            .unwrap();
        admin.credit(&r.reseller.id, 1_000_000).await.unwrap();
        resellers.push(r);
    }

    // A nonce used on instance A is refused on instance B.
    let r0 = &resellers[0];
    let ts = kameng::time::now_secs().to_string();
    let nonce = new_nonce();
    let on_a = Client::new(&bases[0], &r0.api_key.key_id, &r0.api_key.secret);
    let on_b = Client::new(&bases[1], &r0.api_key.key_id, &r0.api_key.secret);
    assert_eq!(
        on_a.send_signed(Method::GET, "/v1/account", vec![], &ts, &nonce)
            .await
            .unwrap()
            .status,
        200
    );
    let replay = on_b
        .send_signed(Method::GET, "/v1/account", vec![], &ts, &nonce)
        .await
        .unwrap();
    assert_eq!(replay.problem().unwrap().code, "replayed_request");

    // 150 orders through all three instances against 60 cards, plus 30 racing one idempotency key.
    let mut tasks = Vec::new();
    for i in 0..150 {
        let r = &resellers[i % 3];
        let client = Client::new(&bases[i % 3], &r.api_key.key_id, &r.api_key.secret);
        let pid = pid.clone();
        tasks.push(tokio::spawn(async move {
            client
                .create_order(&order_req(&pid, 1, &format!("M{i}")))
                .await
        }));
    }
    for i in 0..30 {
        let r = &resellers[1];
        let client = Client::new(&bases[i % 3], &r.api_key.key_id, &r.api_key.secret);
        let pid = pid.clone();
        tasks.push(tokio::spawn(async move {
            client.create_order(&order_req(&pid, 1, "SAME-KEY")).await
        }));
    }
    let mut created = Vec::new();
    let mut same_key_ids = HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok((order, was_created)) => {
                if order.out_trade_no == "SAME-KEY" {
                    same_key_ids.insert(order.id.clone());
                }
                if was_created {
                    created.push(order);
                }
            }
            Err(e) => assert_eq!(e.code(), Some("out_of_stock"), "{e}"),
        }
    }
    assert_eq!(created.len(), 60, "exactly the stock is sold");
    assert!(same_key_ids.len() <= 1, "one order per idempotency key");
    let codes: HashSet<String> = created
        .iter()
        .flat_map(|o| o.cards.clone().unwrap())
        .map(|c| c.code)
        .collect();
    assert_eq!(codes.len(), 60, "no code delivered twice");
    for r in &resellers {
        let spent: i64 = created
            .iter()
            .filter(|o| o.reseller_id == r.reseller.id)
            .map(|o| o.amount)
            .sum();
        assert_eq!(
            admin.reseller(&r.reseller.id).await.unwrap().balance,
            1_000_000 - spent
        );
    }
    assert!(admin.verify_audit().await.unwrap().ok);

    // Every order.delivered callback arrives, and no event id is delivered twice.
    let got = rx.wait_for(20, |g| g.len() >= 60).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let got = if rx.received().len() > got.len() {
        rx.received()
    } else {
        got
    };
    let mut per_event: HashMap<String, usize> = HashMap::new();
    for g in &got {
        *per_event.entry(g.event_id.clone()).or_default() += 1;
    }
    assert_eq!(per_event.len(), 60);
    assert!(
        per_event.values().all(|n| *n == 1),
        "an event was sent twice"
    );
}

/// The settler is killed with SIGKILL in the middle of sealing a long backlog: nothing it did
/// survives (no record gets a position, no gap, no fork), and another instance seals
/// everything afterwards. PostgreSQL only, like the test above.
#[actix_web::test]
async fn a_settler_killed_mid_seal_leaves_no_gap_and_another_instance_takes_over() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use kameng::db::schema::audit_chain;

    if std::env::var("KAMENG_TEST_DATABASE_URL").map_or(true, |v| v.is_empty()) {
        eprintln!("multi-instance test needs PostgreSQL (KAMENG_TEST_DATABASE_URL); skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let key = hex::encode(rand::random::<[u8; 32]>());
    let env = [("KAMENG_MASTER_KEY", key.as_str())];
    let a = ServerProcess::start(&db.url, dir.path(), &env).await;
    let admin = AdminClient::login(&a.base, ADMIN_USER, ADMIN_PASS)
        .await
        .unwrap();
    let s = admin.create_supplier("Acme", None).await.unwrap();
    let pid = card_product_on(&admin, &s.supplier.id, "SEAL").await;
    Client::new(&a.base, &s.api_key.key_id, &s.api_key.secret)
        .push_cards(&pid, &cards("SEAL", 0..20))
        .await
        .unwrap();
    let r = admin.create_reseller("Shop", None, None).await.unwrap();
    admin.credit(&r.reseller.id, 1_000_000).await.unwrap();
    let buyer_a = Client::new(&a.base, &r.api_key.key_id, &r.api_key.secret);
    for i in 0..10 {
        buyer_a.buy(&pid, 1, &format!("A{i}")).await.unwrap();
    }
    assert!(admin.verify_audit().await.unwrap().ok);

    // A backlog the settler seals in one transaction for a few seconds.
    let mut conn = kameng::db::Manager::new(&db.url).establish().unwrap();
    let now = kameng::time::now_ms();
    conn.batch_execute(&format!(
        "INSERT INTO audit_chain (kind, actor, action, subject, detail, created_at, prev_hash, hash) \
         SELECT 'admin', 'admin:backlog', 'test.backlog', 'b' || g, '{{}}', {now}, '', '' \
         FROM generate_series(1, 200000) g"
    ))
    .unwrap();
    let sealed_before: i64 = audit_chain::table
        .filter(audit_chain::pos.is_not_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    // Kill instance A once its settler holds the lock (mid-transaction).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let held: N = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted",
        )
        .get_result(&mut conn)
        .unwrap();
        if held.n > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the settler never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    a.kill9();
    // Its transaction rolls back whole: nothing of the backlog got a position.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let sealed_after_kill: i64 = audit_chain::table
        .filter(audit_chain::pos.is_not_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(
        sealed_after_kill, sealed_before,
        "a killed settler left a partial seal"
    );

    // Instance B takes over, sells more, and everything ends sealed in one unbroken chain.
    let b = ServerProcess::start(&db.url, dir.path(), &env).await;
    let buyer_b = Client::new(&b.base, &r.api_key.key_id, &r.api_key.secret);
    for i in 0..10 {
        buyer_b.buy(&pid, 1, &format!("B{i}")).await.unwrap();
    }
    let admin_b = AdminClient::login(&b.base, ADMIN_USER, ADMIN_PASS)
        .await
        .unwrap();
    let report = admin_b.verify_audit().await.unwrap();
    assert!(report.ok, "{report:?}");
    let total: i64 = audit_chain::table.count().get_result(&mut conn).unwrap();
    let unsealed: i64 = audit_chain::table
        .filter(audit_chain::pos.is_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(unsealed, 0);
    assert_eq!(
        report.checked, total,
        "every record has its own position, none skipped"
    );
}
