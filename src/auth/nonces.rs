//! Replay protection: a nonce may be used once per key within the signature window.
//!
//! PostgreSQL: nonces live in the database (a primary-key insert on any pooled connection, no
//! shared lock), so every instance sharing it refuses a replay another instance saw.
//! SQLite: the database belongs to one process, so nonces live in memory — a signed read then
//! costs no commit. A restart would forget them, so requests signed before this process
//! started are refused: nothing seen by an earlier process can be replayed to this one.
//!
//! A PostgreSQL order records its nonce in its own transaction instead (a [`NonceClaim`]): one
//! multi-row insert in an order set's transaction, not an autocommit per request.
//!
//! Either way this process remembers the nonces it accepted, and [`NonceStore::seen_here`]
//! refuses a replay of one before any database work: a flood of a captured request then costs
//! a hash lookup each, not a key load and a failing insert (measured in `tests/api/abuse.rs`).

use std::collections::HashMap;
use std::sync::Mutex;

use diesel::prelude::*;

use crate::db::schema::request_nonces;
use crate::db::{Backend, Db, DbConn, LazyGatherer};
use crate::domain::accounts::keys::nonces::insert_nonces;
pub use crate::domain::accounts::keys::nonces::NonceClaim;
use crate::error::{Error, Result};

const SHARDS: usize = 32;

/// A nonce as remembered: 128 bits of SHA-256 over (key id, nonce) and its expiry. Fixed size
/// and no allocation per entry — about 30 bytes instead of ~160 with the two strings — because
/// a busy key fills the window with hundreds of thousands of them.
type Shards = Vec<Mutex<HashMap<u128, i64>>>;

fn nonce_id(key_id: &str, nonce: &str) -> u128 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
    h.update((key_id.len() as u64).to_be_bytes());
    h.update(key_id.as_bytes());
    h.update(nonce.as_bytes());
    let digest = h.finalize();
    u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"))
}

