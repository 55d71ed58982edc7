//! The hash chain over ledger transactions and admin actions. Each record stores its
//! predecessor's hash; a ledger record's hash also covers its entries, so editing an amount,
//! deleting a line or reordering records breaks the chain at that point.
//!
//! Appends take the `chain_head` row first: on SQLite the single writer already serialises them,
//! on PostgreSQL the row lock does, so concurrent writers can never fork the chain.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::schema::{audit_chain, chain_head, ledger_entries};
use crate::db::stmt::{stmt, Arg};
use crate::db::DbConn;
use crate::error::Result;

/// A ledger line to append with a record: signed amount, positive = credit to the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub account: String,
    pub amount: i64,
    pub balance_after: Option<i64>,
}

pub struct NewRecord<'a> {
    pub kind: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = audit_chain)]
pub struct Record {
    pub seq: i64,
    pub kind: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub created_at: i64,
    pub prev_hash: String,
    pub hash: String,
}

/// Hash of one record: its fields (`prev_hash, seq, kind, actor, action, subject, detail,
/// created_at`) then its entries, each length-prefixed so no two different records serialise
/// to the same bytes.
fn record_hash(fields: [&str; 8], entries: &[(String, i64, String)]) -> String {
    let mut h = Sha256::new();
    let mut put = |part: &str| {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    };
    for part in fields {
        put(part);
    }
    for (account, amount, currency) in entries {
        put(account);
        put(&amount.to_string());
        put(currency);
    }
    hex::encode(h.finalize())
}

/// `INSERT INTO ledger_entries` of `n` rows, built once per `n` and kept for the process, so the
/// statement stays prepared (see `db::stmt`); one statement keeps PostgreSQL at one round trip
/// while the chain head is locked.
const ENTRIES_PER_INSERT: usize = 16;

fn insert_entries_sql(n: usize) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static BY_ROWS: OnceLock<Mutex<HashMap<usize, &'static str>>> = OnceLock::new();
    let mut cache = BY_ROWS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    cache.entry(n).or_insert_with(|| {
        let rows = vec!["(?, ?, ?, ?, ?, ?)"; n].join(", ");
        let sql = format!(
            "INSERT INTO ledger_entries \
             (txn_seq, account, amount, currency, balance_after, created_at) VALUES {rows}"
        );
        // At most ENTRIES_PER_INSERT distinct statements are ever built.
        Box::leak(sql.into_boxed_str())
    })
}

/// Locks the chain tip and returns `(seq, hash)`.
fn lock_head(conn: &mut DbConn) -> Result<(i64, String)> {
    let q = chain_head::table
        .find(1)
        .select((chain_head::seq, chain_head::hash));
    Ok(match conn {
        DbConn::Pg(c) => q.for_update().first(c)?,
        DbConn::Sqlite(c) => q.first(c)?,
    })
}

/// Appends a record (and its ledger entries) to the chain; returns its sequence number.
pub fn append(
    conn: &mut DbConn,
    rec: NewRecord<'_>,
    currency: &str,
    entries: &[Entry],
) -> Result<i64> {
    let (head_seq, prev_hash) = lock_head(conn)?;
    let seq = head_seq + 1;
    let now = crate::time::now_ms();
    let detail = rec.detail.to_string();
    let hashed: Vec<(String, i64, String)> = entries
        .iter()
        .map(|e| (e.account.clone(), e.amount, currency.to_string()))
        .collect();
    let hash = record_hash(
        [
            &prev_hash,
            &seq.to_string(),
            rec.kind,
            rec.actor,
            rec.action,
            rec.subject,
            &detail,
            &now.to_string(),
        ],
        &hashed,
    );
    diesel::insert_into(audit_chain::table)
        .values((
            audit_chain::seq.eq(seq),
            audit_chain::kind.eq(rec.kind),
            audit_chain::actor.eq(rec.actor),
            audit_chain::action.eq(rec.action),
            audit_chain::subject.eq(rec.subject),
            audit_chain::detail.eq(&detail),
            audit_chain::created_at.eq(now),
            audit_chain::prev_hash.eq(&prev_hash),
            audit_chain::hash.eq(&hash),
        ))
        .execute(conn)?;
    for chunk in entries.chunks(ENTRIES_PER_INSERT) {
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 6);
        for e in chunk {
            args.extend::<[Arg<'_>; 6]>([
                seq.into(),
                e.account.as_str().into(),
                e.amount.into(),
                currency.into(),
                e.balance_after.into(),
                now.into(),
            ]);
        }
        stmt(insert_entries_sql(chunk.len()), args).execute(conn)?;
    }
    stmt(
        "UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1",
        [seq.into(), hash.as_str().into()],
    )
    .execute(conn)?;
    Ok(seq)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    pub checked: i64,
    /// Sequence number of the first record whose link or hash does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<i64>,
}

