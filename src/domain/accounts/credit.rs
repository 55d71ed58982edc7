//! A reseller's prepaid balance: the admin's credits and corrections.

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
    let memo = memo
        .map(|m| validate::non_empty("memo", m, 500))
        .transpose()?;
    let res = ledger::post(
        conn,
        Txn {
            action: if amount > 0 {
                "balance.credit"
            } else {
                "balance.correction"
            },
            actor,
            subject: reseller_id,
            currency: &reseller.currency,
            detail: json!({ "memo": memo }),
            postings: vec![
                Posting::new(ledger::reseller_account(reseller_id), amount),
                Posting::new(LedgerAccount::PlatformFunding, -amount),
            ],
        },
    );
    res.map_err(|e| match e {
        Error::InsufficientBalance => {
            Error::invalid("amount", "a correction cannot take the balance below zero")
        }
        other => other,
    })?;
    Ok(get::<Reseller>(conn, reseller_id)?.balance)
}
