//! Who may open which ticket: one per card, within the window, own orders only; and what each
//! side may see.

use diesel::prelude::*;
use kameng::auth::Scope;
use kameng::db::schema::orders;

use super::{answer, applied, new_ticket, parties, without_codes};
use crate::common::TestApp;
use crate::compliance::scoped;

#[actix_web::test]
async fn one_ticket_per_card_and_a_whole_order_ticket_is_the_only_one() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "ONE", 10).await;
    let order = p.buy(2, "ONE-1").await;
    let codes: Vec<String> = order.cards.unwrap().into_iter().map(|c| c.code).collect();
    let r = &p.reseller_client;

    p.open(&order.id, Some(&codes[0])).await.unwrap();
    for again in [Some(codes[0].as_str()), None] {
        let err = p.open(&order.id, again).await.unwrap_err();
        assert_eq!(err.code(), Some("conflict"), "{again:?}");
    }
    // The other card is free; padding around the code does not matter.
    p.open(&order.id, Some(&format!(" {} ", codes[1])))
        .await
        .unwrap();

    // A whole-order ticket excludes card tickets on that order.
    let whole = p.buy(2, "ONE-2").await;
    let wcode = whole.cards.as_ref().unwrap()[0].code.clone();
    p.open(&whole.id, None).await.unwrap();
    let err = p.open(&whole.id, Some(&wcode)).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));

    // A card of another order, an unknown code, an unknown reason.
    let err = p.open(&order.id, Some(&wcode)).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
    let err = p.open(&order.id, Some("NO-SUCH-CODE")).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
    let mut odd = new_ticket(&whole.id, None);
    odd.reason = "changed_my_mind".into();
    assert_eq!(
        r.open_ticket(&odd).await.unwrap_err().code(),
        Some("invalid_request")
    );

    // Racing openings on one card: exactly one ticket.
    let race = p.buy(1, "ONE-3").await;
    let rcode = race.cards.unwrap()[0].code.clone();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let client = r.clone();
        let req = new_ticket(&race.id, if i % 2 == 0 { Some(&rcode) } else { None });
        tasks.push(tokio::spawn(async move { client.open_ticket(&req).await }));
    }
    assert_eq!(applied(tasks).await, 1);
    let listed = r.tickets(&format!("order_id={}", race.id)).await.unwrap();
    assert_eq!(listed.data.len(), 1);
}

#[actix_web::test]
async fn tickets_open_only_within_the_window_after_the_order() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "WIN", 3).await;
    let old = p.buy(1, "WIN-1").await;
    let recent = p.buy(1, "WIN-2").await;
    // The first order is 31 days old (the default window is 30 days).
    let month_ago = kameng::time::now_ms() - 31 * 86_400_000;
    let id = old.id.clone();
    app.state
        .db
        .write(move |c| {
            diesel::update(orders::table.find(&id))
                .set(orders::created_at.eq(month_ago))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    let err = p.open(&old.id, None).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
    match err {
        kameng::client::ClientError::Api { problem, .. } => {
            assert_eq!(problem.errors[0].field, "order_id")
        }
        other => panic!("{other}"),
    }
    p.open(&recent.id, None).await.unwrap();

    // A shorter configured window.
    let app = TestApp::spawn_with(|c| c.ticket_window_secs = 1).await;
    let p = parties(&app, "WIN2", 1).await;
    let order = p.buy(1, "WIN2-1").await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let err = p.open(&order.id, None).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
}

#[actix_web::test]
async fn other_resellers_and_suppliers_see_nothing() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "ISO", 3).await;
    let order = p.buy(1, "ISO-1").await;
    let code = order.cards.as_ref().unwrap()[0].code.clone();
    let t = p.open(&order.id, Some(&code)).await.unwrap();

    // Another reseller: not found, whether opening on the order or reading the ticket.
    let (_, stranger) = app.reseller(None, 1_000).await;
    let err = stranger
        .open_ticket(&new_ticket(&order.id, Some(&code)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    assert_eq!(
        stranger.ticket(&t.id).await.unwrap_err().code(),
        Some("not_found")
    );
    assert!(stranger.tickets("").await.unwrap().data.is_empty());

    // Another supplier: not found, and an empty queue.
    let (_, rival) = app.supplier().await;
    let err = rival
        .respond_ticket(&t.id, &answer("refund", None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    assert!(rival.supplier_tickets("").await.unwrap().data.is_empty());

    // Roles and scopes: a supplier key cannot open tickets, a key without tickets:write cannot
    // open or read them.
    let err = p
        .supplier_client
        .open_ticket(&new_ticket(&order.id, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    let reader = scoped(&app, &p.reseller_client, &[Scope::OrdersRead], None).await;
    for err in [
        reader
            .open_ticket(&new_ticket(&order.id, None))
            .await
            .unwrap_err(),
        reader.ticket(&t.id).await.unwrap_err(),
    ] {
        assert_eq!(err.code(), Some("insufficient_scope"));
    }

    // The owner's list and the single view agree; codes only in the single view.
    let mine = p.reseller_client.tickets("").await.unwrap();
    assert_eq!(mine.data.len(), 1);
    assert_eq!(mine.data[0].card_code, None);
    let one = p.reseller_client.ticket(&t.id).await.unwrap();
    assert_eq!(one.card_code.as_deref(), Some(code.as_str()));
    assert_eq!(mine.data[0], without_codes(&one));

    // Pagination over tickets.
    for i in 0..2 {
        let o = p.buy(1, &format!("ISO-P{i}")).await;
        p.open(&o.id, None).await.unwrap();
    }
    let first = p.reseller_client.tickets("limit=2").await.unwrap();
    assert_eq!(first.data.len(), 2);
    let cursor = first.next_cursor.unwrap();
    let rest = p
        .reseller_client
        .tickets(&format!("limit=2&cursor={cursor}"))
        .await
        .unwrap();
    assert_eq!(rest.data.len(), 1);
    assert_eq!(rest.data[0].id, t.id);
    assert_eq!(rest.next_cursor, None);
}
