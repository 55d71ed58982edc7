//! Load tool for a running kameng server: sets up a supplier, a stocked card product and funded
//! resellers through the API, then, for each concurrency C, drives C signed clients against
//! `POST /v1/orders` for a fixed time, and the same C against signed `GET /v1/account` and
//! unsigned `GET /healthz` as baselines. Prints a markdown table, then checks from the outside
//! that no code went out twice, stock fell by what was delivered and every balance adds up.
//!
//! ```text
//! KAMENG_RATE_LIMIT_PER_KEY=0 KAMENG_BOOTSTRAP_ADMIN=root:password kameng serve &
//! cargo bench --bench load -- --url http://127.0.0.1:8080 --admin root:password \
//!     --duration 10 --concurrency 1,16,64
//! ```
//! Start the server with the per-key rate limit off, or the run measures the limiter.

#[path = "load/phase.rs"]
mod phase;
#[path = "load/report.rs"]
mod report;
#[path = "load/setup.rs"]
mod setup;

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use phase::{PhaseEnv, Target};
use report::Row;
use setup::{BoxError, SetupOptions};

/// Orders per second assumed when sizing the default stock; generous for one SQLite writer.
const ASSUMED_ORDERS_PER_SEC: u64 = 1_500;
const STOCK_BATCH: u64 = 10_000;

#[derive(Parser, Debug)]
#[command(about = "Drive a running kameng server and check its books afterwards")]
struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Admin credentials as username:password.
    #[arg(long, default_value = "root:password")]
    admin: String,
    /// Seconds per phase (each C runs orders, account and healthz phases).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Comma-separated concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Cards to push before the run (default: enough for every order phase at a generous rate).
    #[arg(long)]
    stock: Option<usize>,
    /// Resellers to create, at most; clients are spread over them.
    #[arg(long, default_value_t = 16)]
    resellers: usize,
    /// Several instances on one database: spread the resellers' clients over these URLs
    /// (comma-separated; setup and the healthz baseline use --url).
    #[arg(long, value_delimiter = ',')]
    spread: Vec<String>,
    /// During each orders phase, also push a 10,000-card batch every 2 s (stock pushes must
    /// not stall orders); prints each push's time.
    #[arg(long)]
    push_during: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn default_stock(args: &Args) -> usize {
    let wanted = args.duration * args.concurrency.len() as u64 * ASSUMED_ORDERS_PER_SEC;
    (wanted.div_ceil(STOCK_BATCH).max(1) * STOCK_BATCH) as usize
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    match run(&args).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    }
}

async fn run(args: &Args) -> Result<bool, BoxError> {
    let (user, password) = args
        .admin
        .split_once(':')
        .ok_or("--admin must be username:password")?;
    let max_c = args.concurrency.iter().copied().max().unwrap_or(1).max(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_c)
        .timeout(Duration::from_secs(60))
        .build()?;
    let fx = setup::prepare(
        &http,
        &SetupOptions {
            url: &args.url,
            admin_user: user,
            admin_password: password,
            stock: args.stock.unwrap_or_else(|| default_stock(args)),
            resellers: args.resellers.clamp(1, max_c),
            spread: &args.spread,
        },
    )
    .await?;
    let stock_before = fx.resellers[0]
        .client
        .product(&fx.product_id)
        .await?
        .stock
        .unwrap_or(0);
    let env = Arc::new(PhaseEnv {
        http,
        url: args.url.clone(),
        run_id: fx.run_id.clone(),
        product_id: fx.product_id.clone(),
        clients: fx.resellers.iter().map(|r| r.client.clone()).collect(),
    });
    eprintln!(
        "run {}: stock {stock_before}, {} resellers, {} s per phase",
        fx.run_id,
        fx.resellers.len(),
        args.duration
    );

    let duration = Duration::from_secs(args.duration);
    let mut rows = Vec::new();
    let mut pushed_during = 0;
    for &c in &args.concurrency {
        for target in [Target::Orders, Target::Account, Target::Healthz] {
            let started = std::time::Instant::now();
            let pushes = (args.push_during && target == Target::Orders).then(|| {
                tokio::spawn(push_during(
                    fx.supplier.clone(),
                    fx.product_id.clone(),
                    format!("{}-{c}", fx.run_id),
                    started,
                    duration,
                ))
            });
            let result = phase::run(env.clone(), target, c.max(1), started, duration).await;
            if let Some(pushes) = pushes {
                let (cards, windows) = pushes.await??;
                pushed_during += cards;
                let secs: Vec<f64> = windows
                    .iter()
                    .map(|(from, to)| ((*to - *from).as_secs_f64() * 1000.0).round() / 1000.0)
                    .collect();
                let (during, outside) = report::longest_stalls(&result.answered_at, &windows);
                eprintln!(
                    "C={c}: {} pushes of 10,000 cards during the orders phase, each {:?} s; \
                     longest time no order was answered: {:.1} ms during a push, {:.1} ms \
                     otherwise",
                    secs.len(),
                    secs,
                    during.as_secs_f64() * 1000.0,
                    outside.as_secs_f64() * 1000.0,
                );
            }
            eprintln!(
                "C={c} {}: {} ok in {:.1} s",
                target.label(),
                result.ok,
                result.elapsed.as_secs_f64()
            );
            rows.push(Row {
                concurrency: c.max(1),
                target,
                result,
            });
        }
    }

    println!();
    report::print_table(&mut rows);
    report::check(&fx, &rows, stock_before + pushed_during).await
}

/// Pushes 10,000 fresh cards every 2 s while a phase (begun at `started`) runs; returns the
/// cards pushed and each push's time, from the phase's start to its answer.
async fn push_during(
    supplier: kameng::client::Client,
    product_id: String,
    tag: String,
    started: std::time::Instant,
    phase: Duration,
) -> Result<(i64, Vec<(Duration, Duration)>), BoxError> {
    use kameng::domain::trade::inventory::{NewCard, PushCards};
    let (mut pushed, mut windows) = (0, Vec::new());
    tokio::time::sleep(Duration::from_secs(1)).await;
    while started.elapsed() + Duration::from_secs(2) < phase {
        let cards = (0..10_000)
            .map(|i| NewCard {
                code: format!("{tag}-during-{pushed}-{i}"),
                secret: None,
                expires_at: None,
            })
            .collect();
        let from = started.elapsed();
        let res = supplier
            .push_cards(
                &product_id,
                &PushCards {
                    cards,
                    batch_ref: None,
                },
            )
            .await?;
        windows.push((from, started.elapsed()));
        pushed += res.accepted as i64;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok((pushed, windows))
}
