//! Live-stream gifting, bursty: against a running kameng server, C concurrent buyers place
//! 1-card claim-link orders, then C concurrent redeemers redeem every link — each link twice,
//! by two different redeemers at once, as a shared link in a chat would be. Reports orders/s,
//! order and redeem latency (p50/p99), then checks from the outside that no code was
//! revealed twice: distinct codes == successful redeems == links, every other try `409
//! already_claimed`.
//!
//! ```text
//! KAMENG_RATE_LIMIT_PER_KEY=0 KAMENG_CLAIM_RATE_LIMIT=0 KAMENG_BOOTSTRAP_ADMIN=root:password \
//!     kameng serve &
//! cargo bench --bench claims -- --url http://127.0.0.1:8080 --admin root:password \
//!     --concurrency 64 --orders 2000
//! ```
//! The per-IP gift-link limit must be off (every redeemer here shares one IP), or the run
//! measures the limiter.

#[path = "load/setup.rs"]
#[expect(
    dead_code,
    reason = "the load tool's fixture; this bench reads part of it"
)]
mod setup;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use kameng::client::ClaimHolder;
use kameng::domain::trade::claims::DeliveryMode;
use kameng::domain::trade::orders::OrderRequest;
use tokio::sync::Mutex;

use setup::{BoxError, SetupOptions};

#[derive(Parser, Debug)]
#[command(about = "Gift links under a burst: claim-link orders, then concurrent redeems")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, default_value = "root:password")]
    admin: String,
    /// Concurrent buyers, and concurrent redeemers.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Claim-link orders to place in all (one card each).
    #[arg(long, default_value_t = 2_000)]
    orders: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[tokio::main]
async fn main() {
    match run(&Args::parse()).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("claims: {e}");
            std::process::exit(2);
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn describe(what: &str, mut took: Vec<Duration>, wall: Duration) {
    took.sort();
    println!(
        "| {what} | {} | {:.0}/s | {:.1} ms | {:.1} ms | {:.1} ms |",
        took.len(),
        took.len() as f64 / wall.as_secs_f64(),
        percentile(&took, 0.50),
        percentile(&took, 0.99),
        percentile(&took, 1.0),
    );
}

async fn run(args: &Args) -> Result<bool, BoxError> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .build()?;
    let (user, password) = args.admin.split_once(':').ok_or("--admin user:password")?;
    let fx = setup::prepare(
        &http,
        &SetupOptions {
            url: &args.url,
            admin_user: user,
            admin_password: password,
            stock: args.orders,
            resellers: args.concurrency.min(16),
            spread: &[],
        },
    )
    .await?;

    // Buyers: C tasks taking order numbers from one counter.
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tokens = Arc::new(Mutex::new(Vec::with_capacity(args.orders)));
    let started = Instant::now();
    let buyers = (0..args.concurrency).map(|b| {
        let client = fx.resellers[b % fx.resellers.len()].client.clone();
        let (next, tokens, product_id, run_id) = (
            next.clone(),
            tokens.clone(),
            fx.product_id.clone(),
            fx.run_id.clone(),
        );
        let total = args.orders;
        tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, String>(took);
                }
                let req = OrderRequest {
                    product_id: product_id.clone(),
                    quantity: 1,
                    out_trade_no: format!("{run_id}-gift-{n}"),
                    notify_url: None,
                    topup: None,
                    buyer: None,
                    delivery_mode: DeliveryMode::ClaimLinks,
                    claim_ttl_days: None,
                    recipients: None,
                };
                let t = Instant::now();
                let (order, _) = client.create_order(&req).await.map_err(|e| e.to_string())?;
                took.push(t.elapsed());
                let link = order.claims.and_then(|c| c.into_iter().next());
                tokens
                    .lock()
                    .await
                    .push(link.ok_or("an order without its link")?.token);
            }
        })
    });
    let mut order_times = Vec::new();
    for b in futures_util::future::join_all(buyers).await {
        order_times.extend(b??);
    }
    let order_wall = started.elapsed();
    let tokens: Vec<String> = std::mem::take(&mut *tokens.lock().await);

    // Redeemers: every link twice, the two tries of a link in different tasks at once.
    let holder = ClaimHolder::with_http(http.clone(), &args.url);
    let tries: Arc<Vec<String>> =
        Arc::new(tokens.iter().flat_map(|t| [t.clone(), t.clone()]).collect());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let redeemers = (0..args.concurrency).map(|_| {
        let (holder, tries, next) = (holder.clone(), tries.clone(), next.clone());
        tokio::spawn(async move {
            let (mut took, mut codes, mut refused) = (Vec::new(), Vec::new(), 0usize);
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(token) = tries.get(n) else {
                    return Ok::<_, String>((took, codes, refused));
                };
                let t = Instant::now();
                let res = holder.redeem_raw(token).await.map_err(|e| e.to_string())?;
                took.push(t.elapsed());
                match res.status.as_u16() {
                    200 => codes.push(
                        res.json::<kameng::domain::trade::claims::Redeemed>()
                            .map_err(|e| e.to_string())?
                            .card
                            .code,
                    ),
                    409 if res.problem().is_some_and(|p| p.code == "already_claimed") => {
                        refused += 1
                    }
                    s => return Err(format!("redeem answered {s}")),
                }
            }
        })
    });
    let (mut redeem_times, mut codes, mut refused) = (Vec::new(), Vec::new(), 0);
    for r in futures_util::future::join_all(redeemers).await {
        let (t, c, f) = r??;
        redeem_times.extend(t);
        codes.extend(c);
        refused += f;
    }
    let redeem_wall = started.elapsed();

    println!(
        "| phase (C = {}) | requests | rate | p50 | p99 | max |",
        args.concurrency
    );
    println!("|---|---|---|---|---|---|");
    describe("claim-link orders", order_times, order_wall);
    describe("redeems (each link twice)", redeem_times, redeem_wall);
    let distinct: HashSet<&String> = codes.iter().collect();
    let ok =
        distinct.len() == codes.len() && codes.len() == tokens.len() && refused == tokens.len();
    println!(
        "\noutside check: {} links, {} codes revealed ({} distinct), {} tries refused \
         already_claimed: {}",
        tokens.len(),
        codes.len(),
        distinct.len(),
        refused,
        if ok {
            "no code revealed twice"
        } else {
            "FAILED"
        }
    );
    Ok(ok)
}
