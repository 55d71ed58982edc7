//! A supplier's failures: each failed call is a `failed` reservation (the quality figure
//! `jit_failures` counts them), and the circuit breaker trips when a supplier's last
//! [`BREAKER_FAILURES`] finished calls all failed.
//!
//! The breaker lives in the database, not in one instance's memory: `paused_until` on the
//! supplier's fulfilment rows, written only when it trips. Every instance (and the catalogue,
//! which shows a paused product's declared stock as gone) reads the same state, and a success
//! writes nothing: the window of the last calls then holds a success. After the cooldown the
//! next order calls again (half-open); if that call fails too, the window is still all
//! failures and the breaker trips again.

use std::collections::HashMap;

use diesel::dsl::count_star;
use diesel::prelude::*;

use super::ReservationStatus;
use crate::db::schema::{jit_fulfilment, jit_reservations};
use crate::db::DbConn;
use crate::error::Result;

/// Consecutive failed calls after which a supplier is paused.
pub const BREAKER_FAILURES: i64 = 5;

/// Marks a reservation failed (the supplier's fault) and trips the breaker if the supplier's
/// last calls all failed. False when the reservation was no longer in flight.
pub fn record_failure(
    conn: &mut DbConn,
    request_id: &str,
    reason: &str,
    now: i64,
    cooldown_ms: i64,
) -> Result<bool> {
    let failure: String = reason.chars().take(500).collect();
    let changed = diesel::update(
        jit_reservations::table
            .filter(jit_reservations::request_id.eq(request_id))
            .filter(jit_reservations::status.eq(ReservationStatus::Reserved)),
    )
    .set((
        jit_reservations::status.eq(ReservationStatus::Failed),
        jit_reservations::failure.eq(failure),
        jit_reservations::finished_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    let supplier_id: String = jit_reservations::table
        .find(request_id)
        .select(jit_reservations::supplier_id)
        .first(conn)?;
    // Released reservations failed for the order's own reasons: they say nothing of the
    // supplier and stay out of the window.
    let window: Vec<ReservationStatus> = jit_reservations::table
        .filter(jit_reservations::supplier_id.eq(&supplier_id))
        .filter(
            jit_reservations::status.eq_any([ReservationStatus::Done, ReservationStatus::Failed]),
        )
        .filter(jit_reservations::finished_at.is_not_null())
        .order(jit_reservations::finished_at.desc())
        .limit(BREAKER_FAILURES)
        .select(jit_reservations::status)
        .load(conn)?;
    let all_failed = window.len() as i64 == BREAKER_FAILURES
        && window.iter().all(|s| *s == ReservationStatus::Failed);
    if all_failed {
        tracing::warn!(supplier = %supplier_id, "just-in-time supplier paused by its circuit breaker");
        diesel::update(jit_fulfilment::table.filter(jit_fulfilment::supplier_id.eq(&supplier_id)))
            .set(jit_fulfilment::paused_until.eq(now + cooldown_ms))
            .execute(conn)?;
    }
    Ok(true)
}

/// Failed just-in-time calls per product of a supplier (a quality figure).
pub fn failures_by_product(conn: &mut DbConn, supplier_id: &str) -> Result<HashMap<String, i64>> {
    Ok(jit_reservations::table
        .filter(jit_reservations::supplier_id.eq(supplier_id))
        .filter(jit_reservations::status.eq(ReservationStatus::Failed))
        .group_by(jit_reservations::product_id)
        .select((jit_reservations::product_id, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}
