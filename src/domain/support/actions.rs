//! What the assistant may do besides answering, each only when allowed: send the order's
//! callback again (the code "never arrived"), open an after-sales ticket (the code "does not
//! work"). An action not taken says why in a stable `reason`, so the reseller's bot can tell
//! the customer what to do instead.

use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::facts::OrderFacts;
use crate::crypto::Vault;
use crate::db::DbConn;
use crate::domain::aftersales::tickets::{self, NewTicket};
use crate::domain::trade::inventory;
use crate::error::{Error, Result};
use crate::events::deliveries;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// The order's `order.delivered` / `order.completed` callback queued for delivery again.
    ResendCallback,
    /// An after-sales ticket opened on the order (`POST /v1/tickets`'s rules apply).
    OpenTicket,
}

/// One action the message called for, taken or not.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"kind": "resend_callback", "taken": true, "event_id": "evt_0193a7c2d4e57b10a9c3e2f1d0b4a688"}))]
pub struct SupportAction {
    pub kind: ActionKind,
    pub taken: bool,
    /// Why it was not taken: `missing_scope` (the key lacks `tickets:write`), `ticket_exists`
    /// (`ticket_id` names it), `outside_window` (older than `KAMENG_TICKET_WINDOW`),
    /// `already_queued` (the callback is being delivered), `no_callback_url` (the order has no
    /// callback address), `no_callback` (no delivery event was found for the order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

impl SupportAction {
    fn new(kind: ActionKind, taken: bool, reason: Option<&str>) -> Self {
        SupportAction {
            kind,
            taken,
            reason: reason.map(str::to_string),
            ticket_id: None,
            event_id: None,
        }
    }
}

/// The events that hand an order's goods to the reseller.
const DELIVERY_EVENTS: [&str; 2] = ["order.delivered", "order.completed"];

/// Queues the delivered order's delivery callback again (as an admin redelivery does) unless
/// it is still being delivered: a customer repeating "where is my code" does not multiply
/// callbacks.
pub fn resend_callback(
    conn: &mut DbConn,
    reseller_id: &str,
    facts: &OrderFacts,
    now: i64,
) -> Result<SupportAction> {
    let kind = ActionKind::ResendCallback;
    let changed_at = facts.delivered_at.unwrap_or(facts.created_at);
    let found = deliveries::find_order_event(
        conn,
        reseller_id,
        &DELIVERY_EVENTS,
        &facts.order_id,
        changed_at,
    )?;
    let Some(event) = found else {
        return Ok(SupportAction::new(kind, false, Some("no_callback")));
    };
    let mut action = if event.url.is_none() {
        SupportAction::new(kind, false, Some("no_callback_url"))
    } else if event.status == "pending" {
        SupportAction::new(kind, false, Some("already_queued"))
    } else {
        match deliveries::redeliver(conn, Some(("reseller", reseller_id)), &event.id, now) {
            Ok(_) => SupportAction::new(kind, true, None),
            // The reseller turned this event type off for its endpoint.
            Err(Error::Conflict(_)) => SupportAction::new(kind, false, Some("event_type_disabled")),
            Err(e) => return Err(e),
        }
    };
    action.event_id = Some(event.id);
    Ok(action)
}

/// Orders of up to this many codes are searched for a code the message quotes.
const MAX_QUOTED_SCAN: i64 = 20;

/// What opening a ticket needs besides the order.
pub struct TicketPolicy {
    /// The key holds `tickets:write`.
    pub allowed: bool,
    pub window_ms: i64,
    pub sla_ms: i64,
}

/// Opens a ticket on the delivered order for a code that does not work: naming the card when
/// the message quotes one of the order's codes, else the whole order. Not taken without the
/// `tickets:write` scope, when the order already has a ticket, or past the after-sales window.
pub fn open_ticket(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    facts: &OrderFacts,
    text: &str,
    policy: &TicketPolicy,
    now: i64,
) -> Result<SupportAction> {
    let kind = ActionKind::OpenTicket;
    if let Some(existing) = facts.tickets.first() {
        let mut action = SupportAction::new(kind, false, Some("ticket_exists"));
        action.ticket_id = Some(existing.id.clone());
        return Ok(action);
    }
    if !policy.allowed {
        return Ok(SupportAction::new(kind, false, Some("missing_scope")));
    }
    if facts.created_at + policy.window_ms < now {
        return Ok(SupportAction::new(kind, false, Some("outside_window")));
    }
    let req = NewTicket {
        order_id: facts.order_id.clone(),
        reason: ticket_reason(text).into(),
        // A chat order has a few codes; a bulk order's thousands are not unsealed for this.
        card_code: if facts.quantity <= MAX_QUOTED_SCAN {
            quoted_code(conn, vault, &facts.order_id, text)?
        } else {
            None
        },
        message: Some(text.chars().take(1000).collect()),
    };
    // In a savepoint: a ticket racing this one (PostgreSQL) fails its insert, which must not
    // take the answer down with it.
    let opened = conn.transaction(|c| {
        tickets::open(
            c,
            vault,
            reseller_id,
            &req,
            policy.window_ms,
            policy.sla_ms,
            now,
        )
    });
    match opened {
        Ok(ticket) => {
            let mut action = SupportAction::new(kind, true, None);
            action.ticket_id = Some(ticket.id);
            Ok(action)
        }
        Err(Error::Conflict(_)) => Ok(SupportAction::new(kind, false, Some("ticket_exists"))),
        Err(e) => Err(e),
    }
}

/// `already_redeemed` when the customer says the code was used, else `invalid_code`.
fn ticket_reason(text: &str) -> &'static str {
    const USED: [&str; 9] = [
        "already",
        "used",
        "redeemed",
        "claimed",
        "activated",
        "已使用",
        "已被",
        "已兑换",
        "用过",
    ];
    let lower = text.to_lowercase();
    if USED.iter().any(|w| lower.contains(w)) {
        "already_redeemed"
    } else {
        "invalid_code"
    }
}

/// The order's code the message quotes, if any (then the ticket names that one card).
fn quoted_code(
    conn: &mut DbConn,
    vault: &Vault,
    order_id: &str,
    text: &str,
) -> Result<Option<String>> {
    for sealed in inventory::order_cards(conn, order_id)? {
        let card = inventory::unseal(vault, &sealed)?;
        if !card.code.is_empty() && text.contains(&card.code) {
            return Ok(Some(card.code));
        }
    }
    Ok(None)
}
