//! Actions are taken only when allowed: a delivered order's callback is sent again (once at a
//! time), a ticket is opened only with `tickets:write`, once, within the after-sales window.

use kameng::auth::Scope;
use kameng::domain::support::{ActionKind, Intent};

use super::{ask, shop};
use crate::common::{topup_result, TestApp};
use crate::compliance::scoped;

#[actix_web::test]
async fn a_code_not_received_resends_the_orders_delivery_callback() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let order = shop.delivered("RS-1").await;
    assert_eq!(shop.callbacks_about(&order.id), 1);

    let a = ask(
        &shop.client,
        "I never received the code for my order",
        Some(&order.id),
    )
    .await;
    assert_eq!(a.intent, Intent::CodeNotReceived);
    assert_eq!(a.actions.len(), 1);
    let action = &a.actions[0];
    assert_eq!(
        (action.kind, action.taken),
        (ActionKind::ResendCallback, true)
    );
    let event_id = action.event_id.clone().unwrap();
    assert!(
        a.answer.contains("sent the delivery to the shop again"),
        "{}",
        a.answer
    );

    // The same event (same id, so the shop can deduplicate) reaches the receiver again.
    let got = shop
        .rx
        .wait_for(5, |g| {
            g.iter().filter(|r| r.event_id == event_id).count() == 2
        })
        .await;
    let again = got.iter().rfind(|r| r.event_id == event_id).unwrap();
    assert_eq!(again.event_type, "order.delivered");
    assert_eq!(again.json()["data"]["order_id"], order.id.as_str());
    assert_eq!(shop.callbacks_about(&order.id), 2);

    // A processing order has nothing to resend yet.
    let topup = shop.topup("RS-2").await;
    let waiting = ask(&shop.client, "没收到充值", Some(&topup.id)).await;
    assert_eq!(waiting.intent, Intent::CodeNotReceived);
    assert!(waiting.actions.is_empty());
    assert!(waiting.answer.contains("处理中"), "{}", waiting.answer);

    // A completed top-up's `order.completed` is the one sent again.
    topup_result(
        &shop.supplier,
        &topup.id,
        serde_json::json!({"status": "success"}),
    )
    .await;
    shop.rx
        .wait_for(5, |g| g.iter().any(|r| r.event_type == "order.completed"))
        .await;
    let done = ask(
        &shop.client,
        "recharge not credited to my account",
        Some(&topup.id),
    )
    .await;
    assert!(done.actions[0].taken, "{:?}", done.actions);
    let completed = done.actions[0].event_id.clone().unwrap();
    shop.rx
        .wait_for(5, |g| {
            g.iter().filter(|r| r.event_id == completed).count() == 2
        })
        .await;
}

#[actix_web::test]
async fn no_resend_without_a_callback_address() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let (_, silent) = app.reseller(None, 1_000).await;
    let order = silent.buy(&shop.card.product.id, 1, "NC-1").await.unwrap();
    let a = ask(&silent, "didn't get my key", Some(&order.id)).await;
    assert_eq!(a.actions.len(), 1);
    assert!(!a.actions[0].taken);
    assert_eq!(a.actions[0].reason.as_deref(), Some("no_callback_url"));
    assert!(a.answer.contains("contact the shop"), "{}", a.answer);
}

#[actix_web::test]
async fn an_invalid_code_opens_one_ticket_with_tickets_write() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let order = shop.delivered("TK-1").await;
    let code = order.cards.as_ref().unwrap()[0].code.clone();

    let text = format!("the code {code} says it was already redeemed");
    let a = ask(&shop.client, &text, Some(&order.id)).await;
    assert_eq!(a.intent, Intent::CodeInvalid);
    let action = &a.actions[0];
    assert_eq!((action.kind, action.taken), (ActionKind::OpenTicket, true));
    let ticket_id = action.ticket_id.clone().unwrap();
    assert!(
        a.answer
            .contains(&format!("opened after-sales ticket {ticket_id}")),
        "{}",
        a.answer
    );
    let ticket = shop.client.ticket(&ticket_id).await.unwrap();
    assert_eq!(ticket.order_id, order.id);
    assert_eq!(ticket.reason, "already_redeemed");
    assert_eq!(
        ticket.card_code.as_deref(),
        Some(code.as_str()),
        "the quoted card is named"
    );
    assert_eq!(ticket.status, "open");

    // Asking again opens nothing new: the answer points at the ticket there is.
    let again = ask(&shop.client, "卡密无效，兑换不了", Some(&order.id)).await;
    assert_eq!(again.intent, Intent::CodeInvalid);
    assert!(!again.actions[0].taken);
    assert_eq!(again.actions[0].reason.as_deref(), Some("ticket_exists"));
    assert_eq!(
        again.actions[0].ticket_id.as_deref(),
        Some(ticket_id.as_str())
    );
    assert!(
        again
            .answer
            .contains(&format!("该订单已有售后工单 {ticket_id}")),
        "{}",
        again.answer
    );
    assert_eq!(shop.client.tickets("").await.unwrap().data.len(), 1);
}

#[actix_web::test]
async fn without_tickets_write_no_ticket_is_opened_and_the_answer_says_what_to_do() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let order = shop.delivered("TK-2").await;
    let bot = scoped(&app, &shop.client, &[Scope::OrdersRead], None).await;

    let a = ask(
        &bot,
        "this code is invalid, it doesn't work",
        Some(&order.id),
    )
    .await;
    assert_eq!(a.intent, Intent::CodeInvalid);
    assert_eq!(a.actions.len(), 1);
    assert!(!a.actions[0].taken);
    assert_eq!(a.actions[0].reason.as_deref(), Some("missing_scope"));
    assert!(
        a.answer
            .contains("contact the shop with your order number and the code"),
        "{}",
        a.answer
    );
    assert!(shop.client.tickets("").await.unwrap().data.is_empty());

    // A key without orders:read may not ask at all.
    let buyer_only = scoped(&app, &shop.client, &[Scope::OrdersWrite], None).await;
    let err = buyer_only
        .ask_support("where is my code", Some(&order.id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("insufficient_scope"));
}

#[actix_web::test]
async fn no_ticket_past_the_after_sales_window() {
    let app = TestApp::spawn_with(|c| c.ticket_window_secs = 0).await;
    let shop = shop(&app).await;
    let order = shop.delivered("TK-3").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let a = ask(
        &shop.client,
        "Steam says the code is invalid",
        Some(&order.id),
    )
    .await;
    assert_eq!(a.actions[0].reason.as_deref(), Some("outside_window"));
    assert!(
        a.answer.contains("older than the after-sales period"),
        "{}",
        a.answer
    );
    assert!(shop.client.tickets("").await.unwrap().data.is_empty());
}
