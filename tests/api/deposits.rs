//! Reseller deposits: opened by the reseller, settled once by an admin's confirmation or a
//! provider's signed callback, never when expired, always through the ledger and the chain.

use diesel::prelude::*;
use kameng::client::{send_payment_callback, RawResponse};
use kameng::config::PaymentProvider;
use kameng::domain::accounts::deposits::{Deposit, NewDeposit};
use serde_json::{json, Value};

use crate::common::TestApp;

const PROVIDER: &str = "gw";
const SECRET: &str = "whsec_gateway_test_1";

async fn with_provider(ttl_secs: i64) -> TestApp {
    TestApp::spawn_with(|c| {
        c.payment_providers = vec![PaymentProvider {
            name: PROVIDER.into(),
            secret: SECRET.into(),
        }];
        c.deposit_ttl_secs = ttl_secs;
        c.deposit_max_amount = 1_000_000;
    })
    .await
}

fn deposit(amount: i64, method: &str, out_trade_no: Option<&str>) -> NewDeposit {
    NewDeposit {
        amount,
        method: method.into(),
        out_trade_no: out_trade_no.map(str::to_string),
    }
}

fn paid(reference: &str, amount: i64, currency: &str, tx: &str) -> Vec<u8> {
    json!({"reference": reference, "amount": amount, "currency": currency,
        "status": "paid", "transaction_id": tx})
    .to_string()
    .into_bytes()
}

async fn callback(app: &TestApp, secret: &str, t: i64, body: &[u8]) -> RawResponse {
    send_payment_callback(
        &reqwest::Client::new(),
        &app.base,
        PROVIDER,
        secret,
        t,
        body,
    )
    .await
    .unwrap()
}

/// A correctly signed callback's answer: (outcome, deposit status).
async fn answer(app: &TestApp, body: &[u8]) -> (String, String) {
    let v: Value = callback(app, SECRET, now(), body).await.json().unwrap();
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    (text("outcome"), text("status"))
}

/// A fresh deposit of the reseller behind `rc`.
async fn open(rc: &kameng::client::Client, amount: i64, method: &str) -> Deposit {
    rc.create_deposit(&deposit(amount, method, None))
        .await
        .unwrap()
        .0
}

fn now() -> i64 {
    kameng::time::now_secs()
}

/// How many ledger transactions of `action` the chain holds.
fn chained(app: &TestApp, action: &str) -> i64 {
    use kameng::db::schema::audit_chain;
    let action = action.to_string();
    app.state
        .db
        .read(move |c| {
            Ok(audit_chain::table
                .filter(audit_chain::action.eq(action))
                .count()
                .get_result::<i64>(c)?)
        })
        .unwrap()
}

#[actix_web::test]
async fn bank_transfer_is_confirmed_once() {
    let app = with_provider(3600).await;
    let (r, rc) = app.reseller(None, 0).await;
    let (d, created) = rc
        .create_deposit(&deposit(5_000, "bank_transfer", Some("TOPUP-1")))
        .await
        .unwrap();
    assert!(created);
    assert_eq!((d.status.as_str(), d.currency.as_str()), ("pending", "CNY"));
    assert!(
        d.reference.starts_with('D') && d.reference.len() == 9,
        "{}",
        d.reference
    );
    let expires = chrono::DateTime::parse_from_rfc3339(&d.expires_at)
        .unwrap()
        .timestamp();
    assert!(
        (expires - now() - 3600).abs() <= 5,
        "expires_at {}",
        d.expires_at
    );

    // The same out_trade_no: the same deposit; with another amount: a conflict.
    let (again, created) = rc
        .create_deposit(&deposit(5_000, "bank_transfer", Some("TOPUP-1")))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, d.id);
    let err = rc
        .create_deposit(&deposit(6_000, "bank_transfer", Some("TOPUP-1")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("idempotency_conflict"));
    assert_eq!(rc.deposits("").await.unwrap().data.len(), 1);
    assert_eq!(rc.deposit(&d.id).await.unwrap().reference, d.reference);

    // Nothing is credited before the payment is confirmed; then once.
    assert_eq!(rc.account().await.unwrap().balance, 0);
    let done = app.admin.confirm_deposit(&d.id, None).await.unwrap();
    assert_eq!(done.status.as_str(), "credited");
    assert_eq!(done.credited_amount, Some(5_000));
    assert_eq!(rc.account().await.unwrap().balance, 5_000);
    let err = app.admin.confirm_deposit(&d.id, None).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"), "{err}");
    assert_eq!(rc.account().await.unwrap().balance, 5_000);
    assert_eq!(chained(&app, "deposit.credit"), 1);

    // The statement shows it against the deposit; the admin's list finds it.
    let line = &rc.ledger("").await.unwrap().data[0];
    assert_eq!(
        (line.action.as_str(), line.reference.as_str()),
        ("deposit.credit", d.id.as_str())
    );
    let listed = app
        .admin
        .deposits(&format!("status=credited&reseller_id={}", r.reseller.id))
        .await
        .unwrap();
    assert_eq!(listed.data.len(), 1);
    app.assert_books_check().await;
}

