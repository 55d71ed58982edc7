//! How a ticket ends: the supplier's answer, the admin's decision, or the SLA sweep.
//!
//! Every transition is one conditional update (`UPDATE tickets SET status = .. WHERE id = ..
//! AND status IN (..)`) made before any money or card moves, in the same transaction: of racing
//! answers (two suppliers' requests, an admin, the sweep on another instance) exactly one
//! changes the row, the others get `conflict` and change nothing. So a replacement is delivered
//! and a refund paid exactly once.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::settle::{covered_cards, in_stock, refund, replace, SuppliedCode};
use super::TicketStatus::{self, AwaitingSupplier, Contested, Open, Rejected, Resolved};
use super::{load, notify_supplier, optional_text, TicketRow, WAITING};
use crate::crypto::Vault;
use crate::db::schema::tickets;
use crate::db::DbConn;
use crate::domain::money::chain::record_admin;
use crate::domain::trade::orders;
use crate::error::{Error, Result};
use crate::events::outbox::{self, NewEvent};

/// `POST /v1/supplier/tickets/{id}/response` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierResponse {
    /// `replace` (with `code`, or from stock without it), `refund` or `contest`.
    pub action: String,
    /// A fresh code for `replace` (one card); stored encrypted and deduplicated like pushed cards.
    pub code: Option<String>,
    pub secret: Option<String>,
    pub message: Option<String>,
}

/// `POST /v1/admin/tickets/{id}/resolve` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketDecision {
    /// `refund`, `replace` (from stock; without stock the ticket goes back to the supplier as
    /// `awaiting_supplier`) or `reject`.
    pub action: String,
    pub memo: Option<String>,
}

/// Statuses an admin can decide from.
const ADMIN_FROM: [TicketStatus; 3] = [Open, AwaitingSupplier, Contested];

/// The one conditional update that decides who ends (or moves) a ticket; `WrongState` when the
/// ticket is no longer in a `from` status.
fn transition(
    conn: &mut DbConn,
    t: &TicketRow,
    from: &[TicketStatus],
    to: TicketStatus,
    resolution: Option<&str>,
    actor: &str,
    now: i64,
) -> Result<()> {
    let finished = to.is_final();
    let changed = diesel::update(
        tickets::table
            .filter(tickets::id.eq(&t.id))
            .filter(tickets::status.eq_any(from)),
    )
    .set((
        tickets::status.eq(to),
        tickets::resolution.eq(resolution),
        tickets::resolved_at.eq(finished.then_some(now)),
        tickets::resolved_by.eq(finished.then_some(actor)),
    ))
    .execute(conn)?;
    if changed == 0 {
        let status: TicketStatus = tickets::table
            .find(&t.id)
            .select(tickets::status)
            .first(conn)?;
        return Err(Error::WrongState(format!(
            "this ticket is {status}; that answer is no longer possible"
        )));
    }
    Ok(())
}

/// `ticket.resolved` to the reseller (also on reject). No codes: it fetches the ticket.
fn notify_resolved(conn: &mut DbConn, ticket_id: &str) -> Result<TicketRow> {
    let t = load(conn, ticket_id)?;
    let order = orders::load(conn, &t.order_id)?;
    let url = orders::callback_url(conn, &order)?;
    outbox::enqueue(
        conn,
        NewEvent {
            event_type: "ticket.resolved",
            owner_kind: "reseller",
            owner_id: &t.reseller_id,
            url: url.as_deref(),
            data: json!({
                "ticket_id": t.id,
                "order_id": t.order_id,
                "out_trade_no": order.out_trade_no,
                "status": t.status,
                "resolution": t.resolution,
                "refund_amount": t.refund_amount,
                "units": t.units,
            }),
        },
    )?;
    Ok(t)
}

fn set_text(
    conn: &mut DbConn,
    id: &str,
    supplier: Option<String>,
    admin: Option<String>,
) -> Result<()> {
    if let Some(m) = supplier {
        diesel::update(tickets::table.find(id))
            .set(tickets::response_message.eq(m))
            .execute(conn)?;
    }
    if let Some(m) = admin {
        diesel::update(tickets::table.find(id))
            .set(tickets::memo.eq(m))
            .execute(conn)?;
    }
    Ok(())
}

