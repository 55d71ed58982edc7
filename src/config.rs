//! Configuration from `KAMENG_*` environment variables (README lists them all).

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// `KAMENG_BIND`, default `127.0.0.1:8080`.
    pub bind: String,
    /// `KAMENG_DATABASE_URL`, default `sqlite://` + `kameng.db` in the data directory.
    pub database_url: String,
    /// True when neither `KAMENG_DATABASE_URL` nor `KAMENG_DATA_DIR` was given: the files go
    /// to the user's data directory, created at start.
    pub default_location: bool,
    /// `KAMENG_DATA_DIR`: where the master key file lives when `KAMENG_MASTER_KEY` is unset;
    /// default: the SQLite file's directory, or `.` for PostgreSQL.
    pub data_dir: PathBuf,
    /// `KAMENG_MASTER_KEY`: 64 hex chars. Instances sharing one PostgreSQL must share it.
    pub master_key_hex: Option<String>,
    /// `KAMENG_BOOTSTRAP_ADMIN=username:password`, applied at start when no admin exists.
    pub bootstrap_admin: Option<(String, String)>,
    /// `KAMENG_WEBHOOK_RETRY_SCHEDULE`, comma-separated seconds.
    pub webhook_retry_schedule: Vec<u64>,
    /// `KAMENG_UNVERIFIED_DAILY_LIMIT` (minor units; 0 = none).
    pub unverified_daily_limit: i64,
    /// `KAMENG_ALLOW_PRIVATE_WEBHOOKS`, default false.
    pub allow_private_webhooks: bool,
    /// `KAMENG_MAX_BODY_BYTES`, default 8 MiB.
    pub max_body_bytes: usize,
    /// `KAMENG_RATE_LIMIT_PER_KEY`: signed requests per second per key (burst 2×); 0 = off.
    pub rate_limit_per_key: u32,
    /// `KAMENG_LOGIN_RATE_LIMIT`: admin login attempts per minute per client IP; 0 = off.
    pub login_rate_limit_per_min: u32,
    /// `KAMENG_CLAIM_RATE_LIMIT`: requests per second per client IP to the unsigned gift-link
    /// endpoints (`/v1/claims/...`), burst 2×; default 20; 0 = off.
    pub claim_rate_limit_per_ip: u32,
    /// `KAMENG_CLAIM_LOCKOUT_MISSES`: unknown gift-link tokens one client IP may try within
    /// `KAMENG_CLAIM_LOCKOUT_SECS` before it is refused (429) for that long; default 20 in
    /// 600 s; 0 = off.
    pub claim_lockout_misses: u32,
    pub claim_lockout_secs: u64,
    /// `KAMENG_ADMIN_TOKEN_TTL` seconds, default 8 h.
    pub admin_token_ttl: Duration,
    /// `KAMENG_DB_POOL_SIZE`, default 16.
    pub db_pool_size: u32,
    /// `KAMENG_ORDER_SETS`: PostgreSQL order sets in flight at once per instance, each on a
    /// connection of its own (see `db::sets`), default 2; 0: every order its own transaction.
    pub order_sets: u32,
    /// `KAMENG_WORKERS`: HTTP worker threads, default = CPU count.
    pub workers: usize,
    /// `KAMENG_SIGNATURE_WINDOW`: allowed clock skew in seconds, default 300.
    pub signature_window_secs: i64,
    /// `KAMENG_TOPUP_TIMEOUT`: seconds a supplier has to answer a direct top-up, default 600.
    pub topup_timeout_secs: i64,
    /// `KAMENG_SQLITE_SYNCHRONOUS`: `full` (default; acknowledged orders survive power loss) or
    /// `normal` (survive a crash; faster on slow disks).
    pub sqlite_synchronous: String,
    /// `KAMENG_LOG`: tracing filter, default `info`.
    pub log_filter: String,
    /// `KAMENG_MAX_RESELLER_DEPTH`: levels a distribution chain may have, the root reseller
    /// included; default 3 (root, sub-reseller, sub-sub-reseller). At least 1 (no sub-resellers).
    pub max_reseller_depth: usize,
    /// `KAMENG_BULK_ASYNC_THRESHOLD`: card orders of more codes than this are answered
    /// `202 processing`, then `order.delivered`, their codes paged from
    /// `GET /v1/orders/{id}/cards`; default 500; 0 = every order delivers in its response.
    pub bulk_async_threshold: i64,
    /// `KAMENG_TICKET_WINDOW`: seconds after an order during which the reseller may open an
    /// after-sales ticket on it, default 30 days (2592000).
    pub ticket_window_secs: i64,
    /// `KAMENG_TICKET_SLA`: seconds the supplier has to answer a ticket before it is refunded
    /// automatically, default 24 h (86400).
    pub ticket_sla_secs: i64,
    /// `KAMENG_STOCK_LOW_DAYS`: `stock.low` fires when a card product's stock covers fewer
    /// days than this at the forecast rate; default 3. Must be positive.
    pub stock_low_days: f64,
    /// `KAMENG_STOCK_LOW_REFRESH`: seconds between recomputations of the units each product is
    /// expected to sell within those days (also run at start), default 600; 0 = never.
    pub stock_low_refresh_secs: u64,
    /// `KAMENG_DEPOSIT_TTL`: seconds a deposit waits for its payment before it expires, default
    /// 72 h (259200).
    pub deposit_ttl_secs: i64,
    /// `KAMENG_DEPOSIT_MAX`: the largest deposit a reseller may ask for, minor units, default
    /// 100000000 (one million of a currency).
    pub deposit_max_amount: i64,
    /// `KAMENG_PAYMENT_PROVIDERS` (comma-separated names, each `[a-z0-9_-]{1,32}`) with
    /// `KAMENG_PAYMENT_<NAME>_SECRET` each: the providers whose signed callbacks settle
    /// deposits (`POST /v1/payments/callback/{name}`).
    pub payment_providers: Vec<PaymentProvider>,
    /// `KAMENG_JIT_COOLDOWN`: seconds a just-in-time supplier stays paused after 5 consecutive
    /// failed fulfilment calls (its circuit breaker), default 60; fractions allowed.
    pub jit_cooldown: Duration,
}