/// Recomputes every link from the start, in pages.
pub fn verify(conn: &mut DbConn) -> Result<VerifyReport> {
    const PAGE: i64 = 2000;
    let mut prev_hash = "0".repeat(64);
    let mut expected_seq = 1;
    let mut checked = 0;
    loop {
        let page: Vec<Record> = audit_chain::table
            .filter(audit_chain::seq.ge(expected_seq))
            .order(audit_chain::seq.asc())
            .limit(PAGE)
            .select(Record::as_select())
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        let (lo, hi) = (page[0].seq, page[page.len() - 1].seq);
        let entries: Vec<(i64, String, i64, String)> = ledger_entries::table
            .filter(ledger_entries::txn_seq.between(lo, hi))
            .order((ledger_entries::txn_seq.asc(), ledger_entries::id.asc()))
            .select((
                ledger_entries::txn_seq,
                ledger_entries::account,
                ledger_entries::amount,
                ledger_entries::currency,
            ))
            .load(conn)?;
        let mut idx = 0;
        for r in &page {
            let mut mine = Vec::new();
            while idx < entries.len() && entries[idx].0 == r.seq {
                let (_, a, m, c) = &entries[idx];
                mine.push((a.clone(), *m, c.clone()));
                idx += 1;
            }
            let sum: i64 = mine.iter().map(|e| e.1).sum();
            let seq = r.seq.to_string();
            let at = r.created_at.to_string();
            let fields = [
                prev_hash.as_str(),
                &seq,
                &r.kind,
                &r.actor,
                &r.action,
                &r.subject,
                &r.detail,
                &at,
            ];
            let expect = record_hash(fields, &mine);
            if r.seq != expected_seq || r.prev_hash != prev_hash || r.hash != expect || sum != 0 {
                return Ok(VerifyReport {
                    ok: false,
                    checked,
                    first_broken: Some(expected_seq.min(r.seq)),
                });
            }
            checked += 1;
            prev_hash = r.hash.clone();
            expected_seq += 1;
        }
    }
    // The head must point at the last record, or records were cut off the end.
    let (head_seq, head_hash) = chain_head::table
        .find(1)
        .select((chain_head::seq, chain_head::hash))
        .first::<(i64, String)>(conn)?;
    if head_seq != checked || head_hash != prev_hash {
        return Ok(VerifyReport {
            ok: false,
            checked,
            first_broken: Some(checked + 1),
        });
    }
    Ok(VerifyReport {
        ok: true,
        checked,
        first_broken: None,
    })
}

/// Lists records newest first, `before` a sequence number (cursor).
pub fn list(
    conn: &mut DbConn,
    before: Option<i64>,
    kind: Option<&str>,
    limit: i64,
) -> Result<Vec<Record>> {
    let mut q = audit_chain::table.into_boxed();
    if let Some(b) = before {
        q = q.filter(audit_chain::seq.lt(b));
    }
    if let Some(k) = kind {
        q = q.filter(audit_chain::kind.eq(k.to_string()));
    }
    Ok(q.order(audit_chain::seq.desc())
        .limit(limit)
        .select(Record::as_select())
        .load(conn)?)
}

/// Records an admin action in the chain.
pub fn record_admin(
    conn: &mut DbConn,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<i64> {
    append(
        conn,
        NewRecord {
            kind: "admin",
            actor,
            action,
            subject,
            detail,
        },
        "",
        &[],
    )
}
