//! Analytics at scale: seeds 1,000,000 orders straight into the database and times every
//! insight query. Ignored by default (it takes minutes); run it with
//!
//! ```text
//! cargo test --release --test api insight::scale -- --ignored --nocapture
//! ```
//!
//! (add `KAMENG_TEST_DATABASE_URL=postgres://...` for PostgreSQL; `KAMENG_SCALE_ORDERS=n`
//! for another size; `KAMENG_SCALE_DB=/path/file.db` keeps the SQLite database for the next
//! run). It needs about 1.5 GB of free disk for the database, plus a release build. The
//! seeded shop: 365 days, 1,000 resellers of very different sizes (the largest has ~3 % of
//! all orders), 500 products of which each reseller mostly sells ~60, buyers in 30 regions
//! (10 % unnamed), 1–3 units an order, 2 % refunded.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use kameng::db::schema::{orders, products, resellers, sales_daily, sales_rollup};
use kameng::db::DbConn;
use kameng::domain::insight::analytics::{self, report, DayRange, GroupBy, DAY_MS};
use kameng::domain::insight::{forecast, recommend};
use kameng::domain::trade::sales_rollup::{self as rollup, Sale};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::TestApp;

const RESELLERS: usize = 1000;
const PRODUCTS: usize = 500;
const REGIONS: usize = 30;
const DAYS: i64 = 365;

fn seed_accounts(app: &TestApp, supplier_id: &str, template: &str) -> Vec<i64> {
    let now = kameng::time::now_ms();
    let mut rng = StdRng::seed_from_u64(1);
    let prices: Vec<i64> = (0..PRODUCTS).map(|_| rng.gen_range(100..10_000)).collect();
    app.state
        .db
        .write_direct(|c| {
            let category: String = products::table
                .find(template)
                .select(products::category_id)
                .first(c)?;
            for (i, price) in prices.iter().enumerate() {
                diesel::insert_into(products::table)
                    .values((
                        products::id.eq(format!("prd_s{i:04}")),
                        products::sku.eq(format!("SCALE-{i:04}")),
                        products::name.eq(format!("Scale product {i}")),
                        products::category_id.eq(&category),
                        products::supplier_id.eq(supplier_id),
                        products::face_value.eq(price),
                        products::cost.eq(price * 8 / 10),
                        products::price.eq(price),
                        products::currency.eq("CNY"),
                        products::delivery.eq("card"),
                        products::status.eq("on_sale"),
                        products::min_quantity.eq(1),
                        products::max_quantity.eq(100),
                        products::stock.eq(rng.gen_range(0..5000i64)),
                        products::created_at.eq(now - DAYS * DAY_MS),
                        products::updated_at.eq(now),
                    ))
                    .execute(c)?;
            }
            for r in 0..RESELLERS {
                diesel::insert_into(resellers::table)
                    .values((
                        resellers::id.eq(format!("rsl_s{r:04}")),
                        resellers::name.eq(format!("Scale shop {r}")),
                        resellers::level.eq("default"),
                        resellers::webhook_secret_enc.eq("-"),
                        resellers::currency.eq("CNY"),
                        resellers::created_at.eq(now - DAYS * DAY_MS),
                    ))
                    .execute(c)?;
            }
            Ok(())
        })
        .unwrap();
    prices
}

