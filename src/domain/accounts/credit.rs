//! A reseller's prepaid balance funded from outside: the admin's credits and corrections, and
//! paid deposits (`deposits`), through one posting path.

use serde_json::json;

use super::{get, Reseller};
use crate::db::DbConn;
use crate::domain::money::ledger::{self, LedgerAccount, Posting, Txn};
use crate::domain::validate;
use crate::error::{Error, Result};

/// The largest credit or correction, and the largest balance, in minor units (10^15: ten
/// trillion of a currency). Keeps every sum of balances and entries far from i64 overflow.
pub const MAX_CREDIT: i64 = 1_000_000_000_000_000;

/// Credits (or, with a negative amount, corrects) a reseller's prepaid balance.
pub fn credit(
    conn: &mut DbConn,
    actor: &str,
    reseller_id: &str,
    amount: i64,
    memo: Option<&str>,
) -> Result<i64> {
    let memo = memo
        .map(|m| validate::non_empty("memo", m, 500))
        .transpose()?;
    fund(
        conn,
        Funding {
            actor,
            reseller_id,
            amount,
            action: if amount > 0 {
                "balance.credit"
            } else {
                "balance.correction"
            },
            subject: reseller_id,
            detail: json!({ "memo": memo }),
        },
    )
    .map(|f| f.balance)
}

/// Money entering (or, negative, leaving) a reseller's balance from outside the platform.
pub struct Funding<'a> {
    pub actor: &'a str,
    pub reseller_id: &'a str,
    pub amount: i64,
    /// The chained action: `balance.credit`, `balance.correction`, `deposit.credit`.
    pub action: &'a str,
    /// The object the movement belongs to (the reseller, a deposit), shown on the statement.
    pub subject: &'a str,
    pub detail: serde_json::Value,
}

/// A posted funding: its chained transaction and the balance after it.
pub struct Funded {
    pub seq: i64,
    pub balance: i64,
}

/// Books `funding` as one ledger transaction (reseller balance against platform funding) in the
/// chain, within the balance bounds. Every way money enters a balance
/// from outside — an admin's credit, a deposit — goes through here.
pub fn fund(conn: &mut DbConn, funding: Funding<'_>) -> Result<Funded> {
    let Funding {
        actor,
        reseller_id,
        amount,
        action,
        subject,
        detail,
    } = funding;
    let reseller = get::<Reseller>(conn, reseller_id)?;
    if amount == 0 {
        return Err(Error::invalid("amount", "must not be zero"));
    }
    if amount.unsigned_abs() > MAX_CREDIT.unsigned_abs()
        || reseller.balance.saturating_add(amount) > MAX_CREDIT
    {
        return Err(Error::invalid(
            "amount",
            format!("must be within ±{MAX_CREDIT} and leave the balance at most {MAX_CREDIT}"),
        ));
    }
    let res = ledger::post(
        conn,
        Txn {
            action,
            actor,
            subject,
            currency: &reseller.currency,
            detail,
            postings: vec![
                Posting::new(ledger::reseller_account(reseller_id), amount),
                Posting::new(LedgerAccount::PlatformFunding, -amount),
            ],
        },
    );
    let seq = res.map_err(|e| match e {
        Error::InsufficientBalance => {
            Error::invalid("amount", "a correction cannot take the balance below zero")
        }
        other => other,
    })?;
    Ok(Funded {
        seq,
        balance: get::<Reseller>(conn, reseller_id)?.balance,
    })
}
