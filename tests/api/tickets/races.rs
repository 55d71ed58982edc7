//! The SLA sweep, and answers racing each other: exactly one applies.

use std::time::Duration;

use diesel::prelude::*;
use kameng::db::schema::cards;

use super::{answer, applied, parties};
use crate::common::TestApp;

#[actix_web::test]
async fn a_ticket_left_unanswered_past_its_sla_is_refunded_automatically() {
    let app = TestApp::spawn_with(|c| c.ticket_sla_secs = 1).await;
    let p = parties(&app, "SLA", 3).await;
    let order = p.buy(2, "SLA-1").await;
    let code = order.cards.unwrap()[1].code.clone();
    let t = p.open(&order.id, Some(&code)).await.unwrap();
    // A contested ticket (on another order) is the admin's: the sweep leaves it alone.
    let other = p.contested_ticket(&p.buy(1, "SLA-2").await.id).await.id;

    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let seen = loop {
        let seen = p.reseller_client.ticket(&t.id).await.unwrap();
        if seen.status != "open" {
            break seen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the SLA sweep never ran"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(seen.status, "resolved");
    assert_eq!(seen.resolution.as_deref(), Some("refund"));
    assert_eq!(seen.refund_amount, Some(100));
    let admin_view = app.admin.ticket(&t.id).await.unwrap();
    assert_eq!(admin_view.resolved_by.as_deref(), Some("system:ticket-sla"));
    assert_eq!(p.balance().await, 10_000 - 300 + 100);
    p.reseller_rx
        .wait_for(5, |g| {
            g.iter().any(|r| {
                r.event_type == "ticket.resolved" && r.json()["data"]["ticket_id"] == t.id.as_str()
            }) && g.iter().any(|r| r.event_type == "order.refunded")
        })
        .await;
    // Too late for the supplier now; the contested ticket still waits for the admin.
    let err = p.respond(&t.id, "replace", None).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    assert_eq!(
        app.admin.ticket(&other).await.unwrap().ticket.status,
        "contested"
    );
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn ten_racing_answers_deliver_exactly_one_replacement() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "RACE", 20).await;
    let order = p.buy(1, "RACE-1").await;
    let t = p.open(&order.id, None).await.unwrap();
    let stock_before = p.stock().await;

    // Supplier answers (some with their own code, some from stock) race admin decisions.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let supplier = p.supplier_client.clone();
        let admin = app.admin.clone();
        let id = t.id.clone();
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                0 => supplier
                    .respond_ticket(&id, &answer("replace", Some(&format!("RACE-FRESH-{i}"))))
                    .await
                    .map(|_| ()),
                1 => supplier
                    .respond_ticket(&id, &answer("replace", None))
                    .await
                    .map(|_| ()),
                _ => admin.resolve_ticket(&id, "replace", None).await.map(|_| ()),
            }
        }));
    }
    assert_eq!(applied(tasks).await, 1, "exactly one answer applies");

    let seen = p.reseller_client.ticket(&t.id).await.unwrap();
    assert_eq!(seen.replacement.unwrap().len(), 1);
    let delivered_to_ticket: i64 = app
        .state
        .db
        .read(|c| {
            Ok(cards::table
                .filter(cards::order_id.eq(&t.id))
                .count()
                .get_result(c)?)
        })
        .unwrap();
    assert_eq!(delivered_to_ticket, 1);
    // Stock moved by at most the one card a stock replacement took.
    assert!(stock_before - p.stock().await <= 1);
    assert_eq!(p.balance().await, 10_000 - 100);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn racing_refunds_pay_once() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "RREF", 5).await;
    let order = p.buy(2, "RREF-1").await;
    let code = order.cards.unwrap()[0].code.clone();
    let t = p.open(&order.id, Some(&code)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let supplier = p.supplier_client.clone();
        let admin = app.admin.clone();
        let id = t.id.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                supplier
                    .respond_ticket(&id, &answer("refund", None))
                    .await
                    .map(|_| ())
            } else {
                admin.resolve_ticket(&id, "refund", None).await.map(|_| ())
            }
        }));
    }
    assert_eq!(applied(tasks).await, 1);
    assert_eq!(p.balance().await, 10_000 - 200 + 100);
    app.assert_books_balance().await;
}
