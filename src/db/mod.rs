//! Database access for both backends through one connection type.
//!
//! SQLite is the embedded default; PostgreSQL is for scale-out. Reads go through a pool.
//! Writes go through [`Db::write`]: on SQLite a single writer connection (SQLite allows one writer
//! at a time anyway, and a deferred transaction that must upgrade to a write lock can fail with
//! SQLITE_BUSY instead of waiting); on PostgreSQL any pooled connection, with row locks where
//! writers meet.

pub mod checkpoint_conn;
mod gather;
pub mod open;
pub mod schema;
pub mod sets;
pub mod sqlite_config;
pub mod stmt;
pub mod text;
pub mod wal_buffer;
pub mod writer;
pub mod writes;

pub use gather::{Gatherer, LazyGatherer};

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{Error, Result};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Runs the same diesel expression on whichever backend `conn` is, for the few queries the
/// multi-backend type cannot express (multi-row INSERT, row locks).
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

impl DbConn {
    pub fn is_postgres(&self) -> bool {
        matches!(self, DbConn::Pg(_))
    }
}

/// Background work exactly one process may do at a time, across instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusive {
    /// Sealing the audit chain and folding pending sales (`jobs::settle`).
    Settler,
}

impl Exclusive {
    fn key(self) -> i64 {
        match self {
            // "kameng" + 1: advisory keys share one space per database.
            Exclusive::Settler => 0x6b61_6d65_6e67_0001,
        }
    }
}

/// Holds `work`'s lock until the current transaction ends (PostgreSQL: a transaction-level
/// advisory lock, released by COMMIT, ROLLBACK or the connection dying, so a killed holder
/// leaves nothing behind). Without `wait`, returns false at once if another holds it. SQLite
/// needs none: its single writer already runs one such transaction at a time.
pub fn exclusive(conn: &mut DbConn, work: Exclusive, wait: bool) -> Result<bool> {
    let DbConn::Pg(c) = conn else {
        return Ok(true);
    };
    #[derive(diesel::QueryableByName)]
    struct Got {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        got: bool,
    }
    let sql = if wait {
        "SELECT true AS got FROM (SELECT pg_advisory_xact_lock($1)) l"
    } else {
        "SELECT pg_try_advisory_xact_lock($1) AS got"
    };
    let row: Got = diesel::sql_query(sql)
        .bind::<diesel::sql_types::BigInt, _>(work.key())
        .get_result(c)?;
    Ok(row.got)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The path of a SQLite URL (`sqlite://file.db`, `sqlite:file.db`, or a bare path), or None
/// for a PostgreSQL URL.
pub fn sqlite_path(url: &str) -> Option<&str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    Some(
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url),
    )
}

/// Establishes connections of the backend the URL names (never falls back to another one).
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    /// The URL as configured, for messages.
    given_url: String,
    backend: Backend,
    /// SQLite `synchronous` level: `FULL` (default) or `NORMAL`.
    sqlite_sync: &'static str,
}

impl Manager {
    pub fn new(url: &str) -> Self {
        match sqlite_path(url) {
            Some(path) => Manager {
                url: path.to_string(),
                given_url: url.to_string(),
                backend: Backend::Sqlite,
                sqlite_sync: "FULL",
            },
            None => Manager {
                url: url.to_string(),
                given_url: url.to_string(),
                backend: Backend::Postgres,
                sqlite_sync: "FULL",
            },
        }
    }

    /// `normal` trades power-loss durability of the last commits for speed; anything else is FULL.
    pub fn with_synchronous(mut self, level: &str) -> Self {
        self.sqlite_sync = if level.eq_ignore_ascii_case("normal") {
            "NORMAL"
        } else {
            "FULL"
        };
        self
    }

    pub fn establish(&self) -> Result<DbConn, diesel::ConnectionError> {
        self.establish_at(&self.url)
    }

    /// A connection for the SQLite writer: under `synchronous = FULL` a commit's WAL writes go
    /// out together, in writes of up to 124 KB (`wal_buffer`); elsewhere what
    /// [`Manager::establish`] gives.
    pub fn establish_writer(&self) -> Result<DbConn, diesel::ConnectionError> {
        if self.backend == Backend::Sqlite {
            // Before `register`, which initializes SQLite.
            sqlite_config::configure();
            if self.sqlite_sync == "FULL" && wal_buffer::register() {
                return self.establish_at(&wal_buffer::uri(&self.url));
            }
        }
        self.establish()
    }

