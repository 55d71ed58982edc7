//! Hand-written SQL that stays prepared.
//!
//! diesel re-prepares (parses and plans) every UPDATE, every upsert, every `IN (…)` list and
//! every statement holding a raw SQL fragment, on every execution: it cannot know such SQL is
//! the same next time. On the order path that was a seventh of the SQLite writer's time. A
//! [`Stmt`] is fixed SQL text with `?` placeholders and typed arguments, so diesel's statement
//! cache keeps it prepared (keyed by its text) on both backends; PostgreSQL gets `$n`
//! placeholders from diesel as usual.
//!
//! Use it for hot statements only; everything else reads better in diesel's DSL.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Mutex, OnceLock};

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text};
use diesel::{PgConnection, QueryResult, RunQueryDsl, SqliteConnection};

use super::DbConn;

/// One bound argument.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    OptInt(Option<i64>),
    OptText(Option<&'a str>),
    Bool(bool),
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v)
    }
}

/// Fixed SQL with `?` placeholders, one [`Arg`] per placeholder, in order. Run it with
/// `execute`, or give it a row type with [`Stmt::returning`] to `load`/`get_result`.
#[derive(Debug, Clone)]
pub struct Stmt<'a, ST = ()> {
    sql: &'static str,
    /// `sql` split at its placeholders, once: diesel walks a statement three or four times per
    /// execution (cacheability, cache key, binds), and splitting a 64-row statement's text at
    /// every walk showed in the writer's profile.
    pieces: Vec<&'static str>,
    args: Vec<Arg<'a>>,
    row: PhantomData<ST>,
}

/// Builds a [`Stmt`]: `stmt(sql, [Arg::from(1), "id".into()])`.
pub fn stmt<'a>(sql: &'static str, args: impl IntoIterator<Item = Arg<'a>>) -> Stmt<'a> {
    let args: Vec<Arg<'a>> = args.into_iter().collect();
    let pieces: Vec<&'static str> = sql.split('?').collect();
    debug_assert_eq!(
        pieces.len(),
        args.len() + 1,
        "placeholders and arguments differ: {sql}"
    );
    Stmt {
        sql,
        pieces,
        args,
        row: PhantomData,
    }
}

impl<'a> Stmt<'a> {
    /// The same statement, read as rows of SQL type `ST` (a SELECT or `RETURNING`).
    pub fn returning<ST>(self) -> Stmt<'a, ST> {
        Stmt {
            sql: self.sql,
            pieces: self.pieces,
            args: self.args,
            row: PhantomData,
        }
    }

    /// Executes the statement straight on the connection's own backend. Through [`DbConn`]
    /// (diesel's multi-backend connection) every walk of it is translated through a second,
    /// generic walk with boxed binds: 8 % of the SQLite writer's profile on the order path.
    pub fn run(self, conn: &mut DbConn) -> QueryResult<usize> {
        match conn {
            DbConn::Sqlite(c) => self.execute(c),
            DbConn::Pg(c) => self.execute(c),
        }
    }

    /// The plan of an `EXPLAIN` statement (PostgreSQL: its lines) or an `EXPLAIN QUERY PLAN`
    /// one (SQLite: each step's detail), one string a line; the caller writes the one its
    /// backend reads.
    pub fn plan_lines(self, conn: &mut DbConn) -> QueryResult<Vec<String>> {
        if conn.is_postgres() {
            return self.returning::<Text>().rows(conn);
        }
        type Step = (BigInt, BigInt, BigInt, Text);
        let steps: Vec<(i64, i64, i64, String)> = self.returning::<Step>().rows(conn)?;
        Ok(steps.into_iter().map(|s| s.3).collect())
    }
}

impl<'a, ST> Stmt<'a, ST> {
    /// Loads the rows straight on the connection's own backend (see [`Stmt::run`]).
    pub fn rows<'q, U>(self, conn: &mut DbConn) -> QueryResult<Vec<U>>
    where
        Self: LoadQuery<'q, SqliteConnection, U> + LoadQuery<'q, PgConnection, U>,
    {
        match conn {
            DbConn::Sqlite(c) => self.load(c),
            DbConn::Pg(c) => self.load(c),
        }
    }

    /// The one row, as `get_result` gives it (`NotFound` if none), straight on the
    /// connection's own backend (see [`Stmt::run`]).
    pub fn one<'q, U>(self, conn: &mut DbConn) -> QueryResult<U>
    where
        Self: LoadQuery<'q, SqliteConnection, U> + LoadQuery<'q, PgConnection, U>,
    {
        match conn {
            DbConn::Sqlite(c) => self.get_result(c),
            DbConn::Pg(c) => self.get_result(c),
        }
    }
}

