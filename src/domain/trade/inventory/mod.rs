//! Card stock: suppliers push codes in (deduplicated by keyed hash, encrypted at rest), orders
//! claim them out. A card is claimed by exactly one order, ever.

pub mod duplicates;
mod push;
mod sealing;
mod slices;
pub mod stock_low;

pub use push::{
    push, push_in_slices, NewCard, PushCards, PushResult, Rejected, SealedBatch, MAX_CARDS_PER_PUSH,
};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::Vault;
use crate::db::schema::cards;
use crate::db::stmt::{stmt, Arg, Shape};
use crate::db::DbConn;
use crate::error::{Error, Result};

/// Rows per multi-row INSERT / IN list: well inside SQLite's and PostgreSQL's parameter limits.
const CHUNK: usize = 500;
/// PostgreSQL card claims short of unlocked rows poll this often for rows other transactions
/// hold, at most `CLAIM_POLLS` times (~2 s) before answering out of stock.
const CLAIM_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(2);
const CLAIM_POLLS: u32 = 1_000;

// Kept-prepared statements (see `db::stmt`), all over one definition of "available": the
// `'available'` literal lets both planners use the partial index of available cards, also in a
// cached (generic) plan.
macro_rules! available {
    () => {
        "FROM cards WHERE product_id = ? AND status = 'available' \
         AND (expires_at IS NULL OR expires_at > ?)"
    };
}
// PostgreSQL: pick and mark in one statement, one round trip. The product is matched as a
// range and ordered by (product_id, id) so that only the partial index `cards_available` can
// give that order: with `product_id = ?` and `ORDER BY id` the planner took the primary key in
// id order and filtered, walking every card ever sold (of every product) below the first
// available one — 4.4 ms a claim after 3,000 sales, growing with history, because it cannot
// know the sold rows sit at the low ids. Sold rows leave the partial index, so this scan
// starts at the first available card. [`claim_plan`] shows the plan.
macro_rules! unlocked_range {
    () => {
        "FROM cards WHERE product_id >= ? AND product_id <= ? \
         AND status = 'available' AND (expires_at IS NULL OR expires_at > ?) \
         ORDER BY product_id, id LIMIT ? FOR UPDATE SKIP LOCKED"
    };
}
macro_rules! claim_skip_locked {
    () => {
        concat!(
            "UPDATE cards SET status = 'sold', order_id = ?, sold_at = ? WHERE id IN (SELECT id ",
            unlocked_range!(),
            ") RETURNING id, code_enc, secret_enc, expires_at"
        )
    };
}
// SQLite: the single writer picks, then marks each card.
macro_rules! pick {
    () => {
        concat!(
            "SELECT id, code_enc, secret_enc, expires_at ",
            available!(),
            " ORDER BY id LIMIT ?"
        )
    };
}
// Available rows, locked or not (no lock taken), counted up to a limit: the stock that may
// still come free.
const COUNT_AVAILABLE: &str = concat!(
    "SELECT COUNT(*) FROM (SELECT 1 ",
    available!(),
    " LIMIT ?) AS a"
);

/// Available, unexpired cards of a product, counted up to `limit`.
pub fn count_available(conn: &mut DbConn, product_id: &str, now: i64, limit: i64) -> Result<i64> {
    Ok(stmt(
        COUNT_AVAILABLE,
        [product_id.into(), now.into(), limit.into()],
    )
    .returning::<BigInt>()
    .one(conn)?)
}

/// A claimed card, still sealed.
#[derive(Debug, Clone, Queryable)]
pub struct SealedCard {
    pub id: i64,
    pub code_enc: String,
    pub secret_enc: Option<String>,
    pub expires_at: Option<i64>,
}

/// A delivered card in plaintext, as the buyer receives it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DeliveredCard {
    pub code: String,
    pub secret: Option<String>,
    pub expires_at: Option<String>,
}