fn seed_orders(app: &TestApp, supplier_id: &str, prices: &[i64], count: usize) {
    let mut rng = StdRng::seed_from_u64(2);
    let now = kameng::time::now_ms();
    let start = (analytics::day_of(now) - DAYS) * DAY_MS;
    // An order's receipt (an EdDSA JWT naming one code hash) is about this long.
    let receipt = "x".repeat(520);
    for batch in 0..count.div_ceil(1000) {
        let rows: Vec<_> = (batch * 1000..((batch + 1) * 1000).min(count))
            .map(|i| {
                let r = (RESELLERS as f64 * rng.gen::<f64>().powi(2)) as usize;
                let p = (r * 7 + (60.0 * rng.gen::<f64>().powi(2)) as usize) % PRODUCTS;
                let region = (rng.gen::<f64>() >= 0.1)
                    .then(|| format!("R{:02}", (r + rng.gen_range(0..3)) % REGIONS));
                let qty = rng.gen_range(1..=3i64);
                let at = start + rng.gen_range(0..DAYS * DAY_MS);
                let status = if rng.gen::<f64>() < 0.02 {
                    "refunded"
                } else {
                    "delivered"
                };
                (
                    orders::id.eq(format!("ord_s{i:08}")),
                    orders::reseller_id.eq(format!("rsl_s{r:04}")),
                    orders::key_id.eq("key_scale"),
                    orders::out_trade_no.eq(format!("S{i}")),
                    orders::product_id.eq(format!("prd_s{p:04}")),
                    orders::supplier_id.eq(supplier_id.to_string()),
                    orders::quantity.eq(qty),
                    orders::unit_price.eq(prices[p]),
                    orders::amount.eq(prices[p] * qty),
                    orders::cost_amount.eq(prices[p] * 8 / 10 * qty),
                    orders::currency.eq("CNY"),
                    orders::status.eq(status),
                    orders::request_hash.eq("-"),
                    orders::buyer_region.eq(region),
                    (
                        orders::receipt.eq(receipt.clone()),
                        orders::ledger_seq.eq(0i64),
                        orders::created_at.eq(at),
                        orders::completed_at.eq(Some(at)),
                    ),
                )
            })
            .collect();
        app.state
            .db
            .write_direct(|c| {
                let insert = diesel::insert_into(orders::table).values(rows);
                kameng::on_backend!(c, c => insert.execute(c))?;
                Ok(())
            })
            .unwrap();
    }
}

/// Median wall time of 5 runs after one warm-up, in milliseconds.
fn time<T>(app: &TestApp, f: impl Fn(&mut DbConn) -> kameng::error::Result<T>) -> f64 {
    let mut runs: Vec<Duration> = (0..6)
        .map(|_| {
            let t = Instant::now();
            app.state.db.read(|c| f(c)).unwrap();
            t.elapsed()
        })
        .skip(1)
        .collect();
    runs.sort();
    runs[2].as_secs_f64() * 1000.0
}

fn count(app: &TestApp, table: &str) -> i64 {
    app.state
        .db
        .read(|c| {
            Ok(match table {
                "sales_daily" => sales_daily::table.count().get_result(c)?,
                _ => sales_rollup::table.count().get_result(c)?,
            })
        })
        .unwrap()
}