impl<ST> QueryId for Stmt<'_, ST> {
    type QueryId = ();
    // No static id: diesel keys the statement cache by the SQL text, which is fixed.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB, ST> QueryFragment<DB> for Stmt<'_, ST>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Bool>,
    i64: ToSql<BigInt, DB>,
    bool: ToSql<Bool, DB>,
    str: ToSql<Text, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
    for<'x> Option<&'x str>: ToSql<Nullable<Text>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let (first, rest) = self
            .pieces
            .split_first()
            .expect("split yields one piece at least");
        out.push_sql(first);
        for (piece, arg) in rest.iter().zip(&self.args) {
            match arg {
                Arg::Int(v) => out.push_bind_param::<BigInt, i64>(v)?,
                Arg::Text(v) => out.push_bind_param::<Text, str>(v)?,
                Arg::OptInt(v) => out.push_bind_param::<Nullable<BigInt>, Option<i64>>(v)?,
                Arg::OptText(v) => out.push_bind_param::<Nullable<Text>, Option<&str>>(v)?,
                Arg::Bool(v) => out.push_bind_param::<Bool, bool>(v)?,
            }
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl<ST: 'static> Query for Stmt<'_, ST> {
    type SqlType = ST;
}

impl<Conn, ST> RunQueryDsl<Conn> for Stmt<'_, ST> {}

/// `head` followed by `n` copies of `row` joined by commas, then `tail`: the text of a
/// multi-row statement, built once per distinct shape and kept for the process so it stays
/// prepared like any [`stmt`]. Callers bound `n` (a chunk size), so few shapes ever exist.
pub fn rows_sql(
    head: &'static str,
    row: &'static str,
    n: usize,
    tail: &'static str,
) -> &'static str {
    shaped(head, row, n, tail, false)
}

/// [`rows_sql`], with `head` given the `OR FAIL` conflict resolution when `fail` (see
/// [`or_fail`]); one cache lookup either way.
fn shaped(
    head: &'static str,
    row: &'static str,
    n: usize,
    tail: &'static str,
    fail: bool,
) -> &'static str {
    type Key = (&'static str, &'static str, usize, &'static str, bool);
    static BY_SHAPE: Interned<Key, &'static str> = OnceLock::new();
    interned(&BY_SHAPE, (head, row, n, tail, fail), |_| {
        let head = if fail { or_fail(head) } else { head.into() };
        let sql = format!("{head}{}{tail}", vec![row; n].join(", "));
        Box::leak(sql.into_boxed_str())
    })
}

/// Values built once per key and kept for the process (statement texts, which stay prepared).
pub(super) type Interned<K, V> = OnceLock<Mutex<HashMap<K, V>>>;

/// The value `cache` keeps for `key`, built by `build` the first time.
pub(super) fn interned<K: Eq + Hash, V: Copy>(
    cache: &Interned<K, V>,
    key: K,
    build: impl FnOnce(&K) -> V,
) -> V {
    let mut cache = cache
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(value) = cache.get(&key) {
        return *value;
    }
    let value = build(&key);
    cache.insert(key, value);
    value
}

/// SQLite: `head` (an `INSERT INTO` or `UPDATE` of several rows) with the `OR FAIL` conflict
/// resolution. Under the default, ABORT, a constraint failure undoes the statement's earlier
/// rows, and to be able to, SQLite copies every page a multi-row statement touches into a
/// statement journal first (6 % of the writer's time at C=16, most of it for the set's
/// statements). FAIL stops at the failing row and keeps the rows before it; that is safe here
/// because every caller returns the error and the savepoint or transaction around it rolls
/// back (every write runs in one: `writer::Writer::submit`; a set's failed writes, and a
/// failed bulk write, roll back their batch), so those rows never commit. Foreign keys still
/// make SQLite journal an insert into a table that has them (see the `deferred_keys` and
/// `deferred_card_keys` migrations).
fn or_fail(head: &str) -> std::borrow::Cow<'_, str> {
    if let Some(rest) = head.strip_prefix("INSERT INTO ") {
        format!("INSERT OR FAIL INTO {rest}").into()
    } else if let Some(rest) = head.strip_prefix("UPDATE ") {
        format!("UPDATE OR FAIL {rest}").into()
    } else {
        head.into()
    }
}