/// A payment provider that may call back about deposits, and the secret its callbacks are
/// signed with. Debug never shows the secret.
#[derive(Clone)]
pub struct PaymentProvider {
    pub name: String,
    pub secret: String,
}

impl std::fmt::Debug for PaymentProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentProvider")
            .field("name", &self.name)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl Config {
    /// The configured provider called `name`.
    pub fn payment_provider(&self, name: &str) -> Option<&PaymentProvider> {
        self.payment_providers.iter().find(|p| p.name == name)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://kameng.db".into(),
            default_location: false,
            data_dir: PathBuf::from("."),
            master_key_hex: None,
            bootstrap_admin: None,
            webhook_retry_schedule: vec![15, 60, 300, 1800, 7200, 21600, 86400],
            unverified_daily_limit: 0,
            allow_private_webhooks: false,
            max_body_bytes: 8 * 1024 * 1024,
            rate_limit_per_key: 100,
            login_rate_limit_per_min: 20,
            claim_rate_limit_per_ip: 20,
            claim_lockout_misses: 20,
            claim_lockout_secs: 600,
            admin_token_ttl: Duration::from_secs(8 * 3600),
            db_pool_size: 16,
            order_sets: 2,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            signature_window_secs: 300,
            topup_timeout_secs: 600,
            sqlite_synchronous: "full".into(),
            log_filter: "info".into(),
            max_reseller_depth: 3,
            bulk_async_threshold: 500,
            ticket_window_secs: 30 * 86_400,
            ticket_sla_secs: 86_400,
            stock_low_days: 3.0,
            stock_low_refresh_secs: 600,
            deposit_ttl_secs: 72 * 3600,
            deposit_max_amount: 100_000_000,
            payment_providers: Vec::new(),
            jit_cooldown: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError {
            var: name,
            message: format!("cannot parse {v:?}"),
        }),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let d = Config::default();
        let given_dir = var("KAMENG_DATA_DIR").map(PathBuf::from);
        // A database an earlier version created in the working directory stays in use (its key
        // file beside it), so an upgrade does not start on an empty one.
        let earlier_db = std::path::Path::new("kameng.db").is_file();
        let default_location =
            given_dir.is_none() && var("KAMENG_DATABASE_URL").is_none() && !earlier_db;
        let (database_url, data_dir) = match var("KAMENG_DATABASE_URL") {
            Some(url) => {
                crate::db::open::check_scheme(&url).map_err(|message| ConfigError {
                    var: "KAMENG_DATABASE_URL",
                    message,
                })?;
                let dir = given_dir.unwrap_or_else(|| default_data_dir(&url));
                (url, dir)
            }
            None if earlier_db => {
                let dir = given_dir.unwrap_or_else(|| PathBuf::from("."));
                ("sqlite://kameng.db".to_string(), dir)
            }
            None => {
                let dir = given_dir.unwrap_or_else(user_data_dir);
                let url = format!("sqlite://{}", dir.join("kameng.db").display());
                (url, dir)
            }
        };
        let bootstrap_admin = match var("KAMENG_BOOTSTRAP_ADMIN") {
            None => None,
            Some(v) => {
                let (user, pass) = v.split_once(':').ok_or(ConfigError {
                    var: "KAMENG_BOOTSTRAP_ADMIN",
                    message: "expected username:password".into(),
                })?;
                Some((user.to_string(), pass.to_string()))
            }
        };
        let webhook_retry_schedule = match var("KAMENG_WEBHOOK_RETRY_SCHEDULE") {
            None => d.webhook_retry_schedule,
            Some(v) => parse_schedule(&v).ok_or(ConfigError {
                var: "KAMENG_WEBHOOK_RETRY_SCHEDULE",
                message: format!("expected comma-separated seconds, got {v:?}"),
            })?,
        };
        Ok(Config {
            bind: var("KAMENG_BIND").unwrap_or(d.bind),
            database_url,
            default_location,
            data_dir,
            master_key_hex: var("KAMENG_MASTER_KEY"),
            bootstrap_admin,
            webhook_retry_schedule,
            unverified_daily_limit: parse(
                "KAMENG_UNVERIFIED_DAILY_LIMIT",
                d.unverified_daily_limit,
            )?,
            allow_private_webhooks: parse(
                "KAMENG_ALLOW_PRIVATE_WEBHOOKS",
                d.allow_private_webhooks,
            )?,
            max_body_bytes: parse("KAMENG_MAX_BODY_BYTES", d.max_body_bytes)?,
            rate_limit_per_key: parse("KAMENG_RATE_LIMIT_PER_KEY", d.rate_limit_per_key)?,
            login_rate_limit_per_min: parse("KAMENG_LOGIN_RATE_LIMIT", d.login_rate_limit_per_min)?,
            claim_rate_limit_per_ip: parse("KAMENG_CLAIM_RATE_LIMIT", d.claim_rate_limit_per_ip)?,
            claim_lockout_misses: parse("KAMENG_CLAIM_LOCKOUT_MISSES", d.claim_lockout_misses)?,
            claim_lockout_secs: parse("KAMENG_CLAIM_LOCKOUT_SECS", d.claim_lockout_secs)?,
            admin_token_ttl: Duration::from_secs(parse("KAMENG_ADMIN_TOKEN_TTL", 8 * 3600u64)?),
            db_pool_size: parse("KAMENG_DB_POOL_SIZE", d.db_pool_size)?,
            order_sets: parse("KAMENG_ORDER_SETS", d.order_sets)?,
            workers: parse("KAMENG_WORKERS", d.workers)?,
            signature_window_secs: parse("KAMENG_SIGNATURE_WINDOW", d.signature_window_secs)?,
            topup_timeout_secs: parse("KAMENG_TOPUP_TIMEOUT", d.topup_timeout_secs)?,
            sqlite_synchronous: var("KAMENG_SQLITE_SYNCHRONOUS").unwrap_or(d.sqlite_synchronous),
            log_filter: var("KAMENG_LOG").unwrap_or(d.log_filter),
            max_reseller_depth: match parse("KAMENG_MAX_RESELLER_DEPTH", d.max_reseller_depth)? {
                0 => {
                    return Err(ConfigError {
                        var: "KAMENG_MAX_RESELLER_DEPTH",
                        message: "must be at least 1".into(),
                    })
                }
                n => n,
            },
            bulk_async_threshold: parse("KAMENG_BULK_ASYNC_THRESHOLD", d.bulk_async_threshold)?
                .max(0),
            ticket_window_secs: parse("KAMENG_TICKET_WINDOW", d.ticket_window_secs)?,
            ticket_sla_secs: parse("KAMENG_TICKET_SLA", d.ticket_sla_secs)?,
            stock_low_days: match parse("KAMENG_STOCK_LOW_DAYS", d.stock_low_days)? {
                days if days.is_finite() && days > 0.0 => days,
                _ => {
                    return Err(ConfigError {
                        var: "KAMENG_STOCK_LOW_DAYS",
                        message: "must be a positive number of days".into(),
                    })
                }
            },
            stock_low_refresh_secs: parse("KAMENG_STOCK_LOW_REFRESH", d.stock_low_refresh_secs)?,
            deposit_ttl_secs: match parse("KAMENG_DEPOSIT_TTL", d.deposit_ttl_secs)? {
                s if s > 0 => s,
                _ => {
                    return Err(ConfigError {
                        var: "KAMENG_DEPOSIT_TTL",
                        message: "must be a positive number of seconds".into(),
                    })
                }
            },
            deposit_max_amount: match parse("KAMENG_DEPOSIT_MAX", d.deposit_max_amount)? {
                m if m > 0 => m,
                _ => {
                    return Err(ConfigError {
                        var: "KAMENG_DEPOSIT_MAX",
                        message: "must be a positive amount in minor units".into(),
                    })
                }
            },
            payment_providers: payment_providers()?,
            jit_cooldown: match parse("KAMENG_JIT_COOLDOWN", d.jit_cooldown.as_secs_f64())? {
                secs if secs.is_finite() && (0.0..=86_400.0).contains(&secs) => {
                    Duration::from_secs_f64(secs)
                }
                _ => {
                    return Err(ConfigError {
                        var: "KAMENG_JIT_COOLDOWN",
                        message: "must be between 0 and 86400 seconds".into(),
                    })
                }
            },
        })
    }
}

