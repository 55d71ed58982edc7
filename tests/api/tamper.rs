//! Tampering behind kameng's back, one kind per test, on whichever backend the suite runs:
//! `GET /v1/admin/audit/verify` names the first record of the chain that no longer holds, and
//! `GET /v1/admin/ledger/check` names the balance or the order that no longer matches.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use kameng::db::schema::{audit_chain, orders};
use kameng::domain::money::chain::VerifyReport;
use kameng::domain::money::checks::LedgerCheck;
use reqwest::Method;

use crate::common::TestApp;

/// An app with three delivered orders of one product, everything sealed and checked clean.
struct Scene {
    app: TestApp,
    reseller_id: String,
    /// The orders' ids, oldest first.
    orders: Vec<String>,
    /// Another reseller and another product, to move an order to.
    other_reseller: String,
    other_product: String,
}

async fn scene() -> Scene {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("TMP", 100, 80, 10).await;
    let (_, _, q) = app.stocked_product("TMQ", 100, 80, 10).await;
    let (r, client) = app.reseller(None, 10_000).await;
    let (other, _) = app.reseller(None, 0).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            client
                .buy(&p.product.id, 1, &format!("T-{i}"))
                .await
                .unwrap()
                .id,
        );
    }
    let scene = Scene {
        reseller_id: r.reseller.id,
        orders: ids,
        other_reseller: other.reseller.id,
        other_product: q.product.id,
        app,
    };
    assert!(verify(&scene.app).await.ok);
    let books = check(&scene.app).await;
    assert!(books.balanced && books.orders_checked == 3, "{books:?}");
    scene
}

async fn verify(app: &TestApp) -> VerifyReport {
    app.admin.verify_audit().await.unwrap()
}

async fn check(app: &TestApp) -> LedgerCheck {
    app.admin
        .send(Method::GET, "/v1/admin/ledger/check", None)
        .await
        .unwrap()
        .json()
        .unwrap()
}

impl Scene {
    fn sql(&self, sql: String) {
        self.app
            .state
            .db
            .write_direct(move |c| Ok(c.batch_execute(&sql)?))
            .unwrap();
    }

    /// The order's ledger record: (seq, pos).
    fn record_of(&self, order: usize) -> (i64, i64) {
        let id = self.orders[order].clone();
        self.app
            .state
            .db
            .read(move |c| {
                let seq: i64 = orders::table
                    .find(&id)
                    .select(orders::ledger_seq)
                    .first(c)?;
                let pos: Option<i64> = audit_chain::table
                    .find(seq)
                    .select(audit_chain::pos)
                    .first(c)?;
                Ok((seq, pos.expect("sealed")))
            })
            .unwrap()
    }

    /// The record at a chain position.
    fn seq_at(&self, pos: i64) -> i64 {
        self.app
            .state
            .db
            .read(move |c| {
                Ok(audit_chain::table
                    .filter(audit_chain::pos.eq(pos))
                    .select(audit_chain::seq)
                    .first(c)?)
            })
            .unwrap()
    }

    async fn assert_verify_names(&self, seq: i64, problem: &str) {
        let report = verify(&self.app).await;
        assert!(!report.ok, "{report:?}");
        assert_eq!(report.first_broken, Some(seq), "{report:?}");
        assert!(
            report.problem.as_deref().unwrap_or("").contains(problem),
            "{report:?}"
        );
    }

    async fn assert_order_named(&self, order: usize) {
        let books = check(&self.app).await;
        assert!(!books.balanced, "{books:?}");
        assert!(
            books
                .order_mismatches
                .iter()
                .any(|m| m.order_id == self.orders[order]),
            "order {} not named: {books:?}",
            self.orders[order]
        );
    }
}

#[actix_web::test]
async fn an_edited_ledger_line_is_named() {
    let s = scene().await;
    let (seq, _) = s.record_of(1);
    s.sql(format!(
        "UPDATE ledger_entries SET amount = amount - 1 WHERE txn_seq = {seq} \
         AND account LIKE 'supplier:%'"
    ));
    s.assert_verify_names(seq, "changed").await;
}

#[actix_web::test]
async fn an_edited_audit_record_is_named() {
    let s = scene().await;
    let (seq, _) = s.record_of(0);
    s.sql(format!(
        "UPDATE audit_chain SET actor = 'key:someone-else' WHERE seq = {seq}"
    ));
    s.assert_verify_names(seq, "changed").await;
}

#[actix_web::test]
async fn a_deleted_ledger_line_is_named() {
    let s = scene().await;
    let (seq, _) = s.record_of(2);
    s.sql(format!(
        "DELETE FROM ledger_entries WHERE id = \
         (SELECT MIN(id) FROM ledger_entries WHERE txn_seq = {seq})"
    ));
    s.assert_verify_names(seq, "changed").await;
}

#[actix_web::test]
async fn a_deleted_record_names_the_one_after_it() {
    let s = scene().await;
    let (seq, pos) = s.record_of(1);
    let next = s.seq_at(pos + 1);
    s.sql(format!(
        "UPDATE orders SET ledger_seq = (SELECT MIN(seq) FROM audit_chain) WHERE ledger_seq = {seq}; \
         DELETE FROM ledger_entries WHERE txn_seq = {seq}; DELETE FROM audit_chain WHERE seq = {seq}"
    ));
    s.assert_verify_names(next, "missing").await;
}

