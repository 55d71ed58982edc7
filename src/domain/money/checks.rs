//! Do the books balance? Recomputes, from one consistent snapshot, every currency's total of
//! ledger entries (zero), every transaction's sum (zero) and every reseller's cached balance
//! against the sum of its entries. The hash chain itself is checked by `chain::verify`.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{ledger_entries, resellers};
use crate::db::DbConn;
use crate::domain::money::ledger::{reseller_account, LedgerAccount};
use crate::error::Result;

/// A reseller whose cached balance differs from its ledger.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct BalanceMismatch {
    pub account: String,
    /// The balance the account shows (`resellers.balance`).
    pub balance: i64,
    /// The sum of the account's ledger entries.
    pub ledger: i64,
}

/// An order whose row no longer matches its ledger transaction or its signed receipt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OrderMismatch {
    pub order_id: String,
    /// What differs, in words.
    pub problem: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct LedgerCheck {
    /// True when every total is zero, every transaction sums to zero, no balance differs and
    /// every order matches its ledger transaction and receipt.
    pub balanced: bool,
    /// Reseller balances compared with their ledger.
    pub accounts_checked: usize,
    pub entries_checked: usize,
    pub mismatches: Vec<BalanceMismatch>,
    /// Sequence numbers of transactions whose entries do not sum to zero (at most 100).
    pub unbalanced_transactions: Vec<i64>,
    /// Sum of all entries per currency; each is zero when the books balance.
    pub totals: BTreeMap<String, i64>,
    /// Orders compared with their ledger transaction and receipt (`trade::orders::integrity`).
    pub orders_checked: usize,
    /// Orders that differ from them, first 100 by id.
    pub order_mismatches: Vec<OrderMismatch>,
}

impl LedgerCheck {
    /// Adds the orders' check to this one; the books no longer balance if any order differs.
    pub fn with_orders(mut self, checked: usize, mismatches: Vec<OrderMismatch>) -> Self {
        self.balanced &= mismatches.is_empty();
        self.orders_checked = checked;
        self.order_mismatches = mismatches;
        self
    }
}

const PAGE: i64 = 10_000;
const MAX_LISTED: usize = 100;

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v > 0 { i64::MAX } else { i64::MIN })
}

pub fn check(conn: &mut DbConn) -> Result<LedgerCheck> {
    conn.transaction(|conn| {
        // One snapshot for every read below, so a concurrent order cannot look like a mismatch.
        if matches!(conn, DbConn::Pg(_)) {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        // Sums in i128: a corrupted or hostile ledger must be reported, not overflow.
        let mut per_account: HashMap<LedgerAccount, i128> = HashMap::new();
        // Only transactions whose running sum is not zero are kept, so this stays small.
        let mut open_txns: HashMap<i64, i128> = HashMap::new();
        let mut totals: BTreeMap<String, i128> = BTreeMap::new();
        let mut entries_checked = 0;
        let mut after = i64::MIN;
        loop {
            let page: Vec<(i64, i64, String, i64, String)> = ledger_entries::table
                .filter(ledger_entries::id.gt(after))
                .order(ledger_entries::id.asc())
                .limit(PAGE)
                .select((
                    ledger_entries::id,
                    ledger_entries::txn_seq,
                    ledger_entries::account,
                    ledger_entries::amount,
                    ledger_entries::currency,
                ))
                .load(conn)?;
            let Some(last) = page.last() else { break };
            after = last.0;
            entries_checked += page.len();
            for (_, seq, account, amount, currency) in page {
                let amount = i128::from(amount);
                *totals.entry(currency).or_default() += amount;
                let open = open_txns.entry(seq).or_default();
                *open += amount;
                if *open == 0 {
                    open_txns.remove(&seq);
                }
                // Parsed from the text, not loaded as `LedgerAccount`: an account no code
                // writes (a tampered row) must not fail the whole check.
                if let Some(account @ LedgerAccount::Reseller(_)) = LedgerAccount::parse(&account) {
                    *per_account.entry(account).or_default() += amount;
                }
            }
        }
        let balances: Vec<(String, i64)> = resellers::table
            .select((resellers::id, resellers::balance))
            .order(resellers::id.asc())
            .load(conn)?;
        let accounts_checked = balances.len();
        let mut mismatches = Vec::new();
        for (id, balance) in balances {
            let account = reseller_account(&id);
            let ledger = per_account.remove(&account).unwrap_or(0);
            if ledger != i128::from(balance) {
                mismatches.push(BalanceMismatch {
                    account: account.to_string(),
                    balance,
                    ledger: saturate(ledger),
                });
            }
        }
        // Entries for resellers that do not exist.
        for (account, ledger) in per_account {
            if ledger != 0 {
                mismatches.push(BalanceMismatch {
                    account: account.to_string(),
                    balance: 0,
                    ledger: saturate(ledger),
                });
            }
        }
        mismatches.truncate(MAX_LISTED);
        let mut unbalanced_transactions: Vec<i64> = open_txns.into_keys().collect();
        unbalanced_transactions.sort_unstable();
        unbalanced_transactions.truncate(MAX_LISTED);
        let balanced = mismatches.is_empty()
            && unbalanced_transactions.is_empty()
            && totals.values().all(|t| *t == 0);
        let totals = totals.into_iter().map(|(c, t)| (c, saturate(t))).collect();
        Ok(LedgerCheck {
            balanced,
            accounts_checked,
            entries_checked,
            mismatches,
            unbalanced_transactions,
            totals,
            orders_checked: 0,
            order_mismatches: Vec::new(),
        })
    })
}
