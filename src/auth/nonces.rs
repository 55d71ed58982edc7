//! Replay protection: a nonce may be used once per key within the signature window. Nonces live
//! in the database so every instance sharing it refuses a replay seen by another.

use diesel::prelude::*;

use crate::db::schema::request_nonces;
use crate::db::{Db, DbConn};
use crate::error::{is_unique_violation, Error, Result};

#[derive(Debug, Default)]
pub struct NonceStore;

impl NonceStore {
    /// Records a nonce; `Err(Replayed)` if this key already used it.
    pub fn record(&self, db: &Db, key_id: &str, nonce: &str, expires_at_ms: i64) -> Result<()> {
        let res = db.write(|conn| {
            diesel::insert_into(request_nonces::table)
                .values((
                    request_nonces::key_id.eq(key_id),
                    request_nonces::nonce.eq(nonce),
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
        });
        res.map(|_| ())
    }

    /// Deletes nonces whose window has passed (run periodically).
    pub fn purge_expired(conn: &mut DbConn, now_ms: i64) -> Result<usize> {
        Ok(
            diesel::delete(request_nonces::table.filter(request_nonces::expires_at.lt(now_ms)))
                .execute(conn)?,
        )
    }
}
