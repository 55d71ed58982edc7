//! What SQLite alone can do: the writes of one card order, one transaction per order, on one
//! connection, no HTTP, no crypto, against the project's own schema. The gap between this and
//! the load tool's orders/s is what HTTP, signing, JSON, encryption and the extra reads cost.
//!
//! Per order: claim a card (select + update), update the product's stock, debit the reseller
//! (guarded update + read back), lock the chain head, insert the chained record and its three
//! ledger entries, move the head, insert the order row, insert the outbox event. A second
//! variant also commits the nonce insert that every signed request does in its own transaction.
//!
//! ```text
//! cargo bench --bench raw_probe -- --duration 5
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use kameng::db::schema::{
    audit_chain, cards, categories, chain_head, events, ledger_entries, orders, products,
    request_nonces, resellers, suppliers,
};
use kameng::db::{run_migrations, DbConn, Manager};

const PRODUCT: &str = "prd_probe";
const SUPPLIER: &str = "sup_probe";
const RESELLER: &str = "rsl_probe";
const KEY: &str = "key_probe";
const PRICE: i64 = 100;
const COST: i64 = 80;
const SEED_CHUNK: usize = 500;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser, Debug)]
#[command(about = "Order-shaped write transactions straight on SQLite (WAL)")]
struct Args {
    /// Seconds per variant.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Stop a variant after this many orders even if time is left.
    #[arg(long)]
    count: Option<u64>,
    /// Cards seeded per variant (a variant also stops when they run out).
    #[arg(long, default_value_t = 200_000)]
    cards: usize,
    /// Directory for the temporary database; fsync cost depends on its disk.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

struct Outcome {
    orders: u64,
    transactions: u64,
    elapsed: Duration,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let base = match &args.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    println!(
        "| synchronous | per order | orders | seconds | orders/s | commits/s |\n|---|---|---:|---:|---:|---:|"
    );
    for sync in ["NORMAL", "FULL"] {
        for with_nonce in [false, true] {
            let path = base
                .path()
                .join(format!("probe-{sync}-{with_nonce}.db"))
                .to_string_lossy()
                .into_owned();
            let mut conn = open(&path, sync)?;
            seed(&mut conn, args.cards)?;
            if sync == "NORMAL" && !with_nonce {
                eprintln!("card claim plan: {}", claim_plan(&mut conn)?);
            }
            let out = run(&mut conn, &args, with_nonce)?;
            let secs = out.elapsed.as_secs_f64();
            println!(
                "| {sync} | {} | {} | {secs:.2} | {:.0} | {:.0} |",
                if with_nonce {
                    "nonce tx + order tx"
                } else {
                    "order tx"
                },
                out.orders,
                out.orders as f64 / secs,
                out.transactions as f64 / secs,
            );
        }
    }
    Ok(())
}

/// A connection set up exactly as the server's (WAL, busy timeout, foreign keys), then `sync`.
fn open(path: &str, sync: &str) -> Result<DbConn, BoxError> {
    let mut conn = Manager::new(&format!("sqlite://{path}")).establish()?;
    run_migrations(&mut conn)?;
    conn.batch_execute(&format!("PRAGMA synchronous = {sync};"))?;
    Ok(conn)
}

fn seed(conn: &mut DbConn, n: usize) -> Result<(), BoxError> {
    let now = kameng::time::now_ms();
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        diesel::insert_into(suppliers::table)
            .values((
                suppliers::id.eq(SUPPLIER),
                suppliers::name.eq("probe supplier"),
                suppliers::webhook_secret_enc.eq(filler("whsec", 60)),
                suppliers::status.eq("active"),
                suppliers::created_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(categories::table)
            .values((
                categories::id.eq("cat_probe"),
                categories::name.eq("probe"),
                categories::licence_required.eq(false),
                categories::created_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(products::table)
            .values((
                products::id.eq(PRODUCT),
                products::sku.eq("PROBE"),
                products::name.eq("probe card"),
                products::category_id.eq("cat_probe"),
                products::supplier_id.eq(SUPPLIER),
                products::face_value.eq(PRICE),
                products::cost.eq(COST),
                products::price.eq(PRICE),
                products::currency.eq("CNY"),
                products::delivery.eq("card"),
                products::status.eq("on_sale"),
                products::min_quantity.eq(1),
                products::max_quantity.eq(1),
                products::stock.eq(n as i64),
                products::created_at.eq(now),
                products::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(resellers::table)
            .values((
                resellers::id.eq(RESELLER),
                resellers::name.eq("probe reseller"),
                resellers::level.eq("default"),
                resellers::webhook_secret_enc.eq(filler("whsec", 60)),
                resellers::currency.eq("CNY"),
                resellers::balance.eq(n as i64 * PRICE),
                resellers::created_at.eq(now),
            ))
            .execute(conn)?;
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
    Ok(())
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// How this SQLite plans the claim query with `status` bound as a parameter, as diesel sends
/// it: a partial index (`WHERE status = 'available'`) is only usable when the planner can see
/// the literal, so this shows whether claiming scans sold cards.
fn claim_plan(conn: &mut DbConn) -> Result<String, BoxError> {
    let DbConn::Sqlite(c) = conn else {
        return Err("not SQLite".into());
    };
    let lines: Vec<PlanLine> = diesel::sql_query(
        "EXPLAIN QUERY PLAN SELECT id FROM cards WHERE product_id = ? AND status = ? \
         AND (expires_at IS NULL OR expires_at > ?) ORDER BY id ASC LIMIT ?",
    )
    .bind::<diesel::sql_types::Text, _>(PRODUCT)
    .bind::<diesel::sql_types::Text, _>("available")
    .bind::<diesel::sql_types::BigInt, _>(0i64)
    .bind::<diesel::sql_types::BigInt, _>(1i64)
    .load(c)?;
    Ok(lines
        .into_iter()
        .map(|l| l.detail)
        .collect::<Vec<_>>()
        .join("; "))
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

fn run(conn: &mut DbConn, args: &Args, with_nonce: bool) -> Result<Outcome, BoxError> {
    let limit = args.count.unwrap_or(u64::MAX);
    let duration = Duration::from_secs(args.duration);
    // Receipt JWT and event payload sizes as the server writes them (roughly).
    let receipt = filler("receipt", 560);
    let started = Instant::now();
    let (mut orders, mut transactions) = (0u64, 0u64);
    while orders < limit && started.elapsed() < duration {
        if with_nonce {
            let nonce = kameng::client::new_nonce();
            conn.transaction::<_, diesel::result::Error, _>(|conn| {
                diesel::insert_into(request_nonces::table)
                    .values((
                        request_nonces::key_id.eq(KEY),
                        request_nonces::nonce.eq(&nonce),
                        request_nonces::expires_at.eq(kameng::time::now_ms() + 300_000),
                    ))
                    .execute(conn)
            })?;
            transactions += 1;
        }
        let placed = conn.transaction(|conn| place(conn, orders, &receipt))?;
        transactions += 1;
        if !placed {
            eprintln!("raw_probe: out of cards after {orders} orders");
            break;
        }
        orders += 1;
    }
    Ok(Outcome {
        orders,
        transactions,
        elapsed: started.elapsed(),
    })
}

/// The writes of one quantity-1 card order; false (and nothing written) when out of cards.
fn place(conn: &mut DbConn, n: u64, receipt: &str) -> Result<bool, diesel::result::Error> {
    let now = kameng::time::now_ms();
    let order_id = kameng::ids::new_id("ord");

    let picked: Vec<(i64, String, Option<String>, Option<i64>)> = cards::table
        .filter(cards::product_id.eq(PRODUCT))
        .filter(cards::status.eq("available"))
        .filter(cards::expires_at.is_null().or(cards::expires_at.gt(now)))
        .order(cards::id.asc())
        .limit(1)
        .select((
            cards::id,
            cards::code_enc,
            cards::secret_enc,
            cards::expires_at,
        ))
        .load(conn)?;
    let Some(card) = picked.first() else {
        return Ok(false);
    };
    let claimed = diesel::update(
        cards::table
            .filter(cards::id.eq_any([card.0]))
            .filter(cards::status.eq("available")),
    )
    .set((
        cards::status.eq("sold"),
        cards::order_id.eq(&order_id),
        cards::sold_at.eq(now),
    ))
    .execute(conn)?;
    if claimed != 1 {
        return Err(diesel::result::Error::RollbackTransaction);
    }
    diesel::update(products::table.find(PRODUCT))
        .set(products::stock.eq(products::stock - 1))
        .execute(conn)?;

    let debited = diesel::update(
        resellers::table
            .filter(resellers::id.eq(RESELLER))
            .filter((resellers::balance - PRICE).ge(0)),
    )
    .set(resellers::balance.eq(resellers::balance - PRICE))
    .execute(conn)?;
    if debited != 1 {
        return Err(diesel::result::Error::RollbackTransaction);
    }
    let balance: i64 = resellers::table
        .find(RESELLER)
        .select(resellers::balance)
        .first(conn)?;

    let (head_seq, prev_hash): (i64, String) = chain_head::table
        .find(1)
        .select((chain_head::seq, chain_head::hash))
        .first(conn)?;
    let seq = head_seq + 1;
    let detail = format!(r#"{{"product_id":"{PRODUCT}","quantity":1}}"#);
    let hash = hex::encode(Sha256::digest(
        format!("{prev_hash}|{seq}|ledger|{order_id}|{detail}|{now}").as_bytes(),
    ));
    diesel::insert_into(audit_chain::table)
        .values((
            audit_chain::seq.eq(seq),
            audit_chain::kind.eq("ledger"),
            audit_chain::actor.eq(format!("key:{KEY}")),
            audit_chain::action.eq("order.purchase"),
            audit_chain::subject.eq(&order_id),
            audit_chain::detail.eq(&detail),
            audit_chain::created_at.eq(now),
            audit_chain::prev_hash.eq(&prev_hash),
            audit_chain::hash.eq(&hash),
        ))
        .execute(conn)?;
    let entries = [
        (format!("reseller:{RESELLER}"), -PRICE, Some(balance)),
        (format!("supplier:{SUPPLIER}"), COST, None),
        ("platform:revenue".to_string(), PRICE - COST, None),
    ];
    let rows: Vec<_> = entries
        .iter()
        .map(|(account, amount, after)| {
            (
                ledger_entries::txn_seq.eq(seq),
                ledger_entries::account.eq(account),
                ledger_entries::amount.eq(*amount),
                ledger_entries::currency.eq("CNY"),
                ledger_entries::balance_after.eq(*after),
                ledger_entries::created_at.eq(now),
            )
        })
        .collect();
    let insert = diesel::insert_into(ledger_entries::table).values(rows);
    kameng::on_backend!(conn, c => insert.execute(c))?;
    diesel::update(chain_head::table.find(1))
        .set((chain_head::seq.eq(seq), chain_head::hash.eq(&hash)))
        .execute(conn)?;

    let out_trade_no = format!("probe-{n}");
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(&order_id),
            orders::reseller_id.eq(RESELLER),
            orders::key_id.eq(KEY),
            orders::out_trade_no.eq(&out_trade_no),
            orders::product_id.eq(PRODUCT),
            orders::supplier_id.eq(SUPPLIER),
            orders::quantity.eq(1i64),
            orders::unit_price.eq(PRICE),
            orders::amount.eq(PRICE),
            orders::cost_amount.eq(COST),
            orders::currency.eq("CNY"),
            orders::status.eq("delivered"),
            orders::request_hash.eq(&hash),
            orders::receipt.eq(receipt),
            orders::ledger_seq.eq(seq),
            orders::created_at.eq(now),
            orders::completed_at.eq(Some(now)),
        ))
        .execute(conn)?;

    let event_id = kameng::ids::new_id("evt");
    let payload = format!(
        r#"{{"id":"{event_id}","type":"order.delivered","created_at":"{}","data":{{"order_id":"{order_id}","out_trade_no":"{out_trade_no}","product_id":"{PRODUCT}","quantity":1,"amount":{PRICE},"currency":"CNY","status":"delivered"}}}}"#,
        kameng::time::rfc3339(now)
    );
    diesel::insert_into(events::table)
        .values((
            events::id.eq(&event_id),
            events::event_type.eq("order.delivered"),
            events::owner_kind.eq("reseller"),
            events::owner_id.eq(RESELLER),
            events::payload.eq(payload),
            events::status.eq("skipped"),
            events::attempts.eq(0),
            events::next_attempt_at.eq(now),
            events::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}
