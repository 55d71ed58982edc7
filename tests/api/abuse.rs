//! Abuse: oversize and chunked bodies, deeply nested JSON, huge `limit`s, invalid UTF-8, header
//! injection in callback URLs, SSRF targets, and a flood of replayed nonces measured against a
//! well-behaved client's latency. Each is refused with its documented code and nothing crashes.

mod replay;
mod ssrf;

use std::time::Duration;

use kameng::auth::signing;
use kameng::client::RawResponse;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestApp;

const MAX_BODY: usize = 256 * 1024;

pub async fn app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.max_body_bytes = MAX_BODY;
        c.allow_private_webhooks = false;
        c.webhook_retry_schedule = vec![];
    })
    .await
}

pub fn code(res: &RawResponse) -> String {
    res.problem().map(|p| p.code).unwrap_or_else(|| {
        panic!(
            "{}: not a problem document: {}",
            res.status,
            String::from_utf8_lossy(&res.body)
        )
    })
}

#[track_caller]
pub fn assert_refused(res: &RawResponse, statuses: &[u16], want: &str, what: &str) {
    assert!(
        statuses.contains(&res.status.as_u16()) && code(res) == want,
        "{what}: {} {}",
        res.status,
        String::from_utf8_lossy(&res.body)
    );
}

async fn healthy(app: &TestApp) {
    let res = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert!(res.status().is_success(), "the server is down");
}

/// An admin POST with exactly these body bytes.
pub async fn admin_bytes(app: &TestApp, path: &str, body: Vec<u8>) -> RawResponse {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", app.base))
        .bearer_auth(app.admin.token())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    RawResponse {
        status: res.status(),
        headers: res.headers().clone(),
        body: res.bytes().await.unwrap().to_vec(),
    }
}

/// Writes `head` then `body` as HTTP/1.1 chunks on a raw connection; returns the status code.
async fn chunked(app: &TestApp, head: &str, body: &[u8]) -> u16 {
    let addr = app.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(16 * 1024) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The server may answer and close once it has seen too much.
        if s.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"))
}

