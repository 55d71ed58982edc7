//! Seeds a database with history for the "cost does not grow with data" measurement: a card
//! product holding `--cards` codes in stock, and `--orders` past orders placed through the real
//! order transaction (so cards, orders, ledger entries, the hash chain and the outbox all grow
//! as they would in production), committed 1,000 orders per transaction.
//!
//! ```text
//! cargo bench --bench seed -- --database sqlite:///tmp/big/kameng.db --cards 1000000 --orders 1000000
//! ```
//! Then start `kameng serve` on that database and run the load tool against it.

use std::time::Instant;

use clap::Parser;
use kameng::config::Config;
use kameng::domain::accounts::{self, NewReseller, NewSupplier, Reseller, Supplier};
use kameng::domain::money::limits::SpendLimits;
use kameng::domain::trade::catalog::{self, NewProduct};
use kameng::domain::trade::inventory::{self, NewCard, PushCards};
use kameng::domain::trade::orders::{self, OrderContext, OrderDeps, OrderRequest};
use kameng::state::AppState;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database: String,
    #[arg(long, default_value_t = 1_000_000)]
    cards: usize,
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const ACTOR: &str = "system:seed";
const PER_TXN: usize = 1_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let data_dir = kameng::db::sqlite_path(&args.database)
        .and_then(|p| std::path::Path::new(p).parent().map(|d| d.to_path_buf()))
        .unwrap_or_else(|| ".".into());
    std::fs::create_dir_all(&data_dir)?;
    let config = Config {
        database_url: args.database.clone(),
        data_dir,
        sqlite_synchronous: "normal".into(),
        ..Config::default()
    };
    let state = AppState::init(config)?;
    let vault = state.vault.clone();
    let (supplier_id, product_id, reseller_id, key_id) = state.db.write(move |c| {
        let new = NewSupplier {
            name: "Seed Supplier".into(),
            webhook_url: None,
        };
        let s = accounts::create::<Supplier>(c, &vault, ACTOR, &new)?;
        let p = catalog::create_product(
            c,
            ACTOR,
            &NewProduct {
                sku: format!("SEED-{}", kameng::time::now_ms()),
                name: "Seeded history".into(),
                category: "seed".into(),
                supplier_id: s.supplier.id.clone(),
                face_value: 100,
                cost: 90,
                price: 100,
                delivery: "card".into(),
                ..Default::default()
            },
        )?;
        let new = NewReseller {
            name: "Seed Reseller".into(),
            ..Default::default()
        };
        let r = accounts::create::<Reseller>(c, &vault, ACTOR, &new)?;
        accounts::credit(c, ACTOR, &r.reseller.id, 1_000_000_000_000, None)?;
        Ok((s.supplier.id, p.product.id, r.reseller.id, r.api_key.key_id))
    })?;

    let started = Instant::now();
    let total = args.cards + args.orders;
    let mut pushed = 0;
    while pushed < total {
        let n = (total - pushed).min(10_000);
        let cards = PushCards {
            cards: (pushed..pushed + n)
                .map(|i| NewCard {
                    code: format!("SEED-{product_id}-{i:09}"),
                    secret: None,
                    expires_at: None,
                })
                .collect(),
            batch_ref: None,
        };
        let (vault, sid, pid) = (state.vault.clone(), supplier_id.clone(), product_id.clone());
        state
            .db
            .write(move |c| inventory::push(c, &vault, &sid, &pid, &cards))?;
        pushed += n;
        state.db.checkpoint()?;
        if pushed % 200_000 == 0 {
            eprintln!(
                "cards: {pushed}/{total} ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }

    let started = Instant::now();
    let deps = OrderDeps {
        vault: state.vault.clone(),
        receipts: state.receipts.clone(),
        topup_timeout_ms: 600_000,
        bulk_async_threshold: 0,
        stock_low_days: state.config.stock_low_days,
        jit: None,
    };
    let ctx = OrderContext {
        reseller_id,
        key_id,
        limits: SpendLimits {
            key_daily: None,
            unverified_daily: 0,
        },
        nonce: None,
    };
    let mut placed = 0;
    while placed < args.orders {
        let n = (args.orders - placed).min(PER_TXN);
        let (deps, ctx, pid) = (deps.clone(), ctx.clone(), product_id.clone());
        let days = deps.stock_low_days;
        state.db.write(move |c| {
            for i in placed..placed + n {
                let req = OrderRequest {
                    product_id: pid.clone(),
                    quantity: 1,
                    out_trade_no: format!("PAST-{i}"),
                    notify_url: None,
                    topup: None,
                    buyer: None,
                    delivery_mode: Default::default(),
                    claim_ttl_days: None,
                    recipients: None,
                };
                orders::place(c, &deps, &ctx, &req)?;
            }
            // Sealed and folded as the server's writer does after each batch (without it the
            // first server start on the seeded file would seal a million records at once).
            kameng::jobs::settle::settle(c, days, true)?;
            Ok(())
        })?;
        placed += n;
        // The server checkpoints in the background; this tool has no background, so keep the
        // WAL from growing to the size of every page ever rewritten.
        state.db.checkpoint()?;
        if placed % 100_000 == 0 {
            eprintln!(
                "orders: {placed}/{} ({:.0} s)",
                args.orders,
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "seeded {} cards in stock and {} past orders into {}",
        args.cards, args.orders, args.database
    );
    Ok(())
}
