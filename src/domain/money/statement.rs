//! Statements: the movements of one ledger account — a reseller's balance or what a supplier is
//! owed — each with the action and the object (order, credit, refund, payout) it belongs to and
//! the running balance after it. Newest first for the paged JSON list; oldest first for the
//! CSV export, which walks a whole period in pages of [`EXPORT_PAGE`] lines so memory stays flat
//! however long the period is.
//!
//! A reseller's lines carry the balance stored when they were posted; a supplier account keeps
//! no balance row (every order would update it), so its running balance is the sum of its lines
//! up to the first one a page shows, then carried line by line (one indexed SUM per currency
//! per page, [`balance_through`]).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ledger::LedgerAccount;
use crate::db::schema::{audit_chain, ledger_entries};
use crate::db::stmt::stmt;
use crate::db::DbConn;
use crate::error::Result;
use crate::time::rfc3339;

/// Lines per database round trip of a CSV export.
pub const EXPORT_PAGE: i64 = 1_000;

/// One statement line: a movement of this account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    pub id: String,
    /// Signed amount: positive credits the account, negative debits it.
    pub amount: i64,
    pub currency: String,
    /// The account's balance in this currency after this line.
    pub balance_after: Option<i64>,
    /// What moved the money, e.g. `order.purchase`, `balance.credit`, `supplier.payout`.
    pub action: String,
    /// The order id or other object the movement belongs to.
    pub reference: String,
    pub created_at: String,
}

/// Lines dated in `[from, to)` (milliseconds; either end open).
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Which way a page goes from its cursor (a line id).
#[derive(Debug, Clone, Copy)]
pub enum Walk {
    /// Newest first, lines older than the cursor.
    Back(Option<i64>),
    /// Oldest first, lines newer than the cursor.
    Forward(Option<i64>),
}

/// Up to `limit` lines of `account` in `period` from the cursor, with their running balance.
/// For a paged list ask for `limit + 1` (the extra line says there is a next page).
pub fn lines(
    conn: &mut DbConn,
    account: &LedgerAccount,
    period: Period,
    walk: Walk,
    limit: i64,
    running: &mut Running,
) -> Result<Vec<StatementLine>> {
    let mut q = ledger_entries::table
        .inner_join(audit_chain::table)
        .filter(ledger_entries::account.eq(account))
        .select((
            ledger_entries::id,
            ledger_entries::amount,
            ledger_entries::currency,
            ledger_entries::balance_after,
            audit_chain::action,
            audit_chain::subject,
            ledger_entries::created_at,
        ))
        .limit(limit)
        .into_boxed();
    if let Some(from) = period.from {
        q = q.filter(ledger_entries::created_at.ge(from));
    }
    if let Some(to) = period.to {
        q = q.filter(ledger_entries::created_at.lt(to));
    }
    q = match walk {
        Walk::Back(before) => {
            let q = q.order(ledger_entries::id.desc());
            match before {
                Some(b) => q.filter(ledger_entries::id.lt(b)),
                None => q,
            }
        }
        Walk::Forward(after) => {
            let q = q.order(ledger_entries::id.asc());
            match after {
                Some(a) => q.filter(ledger_entries::id.gt(a)),
                None => q,
            }
        }
    };
    type Row = (i64, i64, String, Option<i64>, String, String, i64);
    let rows = q.load::<Row>(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, amount, currency, stored, action, reference, at) in rows {
        let balance_after = match stored {
            Some(b) => Some(b),
            None => Some(running.after(conn, account, &currency, id, amount, walk)?),
        };
        out.push(StatementLine {
            id: id.to_string(),
            amount,
            currency,
            balance_after,
            action,
            reference,
            created_at: rfc3339(at),
        });
    }
    Ok(out)
}

/// The running balance per currency of an account without stored balances, carried from one
/// line (and one page of an export) to the next.
#[derive(Debug, Default)]
pub struct Running {
    /// Newest first: the balance after the next line. Oldest first: after the last line.
    balances: HashMap<String, i64>,
}

impl Running {
    fn after(
        &mut self,
        conn: &mut DbConn,
        account: &LedgerAccount,
        currency: &str,
        id: i64,
        amount: i64,
        walk: Walk,
    ) -> Result<i64> {
        let after = match self.balances.get(currency) {
            None => balance_through(conn, account, currency, id)?,
            Some(&b) => match walk {
                Walk::Back(_) => b,
                Walk::Forward(_) => b.saturating_add(amount),
            },
        };
        let next = match walk {
            Walk::Back(_) => after.saturating_sub(amount),
            Walk::Forward(_) => after,
        };
        self.balances.insert(currency.to_string(), next);
        Ok(after)
    }
}

/// The sum of `account`'s lines in `currency` up to and including line `id` (all of them with
/// `i64::MAX`): one SUM over the `(account, id)` index.
pub fn balance_through(
    conn: &mut DbConn,
    account: &LedgerAccount,
    currency: &str,
    id: i64,
) -> Result<i64> {
    let account = account.to_string();
    Ok(stmt(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries \
         WHERE account = ? AND id <= ? AND currency = ?",
        [account.as_str().into(), id.into(), currency.into()],
    )
    .returning::<BigInt>()
    .one(conn)?)
}

/// The header of a statement's CSV export.
pub const CSV_HEADER: [&str; 7] = [
    "id",
    "created_at",
    "action",
    "reference",
    "amount",
    "currency",
    "balance_after",
];

/// Statement lines as CSV rows (RFC 4180 quoting by the `csv` crate), appended to `out`.
pub fn write_csv(out: &mut Vec<u8>, lines: &[StatementLine], header: bool) -> Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(out);
    let fail = |e: csv::Error| crate::error::Error::internal(format!("csv: {e}"));
    if header {
        w.write_record(CSV_HEADER).map_err(fail)?;
    }
    for l in lines {
        let amount = l.amount.to_string();
        let balance = l.balance_after.map(|b| b.to_string()).unwrap_or_default();
        w.write_record([
            l.id.as_str(),
            l.created_at.as_str(),
            l.action.as_str(),
            &neutralise_formula(&l.reference),
            &amount,
            l.currency.as_str(),
            &balance,
        ])
        .map_err(fail)?;
    }
    w.flush()
        .map_err(|e| crate::error::Error::internal(format!("csv: {e}")))?;
    Ok(())
}

/// Prefixes a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, …) with `'`
/// (OWASP's advice against CSV injection). References are object ids today; the one free-text
/// column is guarded so that a later free-text reference cannot turn a download into a payload.
fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}