#[actix_web::test]
async fn oversize_nested_and_invalid_utf8_bodies_are_refused_cleanly() {
    let app = app().await;
    let (_, reseller) = app.reseller(None, 1_000).await;
    let admin = &app.admin;

    // Oversize: declared, signed and not.
    let big = vec![b' '; MAX_BODY + 1];
    let res = reseller
        .send_raw(Method::POST, "/v1/orders", big.clone())
        .await
        .unwrap();
    assert_refused(&res, &[413], "payload_too_large", "signed oversize body");
    let res = reqwest::Client::new()
        .post(format!("{}/v1/orders", app.base))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413, "unsigned oversize body");
    let res = admin
        .send(
            Method::POST,
            "/v1/admin/products",
            Some(json!({ "sku": "x".repeat(MAX_BODY) })),
        )
        .await
        .unwrap();
    assert_refused(&res, &[413], "payload_too_large", "admin oversize body");
    // Chunked, so the size is only known while reading.
    let ts = kameng::time::now_secs().to_string();
    let sig = signing::sign_request(
        "wrong",
        "POST",
        "/v1/orders",
        "",
        &ts,
        "chunk-nonce-1",
        &big,
    );
    let head = format!(
        "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\nX-Kameng-Key: {}\r\n\
         X-Kameng-Timestamp: {ts}\r\nX-Kameng-Nonce: chunk-nonce-1\r\nX-Kameng-Signature: {sig}\r\n\r\n",
        reseller.key_id()
    );
    assert_eq!(chunked(&app, &head, &big).await, 413, "chunked signed body");
    let head = format!(
        "POST /v1/admin/resellers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\r\n",
        admin.token()
    );
    assert_eq!(chunked(&app, &head, &big).await, 413, "chunked admin body");

    // Deeply nested JSON, inside the size limit.
    for nested in [
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!(
            r#"{{"product_id":"p","quantity":1,"out_trade_no":"N","topup":{}1{}}}"#,
            r#"{"a":"#.repeat(30_000),
            "}".repeat(30_000)
        ),
    ] {
        let res = reseller
            .send_raw(Method::POST, "/v1/orders", nested.clone().into_bytes())
            .await
            .unwrap();
        assert_refused(&res, &[400, 422], "invalid_request", "nested signed body");
        let res = admin_bytes(&app, "/v1/admin/resellers", nested.into_bytes()).await;
        assert_refused(&res, &[400, 422], "invalid_request", "nested admin body");
    }

    // Invalid UTF-8: in a string, outside one, and in a header value.
    for body in [
        b"{\"product_id\":\"\xff\xfe\",\"quantity\":1,\"out_trade_no\":\"U-1\"}".to_vec(),
        b"\xef\xbb\xbf\xff{}".to_vec(),
        b"{\"product_id\":\"\xed\xa0\x80\",\"quantity\":1,\"out_trade_no\":\"U-2\"}".to_vec(),
    ] {
        let res = reseller
            .send_raw(Method::POST, "/v1/orders", body.clone())
            .await
            .unwrap();
        assert_refused(&res, &[400, 422], "invalid_request", "invalid UTF-8 body");
        let res = admin_bytes(&app, "/v1/admin/resellers", body).await;
        assert_refused(
            &res,
            &[400, 422],
            "invalid_request",
            "invalid UTF-8 admin body",
        );
    }
    let res = reqwest::Client::new()
        .get(format!("{}/v1/account", app.base))
        .header(
            "X-Kameng-Key",
            reqwest::header::HeaderValue::from_bytes(b"key-\xff\xfe").unwrap(),
        )
        .header("X-Kameng-Timestamp", &ts)
        .header("X-Kameng-Nonce", "utf8-nonce-1")
        .header("X-Kameng-Signature", "00")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a non-UTF-8 header value");
    // A path parameter that percent-decodes to invalid UTF-8.
    let res = reseller
        .send_raw(Method::GET, "/v1/orders/%FF%FE", Vec::new())
        .await
        .unwrap();
    assert!(
        [400, 404].contains(&res.status.as_u16()),
        "invalid UTF-8 in the path: {}",
        res.status
    );
    assert_eq!(reseller.account().await.unwrap().balance, 1_000);
    healthy(&app).await;
}

/// Every documented list operation refuses a `limit` outside 1..=200 with 422.
#[actix_web::test]
async fn huge_limits_are_refused_on_every_list() {
    use utoipa::OpenApi;
    let app = app().await;
    let (_, reseller) = app.reseller(None, 0).await;
    let (_, supplier) = app.supplier().await;
    let spec = serde_json::to_value(kameng::api::openapi::ApiDoc::openapi()).unwrap();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let takes_limit = op["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == "limit" && p["in"] == "query")
        });
        if !takes_limit {
            continue;
        }
        let path = path.replace("{id}", "x");
        for limit in [
            "201",
            "1000000",
            "99999999999999999999999",
            "-1",
            "0",
            "1e3",
        ] {
            let url = format!("{path}?limit={limit}");
            let res = if path.starts_with("/v1/admin/") {
                app.admin.send(Method::GET, &url, None).await.unwrap()
            } else if path.starts_with("/v1/supplier/") {
                supplier
                    .send_raw(Method::GET, &url, Vec::new())
                    .await
                    .unwrap()
            } else {
                reseller
                    .send_raw(Method::GET, &url, Vec::new())
                    .await
                    .unwrap()
            };
            // A sub-resource of an unknown id may answer 404 first; never 2xx or 5xx.
            if res.status == 404 {
                continue;
            }
            assert_refused(&res, &[422], "invalid_request", &format!("GET {url}"));
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} list operations found");
}