#[actix_web::test]
async fn a_record_cut_off_the_end_is_named_by_its_position() {
    let s = scene().await;
    let (seq, pos) = s.record_of(2);
    // The last order's record is the chain's last one; the order row goes with it.
    s.sql(format!(
        "DELETE FROM cards WHERE order_id = '{o}'; DELETE FROM orders WHERE id = '{o}'; \
         DELETE FROM ledger_entries WHERE txn_seq = {seq}; DELETE FROM audit_chain WHERE seq = {seq}",
        o = s.orders[2]
    ));
    let report = verify(&s.app).await;
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.position, Some(pos), "{report:?}");
}

#[actix_web::test]
async fn reordered_records_are_named() {
    let s = scene().await;
    let (a, pa) = s.record_of(0);
    let (b, pb) = s.record_of(1);
    s.sql(format!(
        "UPDATE audit_chain SET pos = -1 WHERE seq = {a}; \
         UPDATE audit_chain SET pos = {pa} WHERE seq = {b}; \
         UPDATE audit_chain SET pos = {pb} WHERE seq = {a}"
    ));
    s.assert_verify_names(b, "link").await;
}

#[actix_web::test]
async fn a_backdated_inserted_record_is_never_sealed_and_is_named() {
    let s = scene().await;
    // A forger credits the reseller and keeps the balance consistent with the ledger.
    let day_ago = kameng::time::now_ms() - 86_400_000;
    let seq: i64 = s
        .app
        .state
        .db
        .write_direct(move |c| {
            let seq: i64 = audit_chain::table
                .select(diesel::dsl::max(audit_chain::seq))
                .first::<Option<i64>>(c)?
                .unwrap_or(0)
                + 1_000;
            c.batch_execute(&format!(
                "INSERT INTO audit_chain (seq, kind, actor, action, subject, detail, created_at, \
                 prev_hash, hash) VALUES ({seq}, 'ledger', 'admin:root', 'admin.credit', 'x', \
                 '{{}}', {day_ago}, '', '')"
            ))?;
            Ok(seq)
        })
        .unwrap();
    s.sql(format!(
        "INSERT INTO ledger_entries (txn_seq, account, amount, currency, balance_after, created_at) \
         VALUES ({seq}, 'reseller:{r}', 500, 'CNY', NULL, {day_ago}), \
         ({seq}, 'platform:funding', -500, 'CNY', NULL, {day_ago}); \
         UPDATE resellers SET balance = balance + 500 WHERE id = '{r}'",
        r = s.reseller_id
    ));
    s.assert_verify_names(seq, "not sealed").await;
    // Still unsealed after more traffic and settling rounds.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    s.assert_verify_names(seq, "not sealed").await;
}

#[actix_web::test]
async fn a_balance_that_differs_from_its_ledger_is_named() {
    let s = scene().await;
    s.sql(format!(
        "UPDATE resellers SET balance = balance + 500 WHERE id = '{}'",
        s.reseller_id
    ));
    let books = check(&s.app).await;
    assert!(!books.balanced);
    assert_eq!(books.mismatches.len(), 1, "{books:?}");
    assert_eq!(
        books.mismatches[0].account,
        format!("reseller:{}", s.reseller_id)
    );
    assert_eq!(
        books.mismatches[0].balance - books.mismatches[0].ledger,
        500
    );
}

#[actix_web::test]
async fn an_order_whose_amount_was_edited_is_named() {
    let s = scene().await;
    s.sql(format!(
        "UPDATE orders SET amount = amount - 50 WHERE id = '{}'",
        s.orders[1]
    ));
    s.assert_order_named(1).await;
}

#[actix_web::test]
async fn an_order_whose_quantity_was_edited_is_named() {
    let s = scene().await;
    s.sql(format!(
        "UPDATE orders SET quantity = 2 WHERE id = '{}'",
        s.orders[0]
    ));
    s.assert_order_named(0).await;
}

#[actix_web::test]
async fn an_order_moved_to_another_product_is_named() {
    let s = scene().await;
    s.sql(format!(
        "UPDATE orders SET product_id = '{}' WHERE id = '{}'",
        s.other_product, s.orders[2]
    ));
    s.assert_order_named(2).await;
}

#[actix_web::test]
async fn an_order_moved_to_another_reseller_is_named() {
    let s = scene().await;
    s.sql(format!(
        "UPDATE orders SET reseller_id = '{}' WHERE id = '{}'",
        s.other_reseller, s.orders[1]
    ));
    s.assert_order_named(1).await;
}

#[actix_web::test]
async fn an_order_whose_delivered_card_was_swapped_is_named() {
    let s = scene().await;
    // The order's card goes back to stock and an unsold one takes its place.
    s.sql(format!(
        "UPDATE cards SET order_id = 'swap' WHERE order_id = '{o}'; \
         UPDATE cards SET status = 'sold', order_id = '{o}' WHERE id = \
         (SELECT MIN(id) FROM cards WHERE status = 'available'); \
         UPDATE cards SET status = 'available', order_id = NULL WHERE order_id = 'swap'",
        o = s.orders[0]
    ));
    s.assert_order_named(0).await;
}
