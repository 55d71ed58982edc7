//! Settling a deposit: an admin's confirmation of a bank transfer, or a payment provider's
//! callback. Both credit through [`crate::domain::accounts::fund`] (the admin credit's own
//! path: one ledger transaction, chained), after a conditional UPDATE that only one caller can
//! win — so a deposit is credited once however many confirmations and callbacks race.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{find, Deposit, DepositRow, DepositStatus};
use crate::db::schema::{deposits, payment_callbacks, resellers};
use crate::db::text::text_enum;
use crate::db::DbConn;
use crate::domain::accounts::{fund, Funding};
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::events::outbox::{self, NewEvent};

/// Credits deposit `id` (the amount received, when an admin says so). `pending` deposits past
/// `expires_at` are `deposit_expired`; one already credited is a `conflict`; one held for
/// `review` is credited (that is what review is for).
pub fn confirm(
    conn: &mut DbConn,
    actor: &str,
    id: &str,
    amount: Option<i64>,
    now: i64,
) -> Result<Deposit> {
    let row = find(conn, id)?;
    let amount = amount.unwrap_or(row.amount);
    if amount <= 0 {
        return Err(Error::invalid("amount", "must be more than zero"));
    }
    refuse_settled(&row, now)?;
    if !claim(conn, &row, now, true)? {
        // Settled by someone else between the read and the claim.
        refuse_settled(&find(conn, id)?, now)?;
        return Err(Error::WrongState(format!("deposit {id} changed meanwhile")));
    }
    credit(conn, actor, &row, amount, None)?;
    Ok(find(conn, id)?.into())
}

fn refuse_settled(row: &DepositRow, now: i64) -> Result<()> {
    match row.status {
        DepositStatus::Credited => Err(Error::WrongState(format!(
            "deposit {} is already credited",
            row.id
        ))),
        DepositStatus::Expired => Err(expired(row)),
        DepositStatus::Pending if row.expires_at <= now => Err(expired(row)),
        DepositStatus::Pending | DepositStatus::Review => Ok(()),
    }
}

fn expired(row: &DepositRow) -> Error {
    Error::DepositExpired(format!(
        "deposit {} expired at {}",
        row.id,
        crate::time::rfc3339(row.expires_at)
    ))
}

/// Moves the deposit to `credited` if it still may be (pending and in time, or, for an admin,
/// held for review): true for the one caller that wins.
fn claim(conn: &mut DbConn, row: &DepositRow, now: i64, from_review: bool) -> Result<bool> {
    let in_time = deposits::status
        .eq(DepositStatus::Pending)
        .and(deposits::expires_at.gt(now));
    let target = deposits::table.filter(deposits::id.eq(&row.id));
    let set = (
        deposits::status.eq(DepositStatus::Credited),
        deposits::settled_at.eq(now),
    );
    let n = if from_review {
        diesel::update(target.filter(in_time.or(deposits::status.eq(DepositStatus::Review))))
            .set(set)
            .execute(conn)?
    } else {
        diesel::update(target.filter(in_time))
            .set(set)
            .execute(conn)?
    };
    Ok(n == 1)
}

/// Books the credit of a claimed deposit and tells the reseller (`deposit.credited`).
fn credit(
    conn: &mut DbConn,
    actor: &str,
    row: &DepositRow,
    amount: i64,
    provider_transaction_id: Option<&str>,
) -> Result<()> {
    let funded = fund(
        conn,
        Funding {
            actor,
            reseller_id: &row.reseller_id,
            amount,
            action: "deposit.credit",
            subject: &row.id,
            detail: json!({
                "reference": row.reference,
                "method": row.method,
                "provider_transaction_id": provider_transaction_id,
            }),
        },
    )?;
    diesel::update(deposits::table.filter(deposits::id.eq(&row.id)))
        .set((
            deposits::credited_amount.eq(amount),
            deposits::txn_seq.eq(funded.seq),
            deposits::provider_transaction_id.eq(provider_transaction_id),
        ))
        .execute(conn)?;
    let url: Option<String> = resellers::table
        .find(&row.reseller_id)
        .select(resellers::notify_url)
        .first(conn)?;
    outbox::enqueue(
        conn,
        NewEvent {
            event_type: "deposit.credited",
            owner_kind: "reseller",
            owner_id: &row.reseller_id,
            url: url.as_deref(),
            data: json!({
                "deposit_id": row.id,
                "reference": row.reference,
                "amount": amount,
                "currency": row.currency,
                "balance": funded.balance,
            }),
        },
    )?;
    Ok(())
}

/// A payment provider's report on a deposit (the body of `POST /v1/payments/callback/{provider}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentCallback {
    /// The deposit's `reference`.
    #[schema(example = "D7K3M9Q2X")]
    pub reference: String,
    /// What was paid, minor units.
    #[schema(example = 100000)]
    pub amount: i64,
    #[schema(example = "CNY")]
    pub currency: String,
    /// `paid` or `failed`.
    #[schema(value_type = String, example = "paid")]
    pub status: PaymentStatus,
    /// The provider's own id of the payment (1..128 chars).
    #[schema(example = "gw_tx_0001")]
    pub transaction_id: String,
}

text_enum! {
    /// What a provider says of a payment.
    pub enum PaymentStatus {
        Paid = "paid",
        Failed = "failed",
    }
}

