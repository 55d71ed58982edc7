//! PostgreSQL: orders placed in sets, a few at a time per instance. SQLite's writer runs a
//! group commit's set items first in its batch; here a few workers, each on a connection of its
//! own, take whatever items are queued when they come free (at most [`MAX_SET`]) and run them
//! as one set in one transaction (`writer::SetRunner`, `together`). One COMMIT — one WAL flush —
//! and one multi-row statement per table then serve the set instead of a dozen statements and
//! a commit per order; under light load a set is one order, with no waiting.
//!
//! Items the set leaves to run alone, and every item of a set whose writes failed (a deadlock
//! with another instance's set, a repeated `out_trade_no` another set committed first), run
//! after it, each in a transaction of its own (the runner with `together` false). Answers go
//! out once the set's COMMIT returned, as on SQLite.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use diesel::connection::SimpleConnection;
use diesel::connection::TransactionManager;
use diesel::Connection;

use super::writer::{BatchObserver, Finish, SetItem, SetRun, SetRunner};
use super::{DbConn, Manager};
use crate::error::{Error, Result};

/// Most orders in one set: bounds a set's transaction (and the row locks it holds).
const MAX_SET: usize = 64;
/// A set of fewer orders than this, but more than one, waits [`LINGER`] for more (PostgreSQL's
/// `commit_delay` idea): measured at 16 clients on 2 cores, +4 % orders/s with one instance at
/// 300 µs to 1 ms, and sets of 2 instances grew enough to match one instance.
const LINGER_BELOW: usize = 16;
const LINGER: std::time::Duration = std::time::Duration::from_micros(500);

/// The queue of set items and what runs them.
#[derive(Clone)]
pub struct SetWorkers {
    tx: mpsc::Sender<SetItem>,
    hooks: Arc<Hooks>,
}

/// What the workers run, each set once.
#[derive(Default)]
struct Hooks {
    runner: OnceLock<SetRunner>,
    /// Told the size of every set that committed (the batch-size metric, as on SQLite).
    observer: OnceLock<BatchObserver>,
}

impl SetWorkers {
    /// Starts `workers` threads; each opens its connection when its first set arrives.
    pub fn start(manager: Manager, workers: u32) -> Result<SetWorkers> {
        let (tx, rx) = mpsc::channel::<SetItem>();
        let rx = Arc::new(Mutex::new(rx));
        let hooks: Arc<Hooks> = Arc::default();
        for n in 0..workers {
            let (rx, hooks, manager) = (rx.clone(), hooks.clone(), manager.clone());
            std::thread::Builder::new()
                .name(format!("kameng-order-set-{n}"))
                .spawn(move || work(manager, &rx, &hooks))
                .map_err(Error::internal)?;
        }
        Ok(SetWorkers { tx, hooks })
    }

    pub fn has_runner(&self) -> bool {
        self.hooks.runner.get().is_some()
    }

    /// Sets what runs the items (once; later calls are ignored).
    pub fn set_runner(&self, f: SetRunner) {
        let _ = self.hooks.runner.set(f);
    }

    /// Sets what hears each committed set's size (once; later calls are ignored).
    pub fn set_observer(&self, f: BatchObserver) {
        let _ = self.hooks.observer.set(f);
    }

    pub fn queue(&self, item: SetItem) -> Result<()> {
        self.tx
            .send(item)
            .map_err(|_| Error::Unavailable("the order set workers stopped".into()))
    }
}

fn work(manager: Manager, rx: &Mutex<mpsc::Receiver<SetItem>>, hooks: &Hooks) {
    let mut conn: Option<DbConn> = None;
    loop {
        // Whoever holds the receiver takes the first item and everything queued behind it.
        let items = {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            let Ok(first) = rx.recv() else { return };
            take_queued(&rx, first, MAX_SET, LINGER_BELOW, LINGER)
        };
        // Items queued without a runner cannot be placed: dropping them tells their callers.
        let Some(run) = hooks.runner.get() else {
            continue;
        };
        let Some(c) = conn.take().or_else(|| connect(&manager)) else {
            continue;
        };
        conn = run_set(c, &manager, run, hooks.observer.get(), items).or_else(|| connect(&manager));
    }
}

