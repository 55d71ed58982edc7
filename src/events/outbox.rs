//! The outbox: events are written in the same transaction as the change they announce, so an
//! event exists exactly when its change committed. The delivery worker claims due events with a
//! lease (so one of several instances owns each attempt), sends them, and records every attempt.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::settings;
use crate::db::schema::{event_attempts, events};
use crate::db::stmt::{execute_rows, Arg, Shape, ROW_CHUNKS};
use crate::db::DbConn;
use crate::error::Result;
use crate::time::rfc3339;

pub struct NewEvent<'a> {
    pub event_type: &'a str,
    /// `reseller` or `supplier`.
    pub owner_kind: &'a str,
    pub owner_id: &'a str,
    /// Where to send it; None when the account registered no endpoint.
    pub url: Option<&'a str>,
    pub data: serde_json::Value,
}

/// Enqueues an event; returns its id (the same on every delivery attempt).
pub fn enqueue(conn: &mut DbConn, ev: NewEvent<'_>) -> Result<String> {
    let mut ids = enqueue_many(conn, std::slice::from_ref(&ev))?;
    Ok(ids.pop().unwrap_or_default())
}

/// Enqueues events with one multi-row INSERT (a SQLite batch's orders); returns their ids.
pub fn enqueue_many(conn: &mut DbConn, evs: &[NewEvent<'_>]) -> Result<Vec<String>> {
    let stamped = Stamped::new(evs);
    execute_rows(conn, &ROW_CHUNKS, EVENTS_INSERT, &stamped.rows())?;
    Ok(stamped.ids)
}

/// Events given their ids and payloads, ready to insert ([`EVENTS_INSERT`]).
pub struct Stamped<'e, 'a> {
    evs: &'e [NewEvent<'a>],
    ids: Vec<String>,
    payloads: Vec<String>,
    now: i64,
}

impl<'e, 'a> Stamped<'e, 'a> {
    pub fn new(evs: &'e [NewEvent<'a>]) -> Self {
        let now = crate::time::now_ms();
        let (ids, payloads) = evs
            .iter()
            .map(|ev| {
                let id = crate::ids::new_id("evt");
                let payload = json!({
                    "id": id,
                    "type": ev.event_type,
                    "created_at": rfc3339(now),
                    "data": ev.data,
                });
                (id, payload.to_string())
            })
            .unzip();
        Stamped {
            evs,
            ids,
            payloads,
            now,
        }
    }

    /// The rows of [`EVENTS_INSERT`].
    pub fn rows(&self) -> Vec<[Arg<'_>; 9]> {
        self.evs
            .iter()
            .zip(self.ids.iter().zip(&self.payloads))
            .map(|(ev, (id, payload))| {
                [
                    id.into(),
                    ev.event_type.into(),
                    ev.owner_kind.into(),
                    ev.owner_id.into(),
                    ev.url.into(),
                    payload.into(),
                    (if ev.url.is_some() {
                        "pending"
                    } else {
                        "skipped"
                    })
                    .into(),
                    self.now.into(), // next_attempt_at
                    self.now.into(), // created_at
                ]
            })
            .collect()
    }
}

/// Inserts events, one row each ([`Stamped::rows`]).
pub const EVENTS_INSERT: Shape = (
    "INSERT INTO events (id, event_type, owner_kind, owner_id, url, payload, status, \
     attempts, next_attempt_at, created_at) VALUES ",
    "(?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
    "",
);

/// A claimed event, ready to send.
#[derive(Debug, Clone)]
pub struct DueEvent {
    pub id: String,
    pub event_type: String,
    pub url: String,
    pub payload: String,
    pub attempts: i32,
    /// The owner's webhook secrets, still sealed: the current one, then the one it rotated
    /// away from while their overlap lasts (each signs a `v1=`).
    pub secrets_enc: Vec<String>,
    /// The lease this worker holds; recording checks it so a stale worker cannot overwrite.
    pub lease: i64,
}

type EventRow = (String, String, String, String, Option<String>, String, i32);

/// Why an event of a type its owner turned off was not sent.
pub const NOT_CHOSEN: &str = "event type not enabled for this endpoint";

