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

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::schema::{audit_chain, chain_head, ledger_entries};
use crate::db::stmt::{execute_rows, rows_sql, stmt, Arg, ROW_CHUNKS};
use crate::db::DbConn;
use crate::error::{Error, Result};

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
    let seq: i64 = stmt(sql, args).returning::<BigInt>().get_result(conn)?;
    let lines: Vec<[Arg<'_>; 6]> = entries
        .iter()
        .map(|e| line_args(seq, e, currency, now))
        .collect();
    execute_rows(conn, &ROW_CHUNKS, LINES_INSERT, &lines)?;
    Ok(seq)
}

/// A record numbered by SQLite's single writer, which knows the next `seq` ([`next_seq`]):
/// a batch's records go in with one statement (and their lines with another).
pub struct Numbered {
    pub seq: i64,
    pub kind: &'static str,
    pub actor: String,
    pub action: &'static str,
    pub subject: String,
    pub detail: String,
    pub created_at: i64,
    pub currency: String,
    pub entries: Vec<Entry>,
}

/// SQLite: the `seq` the next record takes (see [`Numbered`]).
pub fn next_seq(conn: &mut DbConn) -> Result<i64> {
    Ok(
        stmt("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_chain", [])
            .returning::<BigInt>()
            .get_result(conn)?,
    )
}