#[actix_web::test]
#[ignore = "seeds 1,000,000 orders; run with --ignored --nocapture (see the module doc)"]
async fn insight_queries_stay_fast_on_a_million_orders() {
    let n: usize = std::env::var("KAMENG_SCALE_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // KAMENG_SCALE_DB=/path/file.db keeps the seeded SQLite database for later runs.
    let kept = std::env::var("KAMENG_SCALE_DB").ok();
    let app = match &kept {
        Some(path) => {
            TestApp::spawn_with(|c| {
                c.database_url = format!("sqlite://{path}");
                c.master_key_hex = Some("11".repeat(32));
            })
            .await
        }
        None => TestApp::spawn().await,
    };
    let seeded: Option<String> = app
        .state
        .db
        .read(|c| {
            Ok(products::table
                .find("prd_s0000")
                .select(products::supplier_id)
                .first(c)
                .optional()?)
        })
        .unwrap();
    let supplier_id = match seeded {
        Some(id) => id,
        None => {
            let (s, _, template) = app.stocked_product("SCALE-T", 100, 80, 0).await;
            let prices = seed_accounts(&app, &s.supplier.id, &template.product.id);
            let t = Instant::now();
            seed_orders(&app, &s.supplier.id, &prices, n);
            println!("seeded {n} orders in {:.1} s", t.elapsed().as_secs_f64());
            s.supplier.id
        }
    };
    let t = Instant::now();
    app.state.db.write(rollup::rebuild).unwrap();
    println!(
        "rollup rebuild (= migration backfill): {:.1} s; sales_daily {} rows, sales_rollup {} rows",
        t.elapsed().as_secs_f64(),
        count(&app, "sales_daily"),
        count(&app, "sales_rollup")
    );
    // As autovacuum (PostgreSQL) would after such a bulk load; on SQLite, statistics for the
    // planner too.
    app.state
        .db
        .write_direct(|c| Ok(c.batch_execute("ANALYZE")?))
        .unwrap();

    let now = kameng::time::now_ms();
    let today = analytics::day_of(now);
    let last = |days: i64| DayRange {
        from: today - days,
        to: today,
    };
    let big = "rsl_s0000";
    let typical = "rsl_s0500";
    let mut rows: Vec<(String, f64)> = Vec::new();
    for (label, days) in [("30 days", 29), ("365 days", 365)] {
        for by in [GroupBy::Day, GroupBy::Product, GroupBy::Region] {
            let ms = time(&app, |c| report::reseller_sales(c, big, last(days), by));
            rows.push((format!("reseller (largest) {label} by {}", by.as_str()), ms));
        }
        let ms = time(&app, |c| {
            report::reseller_sales(c, typical, last(days), GroupBy::Product)
        });
        rows.push((format!("reseller (median) {label} by product"), ms));
        for by in [GroupBy::Day, GroupBy::Product, GroupBy::Region] {
            let ms = time(&app, |c| report::platform_sales(c, "CNY", last(days), by));
            rows.push((
                format!("admin platform {label} by {} (+ top lists)", by.as_str()),
                ms,
            ));
        }
    }
    for dim in ["product", "reseller", "region"] {
        let ms = time(&app, |c| analytics::platform_by(c, dim, "CNY", last(365)));
        rows.push((format!("  of which: platform_by {dim}, 365 days"), ms));
    }
    let ms = time(&app, |c| analytics::platform_days(c, "CNY", last(365)));
    rows.push(("  of which: platform_days, 365 days".into(), ms));
    let all_products: Vec<kameng::domain::trade::catalog::ProductRow> = app
        .state
        .db
        .read(|c| {
            Ok(products::table
                .filter(products::supplier_id.eq(&supplier_id))
                .select(kameng::domain::trade::catalog::ProductRow::as_select())
                .load(c)?)
        })
        .unwrap();
    rows.push((
        format!(
            "supplier products: 30-day sales + forecast of {} products",
            all_products.len()
        ),
        time(&app, |c| forecast::outlooks(c, &all_products, now)),
    ));
    rows.push((
        "forecast::days_of_cover, one product".into(),
        time(&app, |c| forecast::days_of_cover(c, "prd_s0007", now)),
    ));
    rows.push((
        "admin slow movers (all products)".into(),
        time(&app, |c| {
            forecast::slow_movers(c, now, forecast::SLOW_MOVER_DAYS)
        }),
    ));
    rows.push((
        "recommendations: sales snapshot load (every 5 min)".into(),
        time(&app, |c| recommend::Snapshot::load(c, now)),
    ));
    let snapshot = app
        .state
        .db
        .read(|c| recommend::Snapshot::load(c, now))
        .unwrap();
    rows.push((
        "recommendations, median reseller, from the snapshot".into(),
        time(&app, |c| {
            recommend::for_reseller(c, &snapshot, typical, None, 10)
        }),
    ));
    // What the rollups save: the same platform-by-product figures straight from `orders`.
    for (label, days) in [("30 days", 29), ("365 days", 365)] {
        let since = (today - days) * DAY_MS;
        let ms = time(&app, |c| {
            Ok(orders::table
                .filter(orders::created_at.ge(since))
                .group_by(orders::product_id)
                .select((
                    orders::product_id,
                    sql::<BigInt>("CAST(SUM(amount) AS BIGINT)"),
                    sql::<BigInt>("CAST(SUM(cost_amount) AS BIGINT)"),
                ))
                .load::<(String, i64, i64)>(c)?)
        });
        rows.push((
            format!("for comparison, no rollup: orders by product, {label}"),
            ms,
        ));
    }
    for (what, ms) in &rows {
        println!("{ms:>9.1} ms  {what}");
    }

    // The cost the order transaction pays for its rollups, on these full tables.
    let cost = record_sale_cost(&app, now, |i| {
        (
            format!("rsl_s{:04}", i % RESELLERS),
            format!("prd_s{:04}", (i * 7) % PRODUCTS),
        )
    });
    println!("record_sale: {cost:.1} µs a sale (one pending row, folded once per batch)");
}

/// Microseconds `record_sale` adds to a transaction: 1,000 transactions that record one sale
/// each, less 1,000 that write one row (so both pay a durable commit; each sale in its own
/// transaction as in production, since repeated updates of one row inside one transaction
/// are not representative on PostgreSQL).
fn record_sale_cost(app: &TestApp, now: i64, keys: impl Fn(usize) -> (String, String)) -> f64 {
    const N: usize = 1000;
    let t = Instant::now();
    for _ in 0..N {
        app.state
            .db
            .write_direct(|c| {
                let touch = products::table.filter(products::id.eq(keys(0).1));
                Ok(diesel::update(touch)
                    .set(products::updated_at.eq(products::updated_at + 1))
                    .execute(c)?)
            })
            .unwrap();
    }
    let baseline = t.elapsed();
    let t = Instant::now();
    for i in 0..N {
        let (reseller, product) = keys(i);
        let region = format!("R{:02}", i % REGIONS);
        let sale = Sale {
            created_at: now,
            reseller_id: &reseller,
            product_id: &product,
            region: Some(&region),
            currency: "CNY",
            quantity: 1,
            amount: 100,
            cost_amount: 80,
        };
        app.state
            .db
            .write_direct(|c| kameng::domain::trade::pending::record_sale(c, &sale, 0))
            .unwrap();
    }
    (t.elapsed().saturating_sub(baseline)).as_secs_f64() * 1e6 / N as f64
}

/// What the rollups add to the order transaction: the time of a whole `orders::place`
/// (card claim, ledger, chain, receipt, rollups, outbox) against `record_sale` alone.
#[actix_web::test]
#[ignore = "timing; run with --ignored --nocapture"]
async fn record_sale_share_of_the_order_transaction() {
    use kameng::domain::trade::orders::{self, OrderContext, OrderDeps};
    const N: usize = 2000;
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("COST-1", 100, 80, N).await;
    let (r, _) = app.reseller(None, 1_000_000).await;
    let ctx = OrderContext {
        reseller_id: r.reseller.id.clone(),
        key_id: r.api_key.key_id.clone(),
        limits: kameng::domain::money::limits::SpendLimits {
            key_daily: None,
            unverified_daily: 0,
        },
        nonce: None,
    };
    let deps = OrderDeps {
        vault: app.state.vault.clone(),
        receipts: app.state.receipts.clone(),
        topup_timeout_ms: 600_000,
        bulk_async_threshold: 0,
        stock_low_days: 3.0,
        jit: None,
    };
    let t = Instant::now();
    for i in 0..N {
        let req = super::order_in(&p.product.id, 1, &format!("C{i}"), Some("CN-GD"));
        orders::place_order(&app.state.db, deps.clone(), ctx.clone(), req)
            .await
            .unwrap();
    }
    let place = t.elapsed().as_secs_f64() * 1e6 / N as f64;
    let record = record_sale_cost(&app, kameng::time::now_ms(), |_| {
        (r.reseller.id.clone(), p.product.id.clone())
    });
    println!(
        "orders::place {place:.0} µs an order (its own transaction and commit); record_sale \
         {record:.1} µs of it ({:.1} %)",
        100.0 * record / place
    );
}
