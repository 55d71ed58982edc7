//! Ending an open gift link: by expiry (the sweep) or by its buyer (revocation). Either way
//! the card goes back on sale and one unit's price back to the buyer, once: the conditional
//! flip from `unclaimed` decides, so a revocation racing the sweep (or itself) refunds once.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde_json::json;

use super::{ClaimLink, ClaimRow, ClaimStatus};
use crate::crypto::Vault;
use crate::db::schema::{cards, claims, ledger_entries, orders as orders_t};
use crate::db::DbConn;
use crate::domain::money::ledger::{self, Purchase};
use crate::domain::trade::orders::{self, OrderStatus};
use crate::domain::trade::pending;
use crate::domain::trade::sales_rollup::Sale;
use crate::error::{Error, Result};
use crate::events::outbox::{self, NewEvent};
use crate::time::rfc3339;

/// The partial index `claims_open_expiry` serves this literal condition on both backends.
const OPEN: &str = "status = 'unclaimed'";

/// Whether any open link is past its expiry (a read, so an idle instance never takes the
/// SQLite writer).
pub fn any_due(conn: &mut DbConn, now: i64) -> Result<bool> {
    let ids: Vec<String> = claims::table
        .filter(sql::<Bool>(OPEN))
        .filter(claims::expires_at.le(now))
        .select(claims::id)
        .limit(1)
        .load(conn)?;
    Ok(!ids.is_empty())
}

/// Expires up to `limit` open links past their expiry; returns how many it expired.
pub fn expire_due(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize> {
    let due: Vec<ClaimRow> = claims::table
        .filter(sql::<Bool>(OPEN))
        .filter(claims::expires_at.le(now))
        .order(claims::expires_at.asc())
        .limit(limit)
        .select(ClaimRow::as_select())
        .load(conn)?;
    let mut expired = 0;
    for claim in &due {
        match end(
            conn,
            claim,
            ClaimStatus::Expired,
            "system:claim-expiry",
            now,
        ) {
            Ok(()) => expired += 1,
            // Redeemed or revoked since the read: nothing to do.
            Err(Error::WrongState(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}

/// The buyer takes back an open link of its own order: `already_claimed` once redeemed,
/// `conflict` once ended (its refund was made then).
pub fn revoke(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    order_id: &str,
    claim_id: &str,
    actor: &str,
) -> Result<ClaimLink> {
    let claim: ClaimRow = claims::table
        .find(claim_id)
        .select(ClaimRow::as_select())
        .first(conn)
        .optional()?
        .filter(|c| c.order_id == order_id && c.reseller_id == reseller_id)
        .ok_or(Error::NotFound("claim"))?;
    let now = crate::time::now_ms();
    match end(conn, &claim, ClaimStatus::Revoked, actor, now) {
        Err(Error::WrongState(_)) => Err(ended(conn, claim_id)?),
        Err(e) => Err(e),
        Ok(()) => Ok(ClaimRow {
            status: ClaimStatus::Revoked,
            ended_at: Some(now),
            ..claim
        }
        .link(vault)),
    }
}

/// Why an end found the link already ended.
fn ended(conn: &mut DbConn, claim_id: &str) -> Result<Error> {
    let status: ClaimStatus = claims::table
        .find(claim_id)
        .select(claims::status)
        .first(conn)?;
    Ok(match status {
        ClaimStatus::Claimed => Error::AlreadyClaimed,
        s => Error::WrongState(format!(
            "this gift link is already {s}; its refund was made then"
        )),
    })
}

/// Ends one open link (`to`: expired or revoked): the flip, the card back on sale, one unit
/// refunded, the order `refunded` once every unit is, and the event. `WrongState` when the
/// link was no longer open.
fn end(conn: &mut DbConn, claim: &ClaimRow, to: ClaimStatus, actor: &str, now: i64) -> Result<()> {
    let flipped = diesel::update(
        claims::table
            .filter(claims::id.eq(&claim.id))
            .filter(claims::status.eq(ClaimStatus::Unclaimed)),
    )
    .set((claims::status.eq(to), claims::ended_at.eq(now)))
    .execute(conn)?;
    if flipped == 0 {
        return Err(Error::WrongState("this gift link is no longer open".into()));
    }
    // Never revealed, so safe to sell again.
    diesel::update(
        cards::table
            .filter(cards::id.eq(claim.card_id))
            .filter(cards::order_id.eq(&claim.order_id))
            .filter(cards::status.eq("sold")),
    )
    .set((
        cards::status.eq("available"),
        cards::order_id.eq(None::<String>),
        cards::sold_at.eq(None::<i64>),
    ))
    .execute(conn)?;
    pending::return_stock(conn, &claim.product_id, 1)?;

    let order = orders::load(conn, &claim.order_id)?;
    let reason = if to == ClaimStatus::Expired {
        "expired"
    } else {
        "revoked"
    };
    let seq = ledger::refund_units(
        conn,
        Purchase {
            seq: order.ledger_seq,
            quantity: order.quantity,
            subject: &order.id,
            currency: &order.currency,
        },
        1,
        "claim.refund",
        actor,
        json!({ "claim_id": claim.id, "reason": reason }),
    )?;
    diesel::update(claims::table.find(&claim.id))
        .set(claims::refund_seq.eq(seq))
        .execute(conn)?;
    let refunded: Vec<i64> = ledger_entries::table
        .filter(ledger_entries::txn_seq.eq(seq))
        .filter(ledger_entries::account.eq(ledger::reseller_account(&order.reseller_id)))
        .select(ledger_entries::amount)
        .load(conn)?;
    let amount: i64 = refunded.iter().sum();

    let ended: i64 = claims::table
        .filter(claims::order_id.eq(&order.id))
        .filter(claims::status.eq_any([ClaimStatus::Expired, ClaimStatus::Revoked]))
        .count()
        .get_result(conn)?;
    if ended == order.quantity {
        diesel::update(orders_t::table.find(&order.id))
            .set(orders_t::status.eq(OrderStatus::Refunded))
            .execute(conn)?;
        // Sales analytics count a refunded order against its sale day (as ticket refunds do).
        pending::record_refund(conn, &Sale::from(&order))?;
    }
    let url = orders::callback_url(conn, &order)?;
    outbox::enqueue(
        conn,
        NewEvent {
            event_type: if to == ClaimStatus::Expired {
                "claim.expired"
            } else {
                "claim.revoked"
            },
            owner_kind: "reseller",
            owner_id: &order.reseller_id,
            url: url.as_deref(),
            data: json!({
                "claim_id": claim.id,
                "order_id": order.id,
                "out_trade_no": order.out_trade_no,
                "recipient_ref": claim.recipient_ref,
                "refund_amount": amount,
                "currency": order.currency,
                "ended_at": rfc3339(now),
            }),
        },
    )?;
    Ok(())
}
