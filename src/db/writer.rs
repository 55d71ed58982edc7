//! The SQLite writer: one thread owns the only connection that writes, and commits whatever
//! work is queued in one transaction (group commit). Each job runs in its own SAVEPOINT, so a
//! failing job rolls back alone and changes nothing, while the others in the batch commit. No
//! caller hears back before the batch's COMMIT has returned — an acknowledged write is durable
//! to the level `synchronous` promises — and the cost of a commit (and its fsync under
//! `synchronous=FULL`) is shared by every job in the batch. A job that panics is rolled back
//! to its savepoint and fails alone, like a job that returns an error. A bulk write (a stock
//! push's slice) commits in a batch of its own and needs no savepoint: when it fails or
//! panics, its batch rolls back whole.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock};

use diesel::connection::TransactionManager;
use diesel::sql_types::BigInt;
use diesel::Connection;

use super::{DbConn, Manager};
use crate::error::{Error, Result};

/// Most jobs committed together; bounds how long the first job of a batch waits.
const MAX_BATCH: usize = 128;
/// The writer completes a WAL checkpoint between batches once the background checkpointer has
/// copied the bulk of the frames (see `finish_checkpoint`), or at the latest this long after
/// its last one, should the background one lag (the WAL grows by every page each batch
/// rewrites until the writer finishes one; this bounds it as the writer's own clock did).
const CHECKPOINT_AT_LATEST: std::time::Duration = std::time::Duration::from_secs(2);
/// ... unless a push's slice committed that no background pass has begun since: the writer
/// would copy its pages, scattered over the card indexes, with orders waiting (86-301 ms on
/// the 10^6 database). It waits for a round to see it, this long at most.
const CHECKPOINT_AT_LATEST_PUSHING: std::time::Duration = std::time::Duration::from_secs(4);
/// After a hand-off the writer finishes one at most this often: while stock pushes write, the
/// background rounds run every 100 ms to keep each pass's burst of page writes short, and the
/// WAL need not start over that often.
const CHECKPOINT_AT_MOST: std::time::Duration = std::time::Duration::from_secs(1);
/// A batch slower than this is logged: the orders waiting on it see the stall.
const SLOW_BATCH: std::time::Duration = std::time::Duration::from_millis(100);
/// A checkpoint between batches slower than this is logged.
const SLOW_CHECKPOINT: std::time::Duration = std::time::Duration::from_millis(50);

/// Tells a caller its outcome once the batch's fate is known (`true`: it committed).
pub type Finish = Box<dyn FnOnce(bool) + Send>;
type Job = Box<dyn FnOnce(&mut DbConn) -> Finish + Send>;
/// A bulk write: its [`Finish`], and whether it succeeded (if not, its batch rolls back).
type BulkJob = Box<dyn FnOnce(&mut DbConn) -> (Finish, bool) + Send>;
/// Work the set runner does together with the batch's other items (see [`SetRunner`]).
pub type SetItem = Box<dyn std::any::Any + Send>;
/// Runs all of a batch's set items at once, first in the batch's transaction and with no
/// savepoint of its own, each item failing alone; `together` is false when the batch runs again
/// after the set failed, and the runner then runs each item alone. What a set runner gains over
/// a job per item is the set: reads shared, rows written with one statement per table. A set
/// run `together` leaves nothing for the [`Epilogue`] (it settles what it writes itself), so a
/// batch of only a set skips it.
pub type SetRunner = Box<dyn Fn(&mut DbConn, Vec<SetItem>, bool) -> SetRun + Send + Sync>;

/// What became of a batch's set items.
pub enum SetRun {
    /// One [`Finish`] per item the set placed or refused, and the items it left to run alone
    /// (the runner again, `together` false), after the set's writes: here in the same batch,
    /// on PostgreSQL each in a transaction of its own after the set's commit (`db::sets`).
    Done(Vec<Finish>, Vec<SetItem>),
    /// The set's writes failed after they began: the batch rolls back, and runs again with
    /// these items (all of them) each alone.
    Failed(Vec<SetItem>),
}