/// Appends numbered records and their ledger lines already sealed — linked after the chain's
/// head, every record before them sealed first — and moves the head once: one chain step for
/// a SQLite batch's records, one multi-row INSERT for the records and one for the lines (in
/// [`ROW_CHUNKS`]). Sealed here or by [`seal`], a record is stored the same way.
pub fn append_sealed(conn: &mut DbConn, records: &[&Numbered]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    seal(conn, true)?;
    let (mut pos, mut prev_hash) = head(conn)?;
    let mut links: Vec<(i64, String, String)> = Vec::with_capacity(records.len());
    for r in records {
        let lines: Vec<HashedLine> = r
            .entries
            .iter()
            .map(|e| (e.account.clone(), e.amount, r.currency.clone()))
            .collect();
        let hash = hash_of(&prev_hash, Hashed::from(*r), &lines);
        pos += 1;
        links.push((pos, std::mem::replace(&mut prev_hash, hash.clone()), hash));
    }
    let rows: Vec<[Arg<'_>; 10]> = records
        .iter()
        .zip(&links)
        .map(|(r, (pos, prev, hash))| {
            [
                r.seq.into(),
                r.kind.into(),
                r.actor.as_str().into(),
                r.action.into(),
                r.subject.as_str().into(),
                r.detail.as_str().into(),
                r.created_at.into(),
                prev.into(),
                hash.into(),
                (*pos).into(),
            ]
        })
        .collect();
    execute_rows(
        conn,
        &ROW_CHUNKS,
        (
            "INSERT INTO audit_chain (seq, kind, actor, action, subject, detail, created_at, \
             prev_hash, hash, pos) VALUES ",
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            "",
        ),
        &rows,
    )?;
    let lines: Vec<[Arg<'_>; 6]> = records
        .iter()
        .flat_map(|r| {
            r.entries
                .iter()
                .map(|e| line_args(r.seq, e, &r.currency, r.created_at))
        })
        .collect();
    execute_rows(conn, &ROW_CHUNKS, LINES_INSERT, &lines)?;
    set_head(conn, pos, &prev_hash)
}

/// The chain's last sealed position and hash.
fn head(conn: &mut DbConn) -> Result<(i64, String)> {
    Ok(chain_head::table
        .find(1)
        .select((chain_head::seq, chain_head::hash))
        .first::<(i64, String)>(conn)?)
}

fn set_head(conn: &mut DbConn, pos: i64, hash: &str) -> Result<()> {
    stmt(
        "UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1",
        [pos.into(), hash.into()],
    )
    .execute(conn)?;
    Ok(())
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
    let seqs: Vec<i64> = stmt(sql, args).returning::<BigInt>().load(conn)?;
    seqs.first()
        .copied()
        .ok_or_else(|| Error::internal("the chain record was not written"))
}

/// Records [`seal`] reads per round trip.
const SEAL_CHUNK: usize = 500;
/// Records one sealing UPDATE links, largest first (the last one must be 1).
const LINK_SIZES: [usize; 5] = [500, 100, 20, 5, 1];

/// Links every committed unsealed record into the chain, oldest identity first; returns how
/// many. Must run in its own transaction: on PostgreSQL it first takes the sealer's advisory
/// lock (waiting for it when `wait`, else returning 0 if another sealer holds it).
pub fn seal(conn: &mut DbConn, wait: bool) -> Result<usize> {
    if !crate::db::exclusive(conn, crate::db::Exclusive::Settler, wait)? {
        return Ok(0);
    }
    let (mut pos, mut prev_hash) = head(conn)?;
    let head_at: Option<i64> = audit_chain::table
        .filter(audit_chain::pos.eq(pos))
        .select(audit_chain::created_at)
        .first(conn)
        .optional()?;
    let floor = head_at.map_or(i64::MIN, |at| at - MAX_SEAL_DELAY_MS);
    let mut sealed = 0;
    loop {
        let page: Vec<Record> = audit_chain::table
            .filter(audit_chain::pos.is_null())
            .filter(audit_chain::created_at.ge(floor))
            .order(audit_chain::seq.asc())
            .limit(SEAL_CHUNK as i64)
            .select(Record::as_select())
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        let mut entries = entries_of(conn, &page)?;
        let mut links: Vec<(i64, i64, String, String)> = Vec::with_capacity(page.len());
        for r in &page {
            pos += 1;
            let hash = hash_of(
                &prev_hash,
                r.into(),
                &entries.remove(&r.seq).unwrap_or_default(),
            );
            links.push((
                r.seq,
                pos,
                std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            ));
        }
        let rows: Vec<[Arg<'_>; 4]> = links
            .iter()
            .map(|(seq, pos, prev, hash)| [(*seq).into(), (*pos).into(), prev.into(), hash.into()])
            .collect();
        // VALUES columns are named column1.. on both backends.
        execute_rows(
            conn,
            &LINK_SIZES,
            (
                "UPDATE audit_chain SET pos = v.column2, prev_hash = v.column3, hash = v.column4 \
                 FROM (VALUES ",
                "(?, ?, ?, ?)",
                ") AS v WHERE audit_chain.seq = v.column1",
            ),
            &rows,
        )?;
        sealed += links.len();
        if page.len() < SEAL_CHUNK {
            break;
        }
    }
    if sealed > 0 {
        set_head(conn, pos, &prev_hash)?;
    }
    Ok(sealed)
}

/// A record's hash, linked after `prev_hash`, over the ledger lines it holds.
fn hash_of(prev_hash: &str, r: Hashed<'_>, lines: &[HashedLine]) -> String {
    let (seq, at) = (r.seq.to_string(), r.created_at.to_string());
    record_hash(
        [
            prev_hash, &seq, r.kind, r.actor, r.action, r.subject, r.detail, &at,
        ],
        lines,
    )
}

/// The fields of a record its hash covers, stored ([`Record`]) or about to be ([`Numbered`]).
struct Hashed<'a> {
    seq: i64,
    kind: &'a str,
    actor: &'a str,
    action: &'a str,
    subject: &'a str,
    detail: &'a str,
    created_at: i64,
}

impl<'a> From<&'a Record> for Hashed<'a> {
    fn from(r: &'a Record) -> Self {
        Hashed {
            seq: r.seq,
            kind: &r.kind,
            actor: &r.actor,
            action: &r.action,
            subject: &r.subject,
            detail: &r.detail,
            created_at: r.created_at,
        }
    }
}

impl<'a> From<&'a Numbered> for Hashed<'a> {
    fn from(r: &'a Numbered) -> Self {
        Hashed {
            seq: r.seq,
            kind: r.kind,
            actor: &r.actor,
            action: r.action,
            subject: &r.subject,
            detail: &r.detail,
            created_at: r.created_at,
        }
    }
}

