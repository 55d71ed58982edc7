//! The support assistant: a reseller's bot forwards its customer's message and shows the answer.

use actix_web::{post, web, HttpResponse};

use crate::auth::{Scope, Signed};
use crate::domain::support::{self, Question, SupportAnswer, SupportMessage, TicketPolicy};
use crate::error::{Problem, Result};
use crate::state::AppState;

/// Answer a customer's message: its intent, an answer in the customer's language (`zh` or
/// `en`) built from the named order's real state, and the actions taken for it — the order's
/// delivery callback sent again when a delivered code "never arrived"; an after-sales ticket
/// opened when a code "doesn't work", only if the key also holds `tickets:write`. Needs
/// `orders:read`: the assistant reads the caller's own orders.
#[utoipa::path(tag = "support", operation_id = "createSupportMessage",
    request_body = SupportMessage,
    responses(
        (status = 200, body = SupportAnswer),
        (status = 404, description = "not_found (`order_id` names no order of this reseller)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request (`text` empty or over 1000 characters, `lang` not `en` or `zh`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = ["orders:read"])))]
#[post("/v1/support/messages")]
pub async fn create_message(
    state: web::Data<AppState>,
    signed: Signed<SupportMessage>,
) -> Result<HttpResponse> {
    let caller = signed.reseller(Scope::OrdersRead)?.clone();
    let question = Question::parse(signed.body()?)?;
    let tickets = TicketPolicy {
        allowed: caller.scopes.contains(&Scope::TicketsWrite),
        window_ms: state.config.ticket_window_secs * 1000,
        sla_ms: state.config.ticket_sla_secs * 1000,
    };
    let now = crate::time::now_ms();
    let vault = state.vault.clone();
    let answer = state
        .db
        .write_async(move |c| support::reply(c, &vault, &caller.owner_id, &question, &tickets, now))
        .await?;
    if answer.actions.iter().any(|a| a.taken) {
        state.events_wakeup.notify_one();
    }
    Ok(HttpResponse::Ok().json(answer))
}
