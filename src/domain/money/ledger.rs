//! Double-entry ledger. Every money movement is one chained record whose entries sum to zero,
//! each booked to a [`LedgerAccount`].

use std::borrow::Cow;
use std::fmt;

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::stmt::stmt;
use crate::db::text::{text_sql, StoredText};
use crate::db::DbConn;
use crate::domain::money::chain::{self, Entry, NewRecord};
use crate::error::{Error, Result};

/// Where a ledger line books money, stored in `ledger_entries.account` as `reseller:<id>`,
/// `supplier:<id>`, `platform:revenue`, `platform:funding` or `platform:payouts`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum LedgerAccount {
    /// A reseller's prepaid balance (cached in `resellers.balance`).
    Reseller(String),
    /// What the platform owes the supplier.
    Supplier(String),
    /// The platform's margin.
    PlatformRevenue,
    /// Money received from outside when an admin credits a balance or a deposit is paid.
    PlatformFunding,
    /// Money paid out to suppliers (the other side of each payout).
    PlatformPayouts,
}

const RESELLER: &str = "reseller:";
const SUPPLIER: &str = "supplier:";
/// The stored text of [`LedgerAccount::PlatformRevenue`], for queries on the raw column (see
/// [`account_sum`]).
pub const PLATFORM_REVENUE: &str = "platform:revenue";
const PLATFORM_FUNDING: &str = "platform:funding";
const PLATFORM_PAYOUTS: &str = "platform:payouts";

pub fn reseller_account(id: &str) -> LedgerAccount {
    LedgerAccount::Reseller(id.to_string())
}

pub fn supplier_account(id: &str) -> LedgerAccount {
    LedgerAccount::Supplier(id.to_string())
}

impl LedgerAccount {
    /// The account stored as `text`. Whatever follows a party's prefix is its id (even
    /// nothing), so every row a party prefix starts reads back as that party's account.
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(id) = text.strip_prefix(RESELLER) {
            return Some(LedgerAccount::Reseller(id.to_string()));
        }
        if let Some(id) = text.strip_prefix(SUPPLIER) {
            return Some(LedgerAccount::Supplier(id.to_string()));
        }
        match text {
            PLATFORM_REVENUE => Some(LedgerAccount::PlatformRevenue),
            PLATFORM_FUNDING => Some(LedgerAccount::PlatformFunding),
            PLATFORM_PAYOUTS => Some(LedgerAccount::PlatformPayouts),
            _ => None,
        }
    }

    /// The reseller whose balance this account is.
    pub fn reseller_id(&self) -> Option<&str> {
        match self {
            LedgerAccount::Reseller(id) => Some(id),
            _ => None,
        }
    }
}

impl StoredText for LedgerAccount {
    fn text(&self) -> Cow<'_, str> {
        match self {
            LedgerAccount::Reseller(_) | LedgerAccount::Supplier(_) => Cow::Owned(self.to_string()),
            LedgerAccount::PlatformRevenue => Cow::Borrowed(PLATFORM_REVENUE),
            LedgerAccount::PlatformFunding => Cow::Borrowed(PLATFORM_FUNDING),
            LedgerAccount::PlatformPayouts => Cow::Borrowed(PLATFORM_PAYOUTS),
        }
    }

    fn parse_text(text: &str) -> Option<Self> {
        Self::parse(text)
    }
}

text_sql!(LedgerAccount);

impl fmt::Display for LedgerAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerAccount::Reseller(id) => write!(f, "{RESELLER}{id}"),
            LedgerAccount::Supplier(id) => write!(f, "{SUPPLIER}{id}"),
            LedgerAccount::PlatformRevenue => f.write_str(PLATFORM_REVENUE),
            LedgerAccount::PlatformFunding => f.write_str(PLATFORM_FUNDING),
            LedgerAccount::PlatformPayouts => f.write_str(PLATFORM_PAYOUTS),
        }
    }
}

