//! The minimal write set of one card order on SQLite alone: the reference the service's
//! orders/s is compared against. One transaction per order, one connection, WAL,
//! `synchronous = NORMAL`, the project's own schema, no HTTP and no crypto.
//!
//! Per order: claim a card (select the lowest available id + update it), a guarded debit of
//! one of 100 resellers (round robin), the order row, three ledger lines, one outbox event.
//! No chain head, stock counter, rollups or nonce: every ledger line references one seeded
//! audit_chain row, so no chain work is measured. Statements are kept prepared (`db::stmt`).
//!
//! ```text
//! cargo bench --bench minimal_probe -- --duration 5
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use sha2::{Digest, Sha256};

use kameng::db::schema::cards;
use kameng::db::stmt::stmt;
use kameng::db::{run_migrations, DbConn, Manager};

// Also literals in `place`'s SQL: kept-prepared statements are fixed text.
const PRODUCT: &str = "prd_probe";
const SUPPLIER: &str = "sup_probe";
const RESELLERS: usize = 100;
const PRICE: i64 = 100;
const COST: i64 = 80;
const SEED_CHUNK: usize = 500;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser, Debug)]
#[command(about = "The minimal write set of an order straight on SQLite (WAL, NORMAL)")]
struct Args {
    /// Seconds to run.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Cards seeded (the run also stops when they run out).
    #[arg(long, default_value_t = 200_000)]
    cards: usize,
    /// Directory for the temporary database; fsync cost depends on its disk.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let base = match &args.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let path = base.path().join("minimal.db");
    let mut conn = Manager::new(&format!("sqlite://{}", path.display()))
        .with_synchronous("normal")
        .establish()?;
    run_migrations(&mut conn)?;
    let resellers = seed(&mut conn, args.cards)?;

    // Counts statements diesel prepares during the run: six means each was prepared once.
    let prepared = Arc::new(AtomicUsize::new(0));
    let seen = prepared.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::CacheQuery { .. } = event {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    });

    let receipt = filler("receipt", 560); // about the size of the server's receipt JWT
    let duration = Duration::from_secs(args.duration);
    let mut latencies: Vec<Duration> = Vec::with_capacity(args.cards);
    let started = Instant::now();
    while started.elapsed() < duration {
        let n = latencies.len();
        let t = Instant::now();
        let placed = conn.transaction(|c| place(c, n, &resellers[n % RESELLERS], &receipt))?;
        if !placed {
            eprintln!("minimal_probe: out of cards after {n} orders");
            break;
        }
        latencies.push(t.elapsed());
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "statements prepared during the run: {}",
        prepared.load(Ordering::Relaxed)
    );

    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    println!(
        "| synchronous | per order | orders | seconds | orders/s | p50 µs | p99 µs |\n|---|---|---:|---:|---:|---:|---:|"
    );
    println!(
        "| NORMAL | minimal order tx | {} | {secs:.2} | {:.0} | {:.0} | {:.0} |",
        latencies.len(),
        latencies.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
    );
    Ok(())
}

/// Supplier, product, 100 funded resellers (their ids returned), one chain record, `n` cards.
fn seed(conn: &mut DbConn, n: usize) -> Result<Vec<String>, BoxError> {
    let now = kameng::time::now_ms();
    let (whsec, hash, zeros) = (filler("whsec", 60), filler("hash", 64), "0".repeat(64));
    let balance = n as i64 * PRICE;
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        conn.batch_execute(&format!(
            "INSERT INTO suppliers (id, name, webhook_secret_enc, status, created_at)
               VALUES ('{SUPPLIER}', 'probe supplier', '{whsec}', 'active', {now});
             INSERT INTO categories (id, name, licence_required, created_at)
               VALUES ('cat_probe', 'probe', 0, {now});
             INSERT INTO products (id, sku, name, category_id, supplier_id, face_value, cost, price,
               currency, delivery, status, min_quantity, max_quantity, stock, created_at, updated_at)
               VALUES ('{PRODUCT}', 'PROBE', 'probe card', 'cat_probe', '{SUPPLIER}', {PRICE}, {COST},
               {PRICE}, 'CNY', 'card', 'on_sale', 1, 1, {n}, {now}, {now});
             WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < {RESELLERS} - 1)
             INSERT INTO resellers (id, name, level, webhook_secret_enc, currency, balance, created_at)
               SELECT 'rsl_probe_' || i, 'probe reseller', 'default', '{whsec}', 'CNY', {balance}, {now}
               FROM r;
             -- The one record every ledger line points at (txn_seq is a foreign key).
             INSERT INTO audit_chain (seq, kind, actor, action, subject, detail, created_at,
               prev_hash, hash) VALUES (1, 'ledger', 'key:key_probe', 'order.purchase', 'probe',
               '{{}}', {now}, '{zeros}', '{hash}');"
        ))?;
        for start in (0..n).step_by(SEED_CHUNK) {
            let rows: Vec<_> = (start..(start + SEED_CHUNK).min(n))
                .map(|i| {
                    (
                        cards::product_id.eq(PRODUCT),
                        cards::supplier_id.eq(SUPPLIER),
                        cards::code_hash.eq(hex::encode(Sha256::digest(i.to_le_bytes()))),
                        // Sized like the server's base64(nonce + AES-GCM(code) + tag).
                        cards::code_enc.eq(filler(&format!("c{i}"), 64)),
                        cards::secret_enc.eq(Some(filler(&format!("s{i}"), 48))),
                        cards::status.eq("available"),
                        cards::created_at.eq(now),
                    )
                })
                .collect();
            let insert = diesel::insert_into(cards::table).values(rows);
            kameng::on_backend!(conn, c => insert.execute(c))?;
        }
        Ok(())
    })?;
    Ok((0..RESELLERS).map(|i| format!("rsl_probe_{i}")).collect())
}

