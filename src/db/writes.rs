//! A transaction's multi-row writes in one round trip on PostgreSQL.
//!
//! An order set writes eight tables (nonces, cards, balances, records, their lines, pending
//! sales, events, orders). As one statement each, that is eight round trips per set, each a
//! wake-up of the set's thread and of a PostgreSQL backend while the set holds its buyers'
//! rows; the PostgreSQL profile was mostly such switches. [`Writes`] gathers them and sends
//! one statement: every write a data-modifying `WITH` item, its rows bound as one array per
//! column (`unnest`), so the statement's text depends on which tables it writes, never on how
//! many rows — it stays prepared like any [`super::stmt::stmt`]. PostgreSQL runs `WITH`
//! items on one snapshot and checks foreign keys at the end of the statement, so a write may
//! insert rows another write of the same statement refers to. No write may read what another
//! writes; none here does.
//!
//! SQLite has no round trips to save: there each write runs at once, as
//! [`super::stmt::execute_rows`], exactly as it would without this type.

use std::sync::OnceLock;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

use super::stmt::{execute_rows, interned, Arg, Interned, Shape, ROW_CHUNKS};
use super::DbConn;

/// Writes gathered for one round trip (PostgreSQL) or run at once (SQLite).
pub struct Writes<'a> {
    gather: bool,
    parts: Vec<Part<'a>>,
    /// Rows each write affected, by [`Written`]; on PostgreSQL known once [`Writes::finish`]ed.
    counts: Vec<usize>,
}

/// One gathered write: its `unnest` text and its columns.
struct Part<'a> {
    written: usize,
    sql: &'static str,
    columns: Vec<Column<'a>>,
}

/// Names a write, to read how many rows it affected once the writes are finished.
#[derive(Debug, Clone, Copy)]
pub struct Written(usize);

/// Rows each write affected.
#[derive(Debug)]
pub struct Counts(Vec<usize>);

impl std::ops::Index<Written> for Counts {
    type Output = usize;
    fn index(&self, w: Written) -> &usize {
        &self.0[w.0]
    }
}

