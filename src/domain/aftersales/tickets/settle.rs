//! What a resolution does to money and cards: a refund reverses the ticket's share of the
//! purchase through the ledger; a replacement delivers fresh cards to the ticket. Both mark the
//! ticketed cards `defective`. Called only after the ticket's conditional transition succeeded.

use diesel::prelude::*;
use serde_json::json;

use super::TicketRow;
use crate::crypto::Vault;
use crate::db::schema::{cards, ledger_entries, orders as orders_t, tickets};
use crate::db::DbConn;
use crate::domain::money::ledger;
use crate::domain::trade::inventory;
use crate::domain::trade::orders::{self, OrderStatus};
use crate::error::{is_unique_violation, Error, Result};
use crate::events::outbox::{self, NewEvent};

/// The cards a ticket covers: the named one, or every card still delivered with the order.
pub(super) fn covered_cards(conn: &mut DbConn, t: &TicketRow) -> Result<Vec<i64>> {
    Ok(match t.card_id {
        Some(id) => vec![id],
        None => cards::table
            .filter(cards::order_id.eq(&t.order_id))
            .filter(cards::status.eq("sold"))
            .order(cards::id.asc())
            .select(cards::id)
            .load(conn)?,
    })
}

pub(super) fn mark_defective(conn: &mut DbConn, ids: &[i64]) -> Result<()> {
    diesel::update(cards::table.filter(cards::id.eq_any(ids)))
        .set(cards::status.eq("defective"))
        .execute(conn)?;
    Ok(())
}

/// Returns the money for the ticket's units through the ledger, marks the cards defective, and
/// the order `refunded` once every unit is; `order.refunded` to the reseller.
pub(super) fn refund(conn: &mut DbConn, t: &TicketRow, actor: &str) -> Result<()> {
    let order = orders::load(conn, &t.order_id)?;
    // Units refunded on this order so far, this ticket included (its transition already set
    // `resolution`). Never more than were bought, whatever tickets replacements gave rise to.
    let refunded_units: i64 = tickets::table
        .filter(tickets::order_id.eq(&order.id))
        .filter(tickets::resolution.eq("refund"))
        .select(tickets::units)
        .load::<i64>(conn)?
        .iter()
        .sum();
    if refunded_units > order.quantity {
        return Err(Error::Conflict(
            "this order is already refunded in full".into(),
        ));
    }
    let detail = json!({ "ticket_id": t.id, "units": t.units });
    let seq = ledger::refund_units(
        conn,
        ledger::Purchase {
            seq: order.ledger_seq,
            quantity: order.quantity,
            subject: &order.id,
            currency: &order.currency,
        },
        t.units,
        "ticket.refund",
        actor,
        detail,
    )?;
    let credited: Vec<i64> = ledger_entries::table
        .filter(ledger_entries::txn_seq.eq(seq))
        .filter(ledger_entries::account.eq(ledger::reseller_account(&order.reseller_id)))
        .select(ledger_entries::amount)
        .load(conn)?;
    let amount: i64 = credited.iter().sum();
    let covered = covered_cards(conn, t)?;
    mark_defective(conn, &covered)?;
    diesel::update(tickets::table.find(&t.id))
        .set(tickets::refund_amount.eq(amount))
        .execute(conn)?;
    let fully = refunded_units == order.quantity;
    if fully {
        diesel::update(orders_t::table.find(&order.id))
            .set(orders_t::status.eq(OrderStatus::Refunded))
            .execute(conn)?;
        // Sales analytics count a refunded order against its sale day.
        crate::domain::trade::pending::record_refund(
            conn,
            &crate::domain::trade::sales_rollup::Sale::from(&order),
        )?;
    }
    let url = orders::callback_url(conn, &order)?;
    outbox::enqueue(
        conn,
        NewEvent {
            event_type: "order.refunded",
            owner_kind: "reseller",
            owner_id: &order.reseller_id,
            url: url.as_deref(),
            data: json!({
                "order_id": order.id,
                "out_trade_no": order.out_trade_no,
                "ticket_id": t.id,
                "units": t.units,
                "amount": amount,
                "currency": order.currency,
                "status": if fully { OrderStatus::Refunded } else { order.status },
            }),
        },
    )?;
    Ok(())
}

/// A code the supplier hands in for a replacement.
pub(super) struct SuppliedCode<'a> {
    pub code: &'a str,
    pub secret: Option<&'a str>,
}

/// Delivers one fresh card per covered card (the supplier's code, or claimed from stock) to the
/// ticket, and marks the covered cards defective.
pub(super) fn replace(
    conn: &mut DbConn,
    vault: &Vault,
    t: &TicketRow,
    supplied: Option<SuppliedCode<'_>>,
    now: i64,
) -> Result<()> {
    let covered = covered_cards(conn, t)?;
    if covered.is_empty() {
        return Err(Error::invalid(
            "action",
            "a direct top-up has no code to replace; refund it instead",
        ));
    }
    match supplied {
        Some(s) => {
            if covered.len() != 1 {
                return Err(Error::invalid(
                    "code",
                    "one code replaces one card; replace a multi-card order from stock",
                ));
            }
            let code = s.code.trim();
            if code.is_empty() || code.len() > 512 || s.secret.is_some_and(|x| x.len() > 512) {
                return Err(Error::invalid(
                    "code",
                    "must be 1..512 characters (secret at most 512)",
                ));
            }
            let hash = vault.code_hash(code);
            let taken: i64 = cards::table
                .filter(cards::code_hash.eq(&hash))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(Error::Conflict(
                    "this code is already stored; a replacement must be a fresh code".into(),
                ));
            }
            diesel::insert_into(cards::table)
                .values((
                    cards::product_id.eq(&t.product_id),
                    cards::supplier_id.eq(&t.supplier_id),
                    cards::code_hash.eq(&hash),
                    cards::code_enc.eq(vault.encrypt_str(code)),
                    cards::secret_enc.eq(s.secret.map(|x| vault.encrypt_str(x))),
                    cards::status.eq("sold"),
                    cards::order_id.eq(&t.id),
                    cards::created_at.eq(now),
                    cards::sold_at.eq(now),
                ))
                .execute(conn)
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        Error::Conflict("this code was stored concurrently".into())
                    } else {
                        e.into()
                    }
                })?;
        }
        None => {
            inventory::claim(conn, &t.product_id, &t.id, covered.len() as i64, now)?;
        }
    }
    mark_defective(conn, &covered)
}

/// Whether the product has `needed` deliverable cards (reads at most that many rows).
pub(super) fn in_stock(conn: &mut DbConn, product_id: &str, needed: i64, now: i64) -> Result<bool> {
    let ids: Vec<i64> = cards::table
        .filter(cards::product_id.eq(product_id))
        .filter(crate::db::literal_condition("cards.status = 'available'"))
        .filter(cards::expires_at.is_null().or(cards::expires_at.gt(now)))
        .limit(needed)
        .select(cards::id)
        .load(conn)?;
    Ok(ids.len() as i64 >= needed)
}
