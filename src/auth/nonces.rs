//! Replay protection: a nonce may be used once per key within the signature window.
//!
//! PostgreSQL: nonces live in the database (a primary-key insert on any pooled connection, no
//! shared lock), so every instance sharing it refuses a replay another instance saw.
//! SQLite: the database belongs to one process, so nonces live in memory — a signed read then
//! costs no commit. A restart would forget them, so requests signed before this process
//! started are refused: nothing seen by an earlier process can be replayed to this one.
//!
//! Either way this process remembers the nonces it accepted, and [`NonceStore::seen_here`]
//! refuses a replay of one before any database work: a flood of a captured request then costs
//! a hash lookup each, not a key load and a failing insert (measured in `tests/api/abuse.rs`).

use std::collections::HashMap;
use std::sync::Mutex;

use diesel::prelude::*;

use crate::db::schema::request_nonces;
use crate::db::{Backend, Db, DbConn};
use crate::error::{is_unique_violation, Error, Result};

const SHARDS: usize = 32;

type Shards = Vec<Mutex<HashMap<(String, String), i64>>>;

fn new_shards() -> Shards {
    (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect()
}

pub enum NonceStore {
    /// The database decides; `seen` is this process's memory of what it accepted.
    Database { seen: Shards },
    Memory {
        shards: Shards,
        started_at_secs: i64,
    },
}

impl NonceStore {
    pub fn for_backend(backend: Backend) -> NonceStore {
        match backend {
            Backend::Postgres => NonceStore::Database { seen: new_shards() },
            Backend::Sqlite => NonceStore::Memory {
                shards: new_shards(),
                started_at_secs: crate::time::now_secs(),
            },
        }
    }

    fn local(&self) -> &Shards {
        match self {
            NonceStore::Database { seen } => seen,
            NonceStore::Memory { shards, .. } => shards,
        }
    }

    /// True when this process already accepted `nonce` for `key_id` and its window has not
    /// passed: a replay, refused without touching the database. (Only ever a refusal: whether
    /// a nonce is new is still decided by [`NonceStore::record`].)
    pub fn seen_here(&self, key_id: &str, nonce: &str, now_ms: i64) -> bool {
        let shard = &self.local()[shard_of(key_id, nonce)];
        let seen = shard.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&(key_id.to_string(), nonce.to_string()))
            .is_some_and(|expires| *expires >= now_ms)
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
            NonceStore::Database { seen } => {
                let (k, n) = (key_id.to_string(), nonce.to_string());
                let inserted = db
                    .write(move |conn| {
                        // A nonce lost in a crash reopens at most the rest of its 300 s window;
                        // not waiting for the WAL flush keeps signed reads cheap.
                        if let DbConn::Pg(c) = conn {
                            diesel::sql_query("SET LOCAL synchronous_commit TO OFF").execute(c)?;
                        }
                        diesel::insert_into(request_nonces::table)
                            .values((
                                request_nonces::key_id.eq(&k),
                                request_nonces::nonce.eq(&n),
                                request_nonces::expires_at.eq(expires_at_ms),
                            ))
                            .execute(conn)
                            .map_err(|e| {
                                if is_unique_violation(&e) {
                                    Error::Replayed
                                } else {
                                    e.into()
                                }
                            })
                    })
                    .map(|_| ());
                if matches!(inserted, Ok(()) | Err(Error::Replayed)) {
                    let shard = &seen[shard_of(key_id, nonce)];
                    let mut seen = shard.lock().unwrap_or_else(|p| p.into_inner());
                    seen.insert((key_id.to_string(), nonce.to_string()), expires_at_ms);
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
                let shard = &shards[shard_of(key_id, nonce)];
                let mut seen = shard.lock().unwrap_or_else(|p| p.into_inner());
                match seen.insert((key_id.to_string(), nonce.to_string()), expires_at_ms) {
                    Some(_) => Err(Error::Replayed),
                    None => Ok(()),
                }
            }
        }
    }

    /// Forgets nonces whose window has passed (run periodically).
    pub fn purge_expired(&self, db: &Db, now_ms: i64) -> Result<usize> {
        match self {
            NonceStore::Database { seen } => {
                purge_shards(seen, now_ms);
                db.write(move |c| purge_table(c, now_ms))
            }
            NonceStore::Memory { shards, .. } => Ok(purge_shards(shards, now_ms)),
        }
    }
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

fn shard_of(key_id: &str, nonce: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (key_id, nonce).hash(&mut h);
    (h.finish() as usize) % SHARDS
}

fn purge_table(conn: &mut DbConn, now_ms: i64) -> Result<usize> {
    Ok(
        diesel::delete(request_nonces::table.filter(request_nonces::expires_at.lt(now_ms)))
            .execute(conn)?,
    )
}
