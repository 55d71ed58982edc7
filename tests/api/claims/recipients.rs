//! Enterprise welfare: one link per recipient, listed in pages with their state and exported
//! as CSV for the buyer's mailing system.

use kameng::domain::trade::claims::Recipient;

use super::{assert_books_clean, links_req};
use crate::common::TestApp;

fn recipient(n: usize) -> Recipient {
    Recipient {
        reference: format!("EMP-{n:03}"),
        name: Some(if n == 2 {
            "=HYPERLINK(\"http://x\")".into()
        } else {
            format!("Employee {n}")
        }),
        contact: Some(format!("e{n}@corp.example")),
    }
}

#[actix_web::test]
async fn each_recipient_gets_a_link_listed_paged_and_exported() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("WELF", 100, 90, 10).await;
    let (_, client) = app.reseller(None, 10_000).await;
    let mut req = links_req(&p.product.id, 5, "WELFARE-1");
    req.recipients = Some((0..5).map(recipient).collect());
    let (order, _) = client.create_order(&req).await.unwrap();
    let links = order.claims.unwrap();
    let refs: Vec<_> = links
        .iter()
        .map(|l| l.recipient.as_ref().unwrap().reference.clone())
        .collect();
    assert_eq!(
        refs,
        (0..5).map(|n| format!("EMP-{n:03}")).collect::<Vec<_>>()
    );

    // Pages of two, in order, following the cursor.
    let mut seen = Vec::new();
    let mut query = "limit=2".to_string();
    loop {
        let page = client.order_claims(&order.id, &query).await.unwrap();
        assert!(page.data.len() <= 2);
        seen.extend(page.data.into_iter().map(|l| l.claim_id));
        match page.next_cursor {
            Some(c) => query = format!("limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut ids: Vec<_> = links.iter().map(|l| l.claim_id.clone()).collect();
    ids.sort();
    assert_eq!(seen, ids);

    // By state, after one is redeemed.
    kameng::client::ClaimHolder::new(&app.base)
        .redeem(&links[3].token)
        .await
        .unwrap();
    let claimed = client
        .order_claims(&order.id, "status=claimed")
        .await
        .unwrap();
    assert_eq!(claimed.data.len(), 1);
    assert_eq!(claimed.data[0].claim_id, links[3].claim_id);
    let bad = client.order_claims(&order.id, "status=lost").await;
    assert_eq!(bad.unwrap_err().code(), Some("invalid_request"));

    // CSV: a header and a line per link; a formula in a name is defused.
    let csv = client.order_claims_csv(&order.id, "").await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(lines[0].starts_with("claim_id,status,ref,name,contact,url_path"));
    assert!(csv.contains(&links[0].url_path));
    assert!(csv.contains("EMP-004"));
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
    assert!(!csv.contains(",=HYPERLINK"));

    // Someone else's order is not found.
    let (_, other) = app.reseller(None, 0).await;
    let err = other.order_claims(&order.id, "").await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    assert_books_clean(&app).await;
}

#[actix_web::test]
async fn recipients_must_match_the_quantity_and_be_distinct() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("WELF2", 100, 90, 10).await;
    let (_, client) = app.reseller(None, 10_000).await;
    let mut short = links_req(&p.product.id, 3, "W-1");
    short.recipients = Some((0..2).map(recipient).collect());
    let mut twice = links_req(&p.product.id, 2, "W-2");
    twice.recipients = Some(vec![recipient(1), recipient(1)]);
    let mut empty = links_req(&p.product.id, 1, "W-3");
    empty.recipients = Some(Vec::new());
    for (req, field) in [
        (short, "quantity"),
        (twice, "recipients[1].ref"),
        (empty, "recipients"),
    ] {
        let err = client.create_order(&req).await.unwrap_err();
        assert_eq!(err.code(), Some("invalid_request"));
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    assert_eq!(client.account().await.unwrap().balance, 10_000);
}