    fn establish_at(&self, target: &str) -> Result<DbConn, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => Ok(DbConn::Pg(diesel::PgConnection::establish(target)?)),
            Backend::Sqlite => {
                sqlite_config::configure();
                let mut conn = diesel::SqliteConnection::establish(target)?;
                // WAL lets readers run beside the writer. `synchronous` is FULL by default: the
                // group-commit writer pays one fsync per batch, so an acknowledged order
                // survives power loss, not only a crash. Checkpoints run in the background
                // (see `spawn_checkpointer`), not inside a committing transaction. Every
                // request is a SAVEPOINT inside its batch, and SQLite keeps each savepoint's
                // undo pages in a sub-journal: `temp_store = MEMORY` keeps that off the disk
                // (it was a sixth of the writer's time as file writes). Pooled readers keep a
                // small cache and no memory map (each map of the file counts in the resident
                // size again); the writer gets both, see `writer::Writer::start`.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -2048; PRAGMA mmap_size = 0; \
                     PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 1073741824; \
                     PRAGMA temp_store = MEMORY;",
                    self.sqlite_sync
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection, and what the pool needs to know to hand it out without a round trip.
pub struct Pooled {
    conn: DbConn,
    /// When it last went back to the pool.
    returned_at: Instant,
    /// It failed as a connection (the server went away): dropped when it goes back.
    lost: bool,
}

impl std::ops::Deref for Pooled {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// A connection back in the pool within this long is handed out again untested. Testing every
/// check-out (`SELECT 1`) was a round trip before each of an order's three checkouts on
/// PostgreSQL — a third of the statements the server saw. A connection idle longer is tested
/// as before, so one a restart killed while idle is replaced unseen; one killed within the
/// window fails its request with `503` (as a request caught mid-restart does) and is dropped.
const FRESH_FOR: Duration = Duration::from_secs(1);

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        Ok(Pooled {
            conn: self.establish()?,
            returned_at: Instant::now(),
            lost: false,
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        if conn.returned_at.elapsed() < FRESH_FOR {
            return Ok(());
        }
        conn.conn
            .batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    /// Called as the connection goes back to the pool.
    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.returned_at = Instant::now();
        conn.lost
    }
}

/// Runs `f` on a connection of `pool`; a connection that failed as one is marked, so the pool
/// drops it instead of handing it out again.
fn on_pooled<T>(pool: &Pool, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
    on_checked_out(pool.get()?, f)
}

fn on_checked_out<T>(
    mut pooled: r2d2::PooledConnection<Manager>,
    f: impl FnOnce(&mut DbConn) -> Result<T>,
) -> Result<T> {
    let out = f(&mut pooled.conn);
    if matches!(out, Err(Error::Unavailable(_))) {
        pooled.lost = true;
    }
    out
}

pub type Pool = r2d2::Pool<Manager>;

/// A condition written as a SQL literal, e.g. `cards.status = 'available'`. Partial indexes
/// (`... WHERE status = 'available'`) are only usable when the planner sees the literal value:
/// PostgreSQL's generic plan of a prepared statement cannot match a bound parameter against an
/// index predicate, and falls back to scanning the table.
pub fn literal_condition(
    sql: &'static str,
) -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(sql)
}

/// Shared handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    writer: Option<writer::Writer>,
    /// PostgreSQL: the workers placing orders in sets, once started ([`Db::start_order_sets`]).
    sets: Arc<OnceLock<sets::SetWorkers>>,
    backend: Backend,
    manager: Manager,
}

impl Db {
    pub fn connect(url: &str, pool_size: u32) -> Result<Db> {
        Db::connect_with(Manager::new(url), pool_size)
    }