fn lease_rows(conn: &mut DbConn, rows: Vec<EventRow>, lease: i64) -> Result<Vec<DueEvent>> {
    let now = crate::time::now_ms();
    let mut out = Vec::with_capacity(rows.len());
    for (id, event_type, owner_kind, owner_id, url, payload, attempts) in rows {
        let Some(url) = url else { continue };
        let (secrets_enc, chosen) = settings::for_delivery(conn, &owner_kind, &owner_id, now)?;
        // The owner's choice is applied here, when the event would be sent, rather than when
        // it is written: the order transaction then reads nothing more, and a change of mind
        // applies to events still waiting. The event stays, `skipped`, in the owner's log.
        if !chosen.accepts(&event_type) {
            diesel::update(events::table.find(&id))
                .set((
                    events::status.eq("skipped"),
                    events::locked_until.eq(None::<i64>),
                    events::last_error.eq(NOT_CHOSEN),
                ))
                .execute(conn)?;
            continue;
        }
        diesel::update(events::table.find(&id))
            .set(events::locked_until.eq(lease))
            .execute(conn)?;
        out.push(DueEvent {
            id,
            event_type,
            url,
            payload,
            attempts,
            secrets_enc,
            lease,
        });
    }
    Ok(out)
}

fn event_cols() -> (
    events::id,
    events::event_type,
    events::owner_kind,
    events::owner_id,
    events::url,
    events::payload,
    events::attempts,
) {
    (
        events::id,
        events::event_type,
        events::owner_kind,
        events::owner_id,
        events::url,
        events::payload,
        events::attempts,
    )
}

/// Claims up to `limit` due events for `lease_ms`. On PostgreSQL concurrent workers skip each
/// other's rows, so no two instances send the same attempt.
pub fn claim_due(conn: &mut DbConn, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<DueEvent>> {
    let q = events::table
        .filter(events::status.eq("pending"))
        .filter(events::next_attempt_at.le(now))
        .filter(
            events::locked_until
                .is_null()
                .or(events::locked_until.lt(now)),
        )
        .order(events::next_attempt_at.asc())
        .limit(limit)
        .select(event_cols());
    let rows: Vec<EventRow> = match conn {
        DbConn::Pg(c) => q.for_update().skip_locked().load(c)?,
        DbConn::Sqlite(c) => q.load(c)?,
    };
    lease_rows(conn, rows, now + lease_ms)
}

/// Claims one pending event by id (test sends and redelivery send at once).
pub fn claim_one(conn: &mut DbConn, id: &str, now: i64, lease_ms: i64) -> Result<Option<DueEvent>> {
    let rows: Vec<EventRow> = events::table
        .filter(events::id.eq(id))
        .filter(events::status.eq("pending"))
        .filter(
            events::locked_until
                .is_null()
                .or(events::locked_until.lt(now)),
        )
        .select(event_cols())
        .load(conn)?;
    Ok(lease_rows(conn, rows, now + lease_ms)?.pop())
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Outcome {
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Records an attempt and schedules the next one from `schedule` (seconds after each failure);
/// when the schedule is exhausted the event is `failed`.
pub fn record_attempt(
    conn: &mut DbConn,
    ev: &DueEvent,
    outcome: &Outcome,
    schedule: &[u64],
    now: i64,
) -> Result<()> {
    let attempt = ev.attempts + 1;
    diesel::insert_into(event_attempts::table)
        .values((
            event_attempts::event_id.eq(&ev.id),
            event_attempts::attempt.eq(attempt),
            event_attempts::status_code.eq(outcome.status_code.map(i32::from)),
            event_attempts::latency_ms.eq(outcome.latency_ms),
            event_attempts::error.eq(&outcome.error),
            event_attempts::created_at.eq(now),
        ))
        .execute(conn)?;
    let mine = events::table
        .filter(events::id.eq(&ev.id))
        .filter(events::locked_until.eq(ev.lease));
    let last_error = outcome
        .error
        .clone()
        .or_else(|| outcome.status_code.map(|s| format!("HTTP {s}")));
    if outcome.succeeded() {
        diesel::update(mine)
            .set((
                events::status.eq("delivered"),
                events::attempts.eq(attempt),
                events::delivered_at.eq(now),
                events::locked_until.eq(None::<i64>),
                events::last_error.eq(None::<String>),
            ))
            .execute(conn)?;
    } else {
        let (status, next) = match schedule.get(ev.attempts as usize) {
            Some(delay) => ("pending", now + (*delay as i64) * 1000),
            None => ("failed", now),
        };
        diesel::update(mine)
            .set((
                events::status.eq(status),
                events::attempts.eq(attempt),
                events::next_attempt_at.eq(next),
                events::locked_until.eq(None::<i64>),
                events::last_error.eq(last_error),
            ))
            .execute(conn)?;
    }
    Ok(())
}
