//! The outbox: events are written in the same transaction as the change they announce, so an
//! event exists exactly when its change committed. The delivery worker claims due events with a
//! lease (so one of several instances owns each attempt), sends them, and records every attempt.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::db::schema::{event_attempts, events, resellers, suppliers};
use crate::db::DbConn;
use crate::error::{Error, Result};
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
    let id = crate::ids::new_id("evt");
    let now = crate::time::now_ms();
    let payload = json!({
        "id": id,
        "type": ev.event_type,
        "created_at": rfc3339(now),
        "data": ev.data,
    });
    diesel::insert_into(events::table)
        .values((
            events::id.eq(&id),
            events::event_type.eq(ev.event_type),
            events::owner_kind.eq(ev.owner_kind),
            events::owner_id.eq(ev.owner_id),
            events::url.eq(ev.url),
            events::payload.eq(payload.to_string()),
            events::status.eq(if ev.url.is_some() {
                "pending"
            } else {
                "skipped"
            }),
            events::attempts.eq(0),
            events::next_attempt_at.eq(now),
            events::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A claimed event, ready to send.
#[derive(Debug, Clone)]
pub struct DueEvent {
    pub id: String,
    pub event_type: String,
    pub url: String,
    pub payload: String,
    pub attempts: i32,
    /// The owner's webhook secret, still sealed.
    pub secret_enc: String,
    /// The lease this worker holds; recording checks it so a stale worker cannot overwrite.
    pub lease: i64,
}

type EventRow = (String, String, String, String, Option<String>, String, i32);

fn owner_secret(conn: &mut DbConn, kind: &str, id: &str) -> Result<String> {
    Ok(match kind {
        "reseller" => resellers::table
            .find(id)
            .select(resellers::webhook_secret_enc)
            .first(conn)?,
        _ => suppliers::table
            .find(id)
            .select(suppliers::webhook_secret_enc)
            .first(conn)?,
    })
}

fn lease_rows(conn: &mut DbConn, rows: Vec<EventRow>, lease: i64) -> Result<Vec<DueEvent>> {
    let mut out = Vec::with_capacity(rows.len());
    for (id, event_type, owner_kind, owner_id, url, payload, attempts) in rows {
        diesel::update(events::table.find(&id))
            .set(events::locked_until.eq(lease))
            .execute(conn)?;
        let Some(url) = url else { continue };
        let secret_enc = owner_secret(conn, &owner_kind, &owner_id)?;
        out.push(DueEvent {
            id,
            event_type,
            url,
            payload,
            attempts,
            secret_enc,
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

/// An event as the admin sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventInfo {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub owner: String,
    pub url: Option<String>,
    /// `pending`, `delivered`, `failed` or `skipped` (no endpoint registered).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptInfo {
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub created_at: String,
}

type InfoRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i32,
    i64,
    Option<String>,
    i64,
    Option<i64>,
);

fn info(r: InfoRow) -> EventInfo {
    EventInfo {
        id: r.0,
        event_type: r.1,
        owner: format!("{}:{}", r.2, r.3),
        url: r.4,
        next_attempt_at: (r.5 == "pending").then(|| rfc3339(r.7)),
        status: r.5,
        attempts: r.6,
        last_error: r.8,
        created_at: rfc3339(r.9),
        delivered_at: r.10.map(rfc3339),
    }
}

#[allow(clippy::type_complexity)]
fn info_cols() -> (
    events::id,
    events::event_type,
    events::owner_kind,
    events::owner_id,
    events::url,
    events::status,
    events::attempts,
    events::next_attempt_at,
    events::last_error,
    events::created_at,
    events::delivered_at,
) {
    (
        events::id,
        events::event_type,
        events::owner_kind,
        events::owner_id,
        events::url,
        events::status,
        events::attempts,
        events::next_attempt_at,
        events::last_error,
        events::created_at,
        events::delivered_at,
    )
}

/// Events newest first, optionally by status; `before` is an id cursor.
pub fn list(
    conn: &mut DbConn,
    status: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<EventInfo>> {
    let mut q = events::table.select(info_cols()).into_boxed();
    if let Some(s) = status {
        q = q.filter(events::status.eq(s.to_string()));
    }
    if let Some(b) = before {
        q = q.filter(events::id.lt(b.to_string()));
    }
    Ok(q.order(events::id.desc())
        .limit(limit)
        .load::<InfoRow>(conn)?
        .into_iter()
        .map(info)
        .collect())
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<(EventInfo, Vec<AttemptInfo>)> {
    let row: InfoRow = events::table
        .find(id)
        .select(info_cols())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("event"))?;
    let attempts = event_attempts::table
        .filter(event_attempts::event_id.eq(id))
        .order(event_attempts::id.asc())
        .select((
            event_attempts::attempt,
            event_attempts::status_code,
            event_attempts::latency_ms,
            event_attempts::error,
            event_attempts::created_at,
        ))
        .load::<(i32, Option<i32>, i64, Option<String>, i64)>(conn)?
        .into_iter()
        .map(
            |(attempt, status_code, latency_ms, error, at)| AttemptInfo {
                attempt,
                status_code,
                latency_ms,
                error,
                created_at: rfc3339(at),
            },
        )
        .collect();
    Ok((info(row), attempts))
}

/// Puts a failed (or delivered) event back in the queue for a fresh round of attempts.
pub fn redeliver(conn: &mut DbConn, id: &str, now: i64) -> Result<EventInfo> {
    let (ev, _) = get(conn, id)?;
    if ev.url.is_none() {
        return Err(Error::Conflict(
            "this event has no endpoint to deliver to".into(),
        ));
    }
    diesel::update(events::table.find(id))
        .set((
            events::status.eq("pending"),
            events::attempts.eq(0),
            events::next_attempt_at.eq(now),
            events::locked_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(get(conn, id)?.0)
}

/// How far from the moment an order changed its announcing event is looked for. The event is
/// written in the same transaction, so it is milliseconds later; the margin covers a slow
/// commit and a clock that stepped back.
const ANNOUNCE_WINDOW_MS: i64 = 60_000;

/// The event of `event_types` that `owner_id` was sent about `order_id` when the order changed
/// at `changed_at` (its `completed_at`), newest first. Events carry no order column; event ids
/// are UUIDv7, which begin with their creation time, so the search is a primary-key range of a
/// two-minute window around `changed_at` — no extra index on the hot `events` table — and the
/// few candidates are matched on their payload's `data.order_id`.
pub fn find_order_event(
    conn: &mut DbConn,
    owner_id: &str,
    event_types: &[&str],
    order_id: &str,
    changed_at: i64,
) -> Result<Option<EventInfo>> {
    // `evt_` + 12 hex digits of unix milliseconds: the smallest id created at that moment.
    let bound = |ms: i64| format!("evt_{:012x}", ms.max(0));
    let candidates: Vec<(String, String)> = events::table
        .filter(events::id.ge(bound(changed_at - ANNOUNCE_WINDOW_MS)))
        .filter(events::id.lt(bound(changed_at + ANNOUNCE_WINDOW_MS)))
        .filter(events::owner_id.eq(owner_id))
        .filter(events::event_type.eq_any(event_types))
        .order(events::id.desc())
        .select((events::id, events::payload))
        .load(conn)?;
    let about_order = |payload: &str| {
        serde_json::from_str::<serde_json::Value>(payload)
            .is_ok_and(|p| p["data"]["order_id"] == order_id)
    };
    match candidates.into_iter().find(|(_, p)| about_order(p)) {
        Some((id, _)) => Ok(Some(get(conn, &id)?.0)),
        None => Ok(None),
    }
}
