//! After-sales tickets. A reseller opens one on its own recent order, naming one card or (with
//! no card) the whole order; the supplier answers `replace`, `refund` or `contest`; a contested
//! ticket is decided by an admin; a ticket the supplier leaves unanswered past its SLA is
//! refunded by a sweep. How a ticket ends is in [`resolve`], the reads in [`read`].
//!
//! States ([`TicketStatus`]): `open` → `resolved` (refund | replace) | `contested` → `resolved` | `rejected`.
//! `awaiting_supplier`: an admin decided `replace` but the product had no stock; the supplier
//! must deliver a code (or refund) within a fresh SLA.
//!
//! One ticket per card, ever: a unique index per card, another per whole-order ticket, and the
//! order's row lock (PostgreSQL) so a whole-order ticket and a card ticket cannot both be opened.

mod read;
mod resolve;
mod settle;
mod status;

pub use read::{get_for_reseller, list, load, supplier_view, TicketFilter};
pub use resolve::{
    admin_resolve, any_overdue, expire_overdue, respond, SupplierResponse, TicketDecision,
};
pub use status::{TicketStatus, WAITING};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::crypto::Vault;
use crate::db::schema::{cards, orders as orders_t, products, suppliers, tickets};
use crate::db::DbConn;
use crate::domain::trade::inventory::DeliveredCard;
use crate::domain::trade::orders::{self, OrderRow, OrderStatus};
use crate::error::{is_unique_violation, Error, Result};
use crate::events::outbox::{self, NewEvent};
use crate::time::rfc3339;

pub const REASONS: [&str; 5] = [
    "invalid_code",
    "already_redeemed",
    "wrong_region",
    "not_received",
    "other",
];

/// `POST /v1/tickets` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub order_id: String,
    /// `invalid_code`, `already_redeemed`, `wrong_region`, `not_received` or `other`.
    pub reason: String,
    /// The card complained about; omitted = the whole order (then no other ticket may be
    /// opened on that order).
    pub card_code: Option<String>,
    pub message: Option<String>,
}

/// An after-sales ticket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub order_id: String,
    pub product_id: String,
    pub reason: String,
    pub message: Option<String>,
    /// The card the ticket names (null: the whole order). Shown to the reseller on
    /// `GET /v1/tickets/{id}` and to the supplier; never in callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_code: Option<String>,
    /// How many of the order's units the ticket covers.
    pub units: i64,
    /// `open`, `awaiting_supplier`, `contested`, `resolved` or `rejected`.
    pub status: String,
    /// `refund` or `replace` once resolved; null otherwise (also when rejected).
    pub resolution: Option<String>,
    /// The supplier's message with its answer.
    pub response_message: Option<String>,
    /// The admin's memo with a decision.
    pub memo: Option<String>,
    /// Minor units returned to the reseller's balance.
    pub refund_amount: Option<i64>,
    /// The supplier must answer by then, or the ticket is refunded automatically.
    pub sla_due_at: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
    /// The replacement cards in plaintext (reseller, `GET /v1/tickets/{id}` of a replaced ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Vec<DeliveredCard>>,
}

/// A ticket as the admin sees it: who is on each side, who decided.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminTicket {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub reseller_id: String,
    pub supplier_id: String,
    /// `supplier:<id>`, `admin:<username>` or `system:ticket-sla`.
    pub resolved_by: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    pub id: String,
    pub order_id: String,
    pub reseller_id: String,
    pub supplier_id: String,
    pub product_id: String,
    pub card_id: Option<i64>,
    pub units: i64,
    pub reason: String,
    pub message: Option<String>,
    pub status: TicketStatus,
    pub resolution: Option<String>,
    pub response_message: Option<String>,
    pub memo: Option<String>,
    pub refund_amount: Option<i64>,
    pub sla_due_at: i64,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
}

impl TicketRow {
    /// The view without any codes (lists, admin).
    pub fn view(&self) -> Ticket {
        Ticket {
            id: self.id.clone(),
            order_id: self.order_id.clone(),
            product_id: self.product_id.clone(),
            reason: self.reason.clone(),
            message: self.message.clone(),
            card_code: None,
            units: self.units,
            status: self.status.to_string(),
            resolution: self.resolution.clone(),
            response_message: self.response_message.clone(),
            memo: self.memo.clone(),
            refund_amount: self.refund_amount,
            sla_due_at: rfc3339(self.sla_due_at),
            created_at: rfc3339(self.created_at),
            resolved_at: self.resolved_at.map(rfc3339),
            replacement: None,
        }
    }

    pub fn admin_view(&self) -> AdminTicket {
        AdminTicket {
            ticket: self.view(),
            reseller_id: self.reseller_id.clone(),
            supplier_id: self.supplier_id.clone(),
            resolved_by: self.resolved_by.clone(),
        }
    }
}

/// Optional free text: at most 1000 characters, blank = none.
pub(crate) fn optional_text(field: &str, value: Option<&str>) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > 1000 => {
            Err(Error::invalid(field, "must be at most 1000 characters"))
        }
        Some(v) => Ok(Some(v.to_string())),
    }
}

/// Makes concurrent ticket openings on one order wait for each other (PostgreSQL; SQLite's
/// single writer already does), so the whole-order rule cannot be raced.
fn lock_order(conn: &mut DbConn, order_id: &str) -> Result<()> {
    if let DbConn::Pg(c) = conn {
        orders_t::table
            .find(order_id)
            .select(orders_t::id)
            .for_update()
            .first::<String>(c)
            .optional()?;
    }
    Ok(())
}

