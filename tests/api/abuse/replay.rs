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
