//! Reseller deposits: a reseller asks to fund its balance and gets a short reference to quote
//! with its payment; the deposit is then settled once, either by an admin who saw the bank
//! transfer arrive (`settle::confirm`) or by a payment provider's signed callback
//! (`settle::apply_callback`). Unpaid deposits expire (`expire_due`, swept every second).
//!
//! States ([`DepositStatus`]): `pending` → `credited` | `expired` | `review`; `review` →
//! `credited` (an admin decides). Every transition is a conditional UPDATE on the status, so
//! racing confirmations and repeated callbacks credit at most once.

mod settle;

pub use settle::{apply_callback, confirm, CallbackOutcome, PaymentCallback};

use diesel::prelude::*;
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{get, Reseller, MAX_CREDIT};
use crate::db::schema::deposits;
use crate::db::text::text_enum;
use crate::db::DbConn;
use crate::domain::validate;
use crate::error::{race_on_unique, Error, Result};
use crate::time::rfc3339;

/// The method of a deposit settled by an admin.
pub const BANK_TRANSFER: &str = "bank_transfer";

text_enum! {
    /// Where a deposit stands, stored in `deposits.status`.
    pub enum DepositStatus {
        /// Waiting for the payment.
        Pending = "pending",
        /// Paid and credited to the balance (exactly once).
        Credited = "credited",
        /// Not paid before `expires_at`; never credited.
        Expired = "expired",
        /// A payment arrived that does not match (amount, currency, provider): an admin
        /// decides; nothing credited until then.
        Review = "review",
    }
}

/// What the configuration allows (passed in by the handler).
#[derive(Debug, Clone)]
pub struct DepositRules {
    /// Largest deposit, minor units.
    pub max_amount: i64,
    /// How long a deposit waits for its payment, milliseconds.
    pub ttl_ms: i64,
    /// `bank_transfer` and the configured payment providers' names.
    pub methods: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeposit {
    /// Minor units, in the reseller's currency; more than zero, at most the configured maximum.
    #[schema(example = 100000)]
    pub amount: i64,
    /// `bank_transfer` (an admin confirms it) or a configured payment provider's name.
    #[schema(example = "bank_transfer")]
    pub method: String,
    /// Optional idempotency key (1..64 chars): the same key with the same amount and method
    /// returns the first deposit; with others, 409 `idempotency_conflict`.
    pub out_trade_no: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = deposits)]
pub struct DepositRow {
    pub id: String,
    pub reseller_id: String,
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub method: String,
    #[schema(value_type = String)]
    pub status: DepositStatus,
    pub out_trade_no: Option<String>,
    pub credited_amount: Option<i64>,
    pub provider_transaction_id: Option<String>,
    pub review_reason: Option<String>,
    pub txn_seq: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    pub settled_at: Option<i64>,
}

/// A deposit as the reseller and the admin see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Deposit {
    pub id: String,
    pub reseller_id: String,
    /// Quote this with the payment (bank transfer memo, provider order note).
    #[schema(example = "D7K3M9Q2X")]
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub method: String,
    /// `pending`, `credited`, `expired` or `review`.
    #[schema(value_type = String, example = "pending")]
    pub status: DepositStatus,
    pub out_trade_no: Option<String>,
    /// What was credited (the amount received when an admin confirmed another one).
    pub credited_amount: Option<i64>,
    pub provider_transaction_id: Option<String>,
    /// Why a payment was held for review.
    pub review_reason: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub settled_at: Option<String>,
}

impl From<DepositRow> for Deposit {
    fn from(r: DepositRow) -> Self {
        Deposit {
            id: r.id,
            reseller_id: r.reseller_id,
            reference: r.reference,
            amount: r.amount,
            currency: r.currency,
            method: r.method,
            status: r.status,
            out_trade_no: r.out_trade_no,
            credited_amount: r.credited_amount,
            provider_transaction_id: r.provider_transaction_id,
            review_reason: r.review_reason,
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
            settled_at: r.settled_at.map(rfc3339),
        }
    }
}