/// The supplier's answer to a ticket on its goods, inside the caller's transaction.
pub fn respond(
    conn: &mut DbConn,
    vault: &Vault,
    supplier_id: &str,
    ticket_id: &str,
    req: &SupplierResponse,
    now: i64,
) -> Result<TicketRow> {
    let t = load(conn, ticket_id)?;
    if t.supplier_id != supplier_id {
        return Err(Error::NotFound("ticket"));
    }
    let message = optional_text("message", req.message.as_deref())?;
    if req.action != "replace" && (req.code.is_some() || req.secret.is_some()) {
        // Name the field that was sent (a `secret` alone used to be reported as `code`).
        let field = if req.code.is_some() { "code" } else { "secret" };
        return Err(Error::invalid(
            field,
            "only a replacement (action `replace`) takes a code and secret",
        ));
    }
    let actor = format!("supplier:{supplier_id}");
    match req.action.as_str() {
        "refund" => {
            transition(conn, &t, &WAITING, Resolved, Some("refund"), &actor, now)?;
            refund(conn, &t, &actor)?;
        }
        "replace" => {
            transition(conn, &t, &WAITING, Resolved, Some("replace"), &actor, now)?;
            let supplied = req.code.as_deref().map(|code| SuppliedCode {
                code,
                secret: req.secret.as_deref(),
            });
            replace(conn, vault, &t, supplied, now)?;
        }
        // Once an admin ordered a replacement, the supplier can no longer contest.
        "contest" => transition(conn, &t, &[Open], Contested, None, &actor, now)?,
        _ => {
            return Err(Error::invalid(
                "action",
                "must be replace, refund or contest",
            ))
        }
    }
    set_text(conn, &t.id, message, None)?;
    if req.action == "contest" {
        return load(conn, &t.id);
    }
    notify_resolved(conn, &t.id)
}

/// The admin's decision on a ticket (usually a contested one), audited with the acting admin.
pub fn admin_resolve(
    conn: &mut DbConn,
    vault: &Vault,
    actor: &str,
    ticket_id: &str,
    req: &TicketDecision,
    sla_ms: i64,
    now: i64,
) -> Result<TicketRow> {
    let t = load(conn, ticket_id)?;
    let memo = optional_text("memo", req.memo.as_deref())?;
    let mut notify = true;
    match req.action.as_str() {
        "refund" => {
            transition(conn, &t, &ADMIN_FROM, Resolved, Some("refund"), actor, now)?;
            refund(conn, &t, actor)?;
        }
        "replace" => {
            let needed = covered_cards(conn, &t)?.len() as i64;
            if needed == 0 || in_stock(conn, &t.product_id, needed, now)? {
                transition(conn, &t, &ADMIN_FROM, Resolved, Some("replace"), actor, now)?;
                replace(conn, vault, &t, None, now)?;
            } else {
                // No stock to replace from: the supplier must deliver codes (or refund) in time.
                transition(
                    conn,
                    &t,
                    &[Open, Contested],
                    AwaitingSupplier,
                    None,
                    actor,
                    now,
                )?;
                diesel::update(tickets::table.find(&t.id))
                    .set(tickets::sla_due_at.eq(now + sla_ms))
                    .execute(conn)?;
                let waiting = load(conn, &t.id)?;
                notify_supplier(conn, &waiting, "ticket.replacement_requested")?;
                notify = false;
            }
        }
        "reject" => transition(conn, &t, &ADMIN_FROM, Rejected, None, actor, now)?,
        _ => {
            return Err(Error::invalid(
                "action",
                "must be refund, replace or reject",
            ))
        }
    }
    set_text(conn, &t.id, None, memo.clone())?;
    let after = if notify {
        notify_resolved(conn, &t.id)?
    } else {
        load(conn, &t.id)?
    };
    record_admin(
        conn,
        actor,
        "ticket.resolve",
        &t.id,
        json!({ "action": req.action, "memo": memo, "status": after.status }),
    )?;
    Ok(after)
}

/// Whether any ticket is past its SLA (a cheap read, so idle instances do not take the writer).
pub fn any_overdue(conn: &mut DbConn, now: i64) -> Result<bool> {
    let n: i64 = tickets::table
        .filter(tickets::status.eq_any(WAITING))
        .filter(tickets::sla_due_at.lt(now))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Refunds tickets the supplier left unanswered past their SLA; returns how many. Safe on
/// several instances: PostgreSQL instances skip each other's rows, and the conditional
/// transition lets one answer win against a supplier answering at the same moment.
pub fn expire_overdue(conn: &mut DbConn, now: i64) -> Result<usize> {
    let q = tickets::table
        .filter(tickets::status.eq_any(WAITING))
        .filter(tickets::sla_due_at.lt(now))
        .order(tickets::sla_due_at.asc())
        .limit(100)
        .select(tickets::id);
    let due: Vec<String> = match conn {
        DbConn::Pg(c) => q.for_update().skip_locked().load(c)?,
        DbConn::Sqlite(c) => q.load(c)?,
    };
    let actor = "system:ticket-sla";
    let mut n = 0;
    for id in due {
        let t = load(conn, &id)?;
        match transition(conn, &t, &WAITING, Resolved, Some("refund"), actor, now) {
            Ok(()) => {}
            Err(Error::WrongState(_)) => continue, // answered meanwhile
            Err(e) => return Err(e),
        }
        refund(conn, &t, actor)?;
        notify_resolved(conn, &t.id)?;
        n += 1;
    }
    Ok(n)
}