fn new_shards() -> Shards {
    (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect()
}

/// A nonce to record: key id, nonce, expiry (ms).
type NewNonce = (String, String, i64);

pub enum NonceStore {
    /// The database decides; `seen` is this process's memory of what it accepted. Concurrent
    /// requests' nonces go in together (`inserts`, started on first use).
    Database {
        seen: Shards,
        inserts: LazyGatherer<NewNonce, bool>,
    },
    Memory {
        shards: Shards,
        started_at_secs: i64,
    },
}

impl NonceStore {
    pub fn for_backend(backend: Backend) -> NonceStore {
        match backend {
            Backend::Postgres => NonceStore::Database {
                seen: new_shards(),
                inserts: LazyGatherer::new(
                    "kameng-nonces",
                    NO_FLUSH_WAIT,
                    MAX_GATHERED,
                    insert_gathered,
                ),
            },
            Backend::Sqlite => NonceStore::Memory {
                shards: new_shards(),
                started_at_secs: crate::time::now_secs(),
            },
        }
    }

    fn local(&self) -> &Shards {
        match self {
            NonceStore::Database { seen, .. } => seen,
            NonceStore::Memory { shards, .. } => shards,
        }
    }

    /// Whether a handler may leave a verified request's nonce to its own transaction (see
    /// [`NonceClaim`]): on PostgreSQL. SQLite's nonces live in memory and cost no commit.
    pub fn defers(&self) -> bool {
        matches!(self, NonceStore::Database { .. })
    }

    /// After a handler that took a [`NonceClaim`]: a claim its transaction committed is
    /// remembered here; any other (its order failed, or never reached the database) is
    /// recorded now, and `Err(Replayed)` if the key already used it.
    pub fn settle(&self, db: &Db, claim: &NonceClaim) -> Result<()> {
        if claim.recorded() {
            self.remember(&claim.key_id, &claim.nonce, claim.expires_at_ms);
            return Ok(());
        }
        self.record(db, &claim.key_id, &claim.nonce, 0, claim.expires_at_ms)?;
        claim.mark_recorded();
        Ok(())
    }

    /// Remembers in this process a nonce the database holds (see [`NonceStore::seen_here`]).
    fn remember(&self, key_id: &str, nonce: &str, expires_at_ms: i64) {
        let id = nonce_id(key_id, nonce);
        let mut seen = self.local()[shard_of(id)]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        seen.insert(id, expires_at_ms);
    }

    /// True when this process already accepted `nonce` for `key_id` and its window has not
    /// passed: a replay, refused without touching the database. (Only ever a refusal: whether
    /// a nonce is new is still decided by [`NonceStore::record`].)
    pub fn seen_here(&self, key_id: &str, nonce: &str, now_ms: i64) -> bool {
        let id = nonce_id(key_id, nonce);
        let seen = self.local()[shard_of(id)]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        seen.get(&id).is_some_and(|expires| *expires >= now_ms)
    }

    /// Records a nonce; `Err(Replayed)` if this key already used it. `timestamp_secs` is the
    /// request's signed timestamp.
    pub fn record(
        &self,
        db: &Db,
        key_id: &str,
        nonce: &str,
        timestamp_secs: i64,
        expires_at_ms: i64,
    ) -> Result<()> {
        match self {
            NonceStore::Database { inserts, .. } => {
                let new = (key_id.to_string(), nonce.to_string(), expires_at_ms);
                let inserted = match inserts.ask(db, new) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(Error::Replayed),
                    Err(e) => Err(e),
                };
                if matches!(inserted, Ok(()) | Err(Error::Replayed)) {
                    self.remember(key_id, nonce, expires_at_ms);
                }
                inserted
            }
            NonceStore::Memory {
                shards,
                started_at_secs,
            } => {
                if timestamp_secs < *started_at_secs {
                    return Err(Error::Unauthorized(
                        "request signed before the server started; sign it again".into(),
                    ));
                }
                let id = nonce_id(key_id, nonce);
                let mut seen = shards[shard_of(id)]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                match seen.insert(id, expires_at_ms) {
                    Some(_) => Err(Error::Replayed),
                    None => Ok(()),
                }
            }
        }
    }

    /// Forgets nonces whose window has passed (run periodically).
    pub fn purge_expired(&self, db: &Db, now_ms: i64) -> Result<usize> {
        match self {
            NonceStore::Database { seen, .. } => {
                purge_shards(seen, now_ms);
                db.write(move |c| purge_table(c, now_ms))
            }
            NonceStore::Memory { shards, .. } => Ok(purge_shards(shards, now_ms)),
        }
    }
}

/// The nonce connection's commits do not wait for the WAL flush: a nonce lost in a crash
/// reopens at most the rest of its 300 s window, and not waiting keeps signed reads cheap.
const NO_FLUSH_WAIT: &str = "SET synchronous_commit TO OFF";
/// Most nonces one statement records.
const MAX_GATHERED: usize = 32;

/// The gatherer's answer: concurrent requests' nonces in one autocommit INSERT.
fn insert_gathered(conn: &mut DbConn, asked: &[NewNonce]) -> Result<Vec<bool>> {
    let rows: Vec<(&str, &str, i64)> = asked
        .iter()
        .map(|(k, n, e)| (k.as_str(), n.as_str(), *e))
        .collect();
    insert_nonces(conn, &rows)
}

fn purge_shards(shards: &Shards, now_ms: i64) -> usize {
    let mut n = 0;
    for shard in shards {
        let mut seen = shard.lock().unwrap_or_else(|p| p.into_inner());
        let before = seen.len();
        seen.retain(|_, exp| *exp >= now_ms);
        n += before - seen.len();
    }
    n
}

fn shard_of(id: u128) -> usize {
    (id % SHARDS as u128) as usize
}

fn purge_table(conn: &mut DbConn, now_ms: i64) -> Result<usize> {
    Ok(
        diesel::delete(request_nonces::table.filter(request_nonces::expires_at.lt(now_ms)))
            .execute(conn)?,
    )
}
