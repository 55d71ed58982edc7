//! Everything a request handler may need, built once at start.

use std::sync::Arc;

use actix_web::{web, HttpRequest};

use crate::auth::nonces::NonceStore;
use crate::auth::ratelimit::RateLimits;
use crate::config::Config;
use crate::crypto::Vault;
use crate::db::Db;
use crate::domain::accounts::keys::store::KeyReads;
use crate::domain::money::receipts::ReceiptSigner;
use crate::domain::trade::fulfilment::JitDeps;
use crate::domain::trade::orders::OrderDeps;
use crate::error::{Error, Result};
use crate::events::fulfilment::HttpFulfilment;
use crate::metrics::Metrics;

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub vault: Arc<Vault>,
    pub receipts: Arc<ReceiptSigner>,
    pub nonces: NonceStore,
    /// Reads keys for signed requests (see `keys::store::KeyReads`).
    pub key_reads: KeyReads,
    pub limits: RateLimits,
    pub metrics: Metrics,
    /// Wakes the event worker right after a commit that enqueued events.
    pub events_wakeup: Arc<tokio::sync::Notify>,
    /// Recent sales shared by recommendation requests.
    pub sales_snapshot: crate::domain::insight::recommend::SnapshotCache,
}

impl AppState {
    /// Connects, migrates, loads keys and applies `KAMENG_BOOTSTRAP_ADMIN`.
    pub fn init(config: Config) -> Result<AppState> {
        config
            .create_default_location()
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        let manager = crate::db::Manager::new(&config.database_url)
            .with_synchronous(&config.sqlite_synchronous);
        let db = Db::connect_with(manager, config.db_pool_size)?;
        db.start_order_sets(config.order_sets)?;
        let vault = Arc::new(Vault::load_or_create(
            config.master_key_hex.as_deref(),
            &config.data_dir,
        )?);
        let v = vault.clone();
        let receipts = Arc::new(db.write(move |c| ReceiptSigner::load_or_create(c, &v))?);
        if let Some((user, pass)) = config.bootstrap_admin.clone() {
            db.write(move |c| {
                if crate::auth::admin::admin_count(c)? == 0 {
                    crate::auth::admin::create_admin(c, &user, &pass)?;
                    tracing::info!(username = %user, "bootstrap admin created");
                }
                Ok(())
            })?;
        }
        let metrics = Metrics::new();
        db.on_batch_commit(Box::new(metrics.commit_batch_observer()));
        Ok(AppState {
            limits: RateLimits::new(config.rate_limit_per_key, config.login_rate_limit_per_min)
                .with_claim_limits(
                    config.claim_rate_limit_per_ip,
                    config.claim_lockout_misses,
                    std::time::Duration::from_secs(config.claim_lockout_secs),
                ),
            nonces: NonceStore::for_backend(db.backend()),
            key_reads: KeyReads::default(),
            metrics,
            events_wakeup: Arc::new(tokio::sync::Notify::new()),
            sales_snapshot: Default::default(),
            config,
            db,
            vault,
            receipts,
        })
    }

    /// Waits until what committed transactions left pending is settled — rollups and stock
    /// folded, audit records sealed — for readers that need all of it (see `jobs::settle`).
    pub async fn settled(&self) -> Result<()> {
        let days = self.config.stock_low_days;
        self.db
            .write_async(move |c| crate::jobs::settle::settle(c, days, true))
            .await?;
        Ok(())
    }

    /// What the order path needs from the state and configuration (`domain::trade::orders`).
    pub fn order_deps(&self) -> OrderDeps {
        OrderDeps {
            vault: self.vault.clone(),
            receipts: self.receipts.clone(),
            topup_timeout_ms: self.config.topup_timeout_secs * 1000,
            bulk_async_threshold: self.config.bulk_async_threshold,
            stock_low_days: self.config.stock_low_days,
            jit: Some(JitDeps {
                caller: Arc::new(HttpFulfilment::new(
                    self.vault.clone(),
                    self.config.allow_private_webhooks,
                )),
                cooldown_ms: self.config.jit_cooldown.as_millis() as i64,
            }),
        }
    }

    /// The shared state registered on the app.
    pub fn from_request(req: &HttpRequest) -> Result<web::Data<AppState>> {
        req.app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| Error::internal("app state missing"))
    }
}