impl<'a> Writes<'a> {
    /// Writes for `conn`'s backend: gathered on PostgreSQL, run at once on SQLite.
    pub fn new(conn: &DbConn) -> Self {
        Writes {
            gather: conn.is_postgres(),
            parts: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// Writes `rows` into `shape` (SQLite: now).
    pub fn rows<const N: usize>(
        &mut self,
        conn: &mut DbConn,
        shape: Shape,
        rows: &[[Arg<'a>; N]],
    ) -> QueryResult<Written> {
        let written = Written(self.counts.len());
        let mut count = 0;
        if !rows.is_empty() {
            if self.gather {
                self.parts.push(Part {
                    written: written.0,
                    sql: unnest_sql(shape),
                    columns: (0..N)
                        .map(|i| Column::of(rows, i))
                        .collect::<QueryResult<_>>()?,
                });
            } else {
                count = execute_rows(conn, &ROW_CHUNKS, shape, rows)?;
            }
        }
        self.counts.push(count);
        Ok(written)
    }

    /// Sends the gathered writes (PostgreSQL: one statement) and tells what each affected.
    pub fn finish(mut self, conn: &mut DbConn) -> QueryResult<Counts> {
        if self.parts.is_empty() {
            return Ok(Counts(self.counts));
        }
        let DbConn::Pg(pg) = conn else {
            return Err(diesel::result::Error::QueryBuilderError(
                "writes were gathered for PostgreSQL".into(),
            ));
        };
        let sqls: Vec<&'static str> = self.parts.iter().map(|p| p.sql).collect();
        let combined = Combined {
            pieces: combined_pieces(&sqls),
            columns: self.parts.iter().flat_map(|p| &p.columns).collect(),
        };
        let affected: Vec<i64> = combined.get_result(pg)?;
        for (part, n) in self.parts.iter().zip(affected) {
            self.counts[part.written] = usize::try_from(n).unwrap_or(0);
        }
        Ok(Counts(self.counts))
    }
}

/// One column of a gathered write's rows, bound as one array.
#[derive(Debug)]
enum Column<'a> {
    Ints(Vec<i64>),
    OptInts(Vec<Option<i64>>),
    Texts(Vec<&'a str>),
    OptTexts(Vec<Option<&'a str>>),
    Bools(Vec<bool>),
}

impl<'a> Column<'a> {
    /// Column `i` of `rows`: nullable if any row's value is (an `Option` argument).
    fn of<const N: usize>(rows: &[[Arg<'a>; N]], i: usize) -> QueryResult<Self> {
        Ok(match rows[0][i] {
            Arg::Int(_) | Arg::OptInt(_) => match values(rows, i, |a| match a {
                Arg::Int(v) => Some((Some(v), false)),
                Arg::OptInt(v) => Some((v, true)),
                _ => None,
            })? {
                (v, true) => Column::OptInts(v),
                (v, false) => Column::Ints(v.into_iter().flatten().collect()),
            },
            Arg::Text(_) | Arg::OptText(_) => match values(rows, i, |a| match a {
                Arg::Text(v) => Some((Some(v), false)),
                Arg::OptText(v) => Some((v, true)),
                _ => None,
            })? {
                (v, true) => Column::OptTexts(v),
                (v, false) => Column::Texts(v.into_iter().flatten().collect()),
            },
            Arg::Bool(_) => {
                let (v, _) = values(rows, i, |a| match a {
                    Arg::Bool(v) => Some((Some(v), false)),
                    _ => None,
                })?;
                Column::Bools(v.into_iter().flatten().collect())
            }
        })
    }
}

/// Column `i` of `rows` as `pick` reads each value (`None`: not of the column's type), and
/// whether any was an `Option` argument.
fn values<'a, T, const N: usize>(
    rows: &[[Arg<'a>; N]],
    i: usize,
    pick: impl Fn(Arg<'a>) -> Option<(Option<T>, bool)>,
) -> QueryResult<(Vec<Option<T>>, bool)> {
    let mut nullable = false;
    let values = rows
        .iter()
        .map(|r| {
            let (value, optional) = pick(r[i]).ok_or_else(|| {
                diesel::result::Error::QueryBuilderError(
                    format!("column {i} of a gathered write mixes types").into(),
                )
            })?;
            nullable |= optional;
            Ok(value)
        })
        .collect::<QueryResult<_>>()?;
    Ok((values, nullable))
}

/// `shape` reading its rows from arrays, one `?` per column, and returning a row per row it
/// wrote: `… VALUES (?, ?, 0)` becomes `… SELECT u.c1 AS column1, u.c2 AS column2, 0 AS
/// column3 FROM unnest(?, ?) WITH ORDINALITY AS u (c1, c2, n) ORDER BY u.n`, so an
/// `UPDATE … FROM (VALUES …) AS v` reads `v.column1` as before and an INSERT takes its ids in
/// the rows' order. Built once per shape.
pub fn unnest_sql(shape: Shape) -> &'static str {
    static BY_SHAPE: Interned<Shape, &'static str> = OnceLock::new();
    interned(&BY_SHAPE, shape, |&(head, row, tail)| {
        let head = head
            .strip_suffix("VALUES ")
            .expect("a gathered write's head ends in VALUES");
        let values = row
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .expect("a gathered write's row is one parenthesised list");
        let (mut select, mut columns) = (Vec::new(), Vec::new());
        for (i, value) in values.split(',').map(str::trim).enumerate() {
            if value == "?" {
                columns.push(format!("c{}", columns.len() + 1));
                select.push(format!(
                    "u.{} AS column{}",
                    columns.last().expect("pushed"),
                    i + 1
                ));
            } else {
                select.push(format!("{value} AS column{}", i + 1));
            }
        }
        let sql = format!(
            "{head}SELECT {} FROM unnest({}) WITH ORDINALITY AS u ({}, n) ORDER BY u.n{tail} \
             RETURNING 1",
            select.join(", "),
            vec!["?"; columns.len()].join(", "),
            columns.join(", "),
        );
        Box::leak(sql.into_boxed_str())
    })
}

/// The one statement running `parts` (each an [`unnest_sql`]) and counting each one's rows,
/// split at its placeholders; built once per list of parts.
fn combined_pieces(parts: &[&'static str]) -> &'static [&'static str] {
    // The parts are interned by `unnest_sql`: their addresses name them.
    static BY_PARTS: Interned<Vec<usize>, &'static [&'static str]> = OnceLock::new();
    let key: Vec<usize> = parts.iter().map(|p| p.as_ptr() as usize).collect();
    interned(&BY_PARTS, key, |_| {
        let with: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, sql)| format!("w{i} AS ({sql})"))
            .collect();
        let counts: Vec<String> = (0..parts.len())
            .map(|i| format!("(SELECT count(*) FROM w{i})"))
            .collect();
        let sql = format!(
            "WITH {} SELECT ARRAY[{}]",
            with.join(", "),
            counts.join(", ")
        );
        let sql: &'static str = Box::leak(sql.into_boxed_str());
        Box::leak(sql.split('?').collect::<Vec<_>>().into_boxed_slice())
    })
}

/// The gathered writes as one PostgreSQL statement: its text's pieces between placeholders,
/// and one array per placeholder.
struct Combined<'q, 'a> {
    pieces: &'static [&'static str],
    columns: Vec<&'q Column<'a>>,
}

impl QueryId for Combined<'_, '_> {
    type QueryId = ();
    // No static id: diesel keys its statement cache by the text (and the binds' types).
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Combined<'_, '_> {
    type SqlType = Array<BigInt>;
}

impl<Conn> RunQueryDsl<Conn> for Combined<'_, '_> {}

impl QueryFragment<Pg> for Combined<'_, '_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let (first, rest) = self.pieces.split_first().expect("one piece at least");
        out.push_sql(first);
        for (piece, column) in rest.iter().zip(&self.columns) {
            match column {
                Column::Ints(v) => out.push_bind_param::<Array<BigInt>, _>(v)?,
                Column::OptInts(v) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(v)?,
                Column::Texts(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                Column::OptTexts(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v)?,
                Column::Bools(v) => out.push_bind_param::<Array<Bool>, _>(v)?,
            }
            out.push_sql(piece);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_reads_its_rows_from_one_array_per_placeholder() {
        let update = unnest_sql((
            "UPDATE t SET n = v.column2 FROM (VALUES ",
            "(?, ?)",
            ") AS v WHERE t.id = v.column1",
        ));
        assert_eq!(
            update,
            "UPDATE t SET n = v.column2 FROM (SELECT u.c1 AS column1, u.c2 AS column2 FROM \
             unnest(?, ?) WITH ORDINALITY AS u (c1, c2, n) ORDER BY u.n) AS v WHERE t.id = \
             v.column1 RETURNING 1"
        );
        let insert = unnest_sql(("INSERT INTO t (a, b, c) VALUES ", "(?, 0, ?)", ""));
        assert_eq!(
            insert,
            "INSERT INTO t (a, b, c) SELECT u.c1 AS column1, 0 AS column2, u.c2 AS column3 \
             FROM unnest(?, ?) WITH ORDINALITY AS u (c1, c2, n) ORDER BY u.n RETURNING 1"
        );
        let pieces = combined_pieces(&[insert, update]);
        assert_eq!(pieces.len(), 5, "four placeholders");
        assert!(pieces[0].starts_with("WITH w0 AS (INSERT INTO t"));
        assert!(pieces[4]
            .ends_with("SELECT ARRAY[(SELECT count(*) FROM w0), (SELECT count(*) FROM w1)]"));
    }

    #[test]
    fn a_column_is_nullable_if_any_row_is() {
        let rows = [
            [Arg::Int(1), Arg::OptText(None)],
            [Arg::OptInt(None), "x".into()],
        ];
        assert!(matches!(Column::of(&rows, 0), Ok(Column::OptInts(v)) if v == [Some(1), None]));
        assert!(matches!(Column::of(&rows, 1), Ok(Column::OptTexts(v)) if v == [None, Some("x")]));
        let plain = [[Arg::Int(1)], [Arg::Int(2)]];
        assert!(matches!(Column::of(&plain, 0), Ok(Column::Ints(v)) if v == [1, 2]));
        let mixed = [[Arg::Int(1)], ["x".into()]];
        assert!(Column::of(&mixed, 0).is_err());
    }

    /// Runs when the suite runs against PostgreSQL (`KAMENG_TEST_DATABASE_URL`); its tables
    /// are temporary, so it leaves nothing behind.
    #[test]
    fn postgres_writes_everything_in_one_statement_at_finish() {
        use super::super::stmt::stmt;
        let Some(mut c) = super::super::test_postgres() else {
            return;
        };
        let run = |c: &mut DbConn, sql: &'static str| stmt(sql, []).run(c).unwrap();
        run(
            &mut c,
            "CREATE TEMP TABLE parent (id TEXT PRIMARY KEY, n BIGINT NOT NULL, ok BOOLEAN)",
        );
        run(
            &mut c,
            "CREATE TEMP TABLE child (line BIGINT GENERATED ALWAYS AS IDENTITY, \
             parent TEXT NOT NULL REFERENCES parent (id), note TEXT, at BIGINT, kind TEXT NOT NULL)",
        );
        run(
            &mut c,
            "INSERT INTO parent (id, n) VALUES ('old', 1), ('gone', 2)",
        );
        let count = |c: &mut DbConn, sql: &'static str| -> i64 {
            stmt(sql, []).returning::<BigInt>().one(c).unwrap()
        };
        let mut w = Writes::new(&c);
        let parents = w
            .rows(
                &mut c,
                (
                    "INSERT INTO parent (id, n, ok) VALUES ",
                    "(?, ?, ?)",
                    " ON CONFLICT DO NOTHING",
                ),
                &[
                    ["a".into(), 1.into(), true.into()],
                    ["old".into(), 9.into(), false.into()],
                ],
            )
            .unwrap();
        // Children of a parent inserted by the same statement: the key is checked at its end.
        let children = w
            .rows(
                &mut c,
                (
                    "INSERT INTO child (parent, note, at, kind) VALUES ",
                    "(?, ?, ?, 'x')",
                    "",
                ),
                &[
                    ["a".into(), Arg::OptText(None), 5.into()],
                    ["a".into(), "second".into(), Arg::OptInt(None)],
                    ["old".into(), "third".into(), 7.into()],
                ],
            )
            .unwrap();
        let updated = w
            .rows(
                &mut c,
                (
                    "UPDATE parent SET n = v.column2 FROM (VALUES ",
                    "(?, ?)",
                    ") AS v WHERE parent.id = v.column1",
                ),
                &[["old".into(), 3.into()], ["missing".into(), 4.into()]],
            )
            .unwrap();
        assert_eq!(
            count(&mut c, "SELECT count(*) FROM child"),
            0,
            "nothing sent before finish"
        );
        let counts = w.finish(&mut c).unwrap();
        assert_eq!(
            (counts[parents], counts[children], counts[updated]),
            (1, 3, 1)
        );
        assert_eq!(count(&mut c, "SELECT n FROM parent WHERE id = 'old'"), 3);
        let notes: Vec<Option<String>> = stmt("SELECT note FROM child ORDER BY line", [])
            .returning::<Nullable<Text>>()
            .rows(&mut c)
            .unwrap();
        assert_eq!(
            notes,
            [None, Some("second".into()), Some("third".into())],
            "in row order"
        );
        // A write that fails fails the statement: nothing of it stays.
        let mut w = Writes::new(&c);
        w.rows(
            &mut c,
            ("INSERT INTO parent (id, n) VALUES ", "(?, ?)", ""),
            &[["b".into(), 1.into()]],
        )
        .unwrap();
        w.rows(
            &mut c,
            ("INSERT INTO child (parent, kind) VALUES ", "(?, ?)", ""),
            &[["nobody".into(), "x".into()]],
        )
        .unwrap();
        assert!(w.finish(&mut c).is_err(), "the child's key fails");
        assert_eq!(
            count(&mut c, "SELECT count(*) FROM parent WHERE id = 'b'"),
            0
        );
    }

    #[test]
    fn sqlite_writes_at_once() {
        use diesel::Connection;
        let mut c = DbConn::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
        super::super::stmt::stmt("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT)", [])
            .run(&mut c)
            .unwrap();
        let mut w = Writes::new(&c);
        let shape = ("INSERT INTO t (id, n) VALUES ", "(?, ?)", "");
        let two = w
            .rows(
                &mut c,
                shape,
                &[["a".into(), 1.into()], ["b".into(), 2.into()]],
            )
            .unwrap();
        let none = w.rows::<2>(&mut c, shape, &[]).unwrap();
        let n: i64 = super::super::stmt::stmt("SELECT count(*) FROM t", [])
            .returning::<BigInt>()
            .one(&mut c)
            .unwrap();
        assert_eq!(n, 2, "written before finish");
        let counts = w.finish(&mut c).unwrap();
        assert_eq!((counts[two], counts[none]), (2, 0));
    }
}
