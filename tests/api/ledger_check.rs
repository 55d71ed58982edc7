//! `GET /v1/admin/ledger/check`: balanced after real traffic, and it names what a tampered
//! database breaks (a cached balance, an unbalanced transaction).

use diesel::prelude::*;
use kameng::db::schema::{ledger_entries, resellers};
use kameng::domain::money::checks::LedgerCheck;
use reqwest::Method;

use crate::common::TestApp;

/// `GET /v1/admin/ledger/check` as the admin.
pub async fn check(app: &TestApp) -> LedgerCheck {
    app.admin
        .send(Method::GET, "/v1/admin/ledger/check", None)
        .await
        .unwrap()
        .json()
        .unwrap()
}

#[actix_web::test]
async fn the_books_check_passes_on_real_traffic_and_names_tampering() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("LC", 100, 80, 10).await;
    let (r, client) = app.reseller(None, 1_000).await;
    for i in 0..3 {
        client
            .buy(&p.product.id, 1, &format!("LC-{i}"))
            .await
            .unwrap();
    }
    let report = check(&app).await;
    assert!(report.balanced, "{report:?}");
    assert!(report.mismatches.is_empty() && report.unbalanced_transactions.is_empty());
    assert_eq!(report.accounts_checked, 1);
    assert!(report.entries_checked >= 8, "{report:?}");
    assert_eq!(report.totals.get("CNY"), Some(&0));
    app.assert_books_balance().await;

    // Found by the API fuzzer: a credit of i64::MIN panicked negating it (rolling back the
    // writer's batch), and credits near i64::MAX overflowed the sums.
    for amount in [i64::MIN, i64::MAX, -i64::MAX, 1_000_000_000_000_001] {
        let res = app
            .admin
            .send(
                Method::POST,
                &format!("/v1/admin/resellers/{}/credit", r.reseller.id),
                Some(serde_json::json!({ "amount": amount })),
            )
            .await
            .unwrap();
        assert_eq!(res.status.as_u16(), 422, "credit {amount}");
    }
    let max = kameng::domain::accounts::MAX_CREDIT;
    let balance = client.account().await.unwrap().balance;
    app.admin
        .credit(&r.reseller.id, max - balance)
        .await
        .unwrap();
    let res = app
        .admin
        .send(
            Method::POST,
            &format!("/v1/admin/resellers/{}/credit", r.reseller.id),
            Some(serde_json::json!({ "amount": 1 })),
        )
        .await
        .unwrap();
    assert_eq!(res.status.as_u16(), 422, "a balance above the maximum");
    assert!(check(&app).await.balanced);

    // A cached balance changed behind the ledger's back.
    let id = r.reseller.id.clone();
    app.state
        .db
        .write(move |c| {
            diesel::update(resellers::table.find(&id))
                .set(resellers::balance.eq(resellers::balance + 1))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    let report = check(&app).await;
    assert!(!report.balanced);
    assert_eq!(report.mismatches.len(), 1, "{report:?}");
    let m = &report.mismatches[0];
    assert_eq!(m.account, format!("reseller:{}", r.reseller.id));
    assert_eq!(m.balance, m.ledger + 1);

    // An entry that unbalances its transaction.
    let seq: i64 = app
        .state
        .db
        .write(|c| {
            let seq: i64 = ledger_entries::table
                .select(ledger_entries::txn_seq)
                .order(ledger_entries::id.desc())
                .first(c)?;
            diesel::insert_into(ledger_entries::table)
                .values((
                    ledger_entries::txn_seq.eq(seq),
                    ledger_entries::account.eq("platform:revenue"),
                    ledger_entries::amount.eq(7i64),
                    ledger_entries::currency.eq("CNY"),
                    ledger_entries::created_at.eq(0i64),
                ))
                .execute(c)?;
            Ok(seq)
        })
        .unwrap();
    let report = check(&app).await;
    assert_eq!(report.unbalanced_transactions, vec![seq], "{report:?}");
    assert_eq!(report.totals.get("CNY"), Some(&7));

    // Admins only.
    let res = reqwest::get(format!("{}/v1/admin/ledger/check", app.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