#[actix_web::test]
async fn bad_deposit_requests_change_nothing() {
    let app = with_provider(3600).await;
    let (_, rc) = app.reseller(None, 0).await;
    for (amount, method) in [
        (0, "bank_transfer"),
        (-1, "bank_transfer"),
        (1_000_001, PROVIDER),
        (10, "cash"),
    ] {
        let err = rc
            .create_deposit(&deposit(amount, method, None))
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some("invalid_request"),
            "{amount} {method}: {err}"
        );
    }
    assert!(rc.deposits("").await.unwrap().data.is_empty());
    let err = rc.deposits("status=paid").await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_request"));
    let err = app
        .admin
        .confirm_deposit("dep_nothing", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    // A confirmation whose body is there but wrong is refused, not read as "the full amount".
    let (d, _) = rc
        .create_deposit(&deposit(100, "bank_transfer", None))
        .await
        .unwrap();
    for body in [
        json!({"amount": "all"}),
        json!({"amount": 0}),
        json!({"amount": 5, "x": 1}),
    ] {
        let res = app
            .admin
            .send(
                reqwest::Method::POST,
                &format!("/v1/admin/deposits/{}/confirm", d.id),
                Some(body),
            )
            .await
            .unwrap();
        assert!(res.status == 422 || res.status == 400, "{}", res.status);
    }
    assert_eq!(rc.deposit(&d.id).await.unwrap().status.as_str(), "pending");
    assert_eq!(rc.account().await.unwrap().balance, 0);
}

#[actix_web::test]
async fn provider_callback_is_verified_and_credits_once() {
    let app = with_provider(3600).await;
    let (_, rc) = app.reseller(None, 0).await;
    let (d, _) = rc
        .create_deposit(&deposit(8_800, PROVIDER, None))
        .await
        .unwrap();
    let body = paid(&d.reference, 8_800, "CNY", "tx-1");

    // Wrong secret, stale timestamp, altered body, unknown provider: refused, nothing changes.
    assert_eq!(callback(&app, "wrong", now(), &body).await.status, 401);
    assert_eq!(
        callback(&app, SECRET, now() - 3600, &body).await.status,
        401
    );
    let sig = kameng::auth::signing::sign_event(SECRET, now(), &body);
    let tampered = paid(&d.reference, 88_000, "CNY", "tx-1");
    let res = reqwest::Client::new()
        .post(format!("{}/v1/payments/callback/{PROVIDER}", app.base))
        .header("X-Kameng-Signature", sig)
        .header("content-type", "application/json")
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let other = send_payment_callback(
        &reqwest::Client::new(),
        &app.base,
        "nope",
        SECRET,
        now(),
        &body,
    )
    .await
    .unwrap();
    assert_eq!(other.status, 404);
    assert_eq!(rc.deposit(&d.id).await.unwrap().status.as_str(), "pending");
    assert_eq!(rc.account().await.unwrap().balance, 0);

    // A failed payment changes nothing; the paid one credits; a repeat credits nothing more.
    let failed = json!({"reference": d.reference, "amount": 8_800, "currency": "CNY",
        "status": "failed", "transaction_id": "tx-0"})
    .to_string()
    .into_bytes();
    assert_eq!(answer(&app, &failed).await.0, "payment_failed");
    let credited = ("credited".to_string(), "credited".to_string());
    assert_eq!(answer(&app, &body).await, credited);
    assert_eq!(answer(&app, &body).await.0, "already_credited");
    assert_eq!(rc.account().await.unwrap().balance, 8_800);
    let got = rc.deposit(&d.id).await.unwrap();
    assert_eq!(got.provider_transaction_id.as_deref(), Some("tx-1"));
    let err = app.admin.confirm_deposit(&d.id, None).await.unwrap_err();
    assert_eq!(err.code(), Some("conflict"));
    assert_eq!(chained(&app, "deposit.credit"), 1);

    // The reseller hears of it (`deposit.credited` in the outbox), and every callback is kept.
    use kameng::db::schema::{events, payment_callbacks};
    let (events, callbacks) = app
        .state
        .db
        .read(|c| {
            let e = events::table
                .filter(events::event_type.eq("deposit.credited"))
                .count()
                .get_result::<i64>(c)?;
            let p = payment_callbacks::table.count().get_result::<i64>(c)?;
            Ok((e, p))
        })
        .unwrap();
    assert_eq!((events, callbacks), (1, 3));
    app.assert_books_check().await;
}

