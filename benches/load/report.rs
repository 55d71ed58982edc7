//! The markdown table of a run and the after-the-fact consistency checks.

use std::collections::HashSet;
use std::time::Duration;

use super::phase::{PhaseResult, Target};
use super::setup::{BoxError, Fixture};

pub struct Row {
    pub concurrency: usize,
    pub target: Target,
    pub result: PhaseResult,
}

impl Row {
    fn per_sec(&self) -> f64 {
        self.result.ok as f64 / self.result.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The nearest-rank percentile of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn errors_cell(r: &PhaseResult) -> String {
    if r.errors.is_empty() {
        return "0".into();
    }
    r.errors
        .iter()
        .map(|(code, n)| format!("{code}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints one row per (C, endpoint); the last column is the endpoint's rate over `/healthz`'s
/// at the same C, so the cost of signing and of the order transaction shows directly.
pub fn print_table(rows: &mut [Row]) {
    println!(
        "| C | endpoint | ok | ok/s | p50 ms | p90 ms | p99 ms | max ms | errors | vs healthz |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---|---:|");
    for row in rows.iter_mut() {
        row.result.latencies.sort_unstable();
    }
    for row in rows.iter() {
        let healthz = rows
            .iter()
            .find(|r| r.concurrency == row.concurrency && r.target == Target::Healthz)
            .map(Row::per_sec);
        let ratio = match healthz {
            Some(h) if h > 0.0 => format!("{:.3}", row.per_sec() / h),
            _ => "-".into(),
        };
        let lat = &row.result.latencies;
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
            row.concurrency,
            row.target.label(),
            row.result.ok,
            row.per_sec(),
            percentile_ms(lat, 50.0),
            percentile_ms(lat, 90.0),
            percentile_ms(lat, 99.0),
            lat.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            errors_cell(&row.result),
            ratio,
        );
    }
}

fn verdict(name: &str, ok: bool, detail: String) -> bool {
    println!("- {} {name}: {detail}", if ok { "PASS" } else { "FAIL" });
    ok
}

/// Checks the run from the outside; true when every check passed.
pub async fn check(fx: &Fixture, rows: &[Row], stock_before: i64) -> Result<bool, BoxError> {
    let delivered: Vec<_> = rows.iter().flat_map(|r| &r.result.delivered).collect();
    let quantity: i64 = delivered.iter().map(|d| d.quantity).sum();
    let codes: Vec<&String> = delivered.iter().flat_map(|d| &d.codes).collect();
    let distinct: HashSet<&String> = codes.iter().copied().collect();

    println!();
    println!("Checks ({} orders delivered):", delivered.len());
    let mut all = verdict(
        "no code delivered twice",
        distinct.len() == codes.len() && codes.len() as i64 == quantity,
        format!(
            "{} codes, {} distinct, {quantity} ordered",
            codes.len(),
            distinct.len()
        ),
    );

    let probe = &fx.resellers[0].client;
    let stock_after = probe.product(&fx.product_id).await?.stock.unwrap_or(-1);
    all &= verdict(
        "stock fell by the delivered quantity",
        stock_before - stock_after == quantity,
        format!("{stock_before} -> {stock_after}, delivered {quantity}"),
    );

    let mut mismatched = Vec::new();
    for (i, r) in fx.resellers.iter().enumerate() {
        let spent: i64 = delivered
            .iter()
            .filter(|d| d.reseller == i)
            .map(|d| d.amount)
            .sum();
        let balance = fx.admin.reseller(&r.id).await?.balance;
        if balance != r.credited - spent {
            mismatched.push(format!(
                "{}: balance {balance}, expected {}",
                r.id,
                r.credited - spent
            ));
        }
    }
    all &= verdict(
        "every balance = credits - delivered amounts",
        mismatched.is_empty(),
        if mismatched.is_empty() {
            format!("{} resellers match", fx.resellers.len())
        } else {
            mismatched.join("; ")
        },
    );
    Ok(all)
}

/// The longest time no request was answered within a push (`windows`, from the phase's start)
/// and outside every push, from the answers' times (`answered_at`, any order). Orders stalled
/// by a push show as a gap in the answers while it runs.
pub fn longest_stalls(
    answered_at: &[Duration],
    windows: &[(Duration, Duration)],
) -> (Duration, Duration) {
    let mut at = answered_at.to_vec();
    at.sort_unstable();
    let (mut during, mut outside) = (Duration::ZERO, Duration::ZERO);
    for pair in at.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        // A gap that overlaps a push counts as the push's.
        let pushed = windows.iter().any(|(from, to)| a < *to && b > *from);
        let longest = if pushed { &mut during } else { &mut outside };
        *longest = (*longest).max(b - a);
    }
    (during, outside)
}