/// One queued piece of work.
enum Work {
    Job(Job),
    /// A large write (a stock push's slice): runs in a batch of its own, so that the orders
    /// queued beside it commit without waiting for its pages (see `run`), and with no
    /// savepoint (see [`Writer::write_bulk_async`]).
    Bulk(BulkJob),
    Item(SetItem),
}
/// Work the writer does once at the end of a batch, in the batch's transaction: of every batch
/// that ran a job or an item alone (a batch of only a set has nothing for it, see
/// [`SetRunner`]; measured at C=16, running it anyway was 3 % of the writer's time).
pub type Epilogue = Box<dyn Fn(&mut DbConn) -> Result<()> + Send + Sync>;
/// Told the number of jobs of every batch that committed (the batch-size metric).
pub type BatchObserver = Box<dyn Fn(usize) + Send + Sync>;

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Work>,
    hooks: Arc<Hooks>,
    /// Between the background checkpointer and the writer (see `finish_checkpoint`).
    hand_off: Arc<HandOff>,
}

/// The background checkpointer tells the writer when what is left to copy is little.
#[derive(Default)]
struct HandOff {
    /// Bulk batches the writer has committed: a mark taken before a checkpoint pass.
    bulk_commits: AtomicU64,
    /// 0, or one more than the mark taken before a round's last, quick pass.
    caught_up_at: AtomicU64,
    /// The mark taken before the latest background pass began.
    seen: AtomicU64,
    /// Checkpoints the writer has finished.
    finished: AtomicU64,
}

/// What the writer runs besides its jobs, each set once.
#[derive(Default)]
struct Hooks {
    epilogue: OnceLock<Epilogue>,
    observer: OnceLock<BatchObserver>,
    set_runner: OnceLock<SetRunner>,
}