/// A deterministic string of `len` characters standing in for ciphertext, receipts, payloads.
fn filler(seed: &str, len: usize) -> String {
    let mut out = String::with_capacity(len + 64);
    let mut block = hex::encode(Sha256::digest(seed.as_bytes()));
    while out.len() < len {
        out.push_str(&block);
        block = hex::encode(Sha256::digest(block.as_bytes()));
    }
    out.truncate(len);
    out
}

/// The minimal writes of one quantity-1 card order; false (nothing written) when out of cards.
fn place(conn: &mut DbConn, n: usize, reseller: &str, receipt: &str) -> QueryResult<bool> {
    let now = kameng::time::now_ms();
    let order_id = kameng::ids::new_id("ord");

    // The 'available' literal lets SQLite use the partial index of available cards.
    let card: Option<i64> = stmt(
        "SELECT id FROM cards WHERE product_id = ? AND status = 'available' ORDER BY id LIMIT 1",
        [PRODUCT.into()],
    )
    .returning::<BigInt>()
    .get_result(conn)
    .optional()?;
    let Some(card) = card else {
        return Ok(false);
    };
    let claimed = stmt(
        "UPDATE cards SET status = 'sold', order_id = ?, sold_at = ? \
         WHERE id = ? AND status = 'available'",
        [(&order_id).into(), now.into(), card.into()],
    )
    .execute(conn)?;
    let debited = stmt(
        "UPDATE resellers SET balance = balance - ? WHERE id = ? AND balance >= ?",
        [PRICE.into(), reseller.into(), PRICE.into()],
    )
    .execute(conn)?;
    if claimed != 1 || debited != 1 {
        return Err(diesel::result::Error::RollbackTransaction);
    }

    // Fixed values are literals (the constants above, seq 1): only per-order values are bound.
    let out_trade_no = format!("probe-{n}");
    stmt(
        "INSERT INTO orders (id, reseller_id, key_id, out_trade_no, product_id, supplier_id, \
         quantity, unit_price, amount, cost_amount, currency, status, request_hash, receipt, \
         ledger_seq, created_at, completed_at) VALUES (?, ?, 'key_probe', ?, 'prd_probe', \
         'sup_probe', 1, 100, 100, 80, 'CNY', 'delivered', ?, ?, 1, ?, ?)",
        [
            (&order_id).into(),
            reseller.into(),
            (&out_trade_no).into(),
            (&receipt[..64]).into(), // request_hash: 64 characters, like a SHA-256 in hex
            receipt.into(),
            now.into(),
            now.into(),
        ],
    )
    .execute(conn)?;
    // One three-row statement, as the service writes an order's ledger lines; balance_after
    // is NULL because the guarded debit reads nothing back.
    let account = format!("reseller:{reseller}");
    stmt(
        "INSERT INTO ledger_entries (txn_seq, account, amount, currency, balance_after, \
         created_at) VALUES (1, ?, -100, 'CNY', NULL, ?), \
         (1, 'supplier:sup_probe', 80, 'CNY', NULL, ?), (1, 'platform:revenue', 20, 'CNY', NULL, ?)",
        [(&account).into(), now.into(), now.into(), now.into()],
    )
    .execute(conn)?;

    let event_id = kameng::ids::new_id("evt");
    let payload = format!(
        r#"{{"id":"{event_id}","type":"order.delivered","created_at":"{}","data":{{"order_id":"{order_id}","out_trade_no":"{out_trade_no}","product_id":"{PRODUCT}","quantity":1,"amount":{PRICE},"currency":"CNY","status":"delivered"}}}}"#,
        kameng::time::rfc3339(now)
    );
    stmt(
        "INSERT INTO events (id, event_type, owner_kind, owner_id, payload, status, attempts, \
         next_attempt_at, created_at) \
         VALUES (?, 'order.delivered', 'reseller', ?, ?, 'skipped', 0, ?, ?)",
        [
            (&event_id).into(),
            reseller.into(),
            (&payload).into(),
            now.into(),
            now.into(),
        ],
    )
    .execute(conn)?;
    Ok(true)
}
