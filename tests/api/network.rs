//! Multi-level distribution: sub-resellers, markups and commission through the ledger, funding,
//! privacy between levels, admin re-parenting; and enterprise bulk orders (`network/bulk.rs`).

mod bulk;

use kameng::client::Client;
use kameng::domain::accounts::ResellerCreated;
use kameng::domain::trade::pricing::markups::{Markups, ProductMarkup};
use reqwest::Method;
use serde_json::json;

use crate::common::{new_direct_product, topup_req, topup_result, TestApp};

/// A sub-reseller of `parent` as a client.
async fn sub(app: &TestApp, parent: &Client, name: &str) -> (ResellerCreated, Client) {
    let created = parent.create_sub_reseller(name).await.unwrap();
    let c = app.client(&created.api_key.key_id, &created.api_key.secret);
    (created, c)
}

fn account_sum(app: &TestApp, account: &str) -> i64 {
    app.state
        .db
        .read(|c| kameng::domain::money::ledger::account_sum(c, account))
        .unwrap()
}

/// Root R → A → B over one product priced 999 (cost 800), R marking up this product 5 % (its
/// default 10 % applies elsewhere) and A everything 20 %.
struct Chain {
    pid: String,
    supplier_id: String,
    r: (ResellerCreated, Client),
    a: (ResellerCreated, Client),
    b: (ResellerCreated, Client),
}

async fn chain(app: &TestApp) -> Chain {
    let (s, _, p) = app.stocked_product("NET-1", 999, 800, 50).await;
    let pid = p.product.id.clone();
    let r = app.reseller(None, 100_000).await;
    let a = sub(app, &r.1, "A").await;
    let b = sub(app, &a.1, "B").await;
    assert_eq!(
        a.0.reseller.parent_id.as_deref(),
        Some(r.0.reseller.id.as_str())
    );
    assert_eq!(
        b.0.reseller.parent_id.as_deref(),
        Some(a.0.reseller.id.as_str())
    );
    r.1.put_markups(&Markups {
        default_bps: 1000,
        products: vec![ProductMarkup {
            product_id: pid.clone(),
            markup_bps: 500,
        }],
    })
    .await
    .unwrap();
    a.1.put_markups(&Markups {
        default_bps: 2000,
        products: vec![],
    })
    .await
    .unwrap();
    Chain {
        pid,
        supplier_id: s.supplier.id,
        r,
        a,
        b,
    }
}

