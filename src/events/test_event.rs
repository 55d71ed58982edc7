//! Test events: an account sends itself a signed `webhook.test` to check its endpoint.

use actix_web::web;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::outbox::{self, NewEvent, Outcome};
use super::settings;
use super::worker;
use crate::domain::accounts::keys::OwnerKind;
use crate::error::{Error, Result};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "event_id": "evt_01a2b3c4", "delivered": true, "attempt": {"status_code": 200, "latency_ms": 42, "error": null}
}))]
pub struct TestDelivery {
    pub event_id: String,
    /// True when the endpoint answered 2xx.
    pub delivered: bool,
    pub attempt: Outcome,
}

/// Enqueues a `webhook.test` for the account's registered callback URL, claims it at once and
/// delivers it now, reporting the attempt (409 `conflict` when no URL is registered).
pub async fn send_test(
    state: &web::Data<AppState>,
    kind: OwnerKind,
    owner_id: String,
) -> Result<TestDelivery> {
    let st = state.clone();
    let event = state
        .db
        .write_async(move |c| {
            let url = settings::account_hooks(c, kind.as_str(), &owner_id)?.url;
            let url = url.ok_or_else(|| {
                Error::Conflict("no callback URL is registered for this account".into())
            })?;
            let id = outbox::enqueue(
                c,
                NewEvent {
                    event_type: settings::TEST_EVENT,
                    owner_kind: kind.as_str(),
                    owner_id: &owner_id,
                    url: Some(&url),
                    data: json!({ "message": "test event from kameng" }),
                },
            )?;
            let now = crate::time::now_ms();
            outbox::claim_one(c, &id, now, 60_000)?
                .ok_or_else(|| Error::internal("test event vanished"))
        })
        .await?;
    let event_id = event.id.clone();
    let attempt = worker::deliver_and_record(&st, event).await;
    Ok(TestDelivery {
        event_id,
        delivered: attempt.succeeded(),
        attempt,
    })
}
