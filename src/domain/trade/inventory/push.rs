//! Stock pushes: a supplier's codes checked, deduplicated by keyed hash and stored encrypted.
//!
//! A push's codes are checked, hashed and encrypted off the writer (`sealing`): the first
//! slice's cards first, the rest while the writer stores that slice. They are stored in
//! slices, each its own write, of as many cards as the writer stores in about 25 ms, at most
//! [`SLICE`] (`slices`). On SQLite each slice is a group commit of its own
//! (`Db::write_bulk_async`), so a 10,000-card push no longer holds the writer for the whole of
//! it, and no order shares a commit with a slice: orders queued meanwhile commit between
//! slices, in batches without one. A slice that fails answers the push with its error; the
//! slices before it stay stored, and pushing the same request again is safe (stored codes
//! count as duplicates).

use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sealing::{check_card, Sealed, Sealing};
use super::{duplicates, stock_low, CHUNK};
use crate::crypto::Vault;
use crate::db::schema::{cards, products};
use crate::db::stmt::{execute_rows, load_rows, Arg};
use crate::db::{Db, DbConn};
use crate::error::{Error, Result};

pub const MAX_CARDS_PER_PUSH: usize = 10_000;
/// Cards stored per write where a push is not sliced for the writer (`push`). Orders arriving
/// while a slice commits wait for it: 500 cards (about 7 ms on the 2-core box) took p99 during
/// pushes from 21-23 to 14 ms at C=16, where 1,000 did not, and a 10,000-card push still took
/// 0.25-0.45 s. `push_in_slices` sizes its slices by time (`slices`), at most this.
const SLICE: usize = super::slices::MAX;

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
#[schema(example = json!({
    "cards": [
        {"code": "STEAM-7F3K-9QX2-L8PA", "secret": "4821", "expires_at": "2027-12-31T23:59:59Z"},
        {"code": "STEAM-2M8D-4HV6-Q1ZT", "secret": null, "expires_at": null}
    ],
    "batch_ref": "2026-12-01-a"
}))]
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
#[schema(example = json!({
    "accepted": 2, "duplicates": 0, "rejected": [], "stock": 122
}))]
pub struct PushResult {
    pub accepted: usize,
    /// Codes already stored for this product (in stock or sold) or repeated in the request.
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    /// Available stock after the push.
    pub stock: i64,
}

/// Pushes in one transaction (the caller's): for maintenance, the demo and seeding.
pub fn push(
    conn: &mut DbConn,
    vault: &Vault,
    supplier_id: &str,
    product_id: &str,
    req: &PushCards,
) -> Result<PushResult> {
    check_target(conn, supplier_id, product_id)?;
    let mut sealing = Sealing::begin(req)?;
    let fresh = sealing.seal(vault, req, usize::MAX);
    for slice in fresh.chunks(SLICE) {
        let stored = store(
            conn,
            supplier_id,
            product_id,
            slice,
            &sealing.batch_ref,
            sealing.now,
        )?;
        sealing.result.add(stored);
    }
    finish(conn, product_id, sealing.result)
}

/// Pushes with the codes sealed off the writer and stored in slices (see the module's doc).
pub async fn push_in_slices(
    db: &Db,
    vault: Arc<Vault>,
    supplier_id: String,
    product_id: String,
    req: PushCards,
) -> Result<PushResult> {
    let (s, p) = (supplier_id.clone(), product_id.clone());
    db.read_async(move |c| check_target(c, &s, &p)).await?;
    let req = Arc::new(req);
    let mut sealing = Sealing::begin(&req)?;
    let (batch_ref, now) = (Arc::new(sealing.batch_ref.clone()), sealing.now);
    // The first slice's cards are sealed first, and the rest on another thread while the writer
    // stores them: sealing 10,000 codes took 39-66 ms before the first slice could go.
    let (v, r, wanted) = (vault.clone(), req.clone(), super::slices::next());
    let (mut sealing, first) = crate::db::run_blocking(move || {
        let first = sealing.seal(&v, &r, wanted);
        Ok((sealing, first))
    })
    .await?;
    let rest = tokio::task::spawn_blocking(move || {
        let rest = sealing.seal(&vault, &req, usize::MAX);
        (sealing, rest)
    });
    let target = (supplier_id.as_str(), product_id.as_str(), &batch_ref, now);
    let mut stored = store_in_slices(db, target, first).await?;
    let (sealing, rest) = rest
        .await
        .map_err(|e| Error::internal(format!("sealing a push failed: {e}")))?;
    stored.extend(store_in_slices(db, target, rest).await?);
    let mut result = sealing.result;
    for slice in stored {
        result.add(slice);
    }
    db.write_async(move |c| finish(c, &product_id, result))
        .await
}