impl Config {
    /// Creates the user data directory when the files go to the default location (see
    /// [`user_data_dir`]); a directory named by the user must exist already.
    pub fn create_default_location(&self) -> Result<(), ConfigError> {
        if !self.default_location {
            return Ok(());
        }
        std::fs::create_dir_all(&self.data_dir).map_err(|e| ConfigError {
            var: "KAMENG_DATA_DIR",
            message: format!(
                "cannot create {}: {e}; set KAMENG_DATA_DIR or KAMENG_DATABASE_URL",
                self.data_dir.display()
            ),
        })
    }
}

/// `KAMENG_PAYMENT_PROVIDERS=a,b` and `KAMENG_PAYMENT_A_SECRET`, `KAMENG_PAYMENT_B_SECRET`.
fn payment_providers() -> Result<Vec<PaymentProvider>, ConfigError> {
    const VAR: &str = "KAMENG_PAYMENT_PROVIDERS";
    let Some(names) = var(VAR) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<PaymentProvider> = Vec::new();
    for name in names.split(',').map(str::trim) {
        let valid = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid || name == "bank_transfer" || out.iter().any(|p| p.name == name) {
            return Err(ConfigError {
                var: VAR,
                message: format!(
                    "{name:?}: expected distinct names of [a-z0-9_-], 1..32 chars, not bank_transfer"
                ),
            });
        }
        let secret_var = format!(
            "KAMENG_PAYMENT_{}_SECRET",
            name.to_ascii_uppercase().replace('-', "_")
        );
        let secret = var(&secret_var).ok_or_else(|| ConfigError {
            var: VAR,
            message: format!("{secret_var} is not set"),
        })?;
        out.push(PaymentProvider {
            name: name.to_string(),
            secret,
        });
    }
    Ok(out)
}