/// Opens a deposit for `reseller_id`; `.1` is false when `out_trade_no` found an earlier one.
pub fn create(
    conn: &mut DbConn,
    reseller_id: &str,
    req: &NewDeposit,
    rules: &DepositRules,
    now: i64,
) -> Result<(Deposit, bool)> {
    let max = rules.max_amount.min(MAX_CREDIT);
    if req.amount <= 0 || req.amount > max {
        return Err(Error::invalid(
            "amount",
            format!("must be between 1 and {max}"),
        ));
    }
    if !rules.methods.contains(&req.method) {
        return Err(Error::invalid(
            "method",
            format!("must be one of: {}", rules.methods.join(", ")),
        ));
    }
    let out_trade_no = req
        .out_trade_no
        .as_deref()
        .map(|o| validate::non_empty("out_trade_no", o, 64))
        .transpose()?;
    if let Some(o) = &out_trade_no {
        let earlier = deposits::table
            .filter(deposits::reseller_id.eq(reseller_id))
            .filter(deposits::out_trade_no.eq(o))
            .select(DepositRow::as_select())
            .first::<DepositRow>(conn)
            .optional()?;
        if let Some(d) = earlier {
            if d.amount != req.amount || d.method != req.method {
                return Err(Error::IdempotencyConflict);
            }
            return Ok((d.into(), false));
        }
    }
    let reseller = get::<Reseller>(conn, reseller_id)?;
    let row = DepositRow {
        id: crate::ids::new_id("dep"),
        reseller_id: reseller_id.to_string(),
        reference: unused_reference(conn)?,
        amount: req.amount,
        currency: reseller.currency,
        method: req.method.clone(),
        status: DepositStatus::Pending,
        out_trade_no,
        credited_amount: None,
        provider_transaction_id: None,
        review_reason: None,
        txn_seq: None,
        created_at: now,
        expires_at: now.saturating_add(rules.ttl_ms),
        settled_at: None,
    };
    diesel::insert_into(deposits::table)
        .values((
            deposits::id.eq(&row.id),
            deposits::reseller_id.eq(&row.reseller_id),
            deposits::reference.eq(&row.reference),
            deposits::amount.eq(row.amount),
            deposits::currency.eq(&row.currency),
            deposits::method.eq(&row.method),
            deposits::status.eq(row.status),
            deposits::out_trade_no.eq(&row.out_trade_no),
            deposits::created_at.eq(row.created_at),
            deposits::expires_at.eq(row.expires_at),
        ))
        .execute(conn)
        // A concurrent request with the same key committed first.
        .map_err(race_on_unique)?;
    Ok((row.into(), true))
}

/// Reference alphabet: Crockford's base 32 (no I, L, O, U), easy to read out and type.
const REFERENCE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A reference no deposit has: `D` and 8 characters (40 random bits), re-drawn on the
/// (rare) collision before anything is written.
fn unused_reference(conn: &mut DbConn) -> Result<String> {
    let mut rng = rand::thread_rng();
    for _ in 0..8 {
        let tail: String = (0..8)
            .map(|_| REFERENCE_ALPHABET[rng.gen_range(0..REFERENCE_ALPHABET.len())] as char)
            .collect();
        let reference = format!("D{tail}");
        let taken = deposits::table
            .filter(deposits::reference.eq(&reference))
            .select(deposits::id)
            .first::<String>(conn)
            .optional()?
            .is_some();
        if !taken {
            return Ok(reference);
        }
    }
    Err(Error::internal("no unused deposit reference after 8 draws"))
}

/// One deposit; with `reseller_id`, only if it is that reseller's (else `not_found`).
pub fn get_deposit(conn: &mut DbConn, id: &str, reseller_id: Option<&str>) -> Result<Deposit> {
    let row = find(conn, id)?;
    if reseller_id.is_some_and(|r| r != row.reseller_id) {
        return Err(Error::NotFound("deposit"));
    }
    Ok(row.into())
}

fn find(conn: &mut DbConn, id: &str) -> Result<DepositRow> {
    deposits::table
        .find(id)
        .select(DepositRow::as_select())
        .first::<DepositRow>(conn)
        .optional()?
        .ok_or(Error::NotFound("deposit"))
}

/// Deposits newest first, `limit + 1` before the cursor (a deposit id), of one reseller or all.
pub fn list(
    conn: &mut DbConn,
    reseller_id: Option<&str>,
    status: Option<DepositStatus>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Deposit>> {
    let mut q = deposits::table
        .select(DepositRow::as_select())
        .order(deposits::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(r) = reseller_id {
        q = q.filter(deposits::reseller_id.eq(r));
    }
    if let Some(s) = status {
        q = q.filter(deposits::status.eq(s));
    }
    if let Some(b) = before {
        q = q.filter(deposits::id.lt(b));
    }
    Ok(q.load::<DepositRow>(conn)?
        .into_iter()
        .map(Deposit::from)
        .collect())
}

/// Is any pending deposit past its time? (A read, so an idle instance never takes the writer.)
pub fn any_due(conn: &mut DbConn, now: i64) -> Result<bool> {
    Ok(deposits::table
        .filter(deposits::status.eq(DepositStatus::Pending))
        .filter(deposits::expires_at.le(now))
        .select(deposits::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Marks pending deposits past their time `expired` (a conditional update: safe on several
/// instances, and a payment that credited one first keeps it credited). Returns how many.
pub fn expire_due(conn: &mut DbConn, now: i64) -> Result<usize> {
    Ok(diesel::update(
        deposits::table
            .filter(deposits::status.eq(DepositStatus::Pending))
            .filter(deposits::expires_at.le(now)),
    )
    .set((
        deposits::status.eq(DepositStatus::Expired),
        deposits::settled_at.eq(now),
    ))
    .execute(conn)?)
}
