//! Secrets stay secret: a full scenario against a real `kameng serve` logging at trace level —
//! accounts, keys, pushed cards, orders, a direct top-up, KYC, callbacks and a range of errors —
//! then no API secret, webhook secret, card code or secret, KYC id number or admin password may
//! appear in the process's output, in `/metrics`, in any error response, or in the audit log.

use std::time::Duration;

use kameng::client::{AdminClient, Client, RawResponse};
use kameng::domain::accounts::kyc::KycRequest;
use kameng::domain::aftersales::tickets::NewTicket;
use kameng::domain::trade::inventory::{NewCard, PushCards};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{
    new_card_product, new_direct_product, order_req, test_database, topup_req, ADMIN_PASS,
    ADMIN_USER,
};
use crate::process::ServerProcess;
use crate::receiver::Receiver;

/// Every secret the scenario handled, by what it is.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: &str) {
        assert!(value.len() >= 8, "too short to search for: {value}");
        self.0.push((what.into(), value.to_string()));
    }

    /// Panics naming the first secret found in `text` (from `place`).
    fn assert_absent(&self, place: &str, text: &str) {
        for (what, value) in &self.0 {
            if let Some(at) = text.find(value.as_str()) {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(200)
                    .map_or(0, |(i, _)| i);
                panic!(
                    "{what} found in {place}: …{}…",
                    &text[from..(at + value.len()).min(text.len())]
                );
            }
        }
    }
}

async fn send(client: &Client, method: Method, path: &str, body: Value) -> RawResponse {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    client.send_raw(method, path, bytes).await.unwrap()
}

const KYC_ID: &str = "110101199003077777";

