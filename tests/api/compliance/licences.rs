//! Licences: filing, review, enforcement at order time, lapse and the off-sale sweep.

use kameng::domain::accounts::licences::NewLicence;

use super::admin_audit;
use crate::common::{cards, TestApp};

#[actix_web::test]
async fn licences_gate_sales_in_licence_required_categories_and_lapse_takes_products_off_sale() {
    let app = TestApp::spawn().await;
    let (s, supplier, p1) = app.stocked_product("LIC-1", 100, 80, 10).await;
    let p2 = app.card_product(&s.supplier.id, "LIC-2", 100, 80).await;
    supplier
        .push_cards(&p2.product.id, &cards("LIC-2", 0..10))
        .await
        .unwrap();
    let (_, reseller) = app.reseller(None, 100_000).await;
    let (_, other_supplier, other_p) = app.stocked_product("OTHER", 100, 80, 1).await;
    let sweep = |app: &TestApp| {
        app.state.db.write(|c| {
            kameng::domain::accounts::compliance::sweep_lapsed(c, kameng::time::now_ms())
        })
    };

    // Nothing needs a licence yet.
    reseller.buy(&p1.product.id, 1, "L-0").await.unwrap();
    assert_eq!(sweep(&app).unwrap(), 0);
    app.require_licence("steam").await;

    // Unlicensed: not orderable, and the sweep takes all three products off sale.
    let err = reseller.buy(&p1.product.id, 1, "L-1").await.unwrap_err();
    assert_eq!(err.code(), Some("product_unavailable"));
    assert_eq!(reseller.account().await.unwrap().balance, 100_000 - 100);
    assert_eq!(sweep(&app).unwrap(), 3);
    assert_eq!(sweep(&app).unwrap(), 0);
    assert_eq!(
        reseller.product(&p1.product.id).await.unwrap().status,
        "off_sale"
    );

    // Filing checks its input; a licence for p1 only, expiring in 3 s, is approved.
    let in_secs = |s: i64| kameng::time::rfc3339(kameng::time::now_ms() + s * 1000);
    let licence = |product: Option<&str>, expires_at: String| NewLicence {
        product_id: product.map(str::to_string),
        reference: "ISBN-LIC-2026-001".into(),
        issuer: "Press and Publication Administration".into(),
        expires_at,
    };
    let err = supplier
        .submit_licence(&licence(None, in_secs(-10)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
    let err = supplier
        .submit_licence(&licence(Some(&other_p.product.id), in_secs(60)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    let lic = supplier
        .submit_licence(&licence(Some(&p1.product.id), in_secs(3)))
        .await
        .unwrap();
    assert_eq!(lic.status, "pending");
    let queue = app.admin.licences("status=pending").await.unwrap().data;
    assert_eq!(
        queue.iter().map(|l| &l.id).collect::<Vec<_>>(),
        vec![&lic.id]
    );
    let approved = app.admin.review_licence(&lic.id, "approved").await.unwrap();
    assert_eq!(approved.status, "approved");
    let err = app
        .admin
        .review_licence(&lic.id, "approved")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    let review = admin_audit(&app).await;
    assert!(review
        .iter()
        .any(|r| r.action == "licence.review" && r.subject == lic.id && r.actor.contains("root")));

    // Approval put p1 (and only p1) back on sale; it sells, p2 does not.
    assert_eq!(
        reseller.product(&p1.product.id).await.unwrap().status,
        "on_sale"
    );
    assert_eq!(
        reseller.product(&p2.product.id).await.unwrap().status,
        "off_sale"
    );
    reseller.buy(&p1.product.id, 1, "L-2").await.unwrap();
    assert_eq!(supplier.licences("").await.unwrap().data.len(), 1);
    assert!(other_supplier.licences("").await.unwrap().data.is_empty());

    // The licence lapses: orders are refused at once, and the sweep takes p1 off sale.
    tokio::time::sleep(std::time::Duration::from_millis(3_200)).await;
    let err = reseller.buy(&p1.product.id, 1, "L-3").await.unwrap_err();
    assert_eq!(err.code(), Some("product_unavailable"));
    assert_eq!(sweep(&app).unwrap(), 1);
    assert_eq!(
        reseller.product(&p1.product.id).await.unwrap().status,
        "off_sale"
    );

    // A supplier-wide licence brings both back; rejecting (revoking) it takes them off again.
    let wide = supplier
        .submit_licence(&licence(None, in_secs(3600)))
        .await
        .unwrap();
    app.admin
        .review_licence(&wide.id, "approved")
        .await
        .unwrap();
    reseller.buy(&p2.product.id, 1, "L-4").await.unwrap();
    app.admin
        .review_licence(&wide.id, "rejected")
        .await
        .unwrap();
    assert_eq!(sweep(&app).unwrap(), 2);
    app.assert_books_balance().await;
}
