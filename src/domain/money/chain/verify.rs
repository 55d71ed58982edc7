//! Checking the chain from its start (see the parent module for what is detected).

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::seal::{entries_of, hash_of, head};
use super::{Record, MAX_SEAL_DELAY_MS};
use crate::db::schema::audit_chain;
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    /// Sealed records whose link and hash hold.
    pub checked: i64,
    /// Sequence number (`seq`) of the first record that does not hold: edited, unbalanced,
    /// out of place, following a deleted one, or left unsealed too long. For records cut off
    /// the end of the chain, the position the next one should have had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<i64>,
    /// That record's position in the chain (`pos`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// What is wrong with it, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl VerifyReport {
    fn broken(checked: i64, seq: Option<i64>, position: Option<i64>, problem: &str) -> Self {
        VerifyReport {
            ok: false,
            checked,
            first_broken: seq.or(position),
            position,
            problem: Some(problem.to_string()),
        }
    }
}

/// Recomputes every link from the start, in chain order and in pages, then looks for records
/// left unsealed longer than `MAX_SEAL_DELAY_MS`.
pub fn verify(conn: &mut DbConn) -> Result<VerifyReport> {
    const PAGE: i64 = 2000;
    let mut prev_hash = "0".repeat(64);
    let mut expected = 1;
    let mut checked = 0;
    loop {
        let page: Vec<Record> = audit_chain::table
            .filter(audit_chain::pos.ge(expected))
            .order(audit_chain::pos.asc())
            .limit(PAGE)
            .select(Record::as_select())
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        let mut entries = entries_of(conn, &page)?;
        for r in &page {
            let pos = r.pos.unwrap_or_default();
            let mine = entries.remove(&r.seq).unwrap_or_default();
            let expect = hash_of(&prev_hash, r.into(), &mine);
            let problem = if pos != expected {
                Some("the record before this one is missing")
            } else if r.prev_hash != prev_hash {
                Some("does not link to the record before it (deleted, inserted or reordered)")
            } else if r.hash != expect {
                Some("its fields or ledger lines were changed")
            } else if mine.iter().map(|e| e.1).sum::<i64>() != 0 {
                Some("its ledger lines do not sum to zero")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(r.seq),
                    Some(pos),
                    problem,
                ));
            }
            checked += 1;
            prev_hash = r.hash.clone();
            expected += 1;
        }
    }
    // The head must point at the last record, or records were cut off the end.
    let (head_pos, head_hash) = head(conn)?;
    if head_pos != checked || head_hash != prev_hash {
        return Ok(VerifyReport::broken(
            checked,
            None,
            Some(checked + 1),
            "the chain ends before its head: records were removed from its end",
        ));
    }
    let stale: Option<i64> = audit_chain::table
        .filter(audit_chain::pos.is_null())
        .filter(audit_chain::created_at.lt(crate::time::now_ms() - MAX_SEAL_DELAY_MS))
        .order(audit_chain::seq.asc())
        .select(audit_chain::seq)
        .first(conn)
        .optional()?;
    if let Some(seq) = stale {
        return Ok(VerifyReport::broken(
            checked,
            Some(seq),
            None,
            "not sealed in time: inserted behind kameng's back, or no sealer is running",
        ));
    }
    Ok(VerifyReport {
        ok: true,
        checked,
        first_broken: None,
        position: None,
        problem: None,
    })
}