/// Stores `fresh` in slices, each a bulk write of its own, sized as `slices` says.
async fn store_in_slices(
    db: &Db,
    (supplier_id, product_id, batch_ref, now): (&str, &str, &Arc<Option<String>>, i64),
    mut fresh: Vec<Sealed>,
) -> Result<Vec<Stored>> {
    let mut stored = Vec::new();
    while !fresh.is_empty() {
        let rest = fresh.split_off(fresh.len().min(super::slices::next()));
        let slice = std::mem::replace(&mut fresh, rest);
        let (s, p, b) = (
            supplier_id.to_owned(),
            product_id.to_owned(),
            batch_ref.clone(),
        );
        // Timed from when the writer takes the slice up, not from here: at C=64 a slice first
        // waits for the order batch before it, which says nothing about its own size.
        let (cards, times) = (slice.len(), Arc::new(std::sync::OnceLock::new()));
        let timed = times.clone();
        let slice_stored = db
            .write_bulk_async(move |c| {
                let began = std::time::Instant::now();
                let stored = store(c, &s, &p, &slice, &b, now);
                let _ = timed.set((began, std::time::Instant::now()));
                stored
            })
            .await?;
        if let Some((began, written)) = times.get() {
            let (writing, committing) = (*written - *began, written.elapsed());
            super::slices::stored(cards, writing, committing);
            tracing::debug!(
                cards,
                writing_us = writing.as_micros() as u64,
                committing_us = committing.as_micros() as u64,
                "stock push slice stored"
            );
        }
        stored.push(slice_stored);
    }
    Ok(stored)
}

/// The product exists, is this supplier's, and holds cards.
fn check_target(conn: &mut DbConn, supplier_id: &str, product_id: &str) -> Result<()> {
    super::own_card_product(
        conn,
        supplier_id,
        product_id,
        "direct top-up products hold no card stock",
    )
    .map(|_| ())
}

/// What one stored slice added.
struct Stored {
    accepted: usize,
    duplicates: usize,
    rejected: Vec<Rejected>,
}

impl PushResult {
    fn add(&mut self, s: Stored) {
        self.accepted += s.accepted;
        self.duplicates += s.duplicates;
        self.rejected.extend(s.rejected);
    }
}