impl Writer {
    pub fn start(manager: Manager) -> Result<Writer> {
        let mut conn = manager
            .establish_writer()
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        // The writer touches the same hot pages (index tails, balances, the chain head) in
        // every batch: a larger cache than the readers' keeps them out of read syscalls. (No
        // memory map: on a 3.6 GB database it added ~65 MB resident for no measurable gain.)
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            "PRAGMA cache_size = -8192;",
        )
        .map_err(|e| Error::Unavailable(e.to_string()))?;
        let (tx, rx) = mpsc::channel::<Work>();
        let hooks: Arc<Hooks> = Arc::default();
        let hand_off: Arc<HandOff> = Arc::default();
        let (theirs, ours) = (hooks.clone(), hand_off.clone());
        std::thread::Builder::new()
            .name("kameng-sqlite-writer".into())
            .spawn(move || run(conn, manager, rx, theirs, ours))
            .map_err(Error::internal)?;
        Ok(Writer {
            tx,
            hooks,
            hand_off,
        })
    }

    /// Checkpoints the writer has finished between batches (see `finish_checkpoint`).
    pub fn checkpoints_finished(&self) -> u64 {
        self.hand_off.finished.load(Ordering::Acquire)
    }

    /// Taken by the background checkpointer before a pass, for [`Writer::checkpoint_caught_up`].
    pub fn checkpoint_mark(&self) -> u64 {
        let mark = self.hand_off.bulk_commits.load(Ordering::Acquire);
        self.hand_off.seen.store(mark, Ordering::Release);
        mark
    }

    /// Tells the writer a background checkpoint round finished with a quick pass, begun at
    /// `mark`: what is left for it to copy between batches is only what was committed since.
    /// The writer ignores it if a bulk write (a push's slice) committed after the mark: copying
    /// that slice's pages, scattered over the card indexes, kept orders waiting 40-50 ms.
    pub fn checkpoint_caught_up(&self, mark: u64) {
        self.hand_off
            .caught_up_at
            .store(mark + 1, Ordering::Release);
    }

    /// Whether a hand-off waits for the writer's next batch to end.
    #[cfg(test)]
    pub fn checkpoint_handed_off(&self) -> bool {
        self.hand_off.caught_up_at.load(Ordering::Acquire) != 0
    }

    /// Sets what hears each committed batch's size (once; later calls are ignored).
    pub fn set_batch_observer(&self, f: BatchObserver) {
        let _ = self.hooks.observer.set(f);
    }

    /// Sets the work done at the end of every batch (once; later calls are ignored): the
    /// batch's jobs see none of it, their callers hear back after it committed with them.
    pub fn set_epilogue(&self, f: Epilogue) {
        let _ = self.hooks.epilogue.set(f);
    }

    /// Sets what runs each batch's set items (once; later calls are ignored).
    pub fn set_set_runner(&self, f: SetRunner) {
        let _ = self.hooks.set_runner.set(f);
    }

    /// Whether a set runner is in place (items queued without one are never run).
    pub fn has_set_runner(&self) -> bool {
        self.hooks.set_runner.get().is_some()
    }

    /// Queues an item for the next batch's set runner; it carries its own way to answer,
    /// through the [`Finish`] the runner gives back for it.
    pub fn queue_item(&self, item: SetItem) -> Result<()> {
        self.tx
            .send(Work::Item(item))
            .map_err(|_| Error::Unavailable("the database writer stopped".into()))
    }

    /// Runs `f` in its own savepoint of the next batch; returns once that batch committed.
    pub fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel::<Result<T>>(1);
        self.submit(f, move |r| {
            let _ = reply.send(r);
        })?;
        answer
            .recv()
            .map_err(|_| Error::internal("a database write panicked"))?
    }

    /// [`Writer::write`] for async callers: awaits the commit without holding a thread (no
    /// hop through the blocking pool on the order path).
    pub async fn write_async<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<T>>();
        self.submit(f, move |r| {
            let _ = reply.send(r);
        })?;
        answered(answer).await
    }

    /// [`Writer::write_async`] for a large write, committed in a batch of its own and with no
    /// savepoint: should it fail, the batch rolls back whole, with nothing else in it. A
    /// savepoint first copies every page the work changes into its journal — for a 500-card
    /// slice of a push, hundreds of pages scattered over the card indexes.
    pub async fn write_bulk_async<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<T>>();
        let job: BulkJob = Box::new(move |conn: &mut DbConn| {
            let outcome = f(conn);
            let ok = outcome.is_ok();
            let finish = finish_with(outcome, move |r| {
                let _ = reply.send(r);
            });
            (finish, ok)
        });
        self.send(Work::Bulk(job))?;
        answered(answer).await
    }

    /// Queues `f` as a job in a savepoint of its own; `reply` hears its outcome after the
    /// batch's COMMIT (or rollback).
    fn submit<T, F>(&self, f: F, reply: impl FnOnce(Result<T>) + Send + 'static) -> Result<()>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let job: Job = Box::new(move |conn: &mut DbConn| finish_with(conn.transaction(f), reply));
        self.send(Work::Job(job))
    }

    fn send(&self, work: Work) -> Result<()> {
        self.tx
            .send(work)
            .map_err(|_| Error::Unavailable("the database writer stopped".into()))
    }
}

/// The outcome a queued write's caller hears; the reply dropped unsent means the work panicked.
async fn answered<T>(answer: tokio::sync::oneshot::Receiver<Result<T>>) -> Result<T> {
    answer
        .await
        .map_err(|_| Error::internal("a database write panicked"))?
}

/// The [`Finish`] of work whose outcome is `outcome`: `reply` hears it once the batch
/// committed, or that nothing of it persisted when the batch did not.
pub fn finish_with<T: Send + 'static>(
    outcome: Result<T>,
    reply: impl FnOnce(Result<T>) + Send + 'static,
) -> Finish {
    Box::new(move |committed: bool| {
        reply(match (committed, outcome) {
            (true, r) => r,
            // The work succeeded but the batch did not commit: nothing of it persisted.
            (false, Ok(_)) => Err(Error::Unavailable("the database commit failed".into())),
            (false, Err(e)) => Err(e),
        });
    })
}

/// Rolls back the savepoints a panicking job left open, down to the batch's own transaction.
fn unwind_to_batch(conn: &mut DbConn) -> diesel::QueryResult<()> {
    type Tm = <DbConn as Connection>::TransactionManager;
    tracing::error!("a database job panicked; its changes were rolled back");
    while Tm::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some_and(|d| d.get() > 1)
    {
        Tm::rollback_transaction(conn)?;
    }
    Ok(())
}