pub fn unseal(vault: &Vault, c: &SealedCard) -> Result<DeliveredCard> {
    Ok(DeliveredCard {
        code: vault.decrypt_string(&c.code_enc)?,
        secret: c
            .secret_enc
            .as_deref()
            .map(|s| vault.decrypt_string(s))
            .transpose()?,
        expires_at: c.expires_at.map(crate::time::rfc3339),
    })
}

/// Claims `quantity` available, unexpired cards of a product for an order, oldest first, or
/// fails with `OutOfStock` having claimed nothing; the stock counter is the caller's to lower.
/// Runs inside the order's transaction.
pub fn claim_cards(
    conn: &mut DbConn,
    product_id: &str,
    order_id: &str,
    quantity: i64,
    now: i64,
) -> Result<Vec<SealedCard>> {
    const CLAIM_SKIP_LOCKED: &str = claim_skip_locked!();
    type Row = (BigInt, Text, Nullable<Text>, Nullable<BigInt>);
    if conn.is_postgres() {
        // Short of rows, some may be locked by transactions that will roll back. Waiting on them
        // with a blocking `FOR UPDATE` deadlocked near a sell-out (a waiter keeps the lock of a
        // row it found sold, while queueing for the next), so poll instead: out of stock once
        // fewer than the missing rows are available at all, locked or not.
        let mut got: Vec<SealedCard> = Vec::with_capacity(quantity as usize);
        let mut polls = 0;
        loop {
            let missing = quantity - got.len() as i64;
            got.extend(
                stmt(
                    CLAIM_SKIP_LOCKED,
                    [
                        order_id.into(),
                        now.into(),
                        product_id.into(),
                        product_id.into(),
                        now.into(),
                        missing.into(),
                    ],
                )
                .returning::<Row>()
                .load::<SealedCard>(conn)?,
            );
            let missing = quantity - got.len() as i64;
            if missing == 0 || polls >= CLAIM_POLLS {
                break;
            }
            let available = count_available(conn, product_id, now, missing)?;
            if available < missing {
                break;
            }
            polls += 1;
            std::thread::sleep(CLAIM_POLL_INTERVAL);
        }
        if (got.len() as i64) < quantity {
            // The caller's rollback returns the ones taken.
            return Err(Error::OutOfStock);
        }
        // Delivery order is claim order, oldest card first.
        got.sort_unstable_by_key(|c| c.id);
        return Ok(got);
    }
    let picked = pick_available(conn, product_id, now, quantity)?;
    if (picked.len() as i64) < quantity {
        return Err(Error::OutOfStock);
    }
    let sold: Vec<(i64, &str)> = picked.iter().map(|c| (c.id, order_id)).collect();
    if mark_sold(conn, &sold, now)? != sold.len() {
        // Another transaction took one of them between our read and write.
        return Err(Error::OutOfStock);
    }
    Ok(picked)
}

/// Up to `limit` available, unexpired cards of a product, oldest first, read without marking
/// them ([`mark_sold`] does). SQLite's single writer marks them before anything else can pick;
/// on PostgreSQL they are locked for this transaction, skipping rows others hold (so fewer
/// than asked may only mean rows other transactions hold).
pub fn pick_available(
    conn: &mut DbConn,
    product_id: &str,
    now: i64,
    limit: i64,
) -> Result<Vec<SealedCard>> {
    type Row = (BigInt, Text, Nullable<Text>, Nullable<BigInt>);
    let picked = if conn.is_postgres() {
        stmt(
            concat!(
                "SELECT id, code_enc, secret_enc, expires_at ",
                unlocked_range!()
            ),
            [
                product_id.into(),
                product_id.into(),
                now.into(),
                limit.into(),
            ],
        )
        .returning::<Row>()
        .rows(conn)?
    } else {
        stmt(pick!(), [product_id.into(), now.into(), limit.into()])
            .returning::<Row>()
            .rows(conn)?
    };
    Ok(picked)
}