/// Stores the slice's codes not stored yet (for this product: duplicates; for another one:
/// rejected and flagged) and raises the stock counter by what it stored.
///
/// The cards go in first, skipping any code already stored (`ON CONFLICT DO NOTHING`), and only
/// the codes skipped are looked up: looking every code up before inserting it walked the
/// code-hash index twice per card for duplicates that are rare (with 2x10^6 codes stored, a
/// slice's statements took 21.8-22.8 µs a card, 20.6-22.2 µs since: the insert now reads the
/// index pages the lookup used to). On PostgreSQL a concurrent push storing the same code
/// makes this one wait for it, then count the code as already stored.
fn store(
    conn: &mut DbConn,
    supplier_id: &str,
    product_id: &str,
    slice: &[Sealed],
    batch_ref: &Option<String>,
    now: i64,
) -> Result<Stored> {
    // In the push's order: cards are sold oldest first, by id.
    let rows = card_rows(
        (supplier_id, product_id, batch_ref.as_deref(), now),
        slice.iter(),
    );
    let shape = (INSERT_CARDS, CARD_ROW, SKIP_STORED);
    let inserted: Vec<String> = load_rows::<Text, _, 9>(conn, &CARD_CHUNKS, shape, &rows)?;
    let mut stored = Stored {
        accepted: inserted.len(),
        duplicates: 0,
        rejected: Vec::new(),
    };
    if inserted.len() < slice.len() {
        let inserted: std::collections::HashSet<&str> =
            inserted.iter().map(String::as_str).collect();
        let skipped: Vec<&Sealed> = slice
            .iter()
            .filter(|c| !inserted.contains(c.hash.as_str()))
            .collect();
        let existing = holders(conn, &skipped)?;
        for card in skipped {
            match existing.get(&card.hash) {
                Some(p) if p == product_id => stored.duplicates += 1,
                Some(_) => stored.rejected.push(Rejected {
                    index: card.index,
                    reason: "duplicate_elsewhere".into(),
                }),
                None => {
                    return Err(Error::internal(
                        "a card was neither stored nor found stored",
                    ))
                }
            }
        }
        duplicates::flag(conn, supplier_id, product_id, &existing, now)?;
    }
    diesel::update(products::table.find(product_id))
        .set((
            products::stock.eq(products::stock + stored.accepted as i64),
            products::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(stored)
}

/// The product holding each of these codes, for those stored (a push's skipped codes, a
/// just-in-time answer's before it is stored).
fn holders(conn: &mut DbConn, cards: &[&Sealed]) -> Result<HashMap<String, String>> {
    let mut existing = HashMap::new();
    for chunk in cards.chunks(CHUNK) {
        let hashes: Vec<&str> = chunk.iter().map(|c| c.hash.as_str()).collect();
        let rows: Vec<(String, String)> = cards::table
            .filter(cards::code_hash.eq_any(hashes))
            .select((cards::code_hash, cards::product_id))
            .load(conn)?;
        existing.extend(rows);
    }
    Ok(existing)
}

/// After the last slice: fresh planner statistics after a large push (PostgreSQL), the low
/// spell ended if the stock is back, and the stock the answer reports.
fn finish(conn: &mut DbConn, product_id: &str, mut result: PushResult) -> Result<PushResult> {
    if let (DbConn::Pg(c), true) = (&mut *conn, result.accepted >= 1_000) {
        // A large push can change the table's size by orders of magnitude before autovacuum
        // notices; stale statistics make the planner scan `cards` instead of using the
        // available-cards index on the order path.
        diesel::sql_query("ANALYZE cards").execute(c)?;
    }
    stock_low::on_restock(conn, product_id)?;
    result.stock = crate::domain::trade::pending::stock_of(conn, product_id)?;
    result.rejected.sort_by_key(|r| r.index);
    Ok(result)
}

/// The rows of `cards` as the card inserts bind them, each `available`.
fn card_rows<'a>(
    (supplier_id, product_id, batch_ref, now): (&'a str, &'a str, Option<&'a str>, i64),
    cards: impl Iterator<Item = &'a Sealed>,
) -> Vec<[Arg<'a>; 9]> {
    cards
        .map(|c| {
            [
                product_id.into(),
                supplier_id.into(),
                c.hash.as_str().into(),
                c.code_enc.as_str().into(),
                c.secret_enc.as_deref().into(),
                c.expires_at.into(),
                batch_ref.into(),
                "available".into(),
                now.into(),
            ]
        })
        .collect()
}

/// Sealed cards go in with multi-row statements kept prepared (each slice's INSERT was parsed
/// and planned anew through the query builder), of one of [`CARD_CHUNKS`]' shapes.
const INSERT_CARDS: &str = "INSERT INTO cards (product_id, supplier_id, code_hash, code_enc, \
                            secret_enc, expires_at, batch_ref, status, created_at) VALUES ";
const CARD_ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
/// A push's insert: a code already stored is skipped, and the codes stored are returned.
const SKIP_STORED: &str = " ON CONFLICT (code_hash) DO NOTHING RETURNING code_hash";

/// Cards per INSERT: a 500-card slice in five statements of one shape (900 parameters each,
/// within both backends' limits).
const CARD_CHUNKS: [usize; 3] = [100, 10, 1];

/// A just-in-time supplier's answer, checked and sealed as a push is (keyed hash, encrypted),
/// ready to store with the order that asked for it (`orders::jit`).
pub struct SealedBatch(Vec<Sealed>);

impl SealedBatch {
    /// Every card must pass the push's checks; one that does not fails the whole answer.
    pub fn seal(vault: &Vault, cards: &[NewCard], now: i64) -> std::result::Result<Self, String> {
        let mut sealed = Vec::with_capacity(cards.len());
        for (index, card) in cards.iter().enumerate() {
            let (code, expires_at) =
                check_card(card, now).map_err(|reason| format!("card {index}: {reason}"))?;
            let hash = vault.code_hash(code);
            sealed.push(Sealed::new(vault, index, card, (code, hash, expires_at)));
        }
        Ok(SealedBatch(sealed))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when kameng has stored any of these codes before (for any product): the push's
    /// deduplication, where a just-in-time answer is refused whole.
    pub fn any_known(&self, conn: &mut DbConn) -> Result<bool> {
        let cards: Vec<&Sealed> = self.0.iter().collect();
        Ok(!holders(conn, &cards)?.is_empty())
    }

    /// Stores the cards as available stock of the product. The stock counter is the caller's
    /// to raise, through `trade::pending` (an order's transaction must not update it).
    pub fn insert(
        &self,
        conn: &mut DbConn,
        supplier_id: &str,
        product_id: &str,
        batch_ref: &str,
        now: i64,
    ) -> Result<()> {
        // Checked beforehand (`any_known`): a code stored since fails the order's transaction.
        let rows = card_rows(
            (supplier_id, product_id, Some(batch_ref), now),
            self.0.iter(),
        );
        execute_rows(conn, &CARD_CHUNKS, (INSERT_CARDS, CARD_ROW, ""), &rows)?;
        Ok(())
    }
}