#[actix_web::test]
async fn three_levels_pay_each_ancestor_its_markup_and_the_books_balance() {
    let app = TestApp::spawn().await;
    let Chain {
        pid,
        supplier_id,
        r,
        a,
        b,
    } = chain(&app).await;
    let (r_id, a_id, b_id) = (
        r.0.reseller.id.clone(),
        a.0.reseller.id.clone(),
        b.0.reseller.id.clone(),
    );

    // Prices: R 999; A 999 + 5 % (49.95 → 50) = 1049; B 1049 + 20 % (209.8 → 210) = 1259.
    assert_eq!(r.1.product(&pid).await.unwrap().price, 999);
    assert_eq!(a.1.product(&pid).await.unwrap().price, 1049);
    let listed = b.1.all_products().await.unwrap();
    assert_eq!(listed.iter().find(|p| p.id == pid).unwrap().price, 1259);
    assert_eq!(b.1.product(&pid).await.unwrap().price, 1259);

    // Funding flows down the chain.
    let t = r.1.transfer_to(&a_id, 50_000).await.unwrap();
    assert_eq!((t.balance, t.sub_reseller_balance), (50_000, 50_000));
    a.1.transfer_to(&b_id, 20_000).await.unwrap();

    // B buys 3: pays 3 777; A earns 3 × 210, R 3 × 50, the platform 3 × 999 − 2 400.
    let order = b.1.buy(&pid, 3, "B-1").await.unwrap();
    assert_eq!((order.unit_price, order.amount), (1259, 3777));
    assert_eq!(order.cards.as_ref().unwrap().len(), 3);
    // A buys 2: pays 2 098; R earns 2 × 50.
    let order_a = a.1.buy(&pid, 2, "A-1").await.unwrap();
    assert_eq!(order_a.amount, 2098);
    // R buys 1 at its own price: nobody above it.
    assert_eq!(r.1.buy(&pid, 1, "R-1").await.unwrap().amount, 999);

    assert_eq!(b.1.account().await.unwrap().balance, 20_000 - 3777);
    assert_eq!(
        a.1.account().await.unwrap().balance,
        50_000 - 20_000 + 630 - 2098
    );
    assert_eq!(
        r.1.account().await.unwrap().balance,
        100_000 - 50_000 + 150 + 100 - 999
    );
    assert_eq!(
        account_sum(&app, &format!("supplier:{supplier_id}")),
        6 * 800
    );
    assert_eq!(
        account_sum(&app, "platform:revenue"),
        6 * 999 - 6 * 800,
        "the platform keeps the root price less cost, commissions go down the chain"
    );
    app.assert_books_balance().await;

    // Commission statements.
    let r_lines = r.1.commissions("").await.unwrap().data;
    let mut seen: Vec<(String, i64)> = r_lines
        .iter()
        .map(|l| (l.buyer_id.clone(), l.amount))
        .collect();
    seen.sort();
    let mut want = vec![(a_id.clone(), 100), (b_id.clone(), 150)];
    want.sort();
    assert_eq!(seen, want);
    assert!(r_lines.iter().all(|l| l.action == "order.purchase"));
    let a_lines = a.1.commissions("").await.unwrap().data;
    assert_eq!(a_lines.len(), 1);
    assert_eq!(
        (a_lines[0].order_id.as_str(), a_lines[0].amount),
        (order.id.as_str(), 630)
    );
    // Paging the statement.
    let p1 = r.1.commissions("limit=1").await.unwrap();
    assert_eq!(p1.data.len(), 1);
    let p2 =
        r.1.commissions(&format!("limit=1&cursor={}", p1.next_cursor.unwrap()))
            .await
            .unwrap();
    assert_eq!(p2.data.len(), 1);
    assert_ne!(p1.data[0].id, p2.data[0].id);
    assert!(p2.next_cursor.is_none());

    // Sub-reseller lists: sales of the child, commission through its branch.
    let r_subs = r.1.sub_resellers("").await.unwrap().data;
    assert_eq!(r_subs.len(), 1);
    assert_eq!(r_subs[0].reseller.id, a_id);
    assert_eq!(
        (
            r_subs[0].orders,
            r_subs[0].sales_amount,
            r_subs[0].commission
        ),
        (1, 2098, 250)
    );
    let a_subs = a.1.sub_resellers("").await.unwrap().data;
    assert_eq!(
        (
            a_subs[0].orders,
            a_subs[0].sales_amount,
            a_subs[0].commission
        ),
        (1, 3777, 630)
    );
    let a_orders = a.1.sub_reseller_orders(&b_id, "").await.unwrap().data;
    assert_eq!(a_orders.len(), 1);
    assert_eq!((a_orders[0].amount, a_orders[0].commission), (3777, 630));

    // The chain stops at three levels: B cannot recruit.
    let err = b.1.create_sub_reseller("C").await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    assert_eq!(app.admin.reseller(&r_id).await.unwrap().parent_id, None);
}

