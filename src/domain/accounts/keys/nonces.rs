//! Request nonces as rows of `request_nonces`: the statement that records them, and the claim
//! an order's transaction takes to record its request's nonce with the order. Which nonces
//! are refused, and where SQLite keeps them instead, is `auth::nonces`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use diesel::sql_types::Text;

use crate::db::stmt::{rows_sql, stmt, Arg, Shape};
use crate::db::DbConn;
use crate::error::{Error, Result};

/// A verified request's nonce that its order's transaction records with the order (PostgreSQL;
/// `auth::signed::SignedDeferred` hands it over): with [`NEW_CLAIMS`], one write in an order set's
/// transaction. Whoever commits it marks it ([`NonceClaim::mark_recorded`]); the handler then
/// records a claim left unmarked on its own (`auth::nonces::NonceStore::settle`).
#[derive(Debug, Clone)]
pub struct NonceClaim {
    pub key_id: String,
    pub nonce: String,
    pub expires_at_ms: i64,
    recorded: Arc<AtomicBool>,
}

impl NonceClaim {
    pub fn new(key_id: &str, nonce: &str, expires_at_ms: i64) -> Self {
        NonceClaim {
            key_id: key_id.to_string(),
            nonce: nonce.to_string(),
            expires_at_ms,
            recorded: Arc::default(),
        }
    }

    /// Called once the transaction that inserted the claim committed.
    pub fn mark_recorded(&self) {
        self.recorded.store(true, Ordering::Release);
    }

    pub fn recorded(&self) -> bool {
        self.recorded.load(Ordering::Acquire)
    }
}

/// The rows of [`NEW_CLAIMS`] for claims recorded together (an order set's), or `None` when
/// one nonce is claimed twice among them (a replay within the set).
pub fn claim_rows<'a>(claims: &[&'a NonceClaim]) -> Option<Vec<[Arg<'a>; 3]>> {
    let mut seen = std::collections::HashSet::new();
    claims
        .iter()
        .map(|c| {
            seen.insert((&c.key_id, &c.nonce)).then(|| {
                [
                    c.key_id.as_str().into(),
                    c.nonce.as_str().into(),
                    c.expires_at_ms.into(),
                ]
            })
        })
        .collect()
}

/// Inserts claimed nonces ([`claim_rows`]); one the key used before is not inserted, nor
/// counted.
pub const NEW_CLAIMS: Shape = (
    "INSERT INTO request_nonces (key_id, nonce, expires_at) VALUES ",
    "(?, ?, ?)",
    " ON CONFLICT DO NOTHING",
);

/// Inserts one claim in the caller's transaction; `Err(Replayed)` if the key already used it.
pub fn insert_claim(conn: &mut DbConn, claim: &NonceClaim) -> Result<()> {
    let row = (
        claim.key_id.as_str(),
        claim.nonce.as_str(),
        claim.expires_at_ms,
    );
    match insert_nonces(conn, &[row])?.first() {
        Some(true) => Ok(()),
        _ => Err(Error::Replayed),
    }
}

/// Inserts nonces with one INSERT; true for each one that was new. A nonce given twice is new
/// only the first time.
pub fn insert_nonces(conn: &mut DbConn, asked: &[(&str, &str, i64)]) -> Result<Vec<bool>> {
    let mut first: HashMap<(&str, &str), usize> = HashMap::new();
    let mut rows: Vec<[Arg<'_>; 3]> = Vec::with_capacity(asked.len());
    for (i, (key, nonce, expires)) in asked.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(v) = first.entry((key, nonce)) {
            v.insert(i);
            rows.push([(*key).into(), (*nonce).into(), (*expires).into()]);
        }
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let sql = rows_sql(
        "INSERT INTO request_nonces (key_id, nonce, expires_at) VALUES ",
        "(?, ?, ?)",
        rows.len(),
        " ON CONFLICT DO NOTHING RETURNING key_id, nonce",
    );
    let added: Vec<(String, String)> = stmt(sql, rows.iter().flatten().copied())
        .returning::<(Text, Text)>()
        .rows(conn)?;
    let mut new = vec![false; asked.len()];
    for (key, nonce) in &added {
        if let Some(i) = first.get(&(key.as_str(), nonce.as_str())) {
            new[*i] = true;
        }
    }
    Ok(new)
}
