//! Signed-request authentication, one failure mode at a time.

use kameng::auth::signing::{sign_request, string_to_sign};
use kameng::client::{new_nonce, Client};
use reqwest::Method;

use crate::common::TestApp;

#[test]
fn spec_test_vectors() {
    let body = br#"{"product_id":"prd_01","quantity":1,"out_trade_no":"T1001"}"#;
    let sts = string_to_sign("POST", "/v1/orders", "", "1767225600", "n0nce-0001", body);
    assert!(sts.ends_with("cf689540e532f161e7e19464f927f05bdab45b2810ac5388792eaa9472be0712"));
    assert_eq!(
        sign_request(
            "sk_test_5f2a9c1e7b3d4f60",
            "POST",
            "/v1/orders",
            "",
            "1767225600",
            "n0nce-0001",
            body
        ),
        "1d03bb7cc72dcc2cc4fb47298867269224f95cb782af0bcbd6ea66c598dff0ff"
    );
    assert_eq!(
        sign_request(
            "sk_test_5f2a9c1e7b3d4f60",
            "GET",
            "/v1/products",
            "category=steam&limit=2",
            "1767225600",
            "n0nce-0002",
            b""
        ),
        "46a46383746f10f39794421db9b1c5af0229f06231a19e66d470cda9dc458f3c"
    );
}

fn status_and_code(res: kameng::client::RawResponse) -> (u16, String) {
    let code = res.problem().map(|p| p.code).unwrap_or_default();
    (res.status.as_u16(), code)
}

/// `GET /v1/account` signed by `client` with this timestamp and nonce: status and error code.
async fn get_account(client: &Client, ts: &str, nonce: &str) -> (u16, String) {
    let res = client.send_signed(Method::GET, "/v1/account", vec![], ts, nonce);
    status_and_code(res.await.unwrap())
}

