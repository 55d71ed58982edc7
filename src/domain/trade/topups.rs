//! Direct top-ups (直充): the order is paid and `processing` until the supplier reports the
//! result, or the deadline passes. A failure refunds through the ledger. Each order ends once:
//! the transition is a conditional update, so racing answers (or an answer racing the timeout
//! sweep on another instance) cannot both apply.

use diesel::prelude::*;
use serde_json::json;

use crate::db::schema::orders as orders_t;
use crate::db::DbConn;
use crate::domain::money::ledger;
use crate::domain::trade::orders::{self, OrderRow, OrderStatus};
use crate::error::{Error, Result};
use crate::events::outbox::{self, NewEvent};

/// Validates the buyer's top-up fields against the product's `topup_fields`.
pub fn validate_fields(
    required: &[String],
    given: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let given = given.ok_or_else(|| {
        Error::invalid("topup", format!("required fields: {}", required.join(", ")))
    })?;
    for name in required {
        match given.get(name) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() && s.len() <= 256 => {}
            _ => {
                return Err(Error::invalid(
                    &format!("topup.{name}"),
                    "must be a non-empty string of at most 256 characters",
                ))
            }
        }
    }
    if let Some(extra) = given.keys().find(|k| !required.contains(k)) {
        return Err(Error::invalid(
            &format!("topup.{extra}"),
            "is not a field of this product",
        ));
    }
    Ok(given.clone())
}

/// Ends a processing order as completed or failed (refunded). `WrongState` if it is not
/// processing.
pub fn finish(
    conn: &mut DbConn,
    order_id: &str,
    success: bool,
    message: Option<&str>,
    actor: &str,
) -> Result<OrderRow> {
    let now = crate::time::now_ms();
    let status = if success {
        OrderStatus::Completed
    } else {
        OrderStatus::Failed
    };
    let changed = diesel::update(
        orders_t::table
            .filter(orders_t::id.eq(order_id))
            .filter(orders_t::status.eq(OrderStatus::Processing))
            // Bulk card orders are processing too, but never a supplier's to finish.
            .filter(orders_t::deadline_at.is_not_null()),
    )
    .set((
        orders_t::status.eq(status),
        orders_t::completed_at.eq(now),
        orders_t::result_message.eq(message),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(Error::WrongState(
            "this order is not awaiting a top-up result".into(),
        ));
    }
    let row = orders::load(conn, order_id)?;
    if !success {
        ledger::reverse(
            conn,
            row.ledger_seq,
            "order.topup_failed",
            actor,
            order_id,
            json!({ "message": message }),
        )?;
    }
    let notify = row.notify_url.clone();
    outbox::enqueue(
        conn,
        NewEvent {
            event_type: if success {
                "order.completed"
            } else {
                "order.failed"
            },
            owner_kind: "reseller",
            owner_id: &row.reseller_id,
            url: notify.as_deref(),
            data: json!({
                "order_id": row.id,
                "out_trade_no": row.out_trade_no,
                "product_id": row.product_id,
                "amount": row.amount,
                "currency": row.currency,
                "status": status,
                "message": message,
                "refunded": !success,
            }),
        },
    )?;
    Ok(row)
}

/// The supplier's answer for one of its own orders.
pub fn record_result(
    conn: &mut DbConn,
    supplier_id: &str,
    order_id: &str,
    success: bool,
    message: Option<&str>,
) -> Result<OrderRow> {
    let row = orders::load(conn, order_id)?;
    if row.supplier_id != supplier_id {
        return Err(Error::NotFound("order"));
    }
    if let Some(m) = message {
        if m.len() > 1000 {
            return Err(Error::invalid("message", "must be at most 1000 characters"));
        }
    }
    finish(
        conn,
        order_id,
        success,
        message,
        &format!("supplier:{supplier_id}"),
    )
}

/// Fails (and refunds) processing orders whose deadline passed; returns how many.
pub fn expire_overdue(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize> {
    let overdue: Vec<String> = orders_t::table
        .filter(crate::db::literal_condition("orders.status = 'processing'"))
        .filter(orders_t::deadline_at.lt(now))
        .order(orders_t::deadline_at.asc())
        .limit(limit)
        .select(orders_t::id)
        .load(conn)?;
    let mut n = 0;
    for id in overdue {
        match finish(
            conn,
            &id,
            false,
            Some("the supplier did not answer in time"),
            "system:topup-timeout",
        ) {
            Ok(_) => n += 1,
            Err(Error::WrongState(_)) => {} // answered meanwhile
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