/// One posting of a transaction before it is written.
#[derive(Debug, Clone)]
pub struct Posting {
    pub account: LedgerAccount,
    pub amount: i64,
}

impl Posting {
    pub fn new(account: LedgerAccount, amount: i64) -> Self {
        Posting { account, amount }
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
    let entries = lines(&txn, |id, delta| apply_reseller_delta(conn, id, delta))?;
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

/// A balanced transaction's lines (zero amounts left out), each reseller line with the balance
/// `apply(reseller_id, delta)` leaves it at; `apply` moves that balance or refuses the move
/// (a balance going below zero: `InsufficientBalance`). A SQLite batch applies the moves in
/// memory and writes each balance once (`trade::orders::batch`); [`post`], in the database.
pub fn lines(txn: &Txn<'_>, mut apply: impl FnMut(&str, i64) -> Result<i64>) -> Result<Vec<Entry>> {
    let sum: i64 = txn.postings.iter().map(|p| p.amount).sum();
    if sum != 0 {
        return Err(Error::internal(format!(
            "unbalanced ledger transaction {}: {sum}",
            txn.action
        )));
    }
    let mut entries = Vec::with_capacity(txn.postings.len());
    for p in txn.postings.iter().filter(|p| p.amount != 0) {
        let balance_after = match p.account.reseller_id() {
            Some(id) => Some(apply(id, p.amount)?),
            None => None,
        };
        entries.push(Entry {
            account: p.account.to_string(),
            amount: p.amount,
            balance_after,
        });
    }
    Ok(entries)
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
    .one(conn)
    .optional()?
    .ok_or(Error::InsufficientBalance)
}

/// Sum of the entries of the account stored as `account` (used by consistency checks).
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
    let lines: Vec<(LedgerAccount, i64, String)> = ledger_entries::table
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

/// The purchase a refund of some of its units reverses.
pub struct Purchase<'a> {
    /// Its ledger transaction.
    pub seq: i64,
    /// Units it bought.
    pub quantity: i64,
    /// The order the refund is about (the new transaction's subject).
    pub subject: &'a str,
    pub currency: &'a str,
}

/// Refunds `units` of a purchase (tickets, expired or revoked gift links). All of them, when
/// nothing was refunded before: the purchase is reversed outright ([`reverse`]). Fewer: each
/// line of the purchase scaled by units/quantity (reseller credited unit price × units,
/// supplier payable charged cost × units, margin reversed); any rounding remainder lands on
/// platform revenue. Returns the new transaction's sequence.
pub fn refund_units(
    conn: &mut DbConn,
    purchase: Purchase<'_>,
    units: i64,
    action: &str,
    actor: &str,
    detail: serde_json::Value,
) -> Result<i64> {
    use crate::db::schema::ledger_entries;
    if units == purchase.quantity {
        return reverse(conn, purchase.seq, action, actor, purchase.subject, detail);
    }
    let lines: Vec<(LedgerAccount, i64)> = ledger_entries::table
        .filter(ledger_entries::txn_seq.eq(purchase.seq))
        .order(ledger_entries::id.asc())
        .select((ledger_entries::account, ledger_entries::amount))
        .load(conn)?;
    let scale = |amount: i64| {
        (i128::from(amount) * i128::from(units) / i128::from(purchase.quantity.max(1))) as i64
    };
    let mut postings: Vec<Posting> = lines
        .into_iter()
        .map(|(account, amount)| Posting::new(account, -scale(amount)))
        .collect();
    let residual: i64 = postings.iter().map(|p| p.amount).sum();
    if residual != 0 {
        match postings
            .iter_mut()
            .find(|p| p.account == LedgerAccount::PlatformRevenue)
        {
            Some(p) => p.amount -= residual,
            None => postings.push(Posting::new(LedgerAccount::PlatformRevenue, -residual)),
        }
    }
    post(
        conn,
        Txn {
            action,
            actor,
            subject: purchase.subject,
            currency: purchase.currency,
            detail,
            postings,
        },
    )
}
