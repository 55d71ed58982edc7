//! Builds the actix app and runs the HTTP server with its background jobs.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::api;
use crate::domain::topups;
use crate::state::AppState;

/// The app factory shared by `serve` and the tests.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = state.config.max_body_bytes;
    App::new()
        .app_data(state)
        .wrap(from_fn(api::middleware::observe))
        .configure(|cfg| api::configure(cfg, max_body))
}

/// Starts the background jobs on the current runtime: the event worker, the direct top-up
/// deadline sweep with stranded bulk deliveries, the stock cover refresh, and housekeeping (expired nonces, idle rate-limit keys, lapsed licences). Each is safe to run
/// on several instances at once.
pub fn spawn_background(state: web::Data<AppState>) {
    crate::events::worker::spawn(state.clone());
    let db = state.db.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let db = db.clone();
            if let Err(e) = crate::db::run_blocking(move || db.checkpoint()).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
    spawn_ticket_sla_sweep(state.clone());
    spawn_stock_low_refresh(state.clone());
    let st = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = crate::time::now_ms();
            match st
                .db
                .write_async(move |c| topups::expire_overdue(c, now, 100))
                .await
            {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(orders = n, "direct top-ups timed out and were refunded");
                    st.events_wakeup.notify_one();
                }
                Err(e) => tracing::warn!(error = %e, "top-up deadline sweep failed"),
            }
            api::bulk::sweep_stranded(&st).await;
        }
    });
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            state.limits.housekeeping();
            let now = crate::time::now_ms();
            let st = state.clone();
            if let Err(e) =
                crate::db::run_blocking(move || st.nonces.purge_expired(&st.db, now)).await
            {
                tracing::warn!(error = %e, "nonce purge failed");
            }
            match state
                .db
                .write_async(move |c| crate::domain::compliance::sweep_lapsed(c, now))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(products = n, "licence lapsed: products taken off sale"),
                Err(e) => tracing::warn!(error = %e, "licence sweep failed"),
            }
        }
    });
}

/// Refunds after-sales tickets the supplier left unanswered past their SLA, every second. A
/// read first, so an idle instance never takes the (SQLite) writer; the refund itself is a
/// conditional update, safe with several instances.
fn spawn_ticket_sla_sweep(state: web::Data<AppState>) {
    use crate::domain::tickets;
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = crate::time::now_ms();
            match state
                .db
                .read_async(move |c| tickets::any_overdue(c, now))
                .await
            {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "ticket SLA check failed");
                    continue;
                }
            }
            match state
                .db
                .write_async(move |c| tickets::expire_overdue(c, now))
                .await
            {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(tickets = n, "tickets past their SLA were refunded");
                    state.events_wakeup.notify_one();
                }
                Err(e) => tracing::warn!(error = %e, "ticket SLA sweep failed"),
            }
        }
    });
}

/// Recomputes each card product's expected sales within `KAMENG_STOCK_LOW_DAYS` at start and
/// every `KAMENG_STOCK_LOW_REFRESH` seconds, so orders compare stock with a stored number, and
/// sends `stock.low` for products that became low by demand rising rather than by an order.
/// Firing is a conditional update: safe with several instances.
fn spawn_stock_low_refresh(state: web::Data<AppState>) {
    use crate::domain::stock_low;
    let every = state.config.stock_low_refresh_secs;
    if every == 0 {
        return;
    }
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(every));
        loop {
            tick.tick().await;
            let (db, days) = (state.db.clone(), state.config.stock_low_days);
            let now = crate::time::now_ms();
            match crate::db::run_blocking(move || stock_low::refresh(&db, now, days)).await {
                Ok(r) if r.fired > 0 => {
                    tracing::info!(products = r.fired, "stock.low sent by the cover refresh");
                    state.events_wakeup.notify_one();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "stock cover refresh failed"),
            }
        }
    });
}

/// Runs the server on `listener` until SIGINT/SIGTERM (actix drains in-flight requests).
pub async fn run(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let workers = state.config.workers.max(1);
    let state = web::Data::new(state);
    spawn_background(state.clone());
    let addr = listener.local_addr()?;
    // Blocking work is database reads (and PostgreSQL writes) on a pool of `db_pool_size`
    // connections: more threads than connections per worker only wait in the pool, and each
    // idle thread keeps allocator memory (actix's default is 512 shared by the workers).
    let blocking = (state.config.db_pool_size as usize).max(4);
    let data = state.clone();
    let server = HttpServer::new(move || app(data.clone()))
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
    tracing::info!(%addr, "kameng listening");
    server.await
}