/// Runs the items a set left to run alone, in savepoints of the batch (see [`SetRun::Done`]).
fn run_alone(
    c: &mut DbConn,
    run_set: &SetRunner,
    alone: Vec<SetItem>,
    finishers: &mut Vec<Finish>,
) -> diesel::QueryResult<()> {
    if alone.is_empty() {
        return Ok(());
    }
    match catch_unwind(AssertUnwindSafe(|| run_set(c, alone, false))) {
        Ok(SetRun::Done(finished, _)) => finishers.extend(finished),
        Ok(SetRun::Failed(_)) => tracing::error!("items run alone were given back as a failed set"),
        // Their answers went with the panic (their callers hear "panicked").
        Err(_) => unwind_to_batch(c)?,
    }
    Ok(())
}

fn run(
    mut conn: DbConn,
    manager: Manager,
    rx: mpsc::Receiver<Work>,
    hooks: Arc<Hooks>,
    hand_off: Arc<HandOff>,
) {
    let mut last_checkpoint = std::time::Instant::now();
    // A bulk write found while gathering a batch: it starts the next one.
    let mut carried: Option<Work> = None;
    while let Some(first) = carried.take().or_else(|| rx.recv().ok()) {
        // A bulk write commits alone; orders queued meanwhile go in the next batch, without
        // it (a 1,000-card slice was 8-9 ms of inserts and a 5-6 ms COMMIT).
        let alone = matches!(first, Work::Bulk(_));
        let mut batch = vec![first];
        while !alone && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(bulk @ Work::Bulk(_)) => {
                    carried = Some(bulk);
                    break;
                }
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut finishers: Vec<Finish> = Vec::with_capacity(batch.len());
        let started = std::time::Instant::now();
        let (mut jobs, mut items): (Vec<Job>, Vec<SetItem>) = (Vec::new(), Vec::new());
        // There is one exactly when the batch is `alone`.
        let mut bulk: Option<BulkJob> = None;
        for work in batch.drain(..) {
            match work {
                Work::Job(job) => jobs.push(job),
                Work::Bulk(job) => bulk = Some(job),
                Work::Item(item) => items.push(item),
            }
        }
        // The bulk write failed: its batch rolled back on purpose, not a failed COMMIT.
        let mut bulk_failed = false;
        let mut together = true;
        // When the set, the jobs and the end-of-batch work finished (for the slow-batch log).
        let mut marks = [started; 3];
        let outcome = loop {
            let mut again: Option<Vec<SetItem>> = None;
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                // Whether anything but a set run together wrote, and the epilogue has work.
                let mut settle = !jobs.is_empty() || alone || !together;
                conn.transaction::<_, diesel::result::Error, _>(|c| {
                    // The set first and with no savepoint of its own (a savepoint copies every
                    // page the set changes into its journal): should its writes fail, the
                    // batch rolls back before anything else ran and starts over with the set's
                    // items each alone.
                    if let (false, Some(run_set)) = (items.is_empty(), hooks.set_runner.get()) {
                        let set = std::mem::take(&mut items);
                        match catch_unwind(AssertUnwindSafe(|| run_set(c, set, together))) {
                            Ok(SetRun::Done(finished, alone)) => {
                                settle |= !alone.is_empty();
                                finishers.extend(finished);
                                run_alone(c, run_set, alone, &mut finishers)?;
                            }
                            Ok(SetRun::Failed(back)) => {
                                again = Some(back);
                                return Err(diesel::result::Error::RollbackTransaction);
                            }
                            // A panic drops the items' answers (their callers hear "panicked").
                            Err(_) if together => {
                                unwind_to_batch(c)?;
                                again = Some(Vec::new());
                                return Err(diesel::result::Error::RollbackTransaction);
                            }
                            Err(_) => unwind_to_batch(c)?,
                        }
                    }
                    marks[0] = std::time::Instant::now();
                    for job in jobs.drain(..) {
                        match catch_unwind(AssertUnwindSafe(|| job(c))) {
                            Ok(finish) => finishers.push(finish),
                            // The job's reply channel went with it (its caller hears
                            // "panicked"); undo what it left open so the rest still commits.
                            Err(_) => unwind_to_batch(c)?,
                        }
                    }
                    if let Some(bulk) = bulk.take() {
                        // No savepoint: what it wrote goes with the batch's rollback.
                        match catch_unwind(AssertUnwindSafe(|| bulk(c))) {
                            Ok((finish, ok)) => {
                                finishers.push(finish);
                                bulk_failed = !ok;
                            }
                            // Its reply channel went with it (its caller hears "panicked").
                            Err(_) => {
                                tracing::error!("a bulk write panicked; its batch was rolled back");
                                bulk_failed = true;
                            }
                        }
                        if bulk_failed {
                            return Err(diesel::result::Error::RollbackTransaction);
                        }
                    }
                    marks[1] = std::time::Instant::now();
                    if let (true, Some(end)) = (settle, hooks.epilogue.get()) {
                        // Its own savepoint: if it fails, the jobs still commit.
                        if let Err(e) = c.transaction::<_, Error, _>(|c| end(c)) {
                            tracing::warn!(error = %e, "end-of-batch work failed; retried next batch");
                        }
                    }
                    marks[2] = std::time::Instant::now();
                    Ok(())
                })
            }));
            match again {
                Some(back) if together => {
                    tracing::warn!(
                        items = back.len(),
                        "a batch's set failed; its items run alone"
                    );
                    (items, together) = (back, false);
                }
                _ => break outcome,
            }
        };
        let committed = matches!(outcome, Ok(Ok(())));
        if let (true, Some(observe)) = (committed, hooks.observer.get()) {
            observe(finishers.len());
        }
        let took = started.elapsed();
        if took >= SLOW_BATCH {
            // Every queued write waited this long: worth an operator's look, with where it went.
            let ms = |from: std::time::Instant, to: std::time::Instant| {
                to.saturating_duration_since(from).as_millis() as u64
            };
            tracing::warn!(
                ms = took.as_millis() as u64,
                set_ms = ms(started, marks[0]),
                jobs_ms = ms(marks[0], marks[1]),
                end_ms = ms(marks[1], marks[2]),
                commit_ms = ms(marks[2], std::time::Instant::now()),
                jobs = finishers.len(),
                "slow group commit"
            );
        }
        if let (Ok(Err(e)), false) = (&outcome, bulk_failed) {
            tracing::error!(error = %e, jobs = finishers.len(), "group commit failed");
        }
        if outcome.is_err() {
            // A job panicked mid-transaction: the connection's transaction state is unknown, so
            // start over on a fresh one (SQLite rolls back what the old one left open).
            tracing::error!("a database job panicked; its batch was rolled back");
            match manager.establish_writer() {
                Ok(fresh) => conn = fresh,
                Err(e) => {
                    tracing::error!(error = %e, "cannot reopen the database; writer stopping");
                    return;
                }
            }
        }
        for finish in finishers {
            finish(committed);
        }
        if alone && committed {
            hand_off.bulk_commits.fetch_add(1, Ordering::AcqRel);
        }
        let handed = hand_off.caught_up_at.swap(0, Ordering::AcqRel);
        let caught_up = handed != 0 && handed - 1 == hand_off.bulk_commits.load(Ordering::Acquire);
        let since = last_checkpoint.elapsed();
        let handed_off = caught_up && since >= CHECKPOINT_AT_MOST;
        let unseen_slice =
            hand_off.seen.load(Ordering::Acquire) != hand_off.bulk_commits.load(Ordering::Acquire);
        let at_latest = if unseen_slice {
            CHECKPOINT_AT_LATEST_PUSHING
        } else {
            CHECKPOINT_AT_LATEST
        };
        if handed_off || since >= at_latest {
            finish_checkpoint(&mut conn, handed_off);
            hand_off.finished.fetch_add(1, Ordering::AcqRel);
            last_checkpoint = std::time::Instant::now();
        }
    }
}