#[actix_web::test]
async fn a_correctly_signed_request_passes_and_each_tampering_fails() {
    let app = TestApp::spawn().await;
    let (r, client) = app.reseller(None, 0).await;
    let now = kameng::time::now_secs().to_string();
    let refused = (401, "unauthorized".to_string());

    // Correct signature, with a query string.
    let ok = client
        .send_raw(Method::GET, "/v1/products?category=steam&limit=2", vec![])
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    assert!(ok.headers.contains_key("x-request-id"));

    // Wrong secret, unknown key.
    let wrong = Client::new(&app.base, &r.api_key.key_id, "sk_wrong");
    assert_eq!(get_account(&wrong, &now, &new_nonce()).await, refused);
    let unknown = Client::new(&app.base, "kk_nope", &r.api_key.secret);
    assert_eq!(get_account(&unknown, &now, &new_nonce()).await, refused);

    // Stale and future timestamps.
    for skew in [-301, 301] {
        let ts = (kameng::time::now_secs() + skew).to_string();
        assert_eq!(
            get_account(&client, &ts, &new_nonce()).await,
            refused,
            "{skew}"
        );
    }

    // Replayed nonce.
    let nonce = new_nonce();
    assert_eq!(get_account(&client, &now, &nonce).await.0, 200);
    assert_eq!(
        get_account(&client, &now, &nonce).await,
        (401, "replayed_request".into())
    );

    // Bad nonce format.
    assert_eq!(get_account(&client, &now, "short").await, refused);

    // Unsigned.
    let res = reqwest::get(format!("{}/v1/account", app.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

/// Sends a request whose signature covers different bytes than those sent.
/// `signed` and `sent` are each (path and query, body).
async fn tampered(
    app: &TestApp,
    (key_id, secret): (&str, &str),
    method: &str,
    signed: (&str, &[u8]),
    sent: (&str, &[u8]),
) -> (u16, String) {
    let ((signed_pq, signed_body), (sent_pq, sent_body)) = (signed, sent);
    let ts = kameng::time::now_secs().to_string();
    let nonce = new_nonce();
    let (path, query) = signed_pq.split_once('?').unwrap_or((signed_pq, ""));
    let sig = sign_request(secret, method, path, query, &ts, &nonce, signed_body);
    let res = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{}{}", app.base, sent_pq))
        .header("X-Kameng-Key", key_id)
        .header("X-Kameng-Timestamp", ts)
        .header("X-Kameng-Nonce", nonce)
        .header("X-Kameng-Signature", sig)
        .header("content-type", "application/json")
        .body(sent_body.to_vec())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or("").to_string())
}

#[actix_web::test]
async fn tampered_body_query_or_path_is_refused() {
    let app = TestApp::spawn().await;
    let (r, _) = app.reseller(None, 1000).await;
    let key = (r.api_key.key_id.as_str(), r.api_key.secret.as_str());
    let body: &[u8] = br#"{"product_id":"prd_x","quantity":1,"out_trade_no":"T1"}"#;
    let evil: &[u8] = br#"{"product_id":"prd_x","quantity":9,"out_trade_no":"T1"}"#;
    // (method, what was signed, what was sent, the answer)
    let cases = [
        ("POST", ("/v1/orders", body), ("/v1/orders", evil), 401),
        (
            "GET",
            ("/v1/products?limit=2", b""),
            ("/v1/products?limit=200", b""),
            401,
        ),
        ("GET", ("/v1/account", b""), ("/v1/orders", b""), 401),
        // Untampered control.
        ("GET", ("/v1/account", b""), ("/v1/account", b""), 200),
    ];
    for (method, signed, sent, want) in cases {
        let (status, code) = tampered(&app, key, method, signed, sent).await;
        assert_eq!(status, want, "{method} {signed:?} sent as {sent:?}");
        if want == 401 {
            assert_eq!(code, "unauthorized");
        }
    }
}

#[actix_web::test]
async fn reseller_and_supplier_keys_cannot_cross_roles() {
    let app = TestApp::spawn().await;
    let (_, reseller) = app.reseller(None, 0).await;
    let (_, supplier) = app.supplier().await;
    for (client, method, path, body) in [
        (&reseller, Method::GET, "/v1/supplier/products", ""),
        (&supplier, Method::GET, "/v1/account", ""),
        (&supplier, Method::POST, "/v1/orders", "{}"),
    ] {
        let res = client.send_raw(method, path, body.into()).await.unwrap();
        assert_eq!(status_and_code(res), (403, "forbidden".into()), "{path}");
    }
}

#[actix_web::test]
async fn rotated_key_works_and_revoked_key_is_refused() {
    let app = TestApp::spawn().await;
    let (r, old) = app.reseller(None, 0).await;
    let issued = app
        .admin
        .issue_key("reseller", &r.reseller.id)
        .await
        .unwrap();
    let new = app.client(&issued.key_id, &issued.secret);
    // Both work during the rotation.
    assert!(old.account().await.is_ok());
    assert!(new.account().await.is_ok());
    app.admin.revoke_key(&r.api_key.key_id).await.unwrap();
    assert_eq!(
        old.account().await.unwrap_err().code(),
        Some("unauthorized")
    );
    assert_eq!(new.account().await.unwrap().id, r.reseller.id);
}

#[actix_web::test]
async fn suspended_accounts_keys_get_forbidden() {
    let app = TestApp::spawn().await;
    let (r, client) = app.reseller(None, 0).await;
    let res = app
        .admin
        .send(
            Method::PATCH,
            &format!("/v1/admin/resellers/{}", r.reseller.id),
            Some(serde_json::json!({"status": "suspended"})),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(
        client.account().await.unwrap_err().code(),
        Some("forbidden")
    );
}

#[actix_web::test]
async fn rate_limit_answers_429_with_retry_after() {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_key = 2).await;
    let (_, client) = app.reseller(None, 0).await;
    let mut limited = None;
    for _ in 0..10 {
        let res = client
            .send_raw(Method::GET, "/v1/account", vec![])
            .await
            .unwrap();
        if res.status == 429 {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("a burst of 10 over a limit of 2/s (burst 4) must hit 429");
    assert!(res.headers.get("retry-after").is_some());
    assert_eq!(res.problem().unwrap().code, "rate_limited");
}
