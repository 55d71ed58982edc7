//! PostgreSQL: one statement for many callers. A gatherer is a thread with a connection of its
//! own; callers queue a question and wait, and the thread answers everything queued while its
//! last statement ran with one statement (at most `max` questions). Under load that is one
//! round trip and one transaction for a dozen requests' nonces instead of one each; a lone
//! question goes at once, so an idle service answers as fast as before.
//!
//! The statement runs outside any explicit transaction (autocommit): a gatherer serves
//! single-statement work only, whose callers each get their own answer.

use std::sync::{mpsc, OnceLock};
use std::time::Instant;

use diesel::connection::SimpleConnection;

use super::{sets, Db, DbConn, Manager, FRESH_FOR};
use crate::error::{Error, Result};

/// How long a batch of more than one question waits for more.
const LINGER: std::time::Duration = std::time::Duration::from_micros(300);

/// Answers a batch of questions with one statement, one answer per question in order.
pub type Answer<Q, A> = fn(&mut DbConn, &[Q]) -> Result<Vec<A>>;

type Asked<Q, A> = (Q, mpsc::SyncSender<Result<A>>);

pub struct Gatherer<Q, A> {
    tx: mpsc::Sender<Asked<Q, A>>,
}

impl<Q: Send + 'static, A: Send + 'static> Gatherer<Q, A> {
    /// Starts the thread `name`; its connection opens on the first question and runs `setup`
    /// (session settings, or nothing when empty) each time it opens.
    pub fn start(
        name: &str,
        manager: Manager,
        setup: &'static str,
        max: usize,
        answer: Answer<Q, A>,
    ) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Asked<Q, A>>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || work(&manager, setup, max, answer, &rx))
            .map_err(Error::internal)?;
        Ok(Gatherer { tx })
    }

    /// Asks and waits for the answer (blocking; call from a blocking thread).
    pub fn ask(&self, question: Q) -> Result<A> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx.send((question, reply)).map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

/// A [`Gatherer`] started on its first question, on the database that question is for.
pub struct LazyGatherer<Q, A> {
    name: &'static str,
    setup: &'static str,
    max: usize,
    answer: Answer<Q, A>,
    started: OnceLock<Gatherer<Q, A>>,
}

impl<Q: Send + 'static, A: Send + 'static> LazyGatherer<Q, A> {
    /// See [`Gatherer::start`] for the arguments.
    pub fn new(name: &'static str, setup: &'static str, max: usize, answer: Answer<Q, A>) -> Self {
        LazyGatherer {
            name,
            setup,
            max,
            answer,
            started: OnceLock::new(),
        }
    }

    /// Asks (starting the thread first if need be) and waits for the answer (blocking).
    pub fn ask(&self, db: &Db, question: Q) -> Result<A> {
        let gatherer = match self.started.get() {
            Some(g) => g,
            None => {
                let g = Gatherer::start(
                    self.name,
                    db.manager.clone(),
                    self.setup,
                    self.max,
                    self.answer,
                )?;
                // Two first questions at once: the loser's thread ends with its dropped queue.
                self.started.get_or_init(|| g)
            }
        };
        gatherer.ask(question)
    }
}

fn stopped() -> Error {
    Error::Unavailable("the database connection is unavailable".into())
}

fn work<Q, A>(
    manager: &Manager,
    setup: &str,
    max: usize,
    answer: Answer<Q, A>,
    rx: &mpsc::Receiver<Asked<Q, A>>,
) {
    let mut conn: Option<DbConn> = None;
    let mut used_at = Instant::now();
    while let Ok(first) = rx.recv() {
        // As order sets do: one statement costs the database about as much for one row as for
        // a dozen, so a batch under load waits a moment for more.
        let asked = sets::take_queued(rx, first, max, max, LINGER);
        // Tested after an idle second, as the pool tests its connections (`FRESH_FOR`): one a
        // restart killed while idle is replaced before it fails a batch.
        let idle = used_at.elapsed() >= FRESH_FOR;
        used_at = Instant::now();
        let kept = match conn.take() {
            Some(mut c) => (!idle || sets::usable(&mut c)).then_some(c),
            None => None,
        };
        // Dropping the questions unanswered tells their callers the database is unavailable.
        let Some(mut c) = kept.or_else(|| open(manager, setup)) else {
            continue;
        };
        let (questions, replies): (Vec<Q>, Vec<_>) = asked.into_iter().unzip();
        match answer(&mut c, &questions) {
            Ok(answers) if answers.len() == replies.len() => {
                for (reply, a) in replies.into_iter().zip(answers) {
                    let _ = reply.send(Ok(a));
                }
                conn = Some(c);
            }
            outcome => {
                if let Err(e) = &outcome {
                    tracing::warn!(error = %e, questions = replies.len(), "a gathered statement failed");
                }
                for reply in replies {
                    let _ = reply.send(Err(Error::Unavailable(
                        "the database did not answer; retry".into(),
                    )));
                }
                // A connection the server dropped would fail every batch from now on.
                conn = sets::usable(&mut c).then_some(c);
            }
        }
    }
}

fn open(manager: &Manager, setup: &str) -> Option<DbConn> {
    let mut c = sets::connect(manager)?;
    if setup.is_empty() {
        return Some(c);
    }
    match c.batch_execute(setup) {
        Ok(()) => Some(c),
        Err(e) => {
            tracing::error!(error = %e, "a gatherer could not set up its connection");
            None
        }
    }
}