    /// Connects, migrates (before any writer exists), then starts the SQLite writer thread.
    ///
    /// One connection comes first, before the pool: a bad URL fails once, with advice (see
    /// `open`), and a fresh SQLite file is switched to WAL and migrated before any other
    /// connection opens it — the pool's connections used to race to switch the journal mode,
    /// and the loser logged a bare `database is locked`.
    pub fn connect_with(manager: Manager, pool_size: u32) -> Result<Db> {
        let backend = manager.backend;
        open::check_scheme(&manager.given_url).map_err(Error::Unavailable)?;
        {
            let mut first = manager.establish().map_err(|e| {
                Error::Unavailable(open::open_error(
                    &manager.given_url,
                    backend,
                    &e.to_string(),
                ))
            })?;
            run_migrations(&mut first)?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager.clone())
            .map_err(|e| {
                let cause = e.to_string();
                Error::Unavailable(open::open_error(&manager.given_url, backend, &cause))
            })?;
        let writer = match backend {
            Backend::Sqlite => Some(writer::Writer::start(manager.clone())?),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            writer,
            sets: Arc::default(),
            backend,
            manager,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` on a pooled connection (blocking; call from a blocking thread).
    pub fn read<T>(&self, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
        on_pooled(&self.pool, f)
    }

    /// [`Db::read`] on SQLite when a pooled connection is free at once; `None` otherwise, and
    /// always on PostgreSQL. For a point read an async handler can make in place: on SQLite it
    /// takes microseconds, less than the two thread hops through the blocking pool it spares.
    pub fn read_in_place<T>(&self, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Option<Result<T>> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        Some(on_checked_out(self.pool.try_get()?, f))
    }

    /// Runs `f` inside one transaction on a connection that may write (blocking). Any error rolls
    /// all of `f`'s writes back, so a failed request changes nothing. On SQLite `f` joins the
    /// writer's next group commit; on PostgreSQL it runs on a pooled connection.
    pub fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write(f),
            None => on_pooled(&self.pool, |conn| conn.transaction(f)),
        }
    }

    /// Like [`Db::write`] for maintenance code and tests whose closure borrows: runs on its own
    /// connection in one transaction (SQLite: `BEGIN IMMEDIATE`, waiting for the writer thread
    /// through `busy_timeout`). Not for the request path: it bypasses group commit.
    pub fn write_direct<T>(&self, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
        match self.backend {
            Backend::Postgres => on_pooled(&self.pool, |conn| conn.transaction(f)),
            Backend::Sqlite => {
                let mut conn = self
                    .manager
                    .establish()
                    .map_err(|e| Error::Unavailable(e.to_string()))?;
                let sql = |c: &mut DbConn, stmt: &str| {
                    c.batch_execute(stmt)
                        .map_err(|e| Error::internal(format!("{stmt}: {e}")))
                };
                sql(&mut conn, "BEGIN IMMEDIATE")?;
                match f(&mut conn) {
                    Ok(v) => sql(&mut conn, "COMMIT").map(|_| v),
                    Err(e) => {
                        let _ = sql(&mut conn, "ROLLBACK");
                        Err(e)
                    }
                }
            }
        }
    }

    /// [`Db::read`] on the blocking thread pool, for async handlers.
    pub async fn read_async<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || db.read(f)).await
    }

    /// [`Db::write`] for async handlers: on SQLite awaits the writer thread directly, on
    /// PostgreSQL runs on the blocking thread pool.
    pub async fn write_async<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        if let Some(writer) = &self.writer {
            return writer.write_async(f).await;
        }
        let db = self.clone();
        run_blocking(move || db.write(f)).await
    }

    /// [`Db::write_async`] for a large write: on SQLite it commits in a batch of its own, so
    /// the orders queued beside it need not wait for its pages (a stock push's slice).
    pub async fn write_bulk_async<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write_bulk_async(f).await,
            None => self.write_async(f).await,
        }
    }

    /// SQLite: runs `f` at the end of every group commit, inside it (see `writer::Epilogue`).
    /// No-op on PostgreSQL, which has no batches.
    pub fn at_batch_end(&self, f: writer::Epilogue) {
        if let Some(writer) = &self.writer {
            writer.set_epilogue(f);
        }
    }

    /// Tells `f` the number of jobs in every SQLite group commit, or of orders in every
    /// PostgreSQL order set (see `writer::BatchObserver`).
    pub fn on_batch_commit(&self, f: writer::BatchObserver) {
        if let Some(writer) = &self.writer {
            writer.set_batch_observer(f);
        } else if let Some(sets) = self.sets.get() {
            sets.set_observer(f);
        }
    }

    /// Whether writes go through SQLite's group commit.
    pub fn groups_commits(&self) -> bool {
        self.writer.is_some()
    }

    /// PostgreSQL: starts `workers` threads that place orders in sets (see `sets`); none
    /// started (0, or SQLite, whose writer runs sets) leaves every PostgreSQL order to a
    /// transaction of its own.
    pub fn start_order_sets(&self, workers: u32) -> Result<()> {
        if self.backend == Backend::Postgres && workers > 0 && self.sets.get().is_none() {
            let _ = self
                .sets
                .set(sets::SetWorkers::start(self.manager.clone(), workers)?);
        }
        Ok(())
    }

    /// Whether set items may be queued: SQLite's group commit, or PostgreSQL's set workers.
    pub fn takes_sets(&self) -> bool {
        self.writer.is_some() || self.sets.get().is_some()
    }

    /// Sets what runs set items (see `writer::SetRunner`), built by `make` the first time only.
    pub fn on_batch_set(&self, make: impl FnOnce() -> writer::SetRunner) {
        if let Some(writer) = self.writer.as_ref().filter(|w| !w.has_set_runner()) {
            writer.set_set_runner(make());
        } else if let Some(sets) = self.sets.get().filter(|s| !s.has_runner()) {
            sets.set_runner(make());
        }
    }

    /// Queues `item` for the next set (see [`Db::on_batch_set`], [`Db::takes_sets`]).
    pub fn queue_item(&self, item: writer::SetItem) -> Result<()> {
        match (&self.writer, self.sets.get()) {
            (Some(writer), _) => writer.queue_item(item),
            (None, Some(sets)) => sets.queue(item),
            (None, None) => Err(Error::internal("no set runs here: check Db::takes_sets")),
        }
    }

    /// Applies pending migrations of this backend (already done by `connect`).
    pub fn migrate(&self) -> Result<()> {
        on_pooled(&self.pool, run_migrations)
    }

    /// SQLite: moves committed WAL frames into the database file without blocking the writer
    /// (PASSIVE), so the committing transaction never pays for a checkpoint, then tells the
    /// writer to finish it between batches (see `writer::finish_checkpoint`). No-op on
    /// PostgreSQL.
    ///
    /// Pass after pass until one is quick and complete: a pass's cost is mostly the fsync of
    /// the pages it copied (about 20 µs a page scattered over the file, on the 2-core box;
    /// each pass syncs what it copied, see `checkpoint_conn`, or the writer would), and
    /// each pass copies only what was committed during the one before. What the writer is left
    /// to copy, with writes waiting, shrinks from a second's worth of pages (15–60 ms) to a few
    /// ms. Complete: a pass a reader's older snapshot held back left frames uncopied, however
    /// quick it was.
    /// The hand-off carries the writer's bulk-write mark taken before the quick pass: a push's
    /// slice committed after it has pages the pass never saw, and the writer waits for the next
    /// round rather than copy them with orders queued (`Writer::checkpoint_caught_up`).
    ///
    /// Returns the writer's bulk-write mark taken before the round's last pass and whether
    /// the round caught up (see [`CheckpointRound`]).
    pub fn checkpoint(&self) -> Result<CheckpointRound> {
        /// A pass this quick leaves the writer little; at most this many passes a round.
        const QUICK_PASS: Duration = Duration::from_millis(4);
        const MAX_PASSES: usize = 8;
        /// A reader's older snapshot held a pass back: the pass after waits this long for the
        /// reader (reads take a few ms) instead of being held back again at once.
        const HELD_BACK_WAIT: Duration = Duration::from_millis(2);
        if self.backend == Backend::Sqlite {
            let mut conn = checkpoint_conn::CheckpointConn::open(&self.manager.url)?;
            let (mut quick, mut mark) = (false, 0);
            for _ in 0..MAX_PASSES {
                mark = self.writer.as_ref().map_or(0, |w| w.checkpoint_mark());
                let started = Instant::now();
                let checkpoint_conn::Pass {
                    busy,
                    frames,
                    copied,
                    synced,
                } = conn.pass()?;
                // Quick because it copied it all, not because a reader's older snapshot kept
                // it from copying (a pass held back so answered in 0.1 ms with 771 frames
                // left, and the writer then copied them with orders waiting: 126 ms).
                let held_back = copied < frames;
                quick = !busy && !held_back && started.elapsed() < QUICK_PASS;
                tracing::trace!(
                    busy,
                    frames,
                    copied,
                    synced,
                    quick,
                    "background WAL checkpoint pass"
                );
                if quick {
                    break;
                }
                if held_back {
                    std::thread::sleep(HELD_BACK_WAIT);
                }
            }
            // Not quick after all passes (a stock push is writing pages all over the file):
            // the writer is told next round, or finishes on its own clock.
            if let (true, Some(writer)) = (quick, &self.writer) {
                writer.checkpoint_caught_up(mark);
            }
            return Ok(CheckpointRound {
                mark,
                caught_up: quick,
            });
        }
        Ok(CheckpointRound {
            mark: 0,
            caught_up: true,
        })
    }
}

/// What a background checkpoint round ([`Db::checkpoint`]) tells the caller about when to run
/// the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointRound {
    /// The writer's bulk-write mark before the round's last pass (0 on PostgreSQL): it moves
    /// from one round to the next while a stock push is writing.
    pub mark: u64,
    /// The round ended with a quick, complete pass (always on PostgreSQL). If not, the writer
    /// was handed nothing, and its own clock would copy everything committed until the next
    /// round (on the 10^6 database: 273 ms with orders waiting, a second after such a round).
    pub caught_up: bool,
}

pub async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("blocking task failed: {e}")))?
}

pub fn run_migrations(conn: &mut DbConn) -> Result<()> {
    let res = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    };
    res.map_err(|e| Error::internal(format!("migrations: {e}")))
}

/// Reverts migrations newest first, down to and including the one whose version is
/// `version` (`2026-12-12-000001`): an upgrade test starts from the schema before it, however
/// many migrations came after.
pub fn revert_through(conn: &mut DbConn, version: &str) -> Result<()> {
    let plain = |v: &str| v.replace('-', "");
    loop {
        let reverted = match conn {
            DbConn::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
            DbConn::Pg(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| Error::internal(format!("migrations: {e}")))?;
        if plain(&reverted.to_string()) == plain(version) {
            return Ok(());
        }
    }
}

/// Reverts every migration (used by the round-trip test).
pub fn revert_migrations(conn: &mut DbConn) -> Result<()> {
    let res = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConn::Pg(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    };
    res.map_err(|e| Error::internal(format!("migrations: {e}")))
}

/// A connection to the PostgreSQL the suite runs against (`KAMENG_TEST_DATABASE_URL`), if it
/// does; without TLS, as the integration suite connects (see `tests/api/common.rs` for why).
#[cfg(test)]
pub(crate) fn test_postgres() -> Option<DbConn> {
    let url = std::env::var("KAMENG_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let url = match url.contains('?') {
        true => url,
        false => format!("{url}?sslmode=disable"),
    };
    Some(DbConn::Pg(
        diesel::PgConnection::establish(&url).expect("KAMENG_TEST_DATABASE_URL connects"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_in_place_never_waits_for_a_busy_pool() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/r.db", dir.path().display()), 1).unwrap();
        let one = |c: &mut DbConn| Ok(c.batch_execute("SELECT 1").is_ok());
        assert!(matches!(db.read_in_place(one), Some(Ok(true))));
        // The pool's only connection is out: in place gives way (at once, not after the
        // pool's 10 s timeout) instead of blocking its async worker.
        let started = Instant::now();
        let inner = db.read(|_| Ok(db.read_in_place(one).is_none())).unwrap();
        assert!(
            inner,
            "a read in place went ahead without a free connection"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_checkpoint_pass_a_reader_holds_back_hands_nothing_to_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/c.db", dir.path().display()), 2).unwrap();
        let writer = db.writer.as_ref().expect("SQLite has a writer");
        let insert = |c: &mut DbConn| Ok(c.batch_execute("INSERT INTO t VALUES (1)")?);
        db.write(|c| Ok(c.batch_execute("CREATE TABLE t (n INTEGER)")?))
            .unwrap();
        db.write(insert).unwrap();
        // A reader's snapshot from before the next commit: no pass may copy that commit's frames.
        let mut reader = db.manager.establish().unwrap();
        reader
            .batch_execute("BEGIN; SELECT count(*) FROM t;")
            .unwrap();
        db.write(insert).unwrap();
        db.checkpoint().unwrap();
        assert!(
            !writer.checkpoint_handed_off(),
            "a pass that copied nothing, quick as it was, handed the writer the rest"
        );
        // The reader gone, a pass copies it all and hands the writer the little left.
        reader.batch_execute("COMMIT").unwrap();
        db.checkpoint().unwrap();
        assert!(writer.checkpoint_handed_off());
    }
}
