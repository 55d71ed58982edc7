//! Builds the actix app and runs the HTTP server with its background jobs (`jobs`).

use std::net::TcpListener;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::api;
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

/// Runs the server on `listener` until SIGINT/SIGTERM (actix drains in-flight requests).
pub async fn run(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let workers = state.config.workers.max(1);
    let state = web::Data::new(state);
    crate::jobs::spawn_all(state.clone());
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
