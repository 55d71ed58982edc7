use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use super::wal_writes;

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut SqliteConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
}

/// The writer's connection as the writer opens it (`Manager::establish_writer`), and a
/// pooled reader's beside it.
fn pair(path: &str) -> (SqliteConnection, SqliteConnection) {
    let manager = crate::db::Manager::new(path);
    let sqlite = |conn| match conn {
        crate::db::DbConn::Sqlite(c) => c,
        crate::db::DbConn::Pg(_) => unreachable!("a path is a SQLite database"),
    };
    let mut writer = sqlite(manager.establish_writer().unwrap());
    writer
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS t_v ON t (v);",
        )
        .unwrap();
    (writer, sqlite(manager.establish().unwrap()))
}

/// A new database file in a directory of its own, with [`pair`]'s two connections.
fn fresh() -> (
    tempfile::TempDir,
    String,
    SqliteConnection,
    SqliteConnection,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = format!("{}/w.db", dir.path().display());
    let (writer, reader) = pair(&path);
    (dir, path, writer, reader)
}

fn integrity_ok(conn: &mut SqliteConnection) -> bool {
    let sql = "SELECT COUNT(*) AS n FROM pragma_integrity_check WHERE integrity_check = 'ok'";
    count(conn, sql) == 1
}

fn insert(conn: &mut SqliteConnection, from: i64, rows: i64) {
    conn.batch_execute("BEGIN;").unwrap();
    insert_in_tx(conn, from, rows);
    conn.batch_execute("COMMIT;").unwrap();
}

#[test]
fn a_commit_of_many_pages_reaches_the_wal_in_a_few_large_writes() {
    let (_dir, path, mut writer, _) = fresh();
    insert(&mut writer, 1, 10);
    let wal = |p: &str| std::fs::metadata(format!("{p}-wal")).unwrap().len() as usize;
    let (size, before) = (wal(&path), wal_writes());
    insert(&mut writer, 100, 400);
    let (bytes, writes) = (wal(&path) - size, (wal_writes() - before) as usize);
    // 400 rows of 300 bytes: dozens of pages, which SQLite writes as two pieces each.
    let frames = bytes / (24 + 4096);
    assert!(frames > 60, "{frames} frames");
    assert_eq!(
        writes,
        bytes.div_ceil(super::WRITE_AT_MOST),
        "{frames} frames"
    );
}

#[test]
fn what_a_commit_returned_is_there_for_readers_and_after_a_crash() {
    let (_dir, path, mut writer, mut reader) = fresh();
    for round in 0..20 {
        insert(&mut writer, 1 + round * 50, 50);
        assert_eq!(
            count(&mut reader, "SELECT COUNT(*) AS n FROM t"),
            (round + 1) * 50
        );
        if round == 10 {
            // The WAL starts over after a full checkpoint: its header is rewritten at 0.
            writer
                .batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
                .unwrap();
        }
    }
    // A crash: the files as they are, the writer never closed.
    let copy = tempfile::tempdir().unwrap();
    for suffix in ["", "-wal"] {
        std::fs::copy(
            format!("{path}{suffix}"),
            copy.path().join(format!("w.db{suffix}")),
        )
        .unwrap();
    }
    let mut after =
        SqliteConnection::establish(&format!("{}/w.db", copy.path().display())).unwrap();
    assert_eq!(count(&mut after, "SELECT COUNT(*) AS n FROM t"), 1000);
    assert!(integrity_ok(&mut after));
}

#[test]
fn pages_spilled_mid_transaction_are_read_back() {
    let (_dir, _, mut writer, mut reader) = fresh();
    // A cache of 10 pages: a large transaction spills frames to the WAL and reads them back.
    writer.batch_execute("PRAGMA cache_size = 10;").unwrap();
    writer.batch_execute("BEGIN;").unwrap();
    insert_in_tx(&mut writer, 1, 2000);
    assert_eq!(
        count(
            &mut writer,
            "SELECT COUNT(*) AS n FROM t WHERE length(v) = 300"
        ),
        2000
    );
    assert_eq!(
        count(&mut reader, "SELECT COUNT(*) AS n FROM t"),
        0,
        "not committed yet"
    );
    writer.batch_execute("COMMIT;").unwrap();
    assert_eq!(count(&mut reader, "SELECT COUNT(*) AS n FROM t"), 2000);
    assert!(integrity_ok(&mut reader));
}

fn insert_in_tx(conn: &mut SqliteConnection, from: i64, rows: i64) {
    conn.batch_execute(&format!(
        "WITH RECURSIVE s(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM s WHERE i < {last})
         INSERT INTO t (id, v) SELECT i, randomblob(300) FROM s;",
        last = from + rows - 1
    ))
    .unwrap();
}

#[test]
fn a_path_with_uri_characters_opens_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = format!("{}/a?b#c%d.db", dir.path().display());
    let (mut writer, mut reader) = pair(&path);
    insert(&mut writer, 1, 3);
    assert_eq!(count(&mut reader, "SELECT COUNT(*) AS n FROM t"), 3);
    assert!(std::path::Path::new(&path).exists());
}