fn parse_schedule(v: &str) -> Option<Vec<u64>> {
    let steps: Option<Vec<u64>> = v.split(',').map(|s| s.trim().parse().ok()).collect();
    steps.filter(|s| !s.is_empty())
}

/// Where kameng keeps its files when nothing says otherwise: the user's data directory
/// (`$XDG_DATA_HOME/kameng`, else `~/.local/share/kameng`), never the directory the process
/// happens to start in (a checkout).
pub fn user_data_dir() -> PathBuf {
    let base = var("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match base {
        Some(b) => b.join("kameng"),
        None => PathBuf::from("."),
    }
}

/// `kameng serve --help` lists the settings; README "Configuration" explains each.
pub const SETTINGS_HELP: &str = "\
Settings (environment variables; README \"Configuration\" explains each):
  KAMENG_BIND                  listen address [default: 127.0.0.1:8080]
  KAMENG_DATABASE_URL          sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB
                               [default: sqlite://$XDG_DATA_HOME/kameng/kameng.db,
                               else ~/.local/share/kameng/kameng.db]
  KAMENG_DATA_DIR              where the generated master key kameng.key lives
                               [default: the SQLite file's directory]
  KAMENG_MASTER_KEY            64 hex chars (instances sharing a database share it)
  KAMENG_BOOTSTRAP_ADMIN       username:password, creates the first admin
  KAMENG_ALLOW_PRIVATE_WEBHOOKS  true to allow callbacks to 127.0.0.1 and private networks
  KAMENG_LOG                   tracing filter [default: info]
  KAMENG_WORKERS, KAMENG_DB_POOL_SIZE, KAMENG_ORDER_SETS, KAMENG_RATE_LIMIT_PER_KEY,
  KAMENG_LOGIN_RATE_LIMIT, KAMENG_MAX_BODY_BYTES, KAMENG_SIGNATURE_WINDOW, KAMENG_TOPUP_TIMEOUT,
  KAMENG_WEBHOOK_RETRY_SCHEDULE, KAMENG_UNVERIFIED_DAILY_LIMIT, KAMENG_MAX_RESELLER_DEPTH,
  KAMENG_BULK_ASYNC_THRESHOLD, KAMENG_TICKET_WINDOW, KAMENG_TICKET_SLA,
  KAMENG_STOCK_LOW_DAYS, KAMENG_STOCK_LOW_REFRESH, KAMENG_SQLITE_SYNCHRONOUS, KAMENG_ADMIN_TOKEN_TTL,
  KAMENG_DEPOSIT_TTL, KAMENG_DEPOSIT_MAX, KAMENG_PAYMENT_PROVIDERS (+ KAMENG_PAYMENT_<NAME>_SECRET)";

/// The SQLite file's directory keeps the generated master key next to the data it protects.
fn default_data_dir(database_url: &str) -> PathBuf {
    match crate::db::sqlite_path(database_url) {
        Some(path) => PathBuf::from(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
        None => PathBuf::from("."),
    }
}