#[actix_web::test]
async fn a_deeper_configured_chain_pays_every_level() {
    let app = TestApp::spawn_with(|c| c.max_reseller_depth = 4).await;
    let Chain { pid, r, a, b, .. } = chain(&app).await;
    let (c_created, c) = sub(&app, &b.1, "C").await;
    b.1.put_markups(&Markups {
        default_bps: 100,
        products: vec![],
    })
    .await
    .unwrap();
    // C: 1259 + 1 % (12.59 → 13) = 1272.
    assert_eq!(c.product(&pid).await.unwrap().price, 1272);
    r.1.transfer_to(&a.0.reseller.id, 10_000).await.unwrap();
    a.1.transfer_to(&b.0.reseller.id, 10_000).await.unwrap();
    b.1.transfer_to(&c_created.reseller.id, 10_000)
        .await
        .unwrap();
    c.buy(&pid, 2, "C-1").await.unwrap();
    assert_eq!(c.account().await.unwrap().balance, 10_000 - 2544);
    assert_eq!(b.1.account().await.unwrap().balance, 26);
    assert_eq!(a.1.account().await.unwrap().balance, 420);
    assert_eq!(r.1.account().await.unwrap().balance, 90_000 + 100);
    let err = c.create_sub_reseller("D").await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_parent_sees_sales_but_never_a_childs_codes_nor_acts_as_it() {
    let app = TestApp::spawn().await;
    let Chain { pid, r, a, b, .. } = chain(&app).await;
    r.1.transfer_to(&a.0.reseller.id, 5_000).await.unwrap();
    let order = a.1.buy(&pid, 1, "A-SECRET").await.unwrap();

    // Not through the order endpoints...
    let err = r.1.order(&order.id).await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    let err = r.1.order_cards(&order.id, "").await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    assert!(r.1.orders("").await.unwrap().data.is_empty());
    // ...nor in the summaries, which carry no codes, receipt or buyer.
    let raw =
        r.1.send_raw(
            Method::GET,
            &format!("/v1/sub-resellers/{}/orders", a.0.reseller.id),
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(raw.status, 200);
    let body: serde_json::Value = raw.json().unwrap();
    let line = &body["data"][0];
    assert_eq!(line["id"], order.id.as_str());
    for hidden in ["cards", "receipt", "buyer"] {
        assert!(line.get(hidden).is_none(), "{hidden} shown to the parent");
    }
    let code = &order.cards.as_ref().unwrap()[0].code;
    assert!(!String::from_utf8_lossy(&raw.body).contains(code.as_str()));

    // Only direct children: R cannot list B's orders or fund B, A cannot touch R's siblings.
    let err =
        r.1.sub_reseller_orders(&b.0.reseller.id, "")
            .await
            .unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    let err = r.1.transfer_to(&b.0.reseller.id, 1).await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    // A child cannot move its parent's money either.
    let err = a.1.transfer_to(&r.0.reseller.id, 1).await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    // A key without the network scope sees nothing of it.
    let scoped = crate::compliance::scoped(
        &app,
        &r.1,
        &[
            kameng::auth::Scope::CatalogRead,
            kameng::auth::Scope::OrdersRead,
        ],
        None,
    )
    .await;
    let err = scoped.sub_resellers("").await.unwrap_err();
    assert_eq!(err.code(), Some("insufficient_scope"));
}

#[actix_web::test]
async fn transfers_move_balance_down_and_never_below_zero() {
    let app = TestApp::spawn().await;
    let (r, rc) = app.reseller(None, 1_000).await;
    let (a, _) = sub(&app, &rc, "A").await;

    let err = rc.transfer_to(&a.reseller.id, 1_001).await.unwrap_err();
    assert_eq!(err.code(), Some("insufficient_balance"));
    let err = rc.transfer_to(&a.reseller.id, 0).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
    let t = rc.transfer_to(&a.reseller.id, 400).await.unwrap();
    assert_eq!((t.balance, t.sub_reseller_balance), (600, 400));
    let t = rc.transfer_to(&a.reseller.id, 600).await.unwrap();
    assert_eq!((t.balance, t.sub_reseller_balance), (0, 1_000));

    let lines = rc.ledger("").await.unwrap().data;
    assert!(lines
        .iter()
        .all(|l| l.action == "network.transfer" || l.action == "balance.credit"));
    assert_eq!(lines[0].balance_after, Some(0));
    // An admin still credits anyone, sub-resellers included.
    assert_eq!(app.admin.credit(&a.reseller.id, 5).await.unwrap(), 1_005);

    // A capped key cannot move money out of its cap's reach.
    let capped =
        crate::compliance::scoped(&app, &rc, &kameng::auth::Scope::ALL, Some(10_000)).await;
    app.admin.credit(&r.reseller.id, 100).await.unwrap();
    let err = capped.transfer_to(&a.reseller.id, 1).await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn admins_reparent_and_detach_refusing_cycles_and_depth() {
    let app = TestApp::spawn().await;
    let Chain { pid, r, a, b, .. } = chain(&app).await;
    let (r_id, a_id, b_id) = (
        r.0.reseller.id.clone(),
        a.0.reseller.id.clone(),
        b.0.reseller.id.clone(),
    );
    let patch = |id: &str, body: serde_json::Value| {
        let admin = app.admin.clone();
        let path = format!("/v1/admin/resellers/{id}");
        async move { admin.send(Method::PATCH, &path, Some(body)).await.unwrap() }
    };

    // Cycles.
    let res = patch(&r_id, json!({ "parent_id": b_id })).await;
    assert_eq!(res.status, 422);
    assert_eq!(res.problem().unwrap().errors[0].field, "parent_id");
    let res = patch(&a_id, json!({ "parent_id": a_id })).await;
    assert_eq!(res.status, 422);
    // Depth: another root with a child; R's subtree (3 levels) under it would make 4.
    let (x, xc) = app.reseller(None, 0).await;
    let (x1, _) = sub(&app, &xc, "X1").await;
    let res = patch(&r_id, json!({ "parent_id": x.reseller.id })).await;
    assert_eq!(res.status, 422);
    let res = patch(&a_id, json!({ "parent_id": x1.reseller.id })).await;
    assert_eq!(res.status, 422, "A and B under X1 would be 4 levels");
    let res = patch(&a_id, json!({ "parent_id": "rsl_nope" })).await;
    assert_eq!(res.status, 422);

    // Move B under X: B now pays X's price (999; X set no markup), not A's.
    let moved = app
        .admin
        .set_parent(&b_id, Some(&x.reseller.id))
        .await
        .unwrap();
    assert_eq!(moved.parent_id.as_deref(), Some(x.reseller.id.as_str()));
    assert_eq!(b.1.product(&pid).await.unwrap().price, 999);
    // Now A has no child: A under X1 is 3 levels, allowed.
    let moved = app
        .admin
        .set_parent(&a_id, Some(&x1.reseller.id))
        .await
        .unwrap();
    assert_eq!(moved.parent_id.as_deref(), Some(x1.reseller.id.as_str()));
    assert!(r.1.sub_resellers("").await.unwrap().data.is_empty());

    // Detach with null and with "".
    let detached = app.admin.set_parent(&a_id, None).await.unwrap();
    assert_eq!(detached.parent_id, None);
    let res = patch(&b_id, json!({ "parent_id": "" })).await;
    assert_eq!(res.status, 200);
    assert_eq!(app.admin.reseller(&b_id).await.unwrap().parent_id, None);
    // Other fields of a PATCH leave the parent alone.
    let res = patch(&x1.reseller.id, json!({ "name": "X one" })).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        app.admin
            .reseller(&x1.reseller.id)
            .await
            .unwrap()
            .parent_id
            .as_deref(),
        Some(x.reseller.id.as_str())
    );

    // Every change is in the audit chain.
    let audit: serde_json::Value = app
        .admin
        .send(Method::GET, "/v1/admin/audit?limit=200", None)
        .await
        .unwrap()
        .json()
        .unwrap();
    let reparents = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "reseller.reparent")
        .count();
    assert_eq!(reparents, 4);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn a_refund_takes_back_commission_even_when_the_parent_spent_it() {
    let app = TestApp::spawn().await;
    let (s, supplier) = app.supplier().await;
    let p = new_direct_product(
        &app.admin,
        &s.supplier.id,
        "NET-TOPUP",
        (1000, 800),
        &["account"],
    )
    .await;
    let (_, rc) = app.reseller(None, 10_000).await;
    let (a, ac) = sub(&app, &rc, "A").await;
    let (a2, _) = sub(&app, &rc, "A2").await;
    rc.put_markups(&Markups {
        default_bps: 1000,
        products: vec![],
    })
    .await
    .unwrap();
    rc.transfer_to(&a.reseller.id, 10_000).await.unwrap();

    let req = topup_req(&p.product.id, 2, "TOP-1", json!({"account": "p-1"}));
    let (order, _) = ac.create_order(&req).await.unwrap();
    assert_eq!((order.status.as_str(), order.amount), ("processing", 2200));
    assert_eq!(rc.account().await.unwrap().balance, 200);
    // R spends its commission.
    rc.transfer_to(&a2.reseller.id, 150).await.unwrap();

    let res = topup_result(&supplier, &order.id, json!({"status": "failed"})).await;
    assert_eq!(res.status, 200);
    // A is refunded in full; R gives back the 50 it has; the platform bears the other 150.
    assert_eq!(ac.account().await.unwrap().balance, 10_000);
    assert_eq!(rc.account().await.unwrap().balance, 0);
    let lines = rc.commissions("").await.unwrap().data;
    let mut amounts: Vec<i64> = lines.iter().map(|l| l.amount).collect();
    amounts.sort();
    assert_eq!(amounts, vec![-50, 200]);
    assert_eq!(account_sum(&app, "platform:revenue"), -150);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn markups_are_validated_and_read_back() {
    let app = TestApp::spawn().await;
    let (_, rc) = app.reseller(None, 0).await;
    let (_, _, p) = app.stocked_product("NET-M", 100, 50, 0).await;
    assert_eq!(rc.markups().await.unwrap(), Markups::default());
    for bad in [
        json!({ "default_bps": -1 }),
        json!({ "default_bps": 10_001 }),
        json!({ "default_bps": 0, "products": [{ "product_id": "prd_nope", "markup_bps": 1 }] }),
        json!({ "default_bps": 0, "products": [
            { "product_id": p.product.id, "markup_bps": 1 },
            { "product_id": p.product.id, "markup_bps": 2 }] }),
    ] {
        let res = rc
            .send_raw(
                Method::PUT,
                "/v1/sub-resellers/markups",
                serde_json::to_vec(&bad).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status, 422, "{bad}");
    }
    let m = Markups {
        default_bps: 250,
        products: vec![ProductMarkup {
            product_id: p.product.id.clone(),
            markup_bps: 0,
        }],
    };
    assert_eq!(rc.put_markups(&m).await.unwrap(), m);
    assert_eq!(rc.markups().await.unwrap(), m);
}
