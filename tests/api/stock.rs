//! Supplier stock push: dedup, rejection reasons, encryption at rest.

use kameng::domain::trade::inventory::{NewCard, PushCards};
use reqwest::Method;

use crate::common::{cards, TestApp};

#[actix_web::test]
async fn push_dedups_within_request_and_against_history() {
    let app = TestApp::spawn().await;
    let (_, supplier, p) = app.stocked_product("STEAM-50", 5_000, 4_500, 3).await;
    let pid = &p.product.id;
    // Two already stored, one repeated within the request, one new, one empty, one expired.
    let req = PushCards {
        cards: vec![
            NewCard {
                code: "STEAM-50-CODE-000000".into(),
                secret: None,
                expires_at: None,
            },
            NewCard {
                code: "STEAM-50-CODE-000001".into(),
                secret: None,
                expires_at: None,
            },
            NewCard {
                code: "NEW-1".into(),
                secret: Some("s".into()),
                expires_at: Some("2099-01-01T00:00:00Z".into()),
            },
            NewCard {
                code: "NEW-1".into(),
                secret: None,
                expires_at: None,
            },
            NewCard {
                code: "  ".into(),
                secret: None,
                expires_at: None,
            },
            NewCard {
                code: "OLD".into(),
                secret: None,
                expires_at: Some("2001-01-01T00:00:00Z".into()),
            },
            NewCard {
                code: "BAD-DATE".into(),
                secret: None,
                expires_at: Some("tomorrow".into()),
            },
        ],
        batch_ref: None,
    };
    let res = supplier.push_cards(pid, &req).await.unwrap();
    assert_eq!(res.accepted, 1);
    assert_eq!(res.duplicates, 3);
    let reasons: Vec<(usize, &str)> = res
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![(4, "empty_code"), (5, "expired"), (6, "invalid_expires_at")]
    );
    assert_eq!(res.stock, 4);

    // A sold code pushed again is still a duplicate.
    let (_, buyer) = app.reseller(None, 100_000).await;
    let order = buyer.buy(pid, 1, "T-1").await.unwrap();
    let sold = order.cards.unwrap()[0].code.clone();
    let again = PushCards {
        cards: vec![NewCard {
            code: sold,
            secret: None,
            expires_at: None,
        }],
        batch_ref: None,
    };
    let res = supplier.push_cards(pid, &again).await.unwrap();
    assert_eq!((res.accepted, res.duplicates, res.stock), (0, 1, 3));
}

