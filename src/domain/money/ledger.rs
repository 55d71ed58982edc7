//! Double-entry ledger. Every money movement is one chained record whose entries sum to zero.
//! Accounts: `reseller:<id>` (prepaid balance, cached in `resellers.balance`),
//! `supplier:<id>` (what the platform owes the supplier), `platform:revenue` (margin),
//! `platform:funding` (money received from outside when an admin credits a balance).

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::stmt::stmt;
use crate::db::DbConn;
use crate::domain::money::chain::{self, Entry, NewRecord};
use crate::error::{Error, Result};

pub const PLATFORM_REVENUE: &str = "platform:revenue";
pub const PLATFORM_FUNDING: &str = "platform:funding";

pub fn reseller_account(id: &str) -> String {
    format!("reseller:{id}")
}

pub fn supplier_account(id: &str) -> String {
    format!("supplier:{id}")
}

/// One posting of a transaction before it is written.
#[derive(Debug, Clone)]
pub struct Posting {
    pub account: String,
    pub amount: i64,
}

impl Posting {
    pub fn new(account: impl Into<String>, amount: i64) -> Self {
        Posting {
            account: account.into(),
            amount,
        }
    }
}

pub struct Txn<'a> {
    pub action: &'a str,
    pub actor: &'a str,
    pub subject: &'a str,
    pub currency: &'a str,
    pub detail: serde_json::Value,
    pub postings: Vec<Posting>,
}

/// Writes a balanced transaction: applies reseller balance changes (refusing to take any below
/// zero, with `InsufficientBalance`), then appends the chained record with its entries.
/// Must run inside the caller's database transaction.
pub fn post(conn: &mut DbConn, txn: Txn<'_>) -> Result<i64> {
    let sum: i64 = txn.postings.iter().map(|p| p.amount).sum();
    if sum != 0 {
        return Err(Error::internal(format!(
            "unbalanced ledger transaction {}: {sum}",
            txn.action
        )));
    }
    let mut entries = Vec::with_capacity(txn.postings.len());
    for p in txn.postings.iter().filter(|p| p.amount != 0) {
        let balance_after = match p.account.strip_prefix("reseller:") {
            Some(id) => Some(apply_reseller_delta(conn, id, p.amount)?),
            None => None,
        };
        entries.push(Entry {
            account: p.account.clone(),
            amount: p.amount,
            balance_after,
        });
    }
    chain::append(
        conn,
        NewRecord {
            kind: "ledger",
            actor: txn.actor,
            action: txn.action,
            subject: txn.subject,
            detail: txn.detail,
        },
        txn.currency,
        &entries,
    )
}

/// `balance += delta` guarded in SQL so that concurrent writers cannot go below zero; returns
/// the new balance (one kept-prepared statement, see `db::stmt`).
fn apply_reseller_delta(conn: &mut DbConn, reseller_id: &str, delta: i64) -> Result<i64> {
    stmt(
        "UPDATE resellers SET balance = balance + ? WHERE id = ? AND balance + ? >= 0 \
         RETURNING balance",
        [delta.into(), reseller_id.into(), delta.into()],
    )
    .returning::<BigInt>()
    .get_result(conn)
    .optional()?
    .ok_or(Error::InsufficientBalance)
}

/// Sum of an account's entries (used by consistency checks).
pub fn account_sum(conn: &mut DbConn, account: &str) -> Result<i64> {
    use crate::db::schema::ledger_entries;
    let amounts: Vec<i64> = ledger_entries::table
        .filter(ledger_entries::account.eq(account))
        .select(ledger_entries::amount)
        .load(conn)?;
    Ok(amounts.iter().sum())
}

/// Reverses a posted transaction (refunds, failed top-ups): posts the negation of each of its
/// entries as a new chained transaction. Returns the new record's sequence number.
pub fn reverse(
    conn: &mut DbConn,
    original_seq: i64,
    action: &str,
    actor: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<i64> {
    use crate::db::schema::ledger_entries;
    let lines: Vec<(String, i64, String)> = ledger_entries::table
        .filter(ledger_entries::txn_seq.eq(original_seq))
        .order(ledger_entries::id.asc())
        .select((
            ledger_entries::account,
            ledger_entries::amount,
            ledger_entries::currency,
        ))
        .load(conn)?;
    let currency = lines
        .first()
        .map(|l| l.2.clone())
        .ok_or_else(|| Error::internal("nothing to reverse"))?;
    let mut postings: Vec<Posting> = lines
        .into_iter()
        .map(|(account, amount, _)| Posting::new(account, -amount))
        .collect();
    // A parent may have spent the commission being taken back (see `network`).
    super::clawback::limit_clawbacks(conn, &mut postings)?;
    post(
        conn,
        Txn {
            action,
            actor,
            subject,
            currency: &currency,
            detail,
            postings,
        },
    )
}