#[actix_web::test]
async fn header_injection_in_callback_urls_is_refused() {
    let app = app().await;
    let (s, _, p) = app.stocked_product("INJ", 100, 80, 5).await;
    let _ = s;
    let (r, reseller) = app.reseller(None, 1_000).await;
    for url in [
        "http://a\r\nX: y",
        "http://example.com/\r\nX-Injected: yes",
        "http://example.com/cb\nHost: evil",
        "http://example.com/cb\tx",
        "http://example.com/cb x",
        "http://example.com/\u{0}",
        "http://example.com/\u{2028}",
    ] {
        let body = json!({"product_id": p.product.id, "quantity": 1, "out_trade_no": "INJ-1", "notify_url": url});
        let res = reseller
            .send_raw(
                Method::POST,
                "/v1/orders",
                serde_json::to_vec(&body).unwrap(),
            )
            .await
            .unwrap();
        assert_refused(
            &res,
            &[422],
            "invalid_request",
            &format!("order notify_url {url:?}"),
        );
        let res = app
            .admin
            .send(
                Method::PATCH,
                &format!("/v1/admin/resellers/{}", r.reseller.id),
                Some(json!({ "notify_url": url })),
            )
            .await
            .unwrap();
        assert_refused(
            &res,
            &[422],
            "invalid_request",
            &format!("reseller notify_url {url:?}"),
        );
        let res = app
            .admin
            .send(
                Method::POST,
                "/v1/admin/suppliers",
                Some(json!({ "name": "S", "webhook_url": url })),
            )
            .await
            .unwrap();
        assert_refused(
            &res,
            &[422],
            "invalid_request",
            &format!("supplier webhook_url {url:?}"),
        );
        let body = json!({"name": "Sub", "notify_url": url});
        let res = reseller
            .send_raw(
                Method::POST,
                "/v1/sub-resellers",
                serde_json::to_vec(&body).unwrap(),
            )
            .await
            .unwrap();
        assert_refused(
            &res,
            &[422],
            "invalid_request",
            &format!("sub-reseller notify_url {url:?}"),
        );
    }
    // Percent-encoded line breaks stay encoded in the request line: harmless, accepted as is.
    let res = app
        .admin
        .send(
            Method::PATCH,
            &format!("/v1/admin/resellers/{}", r.reseller.id),
            Some(json!({ "notify_url": "http://example.com/%0d%0aX:%20y" })),
        )
        .await
        .unwrap();
    let stored: Value = res.json().unwrap();
    let stored = stored["notify_url"].as_str().unwrap();
    assert!(!stored.contains('\r') && !stored.contains('\n'), "{stored}");
    assert_eq!(reseller.account().await.unwrap().balance, 1_000);
}

/// Found by the API fuzzer: serde fills a struct from a JSON array by position, so
/// `["Shop"]` created a reseller; and undeclared methods answered 404 instead of 405.
#[actix_web::test]
async fn non_object_bodies_and_wrong_methods_are_refused() {
    let app = app().await;
    let (_, _, p) = app.stocked_product("ARR", 100, 80, 2).await;
    let (_, reseller) = app.reseller(None, 1_000).await;
    let body = serde_json::to_vec(&json!([p.product.id, 1, "ARR-1"])).unwrap();
    let res = reseller
        .send_raw(Method::POST, "/v1/orders", body)
        .await
        .unwrap();
    assert_refused(&res, &[422], "invalid_request", "an order as an array");
    for body in [json!(["Array Shop"]), json!("Shop"), json!(7), json!(null)] {
        let res = admin_bytes(
            &app,
            "/v1/admin/resellers",
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
        assert_refused(
            &res,
            &[400, 422],
            "invalid_request",
            &format!("reseller {body}"),
        );
    }
    let list: Value = app
        .admin
        .send(Method::GET, "/v1/admin/resellers", None)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(reseller.account().await.unwrap().balance, 1_000);

    let http = reqwest::Client::new();
    for (method, path, allow) in [
        ("PUT", "/v1/orders", "GET, POST"),
        ("TRACE", "/v1/orders/ord_1", "GET"),
        ("DELETE", "/healthz", "GET"),
        ("POST", "/v1/admin/audit/verify", "GET"),
    ] {
        let res = http
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", app.base),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "method_not_allowed");
    }
    let res = http
        .get(format!("{}/v1/nothing-here", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