/// Under steady load the background checkpointer never finishes: frames keep arriving while
/// it copies, so the WAL can never start over and grows by every page every batch rewrites
/// (measured: 1.7 GB in 8 s at C=16, and truncating it later stalled a commit for 0.5 s). Here,
/// between batches, no write is in flight: a PASSIVE checkpoint copies the little the
/// background one has not, and the next batch restarts the WAL from its beginning. Runs after
/// the batch's callers have their answers, right after a background pass: writes queued
/// meanwhile wait only for the frames committed during that pass (on a clock of its own the
/// writer copied up to a second of them: 50–80 ms stalls at C=64 and under stock pushes).
fn finish_checkpoint(conn: &mut DbConn, handed_off: bool) {
    let started = std::time::Instant::now();
    let answer = passive_checkpoint(conn);
    let took = started.elapsed();
    match answer {
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint by the writer failed"),
        // Writes queued meanwhile waited this long: what it found says why.
        Ok((_, frames, copied)) if took >= SLOW_CHECKPOINT => tracing::warn!(
            ms = took.as_millis() as u64,
            frames,
            copied,
            trigger = if handed_off { "hand-off" } else { "clock" },
            "slow WAL checkpoint"
        ),
        Ok(_) => {}
    }
}

/// Runs `PRAGMA wal_checkpoint(PASSIVE)`, which answers (busy, frames in the WAL, frames copied
/// into the database file so far).
fn passive_checkpoint(conn: &mut DbConn) -> diesel::QueryResult<(i64, i64, i64)> {
    type Answer = (BigInt, BigInt, BigInt);
    super::stmt::stmt("PRAGMA wal_checkpoint(PASSIVE)", [])
        .returning::<Answer>()
        .one::<(i64, i64, i64)>(conn)
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use super::*;

    /// A writer on a fresh database file (kept while the directory lives).
    fn temp_writer() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/w.db", dir.path().display());
        (dir, Writer::start(Manager::new(&url)).unwrap())
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    /// The numbers in test table `t`, in order.
    fn numbers_in_t(writer: &Writer) -> Vec<i64> {
        writer
            .write(|c| {
                #[derive(diesel::QueryableByName)]
                struct N {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                let rows: Vec<N> = diesel::sql_query("SELECT n FROM t ORDER BY n").load(c)?;
                Ok(rows.into_iter().map(|r| r.n).collect())
            })
            .unwrap()
    }

    #[test]
    fn a_panicking_job_fails_alone_and_its_batch_commits() {
        let (_dir, writer) = temp_writer();
        writer
            .write(|c| Ok(diesel::sql_query("CREATE TABLE t (n BIGINT)").execute(c)?))
            .unwrap();
        // Many threads at once, so panicking and healthy jobs share batches.
        let jobs: Vec<_> = (0..64i64)
            .map(|i| {
                let w = writer.clone();
                std::thread::spawn(move || {
                    w.write(move |c| {
                        diesel::sql_query(format!("INSERT INTO t VALUES ({i})")).execute(c)?;
                        if i % 4 == 0 {
                            panic!("job {i} fails on purpose");
                        }
                        Ok(i)
                    })
                })
            })
            .collect();
        for (i, job) in jobs.into_iter().enumerate() {
            let outcome = job.join().unwrap();
            assert_eq!(outcome.is_ok(), i % 4 != 0, "job {i}: {outcome:?}");
        }
        let kept = numbers_in_t(&writer);
        let expected: Vec<i64> = (0..64).filter(|i| i % 4 != 0).collect();
        assert_eq!(kept, expected, "only the panicking jobs' rows are missing");
    }

    #[test]
    fn a_bulk_write_commits_in_a_batch_of_its_own() {
        use std::sync::Mutex;
        use std::time::Duration;
        let (_dir, writer) = temp_writer();
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        writer.set_batch_observer(Box::new(move |n| seen.lock().unwrap().push(n)));
        let block_on = |w: Writer, bulk: bool| {
            std::thread::spawn(move || {
                runtime().block_on(async {
                    let job = |_: &mut DbConn| Ok(());
                    if bulk {
                        w.write_bulk_async(job).await
                    } else {
                        w.write_async(job).await
                    }
                })
            })
        };
        // A slow batch first, so that a job, a bulk job and a job queue up behind it in turn.
        let slow = {
            let w = writer.clone();
            std::thread::spawn(move || {
                w.write(|_| {
                    std::thread::sleep(Duration::from_millis(500));
                    Ok(())
                })
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        let mut queued = Vec::new();
        for bulk in [false, true, false] {
            queued.push(block_on(writer.clone(), bulk));
            std::thread::sleep(Duration::from_millis(60));
        }
        slow.join().unwrap().unwrap();
        for q in queued {
            q.join().unwrap().unwrap();
        }
        // Without the rule the three queued ones would have shared one batch.
        assert_eq!(*sizes.lock().unwrap(), [1, 1, 1, 1]);
    }

    #[test]
    fn a_bulk_write_runs_without_a_savepoint_and_its_failure_rolls_back_its_batch() {
        type Tm = <DbConn as Connection>::TransactionManager;
        let (_dir, writer) = temp_writer();
        let rt = runtime();
        writer
            .write(|c| Ok(diesel::sql_query("CREATE TABLE t (n BIGINT)").execute(c)?))
            .unwrap();
        let depth = |c: &mut DbConn| {
            Tm::transaction_manager_status_mut(c)
                .transaction_depth()
                .unwrap()
                .map_or(0, |d| d.get())
        };
        // A job runs in a savepoint of the batch; a bulk write in the batch's transaction.
        assert_eq!(writer.write(move |c| Ok(depth(c))).unwrap(), 2);
        let insert = |c: &mut DbConn, n: i64| {
            diesel::sql_query(format!("INSERT INTO t VALUES ({n})")).execute(c)
        };
        let bulk = rt.block_on(writer.write_bulk_async(move |c| {
            insert(c, 1)?;
            Ok(depth(c))
        }));
        assert_eq!(bulk.unwrap(), 1);
        // A bulk write that fails after writing, and one that panics: nothing of either stays.
        let failed = rt.block_on(writer.write_bulk_async(move |c| {
            insert(c, 2)?;
            Err::<(), _>(Error::Conflict("on purpose".into()))
        }));
        assert!(matches!(failed, Err(Error::Conflict(_))), "{failed:?}");
        let panicked = rt.block_on(writer.write_bulk_async(move |c| -> Result<()> {
            insert(c, 3)?;
            panic!("a bulk write fails on purpose")
        }));
        assert!(panicked.is_err());
        // The writer goes on: a job after them commits.
        writer.write(move |c| Ok(insert(c, 4)?)).unwrap();
        let kept = numbers_in_t(&writer);
        assert_eq!(kept, [1, 4]);
    }

    #[test]
    fn a_checkpoint_hand_off_from_before_a_bulk_write_is_ignored() {
        let (_dir, writer) = temp_writer();
        let rt = runtime();
        let job = |_: &mut DbConn| Ok(());
        // Past the writer's minimum gap, so a hand-off it accepts is acted on at once.
        std::thread::sleep(CHECKPOINT_AT_MOST + std::time::Duration::from_millis(50));
        // A round's quick pass began, then a push's slice committed: its pages are not copied.
        let mark = writer.checkpoint_mark();
        rt.block_on(writer.write_bulk_async(job)).unwrap();
        writer.checkpoint_caught_up(mark);
        // Callers hear back before the writer checkpoints: the second write starts after it.
        writer.write(job).unwrap();
        writer.write(job).unwrap();
        assert_eq!(writer.checkpoints_finished(), 0);
        // A round begun after the slice: the writer finishes the checkpoint after its next batch.
        writer.checkpoint_caught_up(writer.checkpoint_mark());
        writer.write(job).unwrap();
        writer.write(job).unwrap();
        assert_eq!(writer.checkpoints_finished(), 1);
    }

    #[test]
    fn the_writers_clock_waits_for_a_round_to_see_a_pushs_slice() {
        let (_dir, writer) = temp_writer();
        let rt = runtime();
        let job = |_: &mut DbConn| Ok(());
        rt.block_on(writer.write_bulk_async(job)).unwrap();
        // Past the clock, but no pass has begun since the slice: no checkpoint.
        std::thread::sleep(CHECKPOINT_AT_LATEST + std::time::Duration::from_millis(50));
        writer.write(job).unwrap();
        writer.write(job).unwrap();
        assert_eq!(writer.checkpoints_finished(), 0);
        // A pass began after it (and did not catch up): the clock applies again.
        writer.checkpoint_mark();
        writer.write(job).unwrap();
        writer.write(job).unwrap();
        assert_eq!(writer.checkpoints_finished(), 1);
    }

    #[test]
    fn a_set_that_fails_to_write_rolls_back_and_runs_again_alone() {
        let (_dir, writer) = temp_writer();
        writer
            .write(|c| Ok(diesel::sql_query("CREATE TABLE t (note TEXT)").execute(c)?))
            .unwrap();
        let insert = |c: &mut DbConn, note: &str| {
            diesel::sql_query(format!("INSERT INTO t VALUES ('{note}')"))
                .execute(c)
                .map(|_| ())
        };
        // Together, the set writes a row and then fails; alone, each item writes its own.
        writer.set_set_runner(Box::new(move |c, items, together| {
            if together {
                insert(c, "together").unwrap();
                return SetRun::Failed(items);
            }
            let finished = items
                .into_iter()
                .map(|item| {
                    let (n, reply) = *item
                        .downcast::<(i64, mpsc::SyncSender<Result<()>>)>()
                        .unwrap();
                    let outcome = insert(c, &format!("alone {n}")).map_err(Error::from);
                    finish_with(outcome, move |r| {
                        let _ = reply.send(r);
                    })
                })
                .collect();
            SetRun::Done(finished, Vec::new())
        }));
        // Hold the writer so that the items and a job share the next batch.
        let held = writer.clone();
        let hold = std::thread::spawn(move || {
            held.write(|_| {
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok(())
            })
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        let answers: Vec<_> = (0..3i64)
            .map(|n| {
                let (reply, answer) = mpsc::sync_channel::<Result<()>>(1);
                writer.queue_item(Box::new((n, reply))).unwrap();
                answer
            })
            .collect();
        let job = {
            let w = writer.clone();
            std::thread::spawn(move || w.write(move |c| Ok(insert(c, "job")?)))
        };
        hold.join().unwrap().unwrap();
        job.join().unwrap().unwrap();
        for answer in answers {
            answer.recv().unwrap().unwrap();
        }
        let notes: Vec<String> = writer
            .write(|c| {
                #[derive(diesel::QueryableByName)]
                struct Note {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    note: String,
                }
                let rows: Vec<Note> =
                    diesel::sql_query("SELECT note FROM t ORDER BY note").load(c)?;
                Ok(rows.into_iter().map(|r| r.note).collect())
            })
            .unwrap();
        assert_eq!(
            notes,
            ["alone 0", "alone 1", "alone 2", "job"],
            "the failed set left nothing; the job ran once"
        );
    }

    #[test]
    fn the_epilogue_runs_after_jobs_and_items_alone_not_after_a_set_alone() {
        use std::sync::atomic::AtomicUsize;
        let (_dir, writer) = temp_writer();
        let ends = Arc::new(AtomicUsize::new(0));
        let counted = ends.clone();
        writer.set_epilogue(Box::new(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
        // An item `true` is placed by the set; `false` is left to run alone.
        writer.set_set_runner(Box::new(|_, items, together| {
            let (mut finished, mut alone): (Vec<Finish>, Vec<SetItem>) = (Vec::new(), Vec::new());
            for item in items {
                let (placed, reply) = *item.downcast::<(bool, mpsc::SyncSender<()>)>().unwrap();
                if placed || !together {
                    finished.push(Box::new(move |_| {
                        let _ = reply.send(());
                    }));
                } else {
                    alone.push(Box::new((placed, reply)));
                }
            }
            SetRun::Done(finished, alone)
        }));
        let item = |placed: bool| {
            let (reply, answer) = mpsc::sync_channel::<()>(1);
            writer.queue_item(Box::new((placed, reply))).unwrap();
            answer.recv().unwrap();
            ends.swap(0, Ordering::SeqCst)
        };
        assert_eq!(
            item(true),
            0,
            "a batch of only a set's items has nothing to settle"
        );
        assert_eq!(
            item(false),
            1,
            "an item left to run alone may leave something"
        );
        writer.write(|_| Ok(())).unwrap();
        assert_eq!(ends.swap(0, Ordering::SeqCst), 1, "so may a job");
    }
}