/// Marks picked cards sold to their orders (`(card id, order id)`), one multi-row
/// UPDATE per chunk; returns how many were still available to mark (the caller decides what
/// fewer means, and rolls back).
pub fn mark_sold(conn: &mut DbConn, cards: &[(i64, &str)], now: i64) -> Result<usize> {
    let rows = sold_rows(cards, now);
    Ok(crate::db::stmt::execute_rows(
        conn,
        &crate::db::stmt::ROW_CHUNKS,
        MARK_SOLD,
        &rows,
    )?)
}

/// The rows of [`MARK_SOLD`]: `(card id, order id)` sold at `now`.
pub fn sold_rows<'a>(cards: &[(i64, &'a str)], now: i64) -> Vec<[Arg<'a>; 3]> {
    cards
        .iter()
        .map(|(id, order_id)| [(*id).into(), (*order_id).into(), now.into()])
        .collect()
}

/// Marks cards sold, one row a card ([`sold_rows`]); a card no longer available is left as
/// it is, and not counted.
pub const MARK_SOLD: Shape = (
    "UPDATE cards SET status = 'sold', order_id = v.column2, sold_at = v.column3 FROM (VALUES ",
    "(?, ?, ?)",
    ") AS v WHERE cards.id = v.column1 AND cards.status = 'available'",
);

/// How the database runs a card claim of `product_id` now, one line per plan step: a claim
/// must read the partial index `cards_available`, never walk the sold cards (see
/// `claim_skip_locked!`).
pub fn claim_plan(conn: &mut DbConn, product_id: &str) -> Result<Vec<String>> {
    let now = crate::time::now_ms();
    if conn.is_postgres() {
        let args = [
            "plan".into(),
            now.into(),
            product_id.into(),
            product_id.into(),
        ];
        return Ok(stmt(
            concat!("EXPLAIN ", claim_skip_locked!()),
            args.into_iter().chain([now.into(), 1i64.into()]),
        )
        .plan_lines(conn)?);
    }
    Ok(stmt(
        concat!("EXPLAIN QUERY PLAN ", pick!()),
        [product_id.into(), now.into(), 1i64.into()],
    )
    .plan_lines(conn)?)
}

/// [`claim_cards`] plus the product's stock counter.
pub fn claim(
    conn: &mut DbConn,
    product_id: &str,
    order_id: &str,
    quantity: i64,
    now: i64,
) -> Result<Vec<SealedCard>> {
    let picked = claim_cards(conn, product_id, order_id, quantity, now)?;
    take_from_stock(conn, product_id, quantity)?;
    Ok(picked)
}

/// Lowers a product's available-stock counter (through `trade::pending`).
pub fn take_from_stock(conn: &mut DbConn, product_id: &str, quantity: i64) -> Result<()> {
    crate::domain::trade::pending::take_stock(conn, product_id, quantity)
}

/// The cards delivered to an order, in claim order.
pub fn order_cards(conn: &mut DbConn, order_id: &str) -> Result<Vec<SealedCard>> {
    Ok(cards::table
        .filter(cards::order_id.eq(order_id))
        .order(cards::id.asc())
        .select((
            cards::id,
            cards::code_enc,
            cards::secret_enc,
            cards::expires_at,
        ))
        .load(conn)?)
}

/// The supplier's own card product: another supplier's is "not found", and a direct top-up
/// product is refused with `not_cards` (what the caller wanted cards for).
pub fn own_card_product(
    conn: &mut DbConn,
    supplier_id: &str,
    product_id: &str,
    not_cards: &str,
) -> Result<crate::domain::trade::catalog::ProductRow> {
    let product = crate::domain::trade::catalog::load_for_sale(conn, product_id)?;
    if product.supplier_id != supplier_id {
        return Err(Error::NotFound("product"));
    }
    if product.delivery != crate::domain::states::Delivery::Card {
        return Err(Error::invalid("product_id", not_cards));
    }
    Ok(product)
}
