//! The delivery log: every event with its delivery state and attempts, for the admin (every
//! account) and for the account that owns it (`owner` set: another account's event is
//! `not_found`). Redelivery puts an event back in the queue for the worker.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::settings;
use crate::db::schema::{event_attempts, events};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::time::rfc3339;

/// Whose events: `(owner_kind, owner_id)`, or None for the admin's view of all.
pub type Owner<'a> = Option<(&'a str, &'a str)>;

/// An event and where its delivery stands (the admin's and its owner's view).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventInfo {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub owner: String,
    pub url: Option<String>,
    /// `pending`, `delivered`, `failed` or `skipped` (no endpoint registered, or a type its
    /// owner did not choose; `last_error` says which).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// One delivery attempt: when, the receiver's HTTP status (none when it could not be reached),
/// the error, and how long it took.
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

/// An event with its attempt log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: EventInfo,
    pub attempt_log: Vec<AttemptInfo>,
}

/// The statuses an event can be in, for `?status=` filters.
pub const STATUSES: &[&str] = &["pending", "delivered", "failed", "skipped"];

/// Events newest first, optionally by status; `before` is an id cursor.
pub fn list(
    conn: &mut DbConn,
    owner: Owner<'_>,
    status: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<EventInfo>> {
    let mut q = events::table.select(info_cols()).into_boxed();
    if let Some((kind, id)) = owner {
        q = q
            .filter(events::owner_kind.eq(kind.to_string()))
            .filter(events::owner_id.eq(id.to_string()));
    }
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

/// [`list`] with each event's attempt log, read in one more query for the whole page.
pub fn list_with_attempts(
    conn: &mut DbConn,
    owner: Owner<'_>,
    status: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<EventDetail>> {
    let events = list(conn, owner, status, before, limit)?;
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let mut logs = attempts_of(conn, &ids)?;
    Ok(events
        .into_iter()
        .map(|event| EventDetail {
            attempt_log: logs.remove(&event.id).unwrap_or_default(),
            event,
        })
        .collect())
}

type AttemptRow = (String, i32, Option<i32>, i64, Option<String>, i64);

/// The attempts of each of `ids`, oldest first.
fn attempts_of(conn: &mut DbConn, ids: &[&str]) -> Result<HashMap<String, Vec<AttemptInfo>>> {
    let rows: Vec<AttemptRow> = event_attempts::table
        .filter(event_attempts::event_id.eq_any(ids))
        .order(event_attempts::id.asc())
        .select((
            event_attempts::event_id,
            event_attempts::attempt,
            event_attempts::status_code,
            event_attempts::latency_ms,
            event_attempts::error,
            event_attempts::created_at,
        ))
        .load(conn)?;
    let mut logs: HashMap<String, Vec<AttemptInfo>> = HashMap::new();
    for (event_id, attempt, status_code, latency_ms, error, at) in rows {
        logs.entry(event_id).or_default().push(AttemptInfo {
            attempt,
            status_code,
            latency_ms,
            error,
            created_at: rfc3339(at),
        });
    }
    Ok(logs)
}

/// One event (of `owner`, when given) with every attempt.
pub fn get(conn: &mut DbConn, owner: Owner<'_>, id: &str) -> Result<EventDetail> {
    let (row, kind, owner_id): (InfoRow, String, String) = events::table
        .find(id)
        .select((info_cols(), events::owner_kind, events::owner_id))
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("event"))?;
    if owner.is_some_and(|(k, o)| (k, o) != (kind.as_str(), owner_id.as_str())) {
        return Err(Error::NotFound("event"));
    }
    let attempt_log = attempts_of(conn, &[id])?.remove(id).unwrap_or_default();
    Ok(EventDetail {
        event: info(row),
        attempt_log,
    })
}

/// Puts a failed (or delivered, or skipped) event back in the queue for a fresh round of
/// attempts. Refused when it has no endpoint, or when its owner turned its type off (the
/// worker would only skip it again).
pub fn redeliver(conn: &mut DbConn, owner: Owner<'_>, id: &str, now: i64) -> Result<EventInfo> {
    let ev = get(conn, owner, id)?.event;
    if ev.url.is_none() {
        return Err(Error::Conflict(
            "this event has no endpoint to deliver to".into(),
        ));
    }
    let (kind, owner_id) = ev.owner.split_once(':').unwrap_or_default();
    if !settings::load(conn, kind, owner_id)?.accepts(&ev.event_type) {
        return Err(Error::Conflict(format!(
            "{}; enable `{}` first",
            super::outbox::NOT_CHOSEN,
            ev.event_type
        )));
    }
    diesel::update(events::table.find(id))
        .set((
            events::status.eq("pending"),
            events::attempts.eq(0),
            events::next_attempt_at.eq(now),
            events::locked_until.eq(None::<i64>),
            events::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(get(conn, owner, id)?.event)
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
        Some((id, _)) => Ok(Some(get(conn, None, &id)?.event)),
        None => Ok(None),
    }
}
