//! PostgreSQL dropping every connection under load (as a restart does): requests caught in it
//! answer `503 unavailable` with `Retry-After`, never `500`; a retry with the same
//! `out_trade_no` ends in exactly one order and the books balance. SQLite has no server to
//! lose, so the test runs on PostgreSQL only.

use std::time::Duration;

use diesel::prelude::*;
use reqwest::Method;

use crate::common::{order_req, TestApp};

/// Terminates every other connection to the test database, as a server restart does.
fn drop_connections(url: &str) {
    if let Ok(mut c) = diesel::PgConnection::establish(url) {
        let _ = diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&mut c);
    }
}

#[actix_web::test]
async fn orders_caught_in_a_database_restart_are_503_and_safe_to_retry() {
    let app = TestApp::spawn().await;
    if !app.state.db.backend().eq(&kameng::db::Backend::Postgres) {
        return;
    }
    let (_, _, p) = app.stocked_product("OUTAGE", 100, 80, 200).await;
    let (_, rc) = app.reseller(None, 1_000_000).await;
    let url = app.state.config.database_url.clone();
    let killer = tokio::task::spawn_blocking(move || {
        for _ in 0..15 {
            std::thread::sleep(Duration::from_millis(60));
            drop_connections(&url);
        }
    });
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let rc = rc.clone();
        let product = p.product.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for i in 0..20 {
                let body =
                    serde_json::to_vec(&order_req(&product, 1, &format!("OUT-{worker}-{i}")))
                        .unwrap();
                for _attempt in 0..50 {
                    let res = rc
                        .send_raw(Method::POST, "/v1/orders", body.clone())
                        .await
                        .unwrap();
                    seen.push(res.status.as_u16());
                    if res.status == 503 {
                        assert!(res.headers.contains_key("retry-after"));
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    assert!(
                        res.status == 201 || res.status == 200,
                        "{}: {}",
                        res.status,
                        String::from_utf8_lossy(&res.body)
                    );
                    break;
                }
            }
            seen
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.extend(t.await.unwrap());
    }
    killer.await.unwrap();
    assert!(!statuses.contains(&500), "{statuses:?}");
    // A pooled connection killed within a second of going back to the pool is handed out
    // untested (`db::FRESH_FOR`) and fails one request with 503; orders run on their set
    // workers' own connections, so the pool's may still hold such ones. Past that second,
    // every checkout tests them.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // Every order number ended in exactly one order: 160 orders, 160 codes gone.
    let orders = rc.orders("limit=200").await.unwrap().data;
    assert_eq!(orders.len(), 160);
    let product = rc.product(&p.product.id).await.unwrap();
    assert_eq!(product.stock, Some(40));
    app.assert_books_balance().await;
}