/// The card of `order` with this code: one delivered with the order, or a replacement a ticket
/// on the order delivered.
fn find_order_card(conn: &mut DbConn, vault: &Vault, order: &OrderRow, code: &str) -> Result<i64> {
    let not_ours = || Error::invalid("card_code", "is not a code delivered with this order");
    let (id, holder): (i64, Option<String>) = cards::table
        .filter(cards::code_hash.eq(vault.code_hash(code.trim())))
        .select((cards::id, cards::order_id))
        .first(conn)
        .optional()?
        .ok_or_else(not_ours)?;
    let holder = holder.ok_or_else(not_ours)?;
    if holder == order.id {
        return Ok(id);
    }
    let replaced_here: i64 = tickets::table
        .filter(tickets::id.eq(&holder))
        .filter(tickets::order_id.eq(&order.id))
        .count()
        .get_result(conn)?;
    if replaced_here == 1 {
        Ok(id)
    } else {
        Err(not_ours())
    }
}

/// Opens a ticket on one of the reseller's own orders, inside the caller's transaction.
pub fn open(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    req: &NewTicket,
    window_ms: i64,
    sla_ms: i64,
    now: i64,
) -> Result<Ticket> {
    if !REASONS.contains(&req.reason.as_str()) {
        return Err(Error::invalid(
            "reason",
            format!("must be one of {}", REASONS.join(", ")),
        ));
    }
    let message = optional_text("message", req.message.as_deref())?;
    lock_order(conn, &req.order_id)?;
    let order = orders::load(conn, &req.order_id)?;
    if order.reseller_id != reseller_id {
        return Err(Error::NotFound("order"));
    }
    if order.created_at + window_ms < now {
        return Err(Error::invalid(
            "order_id",
            format!(
                "tickets can be opened only within {} days of the order",
                window_ms / 86_400_000
            ),
        ));
    }
    if !matches!(
        order.status,
        OrderStatus::Delivered | OrderStatus::Completed
    ) {
        return Err(Error::Conflict(format!(
            "this order is {}; only delivered or completed orders take tickets",
            order.status
        )));
    }
    // A gift link's code reaches its holder, not the buyer, and an unclaimed link is refunded
    // by revoking it: a ticket would refund the order a second time.
    if crate::domain::trade::claims::is_claim_order(conn, &order.id)? {
        return Err(Error::Conflict(
            "a gift-link order takes no tickets; revoke an unclaimed link instead              (DELETE /v1/orders/{id}/claims/{claim_id})"
                .into(),
        ));
    }
    let existing: Vec<Option<i64>> = tickets::table
        .filter(tickets::order_id.eq(&order.id))
        .select(tickets::card_id)
        .load(conn)?;
    let (card_id, units) = match req.card_code.as_deref() {
        Some(code) => {
            let id = find_order_card(conn, vault, &order, code)?;
            if existing.iter().any(|c| c.is_none() || *c == Some(id)) {
                return Err(Error::Conflict(
                    "this card (or its whole order) already has a ticket".into(),
                ));
            }
            (Some(id), 1)
        }
        None if !existing.is_empty() => {
            return Err(Error::Conflict(
                "this order already has a ticket; a whole-order ticket must be the only one".into(),
            ))
        }
        None => (None, order.quantity),
    };
    let id = crate::ids::new_id("tkt");
    let sla_due_at = now + sla_ms;
    diesel::insert_into(tickets::table)
        .values((
            tickets::id.eq(&id),
            tickets::order_id.eq(&order.id),
            tickets::reseller_id.eq(reseller_id),
            tickets::supplier_id.eq(&order.supplier_id),
            tickets::product_id.eq(&order.product_id),
            tickets::card_id.eq(card_id),
            tickets::units.eq(units),
            tickets::reason.eq(&req.reason),
            tickets::message.eq(&message),
            tickets::status.eq(TicketStatus::Open),
            tickets::sla_due_at.eq(sla_due_at),
            tickets::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict("this card (or its whole order) already has a ticket".into())
            } else {
                e.into()
            }
        })?;
    let row = load(conn, &id)?;
    notify_supplier(conn, &row, "ticket.opened")?;
    let mut view = row.view();
    view.card_code = req.card_code.as_deref().map(|c| c.trim().to_string());
    Ok(view)
}

/// `ticket.opened` / `ticket.replacement_requested` to the supplier's webhook (no codes).
pub(crate) fn notify_supplier(conn: &mut DbConn, t: &TicketRow, event_type: &str) -> Result<()> {
    let url: Option<String> = suppliers::table
        .find(&t.supplier_id)
        .select(suppliers::webhook_url)
        .first(conn)?;
    let sku: String = products::table
        .find(&t.product_id)
        .select(products::sku)
        .first(conn)?;
    outbox::enqueue(
        conn,
        NewEvent {
            event_type,
            owner_kind: "supplier",
            owner_id: &t.supplier_id,
            url: url.as_deref(),
            data: json!({
                "ticket_id": t.id,
                "order_id": t.order_id,
                "product_id": t.product_id,
                "sku": sku,
                "reason": t.reason,
                "units": t.units,
                "status": t.status,
                "sla_due_at": rfc3339(t.sla_due_at),
            }),
        },
    )?;
    Ok(())
}
