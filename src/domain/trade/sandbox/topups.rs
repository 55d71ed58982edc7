//! Sandbox direct top-ups: no supplier is asked; the trigger decides the answer and a sweep
//! (`jobs::sandbox`) gives it, as a supplier's answer or deadline would for a live order.

use diesel::prelude::*;
use serde_json::json;

use super::orders::{adjust, announce, SandboxOrderRow};
use super::{Trigger, TOPUP_ANSWER_AFTER_MS};
use crate::db::schema::sandbox_orders;
use crate::db::DbConn;
use crate::domain::trade::orders::OrderStatus;
use crate::error::Result;

/// What a processing sandbox top-up comes to at `now`, if anything yet: `Some(true)`
/// completed, `Some(false)` failed (with its message).
fn answer(row: &SandboxOrderRow, now: i64) -> Option<(bool, &'static str)> {
    let answered = now >= row.created_at + TOPUP_ANSWER_AFTER_MS;
    let overdue = row.deadline_at.is_some_and(|d| now >= d);
    match Trigger::named(&row.product_id) {
        Some(Trigger::TopupFail) if answered => {
            Some((false, "sandbox: the supplier refused the top-up"))
        }
        Some(Trigger::TopupTimeout) if overdue => {
            Some((false, "no answer from the supplier before the deadline"))
        }
        Some(Trigger::TopupFail | Trigger::TopupTimeout) => None,
        // SANDBOX-TOPUP-OK and every live direct product: completed.
        _ if answered => Some((true, "sandbox: topped up")),
        _ => None,
    }
}

/// Finishes the sandbox top-ups whose answer is due: completed, or failed and refunded to the
/// sandbox balance, each with its callback. Returns how many it finished.
pub fn finish_due(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize> {
    let rows: Vec<SandboxOrderRow> = sandbox_orders::table
        .filter(sandbox_orders::status.eq(OrderStatus::Processing))
        .order(sandbox_orders::created_at.asc())
        .limit(limit)
        .select(SandboxOrderRow::as_select())
        .load(conn)?;
    let mut finished = 0;
    for row in rows {
        let Some((success, message)) = answer(&row, now) else {
            continue;
        };
        let status = if success {
            OrderStatus::Completed
        } else {
            OrderStatus::Failed
        };
        // Conditional, so two instances never finish (and refund) one order twice.
        let changed = diesel::update(
            sandbox_orders::table
                .filter(sandbox_orders::id.eq(&row.id))
                .filter(sandbox_orders::status.eq(OrderStatus::Processing)),
        )
        .set((
            sandbox_orders::status.eq(status),
            sandbox_orders::completed_at.eq(now),
            sandbox_orders::result_message.eq(message),
        ))
        .execute(conn)?;
        if changed == 0 {
            continue;
        }
        if !success {
            adjust(conn, &row.reseller_id, row.amount, now)?;
        }
        let mut data = SandboxOrderRow {
            status,
            ..row.clone()
        }
        .event_data();
        data["message"] = json!(message);
        data["refunded"] = json!(!success);
        let event = if success {
            "order.completed"
        } else {
            "order.failed"
        };
        announce(conn, &row, event, data)?;
        finished += 1;
    }
    Ok(finished)
}

/// True when some sandbox top-up is processing (a read, so an idle instance never takes the
/// SQLite writer for the sweep).
pub fn any_processing(conn: &mut DbConn) -> Result<bool> {
    Ok(sandbox_orders::table
        .filter(sandbox_orders::status.eq(OrderStatus::Processing))
        .select(sandbox_orders::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}
