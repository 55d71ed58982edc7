//! One test harness: a real server on a random port over a fresh database (SQLite by default,
//! PostgreSQL when KAMENG_TEST_DATABASE_URL is set), an admin client, and signed reseller and
//! supplier clients from the crate's own typed client.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::prelude::*;
use kameng::client::{AdminClient, Client, RawResponse};
use kameng::config::Config;
use kameng::domain::accounts::{ResellerCreated, SupplierCreated};
use kameng::domain::trade::catalog::{AdminProduct, NewProduct};
use kameng::domain::trade::inventory::{NewCard, PushCards};
use kameng::state::AppState;
use reqwest::Method;

pub const ADMIN_USER: &str = "root";
pub const ADMIN_PASS: &str = "correct horse battery";

/// A PostgreSQL database created for one test and dropped afterwards.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut c);
        }
    }
}

/// Where this test's database lives.
pub struct TestDb {
    pub url: String,
    _pg: Option<PgDatabase>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn test_database(dir: &std::path::Path) -> TestDb {
    match std::env::var("KAMENG_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            // Loopback tests gain nothing from TLS, and it cost a CI run: libpq's OpenSSL
            // registers an exit handler that frees its state while a finished test's connection
            // threads may still be closing their sessions, and the harness died with SIGSEGV
            // after every test had passed. A URL with parameters of its own keeps them instead.
            let (base, params) = match base.split_once('?') {
                Some((b, q)) => (b.to_string(), format!("?{q}")),
                None => (base.clone(), "?sslmode=disable".to_string()),
            };
            let base = base.trim_end_matches('/').to_string();
            // The server part of the URL, with the maintenance database.
            let server = match base.rsplit_once('/') {
                Some((s, db))
                    if !db.contains(':')
                        && !db.contains('@')
                        && s.contains("://")
                        && s.len() > "postgres://".len() =>
                {
                    s.to_string()
                }
                _ => base.clone(),
            };
            let admin_url = format!("{server}/postgres{params}");
            let name = format!(
                "kameng_t_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            );
            let mut c = diesel::PgConnection::establish(&admin_url)
                .expect("connect to PostgreSQL for tests");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .expect("create test database");
            TestDb {
                url: format!("{server}/{name}{params}"),
                _pg: Some(PgDatabase { admin_url, name }),
            }
        }
        _ => TestDb {
            url: format!("sqlite://{}", dir.join("kameng.db").display()),
            _pg: None,
        },
    }
}

pub struct TestApp {
    pub base: String,
    pub admin: AdminClient,
    pub state: actix_web::web::Data<AppState>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

pub fn test_config(dir: &std::path::Path, url: &str) -> Config {
    Config {
        bind: "127.0.0.1:0".into(),
        database_url: url.into(),
        data_dir: dir.to_path_buf(),
        master_key_hex: Some(hex::encode(rand::random::<[u8; 32]>())),
        bootstrap_admin: Some((ADMIN_USER.into(), ADMIN_PASS.into())),
        allow_private_webhooks: true,
        rate_limit_per_key: 0,
        login_rate_limit_per_min: 0,
        workers: 2,
        db_pool_size: 8,
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = test_database(dir.path());
        let mut config = test_config(dir.path(), &db.url);
        tweak(&mut config);
        let state = actix_web::web::Data::new(AppState::init(config).expect("app state"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let data = state.clone();
        let server = actix_web::HttpServer::new(move || kameng::server::app(data.clone()))
            .workers(2)
            .listen(listener)
            .expect("listen")
            .run();
        actix_web::rt::spawn(server);
        kameng::jobs::spawn_all(state.clone());
        let admin = AdminClient::login(&base, ADMIN_USER, ADMIN_PASS)
            .await
            .expect("admin login");
        TestApp {
            base,
            admin,
            state,
            _db: db,
            _dir: dir,
        }
    }

    pub fn client(&self, key_id: &str, secret: &str) -> Client {
        Client::new(&self.base, key_id, secret)
    }

    pub async fn supplier(&self) -> (SupplierCreated, Client) {
        self.onboard_supplier(None).await
    }

    /// A supplier whose callbacks go to `webhook_url`.
    pub async fn supplier_with_webhook(&self, webhook_url: &str) -> (SupplierCreated, Client) {
        self.onboard_supplier(Some(webhook_url)).await
    }

    async fn onboard_supplier(&self, webhook_url: Option<&str>) -> (SupplierCreated, Client) {
        let s = self
            .admin
            .create_supplier("Acme Games", webhook_url)
            .await
            .expect("create supplier");
        let c = self.client(&s.api_key.key_id, &s.api_key.secret);
        (s, c)
    }

    /// A reseller at `level` with `balance` credited.
    pub async fn reseller(&self, level: Option<&str>, balance: i64) -> (ResellerCreated, Client) {
        self.onboard_reseller(level, None, balance).await
    }

    /// A reseller with `balance` credited whose callbacks go to `notify_url`.
    pub async fn reseller_with_callback(
        &self,
        notify_url: &str,
        balance: i64,
    ) -> (ResellerCreated, Client) {
        self.onboard_reseller(None, Some(notify_url), balance).await
    }

    async fn onboard_reseller(
        &self,
        level: Option<&str>,
        notify_url: Option<&str>,
        balance: i64,
    ) -> (ResellerCreated, Client) {
        let r = self
            .admin
            .create_reseller("Shop", level, notify_url)
            .await
            .expect("create reseller");
        if balance != 0 {
            self.admin
                .credit(&r.reseller.id, balance)
                .await
                .expect("credit");
        }
        let c = self.client(&r.api_key.key_id, &r.api_key.secret);
        (r, c)
    }

    /// A card product of `supplier_id` priced `price` (cost `cost`).
    pub async fn card_product(
        &self,
        supplier_id: &str,
        sku: &str,
        price: i64,
        cost: i64,
    ) -> AdminProduct {
        new_card_product(&self.admin, supplier_id, sku, price, cost).await
    }

    /// A supplier, one card product with `stock` codes (`{sku}-{n}`), ready to sell.
    pub async fn stocked_product(
        &self,
        sku: &str,
        price: i64,
        cost: i64,
        stock: usize,
    ) -> (SupplierCreated, Client, AdminProduct) {
        let (s, sc) = self.supplier().await;
        let p = self.card_product(&s.supplier.id, sku, price, cost).await;
        if stock > 0 {
            let res = sc
                .push_cards(&p.product.id, &cards(sku, 0..stock))
                .await
                .expect("push cards");
            assert_eq!(res.accepted, stock);
        }
        (s, sc, p)
    }

    /// Marks the category named `name` `licence_required` (through the admin API).
    pub async fn require_licence(&self, name: &str) {
        let categories = self.admin.categories().await.expect("categories");
        let category = categories
            .iter()
            .find(|c| c.name == name)
            .expect("category");
        self.admin
            .update_category(&category.id, serde_json::json!({"licence_required": true}))
            .await
            .expect("update category");
    }

    /// Asserts the money invariants straight from the database: every reseller balance equals
    /// the sum of its ledger entries, all entries sum to zero, and the chain verifies.
    pub async fn assert_books_balance(&self) {
        use kameng::db::schema::{ledger_entries, resellers};
        type Rows = Vec<(String, i64)>;
        let (balances, entries): (Rows, Rows) = self
            .state
            .db
            .read(|c| {
                let b = resellers::table
                    .select((resellers::id, resellers::balance))
                    .load(c)?;
                let e = ledger_entries::table
                    .select((ledger_entries::account, ledger_entries::amount))
                    .load(c)?;
                Ok((b, e))
            })
            .expect("read books");
        let total: i64 = entries.iter().map(|e| e.1).sum();
        assert_eq!(total, 0, "the books do not balance");
        for (id, balance) in balances {
            let account = format!("reseller:{id}");
            let sum: i64 = entries.iter().filter(|e| e.0 == account).map(|e| e.1).sum();
            assert_eq!(balance, sum, "balance of {id} differs from its ledger");
        }
        let report = self.admin.verify_audit().await.expect("verify");
        assert!(report.ok, "chain broken: {report:?}");
    }

    /// [`TestApp::assert_books_balance`], plus the operator's own books check
    /// (`GET /v1/admin/ledger/check`) reporting everything balanced.
    pub async fn assert_books_check(&self) {
        self.assert_books_balance().await;
        let check: serde_json::Value = self
            .admin
            .send(Method::GET, "/v1/admin/ledger/check", None)
            .await
            .expect("ledger check")
            .json()
            .expect("ledger check body");
        assert_eq!(check["balanced"], true, "books check: {check}");
    }
}

/// `count` distinct cards named `{prefix}-{n}`.
pub fn cards(prefix: &str, range: std::ops::Range<usize>) -> PushCards {
    PushCards {
        cards: range
            .map(|n| NewCard {
                code: format!("{prefix}-CODE-{n:06}"),
                secret: Some(format!("PIN{n}")),
                expires_at: None,
            })
            .collect(),
        batch_ref: Some("batch-1".into()),
    }
}

pub fn order_req(
    product_id: &str,
    quantity: i64,
    out_trade_no: &str,
) -> kameng::domain::trade::orders::OrderRequest {
    kameng::domain::trade::orders::OrderRequest {
        product_id: product_id.into(),
        quantity,
        out_trade_no: out_trade_no.into(),
        notify_url: None,
        topup: None,
        buyer: None,
        delivery_mode: Default::default(),
        claim_ttl_days: None,
        recipients: None,
    }
}

/// Creates a card product through the admin API.
pub async fn new_card_product(
    admin: &AdminClient,
    supplier_id: &str,
    sku: &str,
    price: i64,
    cost: i64,
) -> AdminProduct {
    admin
        .create_product(&NewProduct {
            sku: sku.into(),
            name: format!("Gift card {sku}"),
            category: "steam".into(),
            supplier_id: supplier_id.into(),
            face_value: price,
            cost,
            price,
            delivery: "card".into(),
            max_quantity: Some(1000),
            ..Default::default()
        })
        .await
        .expect("create product")
}

/// Creates a direct top-up product through the admin API, asking the buyer for `fields`.
pub async fn new_direct_product(
    admin: &AdminClient,
    supplier_id: &str,
    sku: &str,
    (price, cost): (i64, i64),
    fields: &[&str],
) -> AdminProduct {
    admin
        .create_product(&NewProduct {
            sku: sku.into(),
            name: format!("Top-up {sku}"),
            category: "mobile".into(),
            supplier_id: supplier_id.into(),
            face_value: price,
            cost,
            price,
            delivery: "direct".into(),
            topup_fields: Some(fields.iter().map(|f| f.to_string()).collect()),
            ..Default::default()
        })
        .await
        .expect("create direct product")
}

/// An order for a direct top-up product, with the buyer's `topup` fields (a JSON object).
pub fn topup_req(
    product_id: &str,
    quantity: i64,
    out_trade_no: &str,
    topup: serde_json::Value,
) -> kameng::domain::trade::orders::OrderRequest {
    let mut req = order_req(product_id, quantity, out_trade_no);
    req.topup = topup.as_object().cloned();
    req
}

/// The supplier reports a direct top-up's outcome (`{"status": "success" | "failed", ...}`).
pub async fn topup_result(
    supplier: &Client,
    order_id: &str,
    result: serde_json::Value,
) -> RawResponse {
    supplier
        .send_raw(
            Method::POST,
            &format!("/v1/supplier/orders/{order_id}/result"),
            result.to_string().into_bytes(),
        )
        .await
        .expect("send the top-up result")
}

/// A 100-priced card product's id (for tests against spawned processes).
pub async fn card_product_on(admin: &AdminClient, supplier_id: &str, sku: &str) -> String {
    new_card_product(admin, supplier_id, sku, 100, 90)
        .await
        .product
        .id
}
