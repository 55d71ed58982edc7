//! Prometheus metrics: request counts and latencies by route pattern, method and status, and
//! the business beside them — orders by outcome, delivery kind and mode (live or sandbox) with
//! their latency, group-commit batch sizes, the outbox backlog, webhook failures, products in a
//! stock-low spell, and signed traffic by mode.
//!
//! Counters and histograms move where the thing happens. The gauges that describe stored state
//! (backlog, oldest pending event, stock-low products) are read at scrape time in one query
//! ([`read_gauges`]): each instance then reports the shared database's truth, and nothing has
//! to keep them in step between scrapes.

use std::time::Duration;

use diesel::sql_types::{BigInt, Nullable};
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use crate::db::DbConn;
use crate::error::Result;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    orders: IntCounterVec,
    order_seconds: Histogram,
    commit_batch_size: Histogram,
    outbox_pending: IntGauge,
    outbox_oldest_pending: Gauge,
    webhook_failures: IntCounterVec,
    products_stock_low: IntGauge,
    requests_by_mode: IntCounterVec,
}

/// Registers a metric on `registry` and returns it (every name is registered once, here).
fn registered<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, m: M) -> M {
    registry
        .register(Box::new(m.clone()))
        .expect("register once");
    m
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    registered(
        registry,
        IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    registered(
        registry,
        Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
            .expect("valid metric"),
    )
}

/// `live` or `sandbox`: the label that keeps sandbox keys' traffic apart.
fn mode(sandbox: bool) -> &'static str {
    if sandbox {
        "sandbox"
    } else {
        "live"
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let latency = registered(
            r,
            HistogramVec::new(
                HistogramOpts::new(
                    "kameng_http_request_duration_seconds",
                    "HTTP request latency by route",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ]),
                &["method", "route"],
            )
            .expect("valid metric"),
        );
        let gauge = |name: &str, help: &str| {
            registered(r, IntGauge::new(name, help).expect("valid metric"))
        };
        Metrics {
            requests: counter(
                r,
                "kameng_http_requests_total",
                "HTTP requests by route, method and status",
                &["method", "route", "status"],
            ),
            latency,
            orders: counter(
                r,
                "kameng_orders_total",
                "Order requests by outcome (delivered, processing, replayed or the error code), \
                 delivery kind (card, direct; unknown when refused) and mode (live, sandbox)",
                &["outcome", "delivery", "mode"],
            ),
            order_seconds: histogram(
                r,
                "kameng_order_seconds",
                "Time to place an order, from verified request to committed answer",
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            ),
            commit_batch_size: histogram(
                r,
                "kameng_commit_batch_size",
                "Jobs committed together: a SQLite group commit, a PostgreSQL order set",
                vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
            ),
            outbox_pending: gauge(
                "kameng_outbox_pending",
                "Events waiting to be delivered (first attempt or a retry)",
            ),
            outbox_oldest_pending: registered(
                r,
                Gauge::new(
                    "kameng_outbox_oldest_pending_seconds",
                    "Age of the oldest event still waiting to be delivered (0 when none)",
                )
                .expect("valid metric"),
            ),
            webhook_failures: counter(
                r,
                "kameng_webhook_failures_total",
                "Failed delivery attempts (non-2xx, timeout, refused address) by event type",
                &["event_type"],
            ),
            products_stock_low: gauge(
                "kameng_products_stock_low",
                "Products in a stock-low spell (stock.low sent, not yet restocked)",
            ),
            requests_by_mode: counter(
                r,
                "kameng_requests_total",
                "Verified signed requests by mode (live, sandbox)",
                &["mode"],
            ),
            registry,
        }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// One order request: `outcome` is `delivered`, `processing`, `replayed` or the error code;
    /// `delivery` is `card`, `direct` or `unknown`.
    pub fn record_order(&self, outcome: &str, delivery: &str, sandbox: bool, elapsed: Duration) {
        self.orders
            .with_label_values(&[outcome, delivery, mode(sandbox)])
            .inc();
        self.order_seconds.observe(elapsed.as_secs_f64());
    }

    /// One verified signed request, by its key's mode.
    pub fn record_request(&self, sandbox: bool) {
        self.requests_by_mode
            .with_label_values(&[mode(sandbox)])
            .inc();
    }

    /// One failed delivery attempt of an event of `event_type`.
    pub fn record_webhook_failure(&self, event_type: &str) {
        self.webhook_failures.with_label_values(&[event_type]).inc();
    }

    /// What the SQLite writer calls with each group commit's number of jobs.
    pub fn commit_batch_observer(&self) -> impl Fn(usize) + Send + Sync + 'static {
        let sizes = self.commit_batch_size.clone();
        move |jobs| sizes.observe(jobs as f64)
    }

    /// Sets the gauges read from the database at scrape time.
    pub fn set_gauges(&self, g: &Gauges) {
        self.outbox_pending.set(g.outbox_pending);
        self.outbox_oldest_pending.set(g.oldest_pending_seconds);
        self.products_stock_low.set(g.products_stock_low);
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// What the gauges show, read from the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    pub outbox_pending: i64,
    pub oldest_pending_seconds: f64,
    pub products_stock_low: i64,
}

#[derive(diesel::QueryableByName)]
struct GaugeRow {
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    oldest: Option<i64>,
    #[diesel(sql_type = BigInt)]
    stock_low: i64,
}

/// The gauges in one round trip. Pending events are found through `events_due` (status
/// first), so the cost follows the backlog, not the history; products are a small table.
pub fn read_gauges(conn: &mut DbConn, now_ms: i64) -> Result<Gauges> {
    use diesel::RunQueryDsl;
    let row: GaugeRow = diesel::sql_query(
        "SELECT (SELECT COUNT(*) FROM events WHERE status = 'pending') AS pending, \
                (SELECT MIN(created_at) FROM events WHERE status = 'pending') AS oldest, \
                (SELECT COUNT(*) FROM products WHERE stock_low_at IS NOT NULL) AS stock_low",
    )
    .get_result(conn)?;
    Ok(Gauges {
        outbox_pending: row.pending,
        oldest_pending_seconds: row
            .oldest
            .map(|t| ((now_ms - t).max(0) as f64) / 1000.0)
            .unwrap_or(0.0),
        products_stock_low: row.stock_low,
    })
}