/// A ledger line as the hash covers it: account, amount, currency.
type HashedLine = (String, i64, String);

/// The ledger lines of `records`, by record, in insertion order.
fn entries_of(conn: &mut DbConn, records: &[Record]) -> Result<HashMap<i64, Vec<HashedLine>>> {
    let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    let rows: Vec<(i64, String, i64, String)> = ledger_entries::table
        .filter(ledger_entries::txn_seq.eq_any(&seqs))
        .order((ledger_entries::txn_seq.asc(), ledger_entries::id.asc()))
        .select((
            ledger_entries::txn_seq,
            ledger_entries::account,
            ledger_entries::amount,
            ledger_entries::currency,
        ))
        .load(conn)?;
    let mut by_record: HashMap<i64, Vec<HashedLine>> = HashMap::new();
    for (seq, account, amount, currency) in rows {
        by_record
            .entry(seq)
            .or_default()
            .push((account, amount, currency));
    }
    Ok(by_record)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    /// Sealed records whose link and hash hold.
    pub checked: i64,
    /// Sequence number (`seq`) of the first record that does not hold: edited, unbalanced,
    /// out of place, following a deleted one, or left unsealed too long. For records cut off
    /// the end of the chain, the position the next one should have had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<i64>,
    /// That record's position in the chain (`pos`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// What is wrong with it, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl VerifyReport {
    fn broken(checked: i64, seq: Option<i64>, position: Option<i64>, problem: &str) -> Self {
        VerifyReport {
            ok: false,
            checked,
            first_broken: seq.or(position),
            position,
            problem: Some(problem.to_string()),
        }
    }
}

/// Recomputes every link from the start, in chain order and in pages, then looks for records
/// left unsealed longer than `MAX_SEAL_DELAY_MS`.
pub fn verify(conn: &mut DbConn) -> Result<VerifyReport> {
    const PAGE: i64 = 2000;
    let mut prev_hash = "0".repeat(64);
    let mut expected = 1;
    let mut checked = 0;
    loop {
        let page: Vec<Record> = audit_chain::table
            .filter(audit_chain::pos.ge(expected))
            .order(audit_chain::pos.asc())
            .limit(PAGE)
            .select(Record::as_select())
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        let mut entries = entries_of(conn, &page)?;
        for r in &page {
            let pos = r.pos.unwrap_or_default();
            let mine = entries.remove(&r.seq).unwrap_or_default();
            let expect = hash_of(&prev_hash, r.into(), &mine);
            let problem = if pos != expected {
                Some("the record before this one is missing")
            } else if r.prev_hash != prev_hash {
                Some("does not link to the record before it (deleted, inserted or reordered)")
            } else if r.hash != expect {
                Some("its fields or ledger lines were changed")
            } else if mine.iter().map(|e| e.1).sum::<i64>() != 0 {
                Some("its ledger lines do not sum to zero")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(r.seq),
                    Some(pos),
                    problem,
                ));
            }
            checked += 1;
            prev_hash = r.hash.clone();
            expected += 1;
        }
    }
    // The head must point at the last record, or records were cut off the end.
    let (head_pos, head_hash) = head(conn)?;
    if head_pos != checked || head_hash != prev_hash {
        return Ok(VerifyReport::broken(
            checked,
            None,
            Some(checked + 1),
            "the chain ends before its head: records were removed from its end",
        ));
    }
    let stale: Option<i64> = audit_chain::table
        .filter(audit_chain::pos.is_null())
        .filter(audit_chain::created_at.lt(crate::time::now_ms() - MAX_SEAL_DELAY_MS))
        .order(audit_chain::seq.asc())
        .select(audit_chain::seq)
        .first(conn)
        .optional()?;
    if let Some(seq) = stale {
        return Ok(VerifyReport::broken(
            checked,
            Some(seq),
            None,
            "not sealed in time: inserted behind kameng's back, or no sealer is running",
        ));
    }
    Ok(VerifyReport {
        ok: true,
        checked,
        first_broken: None,
        position: None,
        problem: None,
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