text_enum! {
    /// What a callback did, recorded with it in `payment_callbacks`.
    pub enum PaymentOutcome {
        /// The deposit was credited now.
        Credited = "credited",
        /// It was credited before (a repeated callback, or an admin's confirmation).
        AlreadyCredited = "already_credited",
        /// It had expired: nothing credited; the operator returns the money.
        Expired = "expired",
        /// The payment does not match the deposit: held for an admin, nothing credited.
        Review = "review",
        /// It was held for review before; nothing changed.
        UnderReview = "under_review",
        /// The provider reported a failed payment; the deposit still waits.
        PaymentFailed = "payment_failed",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallbackOutcome {
    pub deposit_id: String,
    #[schema(value_type = String, example = "credited")]
    pub status: DepositStatus,
    /// `credited`, `already_credited`, `expired`, `review`, `under_review` or `payment_failed`.
    #[schema(value_type = String, example = "credited")]
    pub outcome: PaymentOutcome,
}

/// Applies a verified callback from `provider` and records it with what it did. Only a `paid`
/// report matching the deposit's amount, currency and method, in time, credits — once.
pub fn apply_callback(
    conn: &mut DbConn,
    provider: &str,
    cb: &PaymentCallback,
    now: i64,
) -> Result<CallbackOutcome> {
    let reference = validate::non_empty("reference", &cb.reference, 32)?;
    let transaction_id = validate::non_empty("transaction_id", &cb.transaction_id, 128)?;
    let currency = validate::currency("currency", &cb.currency)?;
    validate::non_negative("amount", cb.amount)?;
    let row = deposits::table
        .filter(deposits::reference.eq(&reference))
        .select(DepositRow::as_select())
        .first::<DepositRow>(conn)
        .optional()?
        .ok_or(Error::NotFound("deposit"))?;
    let mismatch = [
        (cb.amount != row.amount).then(|| format!("paid {} of {}", cb.amount, row.amount)),
        (currency != row.currency).then(|| format!("paid in {currency}, not {}", row.currency)),
        (provider != row.method).then(|| format!("paid through {provider}, not {}", row.method)),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    let outcome = match (cb.status, row.status) {
        (PaymentStatus::Failed, _) => PaymentOutcome::PaymentFailed,
        (_, DepositStatus::Pending) if row.expires_at <= now => {
            expire(conn, &row.id, now)?;
            settled_outcome(conn, &row.id)?
        }
        (_, DepositStatus::Pending) if !mismatch.is_empty() => {
            hold_for_review(conn, &row.id, &mismatch.join("; "), &transaction_id)?;
            match settled_outcome(conn, &row.id)? {
                PaymentOutcome::UnderReview => PaymentOutcome::Review,
                other => other,
            }
        }
        (_, DepositStatus::Pending) => {
            if claim(conn, &row, now, false)? {
                credit(
                    conn,
                    &format!("provider:{provider}"),
                    &row,
                    cb.amount,
                    Some(&transaction_id),
                )?;
                PaymentOutcome::Credited
            } else {
                settled_outcome(conn, &row.id)?
            }
        }
        _ => outcome_of(row.status),
    };
    diesel::insert_into(payment_callbacks::table)
        .values((
            payment_callbacks::id.eq(crate::ids::new_id("pcb")),
            payment_callbacks::provider.eq(provider),
            payment_callbacks::reference.eq(&reference),
            payment_callbacks::deposit_id.eq(&row.id),
            payment_callbacks::transaction_id.eq(&transaction_id),
            payment_callbacks::status.eq(cb.status),
            payment_callbacks::amount.eq(cb.amount),
            payment_callbacks::currency.eq(&currency),
            payment_callbacks::outcome.eq(outcome),
            payment_callbacks::received_at.eq(now),
        ))
        .execute(conn)?;
    Ok(CallbackOutcome {
        status: find(conn, &row.id)?.status,
        deposit_id: row.id,
        outcome,
    })
}

/// The outcome a callback reports for a deposit someone else settled (or that it just expired).
fn settled_outcome(conn: &mut DbConn, id: &str) -> Result<PaymentOutcome> {
    Ok(outcome_of(find(conn, id)?.status))
}

fn outcome_of(status: DepositStatus) -> PaymentOutcome {
    match status {
        DepositStatus::Credited => PaymentOutcome::AlreadyCredited,
        DepositStatus::Expired | DepositStatus::Pending => PaymentOutcome::Expired,
        DepositStatus::Review => PaymentOutcome::UnderReview,
    }
}

fn expire(conn: &mut DbConn, id: &str, now: i64) -> Result<()> {
    diesel::update(
        deposits::table
            .filter(deposits::id.eq(id))
            .filter(deposits::status.eq(DepositStatus::Pending)),
    )
    .set((
        deposits::status.eq(DepositStatus::Expired),
        deposits::settled_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

fn hold_for_review(conn: &mut DbConn, id: &str, reason: &str, transaction_id: &str) -> Result<()> {
    diesel::update(
        deposits::table
            .filter(deposits::id.eq(id))
            .filter(deposits::status.eq(DepositStatus::Pending)),
    )
    .set((
        deposits::status.eq(DepositStatus::Review),
        deposits::review_reason.eq(reason),
        deposits::provider_transaction_id.eq(transaction_id),
    ))
    .execute(conn)?;
    Ok(())
}