#[actix_web::test]
async fn a_code_stored_for_another_product_is_rejected_elsewhere() {
    let app = TestApp::spawn().await;
    let (_, s1, p1) = app.stocked_product("A", 100, 90, 2).await;
    let (_, s2, p2) = app.stocked_product("B", 100, 90, 0).await;
    let res = s2
        .push_cards(&p2.product.id, &cards("A", 0..1))
        .await
        .unwrap();
    assert_eq!(res.accepted, 0);
    assert_eq!(res.rejected[0].reason, "duplicate_elsewhere");
    // The owner of p1 cannot push into p2, and vice versa: not found.
    let err = s1
        .push_cards(&p2.product.id, &cards("C", 0..1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    let _ = p1;
}

#[actix_web::test]
async fn ten_thousand_cards_in_one_push_are_stored_encrypted() {
    let app = TestApp::spawn().await;
    let (_, supplier, p) = app.stocked_product("BULK", 100, 90, 0).await;
    let started = std::time::Instant::now();
    let res = supplier
        .push_cards(&p.product.id, &cards("BULK", 0..10_000))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!((res.accepted, res.stock), (10_000, 10_000));
    eprintln!("10,000-card push took {elapsed:?}");
    // Over the limit is refused whole.
    let res = supplier
        .send_raw(
            Method::POST,
            &format!("/v1/supplier/products/{}/cards", p.product.id),
            serde_json::to_vec(&cards("X", 0..10_001)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 422);
    // Nothing in the cards table is plaintext.
    let stored: Vec<String> = app
        .state
        .db
        .read(|c| {
            use diesel::prelude::*;
            use kameng::db::schema::cards;
            Ok(cards::table.select(cards::code_enc).limit(50).load(c)?)
        })
        .unwrap();
    assert!(stored.iter().all(|s| !s.contains("BULK")));
    let listed = supplier.supplier_products().await.unwrap();
    assert_eq!(listed[0].stock, 10_000);
}

/// A claim reads the available cards' partial index, whatever has been sold before: on
/// PostgreSQL `product_id = ? ORDER BY id` made the planner walk the primary key past every
/// sold card (4.4 ms a claim after 3,000 sales, growing with history).
#[actix_web::test]
async fn a_card_claim_reads_the_available_index_not_the_sold_history() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("PLAN", 500, 400, 120).await;
    let pid = p.product.id.clone();
    let (_, buyer) = app.reseller(None, 1_000_000).await;
    for i in 0..10 {
        buyer
            .create_order(&crate::common::order_req(&pid, 10, &format!("PLAN-{i}")))
            .await
            .expect("order");
    }
    // The statistics PostgreSQL plans with, as a large push leaves them (all available).
    if app.state.db.backend() == kameng::db::Backend::Postgres {
        app.state
            .db
            .write_direct(|c| {
                diesel::RunQueryDsl::execute(diesel::sql_query("ANALYZE cards"), c)?;
                Ok(())
            })
            .unwrap();
    }
    let plan = app
        .state
        .db
        .read(|c| kameng::domain::trade::inventory::claim_plan(c, &pid))
        .unwrap()
        .join("\n");
    assert!(plan.contains("cards_available"), "claim plan:\n{plan}");
    assert!(!plan.contains("Seq Scan"), "claim plan:\n{plan}");
}

/// One push of 1,234 codes (more than a slice, and not a multiple of any statement's rows)
/// holding codes this product already has, codes another product holds, and new ones, spread
/// over every statement: each comes back as what it is, at its own index, and only the new
/// ones count in stock.
#[actix_web::test]
async fn a_large_push_tells_each_stored_code_from_the_new_ones() {
    let app = TestApp::spawn().await;
    let (_, supplier, mine) = app.stocked_product("MIX", 100, 90, 0).await;
    let (_, holder, theirs) = app.stocked_product("MIX-OTHER", 100, 90, 0).await;
    let push = cards("MIX", 0..1_234);
    let only = |keep: fn(usize) -> bool| PushCards {
        cards: (0..1_234)
            .filter(|n| keep(*n))
            .map(|n| push.cards[n].clone())
            .collect(),
        batch_ref: None,
    };
    // Stored beforehand: every 7th code in this product, every other 11th in the other one.
    fn ours(n: usize) -> bool {
        n.is_multiple_of(7)
    }
    fn elsewhere(n: usize) -> bool {
        !n.is_multiple_of(7) && n.is_multiple_of(11)
    }
    supplier
        .push_cards(&mine.product.id, &only(ours))
        .await
        .unwrap();
    holder
        .push_cards(&theirs.product.id, &only(elsewhere))
        .await
        .unwrap();

    let res = supplier.push_cards(&mine.product.id, &push).await.unwrap();
    let held_here = (0..1_234).filter(|n| ours(*n)).count();
    let held_elsewhere: Vec<usize> = (0..1_234).filter(|n| elsewhere(*n)).collect();
    assert_eq!(res.duplicates, held_here);
    let rejected: Vec<(usize, &str)> = res
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.as_str()))
        .collect();
    let expected: Vec<(usize, &str)> = held_elsewhere
        .iter()
        .map(|n| (*n, "duplicate_elsewhere"))
        .collect();
    assert_eq!(rejected, expected);
    assert_eq!(res.accepted, 1_234 - held_here - held_elsewhere.len());
    assert_eq!(res.stock as usize, 1_234 - held_elsewhere.len());
    // Each code held elsewhere is flagged for the admin, against its holder.
    let flags = app
        .admin
        .duplicates(&format!("product_id={}&limit=200", mine.product.id))
        .await
        .unwrap();
    assert_eq!(flags.data.len(), held_elsewhere.len());
    assert!(flags
        .data
        .iter()
        .all(|f| f.holder_product_id == theirs.product.id));
}

/// Two suppliers push the same 3,000 codes into their own products at the same time, twice
/// over: each code is stored once, for one of them; the other is told it is held elsewhere.
#[actix_web::test]
async fn concurrent_pushes_of_the_same_codes_store_each_code_once() {
    let app = TestApp::spawn().await;
    let (_, a, pa) = app.stocked_product("RACE-A", 100, 90, 0).await;
    let (_, b, pb) = app.stocked_product("RACE-B", 100, 90, 0).await;
    let same = cards("RACE", 0..3_000);
    let (ra, rb) = tokio::join!(
        a.push_cards(&pa.product.id, &same),
        b.push_cards(&pb.product.id, &same)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.accepted + rb.accepted, 3_000, "{ra:?} {rb:?}");
    assert_eq!(ra.rejected.len() + rb.rejected.len(), 3_000);
    assert_eq!(ra.duplicates + rb.duplicates, 0);
    assert_eq!((ra.stock + rb.stock) as usize, 3_000);
    let stored: i64 = app
        .state
        .db
        .read(|c| {
            use diesel::prelude::*;
            use kameng::db::schema::cards;
            Ok(cards::table.count().get_result(c)?)
        })
        .unwrap();
    assert_eq!(stored, 3_000);
}
