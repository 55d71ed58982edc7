//! One measured phase: C concurrent tasks hitting one endpoint for a fixed time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kameng::client::{Client, ClientError};
use kameng::domain::trade::orders::OrderRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Signed `POST /v1/orders`, quantity 1, a fresh out_trade_no each time.
    Orders,
    /// Signed `GET /v1/account`.
    Account,
    /// Unsigned `GET /healthz`.
    Healthz,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::Orders => "POST /v1/orders",
            Target::Account => "GET /v1/account",
            Target::Healthz => "GET /healthz",
        }
    }
}

/// An order the server answered 201 for.
pub struct Delivered {
    pub reseller: usize,
    pub amount: i64,
    pub quantity: i64,
    pub codes: Vec<String>,
}

/// What one phase observed. `ok` counts 201 for orders and 200 for the others.
#[derive(Default)]
pub struct PhaseResult {
    pub ok: u64,
    /// Latency of every completed request, successful or not.
    pub latencies: Vec<Duration>,
    /// When each request was answered, from the phase's start (for the longest stall).
    pub answered_at: Vec<Duration>,
    /// Failures by problem `code`, or `http_<status>` / `transport` when there was none.
    pub errors: BTreeMap<String, u64>,
    pub delivered: Vec<Delivered>,
    pub elapsed: Duration,
}

pub struct PhaseEnv {
    pub http: reqwest::Client,
    pub url: String,
    pub run_id: String,
    pub product_id: String,
    pub clients: Vec<Client>,
}

/// Runs the phase from `started` (now, or a moment ago) for `duration`.
pub async fn run(
    env: Arc<PhaseEnv>,
    target: Target,
    concurrency: usize,
    started: Instant,
    duration: Duration,
) -> PhaseResult {
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let env = env.clone();
            tokio::spawn(async move {
                drive(&env, target, concurrency, task, (started, deadline)).await
            })
        })
        .collect();
    let mut total = PhaseResult::default();
    for t in tasks {
        match t.await {
            Ok(r) => {
                total.ok += r.ok;
                total.latencies.extend(r.latencies);
                total.answered_at.extend(r.answered_at);
                for (code, n) in r.errors {
                    *total.errors.entry(code).or_default() += n;
                }
                total.delivered.extend(r.delivered);
            }
            Err(e) => *total.errors.entry(format!("task_failed: {e}")).or_default() += 1,
        }
    }
    // In-flight requests at the deadline are allowed to finish, so divide by the real time.
    total.elapsed = started.elapsed();
    total
}

async fn drive(
    env: &PhaseEnv,
    target: Target,
    concurrency: usize,
    task: usize,
    (started, deadline): (Instant, Instant),
) -> PhaseResult {
    // Tasks are spread round-robin over the resellers.
    let reseller = task % env.clients.len();
    let client = &env.clients[reseller];
    let healthz = format!("{}/healthz", env.url.trim_end_matches('/'));
    let mut out = PhaseResult::default();
    let mut seq = 0u64;
    while Instant::now() < deadline {
        seq += 1;
        let sent = Instant::now();
        let outcome: Result<(), String> = match target {
            Target::Orders => {
                let req = OrderRequest {
                    product_id: env.product_id.clone(),
                    quantity: 1,
                    out_trade_no: format!("{}-c{concurrency}-t{task}-{seq}", env.run_id),
                    notify_url: None,
                    topup: None,
                    buyer: None,
                    delivery_mode: Default::default(),
                    claim_ttl_days: None,
                    recipients: None,
                };
                match client.create_order(&req).await {
                    Ok((order, true)) => {
                        out.delivered.push(Delivered {
                            reseller,
                            amount: order.amount,
                            quantity: order.quantity,
                            codes: order
                                .cards
                                .unwrap_or_default()
                                .into_iter()
                                .map(|c| c.code)
                                .collect(),
                        });
                        Ok(())
                    }
                    // A fresh out_trade_no must never come back as a replay.
                    Ok((_, false)) => Err("unexpected_replay_200".into()),
                    Err(e) => Err(error_code(&e)),
                }
            }
            Target::Account => client
                .account()
                .await
                .map(|_| ())
                .map_err(|e| error_code(&e)),
            Target::Healthz => match env.http.get(&healthz).send().await {
                Ok(res) if res.status().is_success() => res
                    .bytes()
                    .await
                    .map(|_| ())
                    .map_err(|_| "transport".into()),
                Ok(res) => Err(format!("http_{}", res.status().as_u16())),
                Err(_) => Err("transport".into()),
            },
        };
        out.latencies.push(sent.elapsed());
        out.answered_at.push(started.elapsed());
        match outcome {
            Ok(()) => out.ok += 1,
            Err(code) => *out.errors.entry(code).or_default() += 1,
        }
    }
    out
}

fn error_code(e: &ClientError) -> String {
    match e {
        ClientError::Api { problem, .. } => problem.code.clone(),
        ClientError::Http(_) => "transport".into(),
        ClientError::Decode { status, .. } => format!("http_{status}"),
    }
}
