//! Supplier quality: defect rates per product and batch, batch withdrawal, duplicate flags.

use kameng::domain::trade::inventory::{NewCard, PushCards};

use super::parties;
use crate::common::{cards, TestApp};
use crate::compliance::admin_audit;

fn batch(prefix: &str, range: std::ops::Range<usize>, batch_ref: &str) -> PushCards {
    PushCards {
        batch_ref: Some(batch_ref.into()),
        ..cards(prefix, range)
    }
}

#[actix_web::test]
async fn defect_rates_per_batch_and_withdrawing_a_bad_batch() {
    let app = TestApp::spawn().await;
    let p = parties(&app, "QLT", 0).await;
    let pid = p.product.product.id.clone();
    let s = &p.supplier_client;
    s.push_cards(&pid, &batch("QA", 0..5, "lot A/1"))
        .await
        .unwrap();
    s.push_cards(&pid, &batch("QB", 0..5, "lot-B"))
        .await
        .unwrap();

    // Cards are sold oldest first: four from lot A. Two prove defective (one refunded, one
    // replaced from stock, which takes lot A's fifth card); one ticket is rejected.
    let order = p.buy(4, "QLT-1").await;
    let codes: Vec<String> = order.cards.unwrap().into_iter().map(|c| c.code).collect();
    let mut ids = Vec::new();
    for code in &codes[..3] {
        let t = p.open(&order.id, Some(code)).await.unwrap();
        ids.push(t.id);
    }
    p.respond(&ids[0], "refund", None).await.unwrap();
    p.respond(&ids[1], "replace", None).await.unwrap();
    p.respond(&ids[2], "contest", None).await.unwrap();
    app.admin
        .resolve_ticket(&ids[2], "reject", None)
        .await
        .unwrap();

    let q = app.admin.product_quality(&pid).await.unwrap();
    assert_eq!((q.delivered, q.defective, q.defect_rate), (5, 2, 0.4));
    let a = q
        .batches
        .iter()
        .find(|b| b.batch_ref.as_deref() == Some("lot A/1"))
        .unwrap();
    assert_eq!((a.delivered, a.defective, a.available), (5, 2, 0));
    assert_eq!(a.defect_rate, 0.4);
    let b = q
        .batches
        .iter()
        .find(|b| b.batch_ref.as_deref() == Some("lot-B"))
        .unwrap();
    assert_eq!(
        (b.delivered, b.defective, b.available, b.defect_rate),
        (0, 0, 5, 0.0)
    );

    // The supplier sees the same in its product list.
    let mine = s.supplier_products().await.unwrap();
    let mine = mine.iter().find(|x| x.id == pid).unwrap();
    assert_eq!(
        (mine.delivered, mine.defective, mine.defect_rate),
        (5, 2, 0.4)
    );
    assert_eq!(mine.batches, q.batches);

    // Lot B turns out bad: withdraw it. Sold cards stay sold; stock drops to nothing.
    p.buy(1, "QLT-2").await;
    let w = app.admin.withdraw_batch(&pid, "lot-B").await.unwrap();
    assert_eq!((w.withdrawn, w.stock), (4, 0));
    let err = p.reseller_client.buy(&pid, 1, "QLT-3").await.unwrap_err();
    assert_eq!(err.code(), Some("out_of_stock"));
    let b = app
        .admin
        .product_quality(&pid)
        .await
        .unwrap()
        .batches
        .into_iter()
        .find(|b| b.batch_ref.as_deref() == Some("lot-B"))
        .unwrap();
    assert_eq!((b.delivered, b.available, b.withdrawn), (1, 0, 4));
    // Withdrawing again takes nothing more; an unknown batch is not found.
    assert_eq!(
        app.admin
            .withdraw_batch(&pid, "lot-B")
            .await
            .unwrap()
            .withdrawn,
        0
    );
    assert_eq!(
        app.admin
            .withdraw_batch(&pid, "lot-Z")
            .await
            .unwrap_err()
            .code(),
        Some("not_found")
    );
    assert!(admin_audit(&app)
        .await
        .iter()
        .any(|r| r.action == "batch.withdraw" && r.subject == pid && r.detail.contains("lot-B")));
    // New stock sells again.
    s.push_cards(&pid, &batch("QC", 0..2, "lot-C"))
        .await
        .unwrap();
    p.buy(2, "QLT-4").await;
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn codes_another_product_holds_are_rejected_and_flagged_for_the_admin() {
    let app = TestApp::spawn().await;
    let (a, a_client, pa) = app.stocked_product("DUPA", 100, 80, 3).await;
    let (b, b_client, pb) = app.stocked_product("DUPB", 100, 80, 0).await;
    let leaked = PushCards {
        cards: vec![
            NewCard {
                code: "DUPA-CODE-000001".into(),
                secret: None,
                expires_at: None,
            },
            NewCard {
                code: "DUPB-OWN-1".into(),
                secret: None,
                expires_at: None,
            },
            NewCard {
                code: "DUPA-CODE-000002".into(),
                secret: None,
                expires_at: None,
            },
        ],
        batch_ref: None,
    };
    let res = b_client.push_cards(&pb.product.id, &leaked).await.unwrap();
    assert_eq!(res.accepted, 1);
    let reasons: Vec<(usize, &str)> = res
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![(0, "duplicate_elsewhere"), (2, "duplicate_elsewhere")]
    );

    let flags = app.admin.duplicates("").await.unwrap().data;
    assert_eq!(flags.len(), 2);
    for f in &flags {
        assert_eq!(f.supplier_id, b.supplier.id);
        assert_eq!(f.product_id, pb.product.id);
        assert_eq!(f.holder_product_id, pa.product.id);
        assert_eq!(f.holder_supplier_id, a.supplier.id);
        assert!(f.cross_supplier);
        assert!(!f.code_hash.contains("DUPA"));
    }
    // Every attempt is recorded; the holder's own re-push is an ordinary duplicate, not a flag.
    b_client.push_cards(&pb.product.id, &leaked).await.unwrap();
    let again = a_client
        .push_cards(&pa.product.id, &cards("DUPA", 0..3))
        .await
        .unwrap();
    assert_eq!(again.duplicates, 3);
    let all = app.admin.duplicates("limit=3").await.unwrap();
    assert_eq!(all.data.len(), 3);
    let rest = app
        .admin
        .duplicates(&format!("limit=3&cursor={}", all.next_cursor.unwrap()))
        .await
        .unwrap();
    assert_eq!(rest.data.len(), 1);
    assert!(app
        .admin
        .duplicates(&format!("supplier_id={}", a.supplier.id))
        .await
        .unwrap()
        .data
        .is_empty());
}
