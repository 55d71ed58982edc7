//! Card stock: suppliers push codes in (deduplicated by keyed hash, encrypted at rest), orders
//! claim them out. A card is claimed by exactly one order, ever.

pub mod duplicates;
pub mod stock_low;

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::Vault;
use crate::db::schema::{cards, products};
use crate::db::stmt::stmt;
use crate::db::DbConn;
use crate::domain::trade::catalog::{self, Delivery};
use crate::error::{Error, Result};

pub const MAX_CARDS_PER_PUSH: usize = 10_000;
/// Rows per multi-row INSERT / IN list: well inside SQLite's and PostgreSQL's parameter limits.
const CHUNK: usize = 500;
/// PostgreSQL card claims short of unlocked rows poll this often for rows other transactions
/// hold, at most `CLAIM_POLLS` times (~2 s) before answering out of stock.
const CLAIM_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(2);
const CLAIM_POLLS: u32 = 1_000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCard {
    pub code: String,
    pub secret: Option<String>,
    /// RFC 3339; expired cards are never delivered.
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushCards {
    #[serde(deserialize_with = "crate::json::objects")]
    pub cards: Vec<NewCard>,
    /// The supplier's own reference for this batch.
    pub batch_ref: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Rejected {
    /// Position in the request's `cards` array.
    pub index: usize,
    /// `empty_code`, `too_long`, `invalid_expires_at`, `expired` or `duplicate_elsewhere`.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushResult {
    pub accepted: usize,
    /// Codes already stored for this product (in stock or sold) or repeated in the request.
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    /// Available stock after the push.
    pub stock: i64,
}

pub fn push(
    conn: &mut DbConn,
    vault: &Vault,
    supplier_id: &str,
    product_id: &str,
    req: &PushCards,
) -> Result<PushResult> {
    let product = catalog::load(conn, product_id)?;
    if product.supplier_id != supplier_id {
        return Err(Error::NotFound("product"));
    }
    if product.delivery != Delivery::Card {
        return Err(Error::invalid(
            "product_id",
            "direct top-up products hold no card stock",
        ));
    }
    if req.cards.is_empty() || req.cards.len() > MAX_CARDS_PER_PUSH {
        return Err(Error::invalid(
            "cards",
            format!("must hold 1..{MAX_CARDS_PER_PUSH} cards"),
        ));
    }
    let batch_ref = req
        .batch_ref
        .as_deref()
        .map(|b| crate::domain::validate::non_empty("batch_ref", b, 128))
        .transpose()?;
    let now = crate::time::now_ms();

    let mut rejected = Vec::new();
    let mut duplicates = 0;
    let mut seen = HashSet::new();
    let mut candidates = Vec::new(); // (index, hash, card, expires_at)
    for (index, card) in req.cards.iter().enumerate() {
        let code = card.code.trim();
        let reason = if code.is_empty() {
            Some("empty_code")
        } else if code.len() > 512 || card.secret.as_ref().is_some_and(|s| s.len() > 512) {
            Some("too_long")
        } else {
            None
        };
        let expires_at = match card.expires_at.as_deref().map(crate::time::parse_rfc3339) {
            None => None,
            Some(None) => {
                rejected.push(Rejected {
                    index,
                    reason: "invalid_expires_at".into(),
                });
                continue;
            }
            Some(Some(t)) if t <= now => {
                rejected.push(Rejected {
                    index,
                    reason: "expired".into(),
                });
                continue;
            }
            Some(Some(t)) => Some(t),
        };
        if let Some(reason) = reason {
            rejected.push(Rejected {
                index,
                reason: reason.into(),
            });
            continue;
        }
        let hash = vault.code_hash(code);
        if !seen.insert(hash.clone()) {
            duplicates += 1;
            continue;
        }
        candidates.push((index, hash, card, expires_at));
    }

    // Which hashes exist already, and for which product.
    let mut existing: HashMap<String, String> = HashMap::new();
    for chunk in candidates.chunks(CHUNK) {
        let hashes: Vec<&str> = chunk.iter().map(|c| c.1.as_str()).collect();
        let rows: Vec<(String, String)> = cards::table
            .filter(cards::code_hash.eq_any(hashes))
            .select((cards::code_hash, cards::product_id))
            .load(conn)?;
        existing.extend(rows);
    }

    let mut fresh = Vec::new();
    for (index, hash, card, expires_at) in candidates {
        match existing.get(&hash) {
            Some(p) if p == product_id => duplicates += 1,
            Some(_) => rejected.push(Rejected {
                index,
                reason: "duplicate_elsewhere".into(),
            }),
            None => fresh.push((hash, card, expires_at)),
        }
    }
    rejected.sort_by_key(|r| r.index);
    duplicates::flag(conn, supplier_id, product_id, &existing, now)?;

    for chunk in fresh.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(hash, card, expires_at)| {
                (
                    cards::product_id.eq(product_id),
                    cards::supplier_id.eq(supplier_id),
                    cards::code_hash.eq(hash.as_str()),
                    cards::code_enc.eq(vault.encrypt_str(card.code.trim())),
                    cards::secret_enc.eq(card.secret.as_deref().map(|s| vault.encrypt_str(s))),
                    cards::expires_at.eq(*expires_at),
                    cards::batch_ref.eq(batch_ref.clone()),
                    cards::status.eq("available"),
                    cards::created_at.eq(now),
                )
            })
            .collect();
        let insert = diesel::insert_into(cards::table).values(rows);
        crate::on_backend!(conn, c => insert.execute(c)).map_err(|e| {
            if crate::error::is_unique_violation(&e) {
                Error::Conflict(
                    "a concurrent push stored some of these codes; retry the request".into(),
                )
            } else {
                e.into()
            }
        })?;
    }
    let accepted = fresh.len();
    if let (DbConn::Pg(c), true) = (&mut *conn, accepted >= 1_000) {
        // A large push can change the table's size by orders of magnitude before autovacuum
        // notices; stale statistics make the planner scan `cards` instead of using the
        // available-cards index on the order path.
        diesel::sql_query("ANALYZE cards").execute(c)?;
    }
    diesel::update(products::table.find(product_id))
        .set((
            products::stock.eq(products::stock + accepted as i64),
            products::updated_at.eq(now),
        ))
        .execute(conn)?;
    stock_low::on_restock(conn, product_id)?;
    let stock = products::table
        .find(product_id)
        .select(products::stock)
        .first(conn)?;
    Ok(PushResult {
        accepted,
        duplicates,
        rejected,
        stock,
    })
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
    // Kept-prepared statements (see `db::stmt`), all over one definition of "available": the
    // `'available'` literal lets both planners use the partial index of available cards, also
    // in a cached (generic) plan.
    macro_rules! available {
        () => {
            "FROM cards WHERE product_id = ? AND status = 'available' \
             AND (expires_at IS NULL OR expires_at > ?)"
        };
    }
    macro_rules! pick {
        ($lock:literal) => {
            concat!(
                "SELECT id, code_enc, secret_enc, expires_at ",
                available!(),
                " ORDER BY id LIMIT ?",
                $lock
            )
        };
    }
    const PICK: &str = pick!("");
    // Concurrent buyers of one product skip each other's locked rows instead of queueing.
    const PICK_SKIP_LOCKED: &str = pick!(" FOR UPDATE SKIP LOCKED");
    // Available rows, locked or not (no lock taken): the stock that may still come free.
    const COUNT_AVAILABLE: &str = concat!(
        "SELECT COUNT(*) FROM (SELECT 1 ",
        available!(),
        " LIMIT ?) AS a"
    );
    type Row = (BigInt, Text, Nullable<Text>, Nullable<BigInt>);
    let args = || [product_id.into(), now.into(), quantity.into()];
    let picked = if conn.is_postgres() {
        // Short of rows, some may be locked by transactions that will roll back. Waiting on them
        // with a blocking `FOR UPDATE` deadlocked near a sell-out (a waiter keeps the lock of a
        // row it found sold, while queueing for the next), so poll instead: out of stock once
        // fewer than `quantity` rows are available at all, locked or not.
        let mut polls = 0;
        loop {
            let got: Vec<SealedCard> = stmt(PICK_SKIP_LOCKED, args())
                .returning::<Row>()
                .load(conn)?;
            if got.len() as i64 >= quantity || polls >= CLAIM_POLLS {
                break got;
            }
            let available: i64 = stmt(COUNT_AVAILABLE, args())
                .returning::<BigInt>()
                .get_result(conn)?;
            if available < quantity {
                break got;
            }
            polls += 1;
            std::thread::sleep(CLAIM_POLL_INTERVAL);
        }
    } else {
        stmt(PICK, args()).returning::<Row>().load(conn)?
    };
    if (picked.len() as i64) < quantity {
        return Err(Error::OutOfStock);
    }
    let ids: Vec<i64> = picked.iter().map(|c| c.id).collect();
    let updated = if conn.is_postgres() {
        // One statement per chunk: on PostgreSQL each statement is a round trip.
        let mut updated = 0;
        for chunk in ids.chunks(CHUNK) {
            updated += diesel::update(
                cards::table
                    .filter(cards::id.eq_any(chunk))
                    .filter(cards::status.eq("available")),
            )
            .set((
                cards::status.eq("sold"),
                cards::order_id.eq(order_id),
                cards::sold_at.eq(now),
            ))
            .execute(conn)?;
        }
        updated
    } else {
        // In-process SQLite: one prepared statement run per card beats re-preparing an
        // `IN (…)` list every time.
        let mut updated = 0;
        for id in &ids {
            updated += stmt(
                "UPDATE cards SET status = 'sold', order_id = ?, sold_at = ? \
                 WHERE id = ? AND status = 'available'",
                [order_id.into(), now.into(), (*id).into()],
            )
            .execute(conn)?;
        }
        updated
    };
    if updated != ids.len() {
        // Another transaction took one of them between our read and write.
        return Err(Error::OutOfStock);
    }
    Ok(picked)
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

/// Lowers a product's available-stock counter.
pub fn take_from_stock(conn: &mut DbConn, product_id: &str, quantity: i64) -> Result<()> {
    stmt(
        "UPDATE products SET stock = stock - ? WHERE id = ?",
        [quantity.into(), product_id.into()],
    )
    .execute(conn)?;
    Ok(())
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