/// A multi-row write's text as [`execute_rows`] takes it: `head` (for `db::writes`, ending in
/// `VALUES `), one `row` such as `(?, ?, 0)`, then `tail`.
pub type Shape = (&'static str, &'static str, &'static str);

/// Rows per multi-row statement over a batch, largest first (the last must be 1): a batch of
/// any size runs in a few statements of a few shapes, each kept prepared.
pub const ROW_CHUNKS: [usize; 3] = [64, 16, 1];
/// Up to this many rows go in one statement of exactly that many (16 shapes at most).
const EXACT_ROWS: usize = 16;

/// Runs `head` + one `row` per element of `rows` + `tail` (see [`rows_sql`]): up to
/// `EXACT_ROWS` rows in one statement, more in as few as `sizes` allow (largest first, ending
/// in 1); returns the rows affected.
pub fn execute_rows<'a, const N: usize>(
    conn: &mut DbConn,
    sizes: &[usize],
    shape: Shape,
    rows: &[[Arg<'a>; N]],
) -> QueryResult<usize> {
    let mut affected = 0;
    for_each_chunk(conn, sizes, shape, rows, |conn, chunk| {
        affected += chunk.run(conn)?;
        Ok(())
    })?;
    Ok(affected)
}

/// [`execute_rows`] for a write that returns rows (`tail` ends in `RETURNING …`): every
/// chunk's rows, in order, read as SQL type `ST`.
pub fn load_rows<'q, 'a, ST, U, const N: usize>(
    conn: &mut DbConn,
    sizes: &[usize],
    shape: Shape,
    rows: &[[Arg<'a>; N]],
) -> QueryResult<Vec<U>>
where
    Stmt<'a, ST>: LoadQuery<'q, SqliteConnection, U> + LoadQuery<'q, PgConnection, U>,
{
    let mut loaded = Vec::new();
    for_each_chunk(conn, sizes, shape, rows, |conn, chunk| {
        loaded.extend(chunk.returning::<ST>().rows(conn)?);
        Ok(())
    })?;
    Ok(loaded)
}

/// Cuts `rows` into statements as [`execute_rows`] says and hands each to `run`.
fn for_each_chunk<'a, const N: usize>(
    conn: &mut DbConn,
    sizes: &[usize],
    (head, row, tail): Shape,
    rows: &[[Arg<'a>; N]],
    mut run: impl FnMut(&mut DbConn, Stmt<'a>) -> QueryResult<()>,
) -> QueryResult<()> {
    let mut rest = rows;
    while !rest.is_empty() {
        let n = match rest.len() {
            short if short <= EXACT_ROWS => short,
            long => sizes.iter().copied().find(|n| *n <= long).unwrap_or(1),
        };
        let (now, later) = rest.split_at(n);
        rest = later;
        let fail = n > 1 && matches!(conn, DbConn::Sqlite(_));
        let sql = shaped(head, row, n, tail, fail);
        run(conn, stmt(sql, now.iter().flatten().copied()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::Connection;

    #[test]
    fn runs_and_reads_back_on_sqlite() {
        let mut c = diesel::SqliteConnection::establish(":memory:").unwrap();
        stmt(
            "CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, note TEXT)",
            [],
        )
        .execute(&mut c)
        .unwrap();
        for (id, n) in [("a", 1), ("b", 2)] {
            stmt(
                "INSERT INTO t (id, n, note) VALUES (?, ?, ?)",
                [id.into(), n.into(), Arg::OptText(None)],
            )
            .execute(&mut c)
            .unwrap();
        }
        let after: i64 = stmt(
            "UPDATE t SET n = n + ? WHERE id = ? AND n + ? >= 0 RETURNING n",
            [5.into(), "b".into(), 5.into()],
        )
        .returning::<BigInt>()
        .get_result(&mut c)
        .unwrap();
        assert_eq!(after, 7);
        let refused = stmt(
            "UPDATE t SET n = n + ? WHERE id = ? AND n + ? >= 0",
            [(-9).into(), "a".into(), (-9).into()],
        )
        .execute(&mut c)
        .unwrap();
        assert_eq!(refused, 0, "the guard keeps n from going below zero");
    }

    #[test]
    fn shapes_differing_only_in_their_tail_are_different_statements() {
        let locked = rows_sql("SELECT 1 FROM t WHERE id IN (", "?", 2, ") FOR UPDATE");
        let plain = rows_sql("SELECT 1 FROM t WHERE id IN (", "?", 2, ")");
        assert_eq!(locked, "SELECT 1 FROM t WHERE id IN (?, ?) FOR UPDATE");
        assert_eq!(plain, "SELECT 1 FROM t WHERE id IN (?, ?)");
    }

    /// Rows returned by a write cut into statements of every size come back from each of them,
    /// and a row skipped by its conflict clause is not among them.
    #[test]
    fn a_returning_write_gives_back_every_statement_s_rows() {
        let mut c = DbConn::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
        stmt("CREATE TABLE t (id TEXT PRIMARY KEY)", [])
            .run(&mut c)
            .unwrap();
        stmt("INSERT INTO t (id) VALUES ('k40')", [])
            .run(&mut c)
            .unwrap();
        let ids: Vec<String> = (0..83).map(|n| format!("k{n}")).collect();
        let rows: Vec<[Arg<'_>; 1]> = ids.iter().map(|id| [id.as_str().into()]).collect();
        let shape = (
            "INSERT INTO t (id) VALUES ",
            "(?)",
            " ON CONFLICT (id) DO NOTHING RETURNING id",
        );
        // 83 rows: statements of 64, 16 and 3 rows.
        let mut back: Vec<String> =
            load_rows::<Text, _, 1>(&mut c, &ROW_CHUNKS, shape, &rows).unwrap();
        back.sort();
        let mut expected: Vec<String> = ids.into_iter().filter(|id| id != "k40").collect();
        expected.sort();
        assert_eq!(back, expected);
    }

    #[test]
    fn multi_row_writes_fail_at_the_row_and_their_transaction_undoes_the_rest() {
        assert_eq!(
            or_fail("INSERT INTO t (id) VALUES "),
            "INSERT OR FAIL INTO t (id) VALUES "
        );
        assert_eq!(or_fail("UPDATE t SET n = 1"), "UPDATE OR FAIL t SET n = 1");
        assert_eq!(or_fail("SELECT 1"), "SELECT 1");
        let mut c = DbConn::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
        stmt("CREATE TABLE t (id TEXT PRIMARY KEY)", [])
            .run(&mut c)
            .unwrap();
        let head = ("INSERT INTO t (id) VALUES ", "(?)", "");
        let rows = [["a".into()], ["b".into()], ["a".into()]];
        let count = |c: &mut DbConn| -> i64 {
            stmt("SELECT count(*) FROM t", [])
                .returning::<BigInt>()
                .one(c)
                .unwrap()
        };
        // FAIL keeps the rows before the failing one within the statement...
        let failed = c.transaction(|c| {
            let err = execute_rows(c, &ROW_CHUNKS, head, &rows).unwrap_err();
            assert_eq!(count(c), 2, "OR FAIL stops at the repeated key");
            Err::<(), _>(err)
        });
        assert!(failed.is_err());
        // ...and the transaction that got the error undoes them.
        assert_eq!(count(&mut c), 0);
    }

    #[test]
    fn runs_straight_on_the_backend_of_a_db_conn() {
        let mut c = DbConn::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
        stmt(
            "CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
            [],
        )
        .run(&mut c)
        .unwrap();
        let rows = [["a".into(), 1.into()], ["b".into(), 2.into()]];
        let head = ("INSERT INTO t (id, n) VALUES ", "(?, ?)", "");
        assert_eq!(execute_rows(&mut c, &ROW_CHUNKS, head, &rows).unwrap(), 2);
        let ns: Vec<i64> = stmt("SELECT n FROM t ORDER BY id", [])
            .returning::<BigInt>()
            .rows(&mut c)
            .unwrap();
        assert_eq!(ns, [1, 2]);
        let b: i64 = stmt("SELECT n FROM t WHERE id = ?", ["b".into()])
            .returning::<BigInt>()
            .one(&mut c)
            .unwrap();
        assert_eq!(b, 2);
        let none = stmt("SELECT n FROM t WHERE id = ?", ["z".into()])
            .returning::<BigInt>()
            .one::<i64>(&mut c);
        assert!(matches!(none, Err(diesel::result::Error::NotFound)));
    }

    #[test]
    fn stays_prepared_across_executions() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let mut c = diesel::SqliteConnection::establish(":memory:").unwrap();
        stmt(
            "CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
            [],
        )
        .execute(&mut c)
        .unwrap();
        stmt("INSERT INTO t (id, n) VALUES ('a', 0)", [])
            .execute(&mut c)
            .unwrap();
        let prepared = Arc::new(AtomicUsize::new(0));
        let seen = prepared.clone();
        c.set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
            if let diesel::connection::InstrumentationEvent::CacheQuery { .. } = event {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
        for n in 0..5 {
            stmt(
                "UPDATE t SET n = n + ? WHERE id = ?",
                [n.into(), "a".into()],
            )
            .execute(&mut c)
            .unwrap();
        }
        assert_eq!(
            prepared.load(Ordering::SeqCst),
            1,
            "prepared once, run five times"
        );
    }
}
