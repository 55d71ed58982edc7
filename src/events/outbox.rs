//! The outbox: events are written in the same transaction as the change they announce, so an
//! event exists exactly when its change committed. The delivery worker sends them later.

use diesel::prelude::*;
use serde_json::json;

use crate::db::schema::events;
use crate::db::DbConn;
use crate::error::Result;

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
        "created_at": crate::time::rfc3339(now),
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
