//! 10,000 replays of one captured request, each refused with `replayed_request`, while a
//! well-behaved client's latency is measured against its baseline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kameng::client::Client;
use reqwest::Method;

use super::{app, code};

/// Latencies of a well-behaved client's `GET /v1/products`: a fixed count, or until `stop`.
fn well_behaved(
    base: String,
    key: (String, String),
    count: usize,
    stop: Option<Arc<AtomicBool>>,
) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let client = Client::new(&base, &key.0, &key.1);
            let mut out = Vec::new();
            loop {
                let started = Instant::now();
                client.products("limit=10").await.unwrap();
                out.push(started.elapsed());
                let stopped = stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
                if stopped || (stop.is_none() && out.len() >= count) {
                    return out;
                }
            }
        })
    })
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[actix_web::test]
async fn replayed_nonces_are_refused_without_slowing_others() {
    const REPLAYS: usize = 10_000;
    let app = app().await;
    let (_, attacker) = app.reseller(None, 0).await;
    let (good, _) = app.reseller(None, 0).await;
    app.stocked_product("RPL", 100, 80, 1).await;
    let good_key = (good.api_key.key_id.clone(), good.api_key.secret.clone());

    let mut baseline = well_behaved(app.base.clone(), good_key.clone(), 300, None)
        .join()
        .unwrap();

    // One captured request, then replayed 10,000 times, 32 at a time.
    let ts = kameng::time::now_secs().to_string();
    let nonce = "captured-nonce-0001";
    let first = attacker
        .send_signed(Method::GET, "/v1/account", Vec::new(), &ts, nonce)
        .await
        .unwrap();
    assert!(first.status.is_success());
    let stop = Arc::new(AtomicBool::new(false));
    let during = well_behaved(app.base.clone(), good_key, 0, Some(stop.clone()));
    let started = Instant::now();
    let codes: Vec<(u16, String)> = futures_util::stream::iter(0..REPLAYS)
        .map(|_| {
            let attacker = attacker.clone();
            let ts = ts.clone();
            async move {
                let res = attacker
                    .send_signed(Method::GET, "/v1/account", Vec::new(), &ts, nonce)
                    .await
                    .unwrap();
                (res.status.as_u16(), code(&res))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let flood = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let mut during = during.join().unwrap();
    let refused = codes
        .iter()
        .filter(|(s, c)| *s == 401 && c == "replayed_request")
        .count();
    assert_eq!(
        refused,
        REPLAYS,
        "not every replay was refused: {:?}",
        &codes[..5]
    );

    let (b50, b95) = (
        percentile(&mut baseline, 0.5),
        percentile(&mut baseline, 0.95),
    );
    let (d50, d95) = (percentile(&mut during, 0.5), percentile(&mut during, 0.95));
    println!(
        "replay flood: {REPLAYS} replays refused in {flood:?} ({:.0}/s); well-behaved client \
         GET /v1/products p50 {b50:?} → {d50:?}, p95 {b95:?} → {d95:?} ({} requests during)",
        REPLAYS as f64 / flood.as_secs_f64(),
        during.len()
    );
    // Generous: the machine has two cores shared by the flood, the server and the client.
    let bound = (b50 * 10).max(b50 + Duration::from_millis(50));
    assert!(
        d50 <= bound,
        "the replay flood slowed a well-behaved client: p50 {b50:?} → {d50:?}"
    );
    assert!(during.len() >= 10, "the well-behaved client was starved");
}

/// A signed order replayed is refused with `replayed_request` and places nothing: right after
/// it was placed, twenty copies racing each other (on PostgreSQL they meet in one order set,
/// whose transaction records the nonces with the orders), and after the first try was refused
/// and the reason went away (a credit).
#[actix_web::test]
async fn replayed_orders_are_refused_and_place_nothing() {
    let app = app().await;
    let (r, client) = app.reseller(None, 500).await;
    let (_, _, product) = app.stocked_product("RPO", 100, 80, 20).await;
    let ts = kameng::time::now_secs().to_string();
    let body = |no: &str, quantity: i64| {
        serde_json::to_vec(&crate::common::order_req(&product.product.id, quantity, no)).unwrap()
    };
    let send = |body: Vec<u8>, nonce: String| {
        let (client, ts) = (client.clone(), ts.clone());
        async move {
            let res = client
                .send_signed(Method::POST, "/v1/orders", body, &ts, &nonce)
                .await
                .unwrap();
            let code = res.problem().map(|p| p.code).unwrap_or_default();
            (res.status.as_u16(), code)
        }
    };
    let replayed = (401, "replayed_request".to_string());

    let nonce = kameng::client::new_nonce();
    assert_eq!(send(body("RPO-1", 1), nonce.clone()).await.0, 201);
    assert_eq!(send(body("RPO-1", 1), nonce).await, replayed);

    let nonce = kameng::client::new_nonce();
    let copies: Vec<(u16, String)> =
        futures_util::future::join_all((0..20).map(|_| send(body("RPO-2", 1), nonce.clone())))
            .await;
    let placed = copies.iter().filter(|(s, _)| *s == 201).count();
    let refused = copies.iter().filter(|c| **c == replayed).count();
    assert_eq!((placed, refused), (1, 19), "{copies:?}");

    // 4 × 100 > the 300 left: refused; replayed once the balance would cover it: still refused.
    let nonce = kameng::client::new_nonce();
    let first = send(body("RPO-3", 4), nonce.clone()).await;
    assert_eq!(first, (402, "insufficient_balance".to_string()));
    app.admin.credit(&r.reseller.id, 1_000).await.unwrap();
    assert_eq!(send(body("RPO-3", 4), nonce).await, replayed);

    let orders = client.orders("limit=100").await.unwrap().data;
    let mut trade_nos: Vec<&str> = orders.iter().map(|o| o.out_trade_no.as_str()).collect();
    trade_nos.sort_unstable();
    assert_eq!(trade_nos, ["RPO-1", "RPO-2"]);
    assert_eq!(client.account().await.unwrap().balance, 500 + 1_000 - 200);
}
