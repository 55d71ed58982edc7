//! The hash chain over ledger transactions and admin actions. Each record stores its
//! predecessor's hash; a ledger record's hash also covers its entries, so editing an amount,
//! deleting a line or reordering records breaks the chain at that point.
//!
//! Writing and chaining are two steps, so that no transaction waits for another one's commit
//! (the chain head used to be a row every order locked until COMMIT, which made two PostgreSQL
//! instances slower than one). [`append`] inserts a record *unsealed*: an identity (`seq`,
//! from a sequence) and its fields, no position and no hash. [`seal`] then links committed
//! records in the order it finds them — gives each the next position (`pos`), its
//! predecessor's hash and its own — the way a Certificate Transparency log merges entries
//! within a maximum merge delay. Exactly one sealer runs at a time: SQLite's single writer
//! seals at the end of every group commit; on PostgreSQL each instance tries every
//! `SEAL_EVERY` and an advisory lock held for the sealing transaction lets one through. A
//! sealer killed mid-way rolls back whole, so no gap or fork can be left behind.
//!
//! What is detected, by [`verify`]: any edit, deletion, insertion or reordering of a sealed
//! record or of its ledger lines; a record left unsealed longer than `MAX_SEAL_DELAY_MS` (a
//! row inserted behind kameng's back with an old date, or a sealer that stopped). Not
//! detected: a change to a record in the moments before it is sealed (at most `SEAL_EVERY`
//! plus one sealing transaction), and, as before this design, a rewrite of the whole tail by
//! someone who can write the database (the chain is unkeyed).

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::schema::audit_chain;
use crate::db::stmt::{execute_rows, rows_sql, stmt, Arg, ROW_CHUNKS};
use crate::db::DbConn;
use crate::error::{Error, Result};

mod seal;
mod verify;

pub use seal::{append_numbered, seal, take_seqs, Numbered};
pub use verify::{verify, VerifyReport};

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
    /// Empty until the record is sealed.
    pub prev_hash: String,
    /// Empty until the record is sealed.
    pub hash: String,
    /// Position in the chain; null until the record is sealed.
    pub pos: Option<i64>,
}

/// Hash of one record: its fields (`prev_hash, seq, kind, actor, action, subject, detail,
/// created_at`) then its entries, each length-prefixed so no two different records serialise
/// to the same bytes.
pub fn record_hash(fields: [&str; 8], entries: &[(String, i64, String)]) -> String {
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

/// Ledger lines per INSERT: one statement keeps PostgreSQL at one round trip per record.
const ENTRIES_PER_INSERT: usize = 16;

/// How long a committed record may stay unsealed before [`verify`] calls it broken, and how
/// far before the newest sealed record a sealer still accepts one: a transaction's record is
/// dated when written and sealed soon after its commit, so one older than this was not
/// written by a live kameng transaction (or every sealer has stopped).
pub const MAX_SEAL_DELAY_MS: i64 = 5 * 60 * 1000;

/// Appends a record (and its ledger entries), unsealed; returns its sequence number. Takes no
/// lock and updates no row that another transaction also writes.
pub fn append(
    conn: &mut DbConn,
    rec: NewRecord<'_>,
    currency: &str,
    entries: &[Entry],
) -> Result<i64> {
    let now = crate::time::now_ms();
    let detail = rec.detail.to_string();
    let args: [Arg<'_>; 6] = [
        rec.kind.into(),
        rec.actor.into(),
        rec.action.into(),
        rec.subject.into(),
        detail.as_str().into(),
        now.into(),
    ];
    if conn.is_postgres() && (1..=ENTRIES_PER_INSERT).contains(&entries.len()) {
        return append_with_lines_pg(conn, args, currency, entries, now);
    }
    // PostgreSQL numbers records from a sequence; SQLite's single writer takes the next one.
    let sql = match conn {
        DbConn::Pg(_) => {
            "INSERT INTO audit_chain (kind, actor, action, subject, detail, created_at, \
             prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, '', '') RETURNING seq"
        }
        DbConn::Sqlite(_) => {
            "INSERT INTO audit_chain (seq, kind, actor, action, subject, detail, created_at, \
             prev_hash, hash) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_chain), \
             ?, ?, ?, ?, ?, ?, '', '') RETURNING seq"
        }
    };
    let seq: i64 = stmt(sql, args).returning::<BigInt>().one(conn)?;
    let lines: Vec<[Arg<'_>; 6]> = entries
        .iter()
        .map(|e| line_args(seq, e, currency, now))
        .collect();
    execute_rows(conn, &ROW_CHUNKS, LINES_INSERT, &lines)?;
    Ok(seq)
}

/// The multi-row INSERT of ledger lines, in [`line_args`] order.
const LINES_INSERT: (&str, &str, &str) = (
    "INSERT INTO ledger_entries \
     (txn_seq, account, amount, currency, balance_after, created_at) VALUES ",
    "(?, ?, ?, ?, ?, ?)",
    "",
);

/// A ledger line's bound values, after `first` (the record's seq, or the line's position).
fn line_args<'a>(first: i64, e: &'a Entry, currency: &'a str, now: i64) -> [Arg<'a>; 6] {
    [
        first.into(),
        e.account.as_str().into(),
        e.amount.into(),
        currency.into(),
        e.balance_after.into(),
        now.into(),
    ]
}

/// PostgreSQL: the record and its ledger lines in one statement (one round trip instead of
/// two; every order pays each round trip while it holds its buyer's balance row).
fn append_with_lines_pg(
    conn: &mut DbConn,
    record: [Arg<'_>; 6],
    currency: &str,
    entries: &[Entry],
    now: i64,
) -> Result<i64> {
    let mut args: Vec<Arg<'_>> = Vec::with_capacity(6 + entries.len() * 6);
    args.extend(record);
    for (n, e) in entries.iter().enumerate() {
        // The first value orders the lines here; the two-statement path binds the record's seq.
        args.extend(line_args(n as i64, e, currency, now));
    }
    let sql = rows_sql(
        "WITH rec AS (INSERT INTO audit_chain (kind, actor, action, subject, detail, \
         created_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, '', '') RETURNING seq) \
         INSERT INTO ledger_entries (txn_seq, account, amount, currency, balance_after, \
         created_at) SELECT rec.seq, v.account, v.amount, v.currency, v.balance_after, \
         v.created_at FROM rec, (VALUES ",
        "(?, ?, ?, ?, ?, ?)",
        entries.len(),
        // Lines take their ids in the caller's order, as the two-statement path gives them.
        ") AS v (n, account, amount, currency, balance_after, created_at) ORDER BY v.n \
         RETURNING txn_seq",
    );
    let seqs: Vec<i64> = stmt(sql, args).returning::<BigInt>().rows(conn)?;
    seqs.first()
        .copied()
        .ok_or_else(|| Error::internal("the chain record was not written"))
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
