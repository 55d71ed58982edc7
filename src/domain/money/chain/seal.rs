//! Sealing: linking committed records into the chain (see the parent module), by the one
//! sealer at a time ([`seal`]) or, for a SQLite batch's records, as they go in
//! ([`append_sealed`]). Either way a sealed record is stored the same way and [`super::verify`]
//! checks it with the same code.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::{line_args, record_hash, Entry, Record, LINES_INSERT, MAX_SEAL_DELAY_MS};
use crate::db::schema::{audit_chain, chain_head, ledger_entries};
use crate::db::stmt::{execute_rows, stmt, Arg, ROW_CHUNKS};
use crate::db::writes::Writes;
use crate::db::DbConn;
use crate::error::Result;

/// A record numbered before it is written ([`take_seqs`]): a set's records go in with one
/// statement (and their lines with another).
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

impl Numbered {
    /// The record's own columns, as both inserts bind them first: seq, kind, actor, action,
    /// subject, detail, created_at.
    fn fields(&self) -> [Arg<'_>; 7] {
        [
            self.seq.into(),
            self.kind.into(),
            self.actor.as_str().into(),
            self.action.into(),
            self.subject.as_str().into(),
            self.detail.as_str().into(),
            self.created_at.into(),
        ]
    }
}

/// The sequence numbers of the next `n` records, ascending: SQLite's single writer counts on
/// from the newest record; PostgreSQL draws them from the records' sequence, as [`super::append`]
/// does one at a time.
pub fn take_seqs(conn: &mut DbConn, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if conn.is_postgres() {
        let mut seqs: Vec<i64> = stmt(
            "SELECT nextval('audit_chain_seq') FROM generate_series(1, ?)",
            [(n as i64).into()],
        )
        .returning::<BigInt>()
        .rows(conn)?;
        seqs.sort_unstable();
        return Ok(seqs);
    }
    let first = next_seq(conn)?;
    Ok((first..first + n as i64).collect())
}

/// Appends numbered records with their ledger lines, one multi-row write for each. SQLite's
/// writer seals them as they go in ([`append_sealed`], at once); on PostgreSQL they go in
/// unsealed, as [`super::append`] writes a record, with the rest of `writes`, and the sealer
/// links them after their commit.
pub fn append_numbered<'a>(
    conn: &mut DbConn,
    writes: &mut Writes<'a>,
    records: &[&'a Numbered],
) -> Result<()> {
    if !conn.is_postgres() {
        return append_sealed(conn, records);
    }
    let rows: Vec<[Arg<'a>; 7]> = records.iter().map(|r| r.fields()).collect();
    writes.rows(
        conn,
        (
            "INSERT INTO audit_chain (seq, kind, actor, action, subject, detail, created_at, \
             prev_hash, hash) VALUES ",
            "(?, ?, ?, ?, ?, ?, ?, '', '')",
            "",
        ),
        &rows,
    )?;
    writes.rows(conn, LINES_INSERT, &lines_of(records))?;
    Ok(())
}

/// SQLite: the `seq` the next record takes (see [`Numbered`]).
fn next_seq(conn: &mut DbConn) -> Result<i64> {
    Ok(
        stmt("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_chain", [])
            .returning::<BigInt>()
            .one(conn)?,
    )
}

/// Appends numbered records and their ledger lines already sealed — linked after the chain's
/// head, every record before them sealed first — and moves the head once: one chain step for
/// a SQLite batch's records, one multi-row INSERT for the records and one for the lines (in
/// [`ROW_CHUNKS`]). Sealed here or by [`seal`], a record is stored the same way.
fn append_sealed(conn: &mut DbConn, records: &[&Numbered]) -> Result<()> {
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
            let fields = r.fields();
            let link: [Arg<'_>; 3] = [prev.into(), hash.into(), (*pos).into()];
            std::array::from_fn(|i| if i < 7 { fields[i] } else { link[i - 7] })
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
    insert_lines(conn, records)?;
    set_head(conn, pos, &prev_hash)
}

/// The records' ledger lines, one multi-row INSERT (in [`ROW_CHUNKS`]).
fn insert_lines(conn: &mut DbConn, records: &[&Numbered]) -> Result<()> {
    execute_rows(conn, &ROW_CHUNKS, LINES_INSERT, &lines_of(records))?;
    Ok(())
}

/// The rows of [`LINES_INSERT`] for the records' lines, in order.
fn lines_of<'a>(records: &[&'a Numbered]) -> Vec<[Arg<'a>; 6]> {
    records
        .iter()
        .flat_map(|r| {
            r.entries
                .iter()
                .map(|e| line_args(r.seq, e, &r.currency, r.created_at))
        })
        .collect()
}

/// The chain's last sealed position and hash.
pub(super) fn head(conn: &mut DbConn) -> Result<(i64, String)> {
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
    .run(conn)?;
    Ok(())
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
pub(super) fn hash_of(prev_hash: &str, r: Hashed<'_>, lines: &[HashedLine]) -> String {
    let (seq, at) = (r.seq.to_string(), r.created_at.to_string());
    record_hash(
        [
            prev_hash, &seq, r.kind, r.actor, r.action, r.subject, r.detail, &at,
        ],
        lines,
    )
}

/// The fields of a record its hash covers, stored ([`Record`]) or about to be ([`Numbered`]).
pub(super) struct Hashed<'a> {
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
pub(super) type HashedLine = (String, i64, String);

/// The ledger lines of `records`, by record, in insertion order.
pub(super) fn entries_of(
    conn: &mut DbConn,
    records: &[Record],
) -> Result<HashMap<i64, Vec<HashedLine>>> {
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