#[actix_web::test]
async fn eight_concurrent_callbacks_credit_once() {
    let app = with_provider(3600).await;
    let (_, rc) = app.reseller(None, 0).await;
    let (d, _) = rc
        .create_deposit(&deposit(12_345, PROVIDER, None))
        .await
        .unwrap();
    let body = paid(&d.reference, 12_345, "CNY", "tx-race");
    let t = now();
    let calls = (0..8).map(|_| callback(&app, SECRET, t, &body));
    let answers = futures_util::future::join_all(calls).await;
    let outcomes: Vec<String> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            r.json::<Value>().unwrap()["outcome"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "credited").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "already_credited").count(),
        7
    );
    assert_eq!(rc.account().await.unwrap().balance, 12_345);
    assert_eq!(chained(&app, "deposit.credit"), 1);
    app.assert_books_check().await;
}

#[actix_web::test]
async fn a_mismatched_payment_waits_for_an_admin() {
    let app = with_provider(3600).await;
    let (_, rc) = app.reseller(None, 0).await;
    let d = open(&rc, 10_000, PROVIDER).await;
    let short = paid(&d.reference, 9_000, "CNY", "tx-short");
    assert_eq!(
        answer(&app, &short).await,
        ("review".into(), "review".into())
    );
    let d2 = open(&rc, 500, PROVIDER).await;
    let usd = paid(&d2.reference, 500, "USD", "tx-usd");
    assert_eq!(answer(&app, &usd).await.0, "review");
    // A bank-transfer deposit paid through the provider is held too.
    let d3 = open(&rc, 700, "bank_transfer").await;
    let bank = paid(&d3.reference, 700, "CNY", "tx-bank");
    assert_eq!(answer(&app, &bank).await.0, "review");
    // A repeat of a held payment changes nothing.
    assert_eq!(answer(&app, &short).await.0, "under_review");
    assert_eq!(rc.account().await.unwrap().balance, 0);
    let held = rc.deposit(&d.id).await.unwrap();
    assert!(held.review_reason.unwrap().contains("9000"));

    // The admin credits what arrived.
    let done = app.admin.confirm_deposit(&d.id, Some(9_000)).await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.credited_amount),
        ("credited", Some(9_000))
    );
    assert_eq!(rc.account().await.unwrap().balance, 9_000);
    app.assert_books_check().await;
}

#[actix_web::test]
async fn expired_deposits_are_never_credited() {
    let app = with_provider(1).await;
    let (_, rc) = app.reseller(None, 0).await;
    let gw = open(&rc, 3_000, PROVIDER).await;
    let bank = open(&rc, 4_000, "bank_transfer").await;
    // The sweep marks both expired.
    let mut waited = 0;
    while rc.deposits("status=expired").await.unwrap().data.len() < 2 {
        assert!(waited < 100, "the sweep did not expire the deposits");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let late = paid(&gw.reference, 3_000, "CNY", "tx-late");
    assert_eq!(
        answer(&app, &late).await,
        ("expired".into(), "expired".into())
    );
    let err = app.admin.confirm_deposit(&bank.id, None).await.unwrap_err();
    assert_eq!(err.code(), Some("deposit_expired"), "{err}");
    assert_eq!(rc.account().await.unwrap().balance, 0);
    assert_eq!(chained(&app, "deposit.credit"), 0);
    // The late payment is on record for the operator to return.
    use kameng::db::schema::payment_callbacks;
    let outcome: String = app
        .state
        .db
        .read(|c| {
            Ok(payment_callbacks::table
                .select(payment_callbacks::outcome)
                .first(c)?)
        })
        .unwrap();
    assert_eq!(outcome, "expired");
    app.assert_books_check().await;
}