/// `first` and everything queued behind it, at most `max`. Under load (more than one was
/// waiting, fewer than `linger_below`) it waits `linger` for more: on a busy machine a bigger
/// batch costs less per item than the wait. A lone item goes at once.
pub(super) fn take_queued<T>(
    rx: &mpsc::Receiver<T>,
    first: T,
    max: usize,
    linger_below: usize,
    linger: std::time::Duration,
) -> Vec<T> {
    let mut items = vec![first];
    let drain = |items: &mut Vec<T>| {
        while items.len() < max {
            match rx.try_recv() {
                Ok(item) => items.push(item),
                Err(_) => break,
            }
        }
    };
    drain(&mut items);
    if (2..linger_below).contains(&items.len()) {
        std::thread::sleep(linger);
        drain(&mut items);
    }
    items
}

/// Tries to connect for a while (a restarting server); `None` drops the set's items, whose
/// callers then hear the database is unavailable.
pub(super) fn connect(manager: &Manager) -> Option<DbConn> {
    for attempt in 0..CONNECT_ATTEMPTS {
        match manager.establish() {
            Ok(c) => return Some(c),
            Err(e) if attempt + 1 == CONNECT_ATTEMPTS => {
                tracing::error!(error = %e, "a worker thread cannot connect to the database");
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
    None
}

const CONNECT_ATTEMPTS: u32 = 20;

/// Whether a connection can run the next transaction: none left open or broken (a failed
/// rollback breaks diesel's transaction manager), and the server still answers.
pub(super) fn usable(conn: &mut DbConn) -> bool {
    type Tm = <DbConn as Connection>::TransactionManager;
    let idle = Tm::transaction_manager_status_mut(conn)
        .transaction_depth()
        .is_ok_and(|depth| depth.is_none());
    idle && conn.batch_execute("SELECT 1").is_ok()
}

/// Runs one set and then its left-over items; gives the connection back unless it broke (the
/// left-over items then run on a new one).
fn run_set(
    mut conn: DbConn,
    manager: &Manager,
    run: &SetRunner,
    observer: Option<&BatchObserver>,
    items: Vec<SetItem>,
) -> Option<DbConn> {
    let mut finished: Vec<Finish> = Vec::new();
    let mut alone: Vec<SetItem> = Vec::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        conn.transaction::<_, diesel::result::Error, _>(|c| match run(c, items, true) {
            SetRun::Done(f, left) => {
                (finished, alone) = (f, left);
                Ok(())
            }
            SetRun::Failed(back) => {
                alone = back;
                Err(diesel::result::Error::RollbackTransaction)
            }
        })
    }));
    let committed = matches!(outcome, Ok(Ok(())));
    if let (true, Some(observe)) = (committed, observer) {
        observe(finished.len());
    }
    if let Ok(Err(e)) = &outcome {
        if !matches!(e, diesel::result::Error::RollbackTransaction) {
            tracing::error!(error = %e, orders = finished.len(), "an order set's commit failed");
        }
    }
    for finish in finished {
        finish(committed);
    }
    // A panic left the transaction in an unknown state (and took its items' answers with it).
    let mut conn = outcome.is_ok().then_some(conn)?;
    // A set that did not commit may have lost its connection: the orders it leaves would
    // fail on it too.
    if !committed && !alone.is_empty() && !usable(&mut conn) {
        conn = connect(manager)?;
    }
    for item in alone {
        match catch_unwind(AssertUnwindSafe(|| run(&mut conn, vec![item], false))) {
            // Alone, each item ran and committed in its own transaction.
            Ok(SetRun::Done(finished, _)) => finished.into_iter().for_each(|f| f(true)),
            Ok(SetRun::Failed(_)) => tracing::error!("an order run alone came back as a set"),
            Err(_) => return None,
        }
    }
    // A connection the server dropped would fail every set from now on: after a set that did
    // not commit, test it, and open a new one if it is gone.
    (committed || usable(&mut conn)).then_some(conn)
}