#[actix_web::test]
async fn no_secret_reaches_logs_metrics_or_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let log = dir.path().join("kameng.log");
    let server = ServerProcess::start_logged(
        &db.url,
        dir.path(),
        &[
            ("KAMENG_LOG", "trace"),
            ("KAMENG_WEBHOOK_RETRY_SCHEDULE", "1"),
        ],
        Some(&log),
    )
    .await;
    let base = server.base.clone();
    let mut secrets = Secrets::default();
    secrets.add("the admin password", ADMIN_PASS);
    secrets.add("the KYC id number", KYC_ID);
    let mut errors: Vec<(String, RawResponse)> = Vec::new();

    let admin = AdminClient::login(&base, ADMIN_USER, ADMIN_PASS)
        .await
        .unwrap();
    let (sup_rx, res_rx) = (Receiver::start(), Receiver::start());
    let s = admin
        .create_supplier("Acme", Some(&sup_rx.url))
        .await
        .unwrap();
    secrets.add("a supplier API secret", &s.api_key.secret);
    secrets.add("a supplier webhook secret", &s.webhook_secret);
    let r = admin
        .create_reseller("Shop", None, Some(&res_rx.url))
        .await
        .unwrap();
    secrets.add("a reseller API secret", &r.api_key.secret);
    secrets.add("a reseller webhook secret", &r.webhook_secret);
    admin.credit(&r.reseller.id, 100_000).await.unwrap();
    let extra = admin.issue_key("reseller", &r.reseller.id).await.unwrap();
    secrets.add("an admin-issued key secret", &extra.secret);
    let supplier = Client::new(&base, &s.api_key.key_id, &s.api_key.secret);
    let reseller = Client::new(&base, &r.api_key.key_id, &r.api_key.secret);

    // A scoped key the reseller makes itself.
    let key: Value = send(
        &reseller,
        Method::POST,
        "/v1/keys",
        json!({"name": "bot", "scopes": ["catalog:read", "orders:write"]}),
    )
    .await
    .json()
    .unwrap();
    secrets.add(
        "a reseller-made key secret",
        key["secret"].as_str().unwrap(),
    );

    // Stock: codes with secrets.
    let p = new_card_product(&admin, &s.supplier.id, "SEC", 100, 80).await;
    let pid = p.product.id.clone();
    let push = PushCards {
        cards: (0..6)
            .map(|n| NewCard {
                code: format!("CARDCODE-ZX{n:04}-QW"),
                secret: Some(format!("CARDPIN-{n:04}-SECRET")),
                expires_at: None,
            })
            .collect(),
        batch_ref: Some("b1".into()),
    };
    for c in &push.cards {
        secrets.add("a card code", &c.code);
        secrets.add("a card secret", c.secret.as_deref().unwrap());
    }
    assert_eq!(supplier.push_cards(&pid, &push).await.unwrap().accepted, 6);
    // The same codes again (duplicates), and onto another product (rejected).
    let again = supplier.push_cards(&pid, &push).await.unwrap();
    assert_eq!(again.duplicates, 6);
    let other = new_card_product(&admin, &s.supplier.id, "SEC2", 100, 80).await;
    let elsewhere = supplier.push_cards(&other.product.id, &push).await.unwrap();
    assert_eq!(elsewhere.rejected.len(), 6);
    assert!(!serde_json::to_string(&elsewhere)
        .unwrap()
        .contains("CARDCODE"));

    // Orders: delivered in the body (by design) and announced by callback.
    let order = reseller.buy(&pid, 2, "SEC-1").await.unwrap();
    assert_eq!(order.cards.as_ref().unwrap().len(), 2);
    let mut with_url = order_req(&pid, 1, "SEC-2");
    with_url.notify_url = Some(res_rx.url.clone());
    reseller.create_order(&with_url).await.unwrap();
    res_rx.wait_for(10, |g| g.len() >= 2).await;

    // A direct top-up, answered by the supplier.
    let direct = new_direct_product(
        &admin,
        &s.supplier.id,
        "SEC-DIRECT",
        (100, 80),
        &["account"],
    )
    .await;
    let topup = topup_req(
        &direct.product.id,
        1,
        "SEC-3",
        json!({"account": "player-1"}),
    );
    let (processing, _) = reseller.create_order(&topup).await.unwrap();
    sup_rx.wait_for(10, |g| !g.is_empty()).await;
    let done = send(
        &supplier,
        Method::POST,
        &format!("/v1/supplier/orders/{}/result", processing.id),
        json!({"status": "success"}),
    )
    .await;
    assert!(done.status.is_success());

    // KYC, reviewed by the admin.
    let kyc = KycRequest {
        legal_name: "Zhang San Trading".into(),
        id_number: KYC_ID.into(),
        contact: "ops@example.com".into(),
    };
    reseller.submit_kyc(&kyc).await.unwrap();
    let masked = admin.reseller_kyc(&r.reseller.id).await.unwrap();
    assert!(!serde_json::to_string(&masked).unwrap().contains(KYC_ID));
    admin.decide_kyc(&r.reseller.id, "verified").await.unwrap();

    // A ticket naming a code, and the test events.
    let code = order.cards.as_ref().unwrap()[0].code.clone();
    reseller
        .open_ticket(&NewTicket {
            order_id: order.id.clone(),
            reason: "invalid_code".into(),
            card_code: Some(code.clone()),
            message: None,
        })
        .await
        .unwrap();
    for (c, path) in [
        (&reseller, "/v1/webhooks/test"),
        (&supplier, "/v1/supplier/webhooks/test"),
    ] {
        assert!(send(c, Method::POST, path, Value::Null)
            .await
            .status
            .is_success());
    }

    // Errors, many carrying a secret in the request.
    let wrong = Client::new(&base, &r.api_key.key_id, &s.api_key.secret);
    errors.push((
        "a signature made with another secret".into(),
        send(&wrong, Method::GET, "/v1/account", Value::Null).await,
    ));
    let ts = kameng::time::now_secs().to_string();
    for attempt in ["first", "replayed"] {
        let res = reseller
            .send_signed(
                Method::GET,
                "/v1/account",
                Vec::new(),
                &ts,
                "replay-nonce-1",
            )
            .await
            .unwrap();
        if attempt == "replayed" {
            errors.push(("a replayed nonce".into(), res));
        }
    }
    let stale = reseller
        .send_signed(
            Method::GET,
            "/v1/account",
            Vec::new(),
            "1000",
            "stale-nonce-1",
        )
        .await
        .unwrap();
    errors.push(("a stale timestamp".into(), stale));
    let unknown_key = Client::new(&base, &r.api_key.secret, &r.api_key.secret);
    errors.push((
        "the secret sent as the key id".into(),
        send(&unknown_key, Method::GET, "/v1/account", Value::Null).await,
    ));
    let bodies = [
        (
            "/v1/account/kyc",
            json!({"legal_name": "Z", "id_number": format!("{KYC_ID}!"), "contact": "x@y.z"}),
        ),
        (
            "/v1/account/kyc",
            json!({"legal_name": "Z", "id_number": KYC_ID.parse::<i64>().unwrap(), "contact": "x@y.z"}),
        ),
        (
            "/v1/account/kyc",
            json!({"legal_name": KYC_ID, "id_number": [KYC_ID], "contact": "x@y.z"}),
        ),
        (
            "/v1/account/kyc",
            json!({"legal_name": "Z", "id_number": KYC_ID, "contact": "x@y.z", "extra": KYC_ID}),
        ),
        (
            "/v1/tickets",
            json!({"order_id": order.id, "reason": "invalid_code", "card_code": "CARDCODE-ZX0005-QW"}),
        ),
        (
            "/v1/tickets",
            json!({"order_id": order.id, "reason": code.clone(), "card_code": code.clone()}),
        ),
        (
            "/v1/tickets",
            json!({"order_id": code.clone(), "reason": "invalid_code"}),
        ),
        (
            "/v1/orders",
            json!({"product_id": pid, "quantity": code.clone(), "out_trade_no": "E-1"}),
        ),
        (
            "/v1/orders",
            json!({"product_id": r.api_key.secret, "quantity": 1, "out_trade_no": "E-2"}),
        ),
        (
            "/v1/orders",
            json!({"product_id": pid, "quantity": 1, "out_trade_no": "E-3", "notify_url": r.webhook_secret}),
        ),
        (
            "/v1/keys",
            json!({"name": "k", "scopes": [r.api_key.secret]}),
        ),
    ];
    for (path, body) in bodies {
        let res = send(&reseller, Method::POST, path, body.clone()).await;
        assert!(!res.status.is_success(), "{path} {body} succeeded");
        errors.push((format!("POST {path} {body}"), res));
    }
    let sup_bodies = [
        (
            format!("/v1/supplier/products/{pid}/cards"),
            json!({"cards": [{"code": 5, "secret": "CARDPIN-0000-SECRET"}]}),
        ),
        (
            format!("/v1/supplier/products/{pid}/cards"),
            json!({"cards": [{"code": "CARDCODE-ZX0000-QW", "secret": 7, "expires_at": "CARDPIN-0001-SECRET"}]}),
        ),
        (
            "/v1/supplier/products/nope/cards".into(),
            json!({"cards": [{"code": "CARDCODE-ZX0002-QW"}]}),
        ),
        (
            format!("/v1/supplier/orders/{}/result", processing.id),
            json!({"status": "CARDCODE-ZX0003-QW"}),
        ),
    ];
    for (path, body) in sup_bodies {
        let res = send(&supplier, Method::POST, &path, body.clone()).await;
        assert!(!res.status.is_success(), "{path} {body} succeeded");
        errors.push((format!("POST {path} {body}"), res));
    }
    let bad_login = reqwest::Client::new()
        .post(format!("{base}/v1/admin/login"))
        .json(&json!({"username": ADMIN_USER, "password": format!("{ADMIN_PASS}x")}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_login.status(), 401);
    let bad_login = bad_login.text().await.unwrap();
    secrets.assert_absent("the failed login response", &bad_login);
    let bad_credit = admin
        .send(
            Method::POST,
            &format!("/v1/admin/resellers/{}/credit", r.reseller.id),
            Some(json!({"amount": r.webhook_secret})),
        )
        .await
        .unwrap();
    errors.push(("an admin credit with a wrong type".into(), bad_credit));

    // Give the worker time to retry the failing deliveries it logs about.
    res_rx.respond_with(500);
    send(&reseller, Method::POST, "/v1/webhooks/test", Value::Null).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    for (what, res) in &errors {
        assert!(!res.status.is_success(), "{what} succeeded");
        secrets.assert_absent(
            &format!("the error response to {what}"),
            &String::from_utf8_lossy(&res.body),
        );
    }
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("kameng_"), "metrics: {metrics}");
    secrets.assert_absent("/metrics", &metrics);
    let audit = admin
        .send(Method::GET, "/v1/admin/audit?limit=200", None)
        .await
        .unwrap();
    assert!(audit.status.is_success());
    secrets.assert_absent("the audit log", &String::from_utf8_lossy(&audit.body));

    drop(server);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.lines().count() > 100 && logs.contains("TRACE"),
        "trace logging was not on: {} lines",
        logs.lines().count()
    );
    secrets.assert_absent("the server's logs", &logs);
    println!(
        "secrets: {} values checked against {} log lines, {} error responses, metrics and audit",
        secrets.0.len(),
        logs.lines().count(),
        errors.len()
    );
}
