//! Errors are problem+json with stable codes, and a failed request changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::common::TestApp;

#[actix_web::test]
async fn validation_errors_name_the_field() {
    let app = TestApp::spawn().await;
    let (_, client) = app.reseller(None, 0).await;
    // Malformed JSON: 400.
    let res = client
        .send_raw(Method::POST, "/v1/orders", b"{\"product_id\":".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status, 400);
    assert_eq!(res.headers["content-type"], "application/problem+json");
    assert_eq!(res.problem().unwrap().code, "invalid_request");
    // Wrong type: 422 with the field.
    let res = client
        .send_raw(
            Method::POST,
            "/v1/orders",
            br#"{"product_id":"p","quantity":"two","out_trade_no":"T"}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 422);
    let p = res.problem().unwrap();
    assert_eq!(p.code, "invalid_request");
    assert_eq!(p.errors[0].field, "quantity");
    // Out of range.
    let res = client
        .send_raw(
            Method::POST,
            "/v1/orders",
            br#"{"product_id":"p","quantity":0,"out_trade_no":"T"}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            res.status.as_u16(),
            res.problem().unwrap().errors[0].field.as_str()
        ),
        (422, "quantity")
    );
    // Bad query parameter.
    let res = client
        .send_raw(Method::GET, "/v1/products?limit=5000", vec![])
        .await
        .unwrap();
    assert_eq!(
        (res.status.as_u16(), res.problem().unwrap().code.as_str()),
        (422, "invalid_request")
    );
    let res = client
        .send_raw(Method::GET, "/v1/products?limit=abc", vec![])
        .await
        .unwrap();
    assert_eq!(res.problem().unwrap().code, "invalid_request");
    // Admin side, actix's extractor errors are mapped too.
    let res = app
        .admin
        .send(
            Method::POST,
            "/v1/admin/resellers",
            Some(json!({"name": 5})),
        )
        .await
        .unwrap();
    assert_eq!(
        (res.status.as_u16(), res.problem().unwrap().code.as_str()),
        (422, "invalid_request")
    );
}

/// Nested objects must be JSON objects: serde would otherwise read an array by position.
/// `null` for the optional `buyer` is "no buyer", as the OpenAPI document says.
#[actix_web::test]
async fn nested_objects_given_as_arrays_are_refused() {
    let app = TestApp::spawn().await;
    let (_, supplier, p) = app.stocked_product("NEST", 100, 90, 1).await;
    let (_, client) = app.reseller(None, 1_000).await;
    let pid = &p.product.id;
    let bodies = [
        (
            Method::POST,
            "/v1/orders",
            json!({"product_id": pid, "quantity": 1, "out_trade_no": "N-1", "buyer": [null, null]}),
            "buyer",
        ),
        (
            Method::PUT,
            "/v1/sub-resellers/markups",
            json!({"default_bps": 0, "products": [[pid, 100]]}),
            "products[0]",
        ),
    ];
    for (method, path, body, field) in bodies {
        let res = client
            .send_raw(method, path, body.to_string().into_bytes())
            .await
            .unwrap();
        assert_eq!(
            (
                res.status.as_u16(),
                res.problem().unwrap().errors[0].field.as_str()
            ),
            (422, field),
            "{path}"
        );
    }
    let res = supplier
        .send_raw(
            Method::POST,
            &format!("/v1/supplier/products/{pid}/cards"),
            json!({"cards": [["NEST-X", null, null]]})
                .to_string()
                .into_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            res.status.as_u16(),
            res.problem().unwrap().errors[0].field.as_str()
        ),
        (422, "cards[0]")
    );
    let res = client
        .send_raw(
            Method::POST,
            "/v1/orders",
            json!({"product_id": pid, "quantity": 1, "out_trade_no": "N-2", "buyer": null})
                .to_string()
                .into_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 201);
    app.assert_books_balance().await;
}

#[actix_web::test]
async fn oversized_bodies_get_413_problem() {
    let app = TestApp::spawn_with(|c| c.max_body_bytes = 64 * 1024).await;
    let (_, supplier) = app.supplier().await;
    let big = vec![b'x'; 100 * 1024];
    let res = supplier
        .send_raw(Method::POST, "/v1/supplier/products/p/cards", big)
        .await
        .unwrap();
    assert_eq!(res.status, 413);
    assert_eq!(res.problem().unwrap().code, "payload_too_large");
    let res = app
        .admin
        .send(
            Method::POST,
            "/v1/admin/suppliers",
            Some(json!({"name": "x".repeat(100 * 1024)})),
        )
        .await
        .unwrap();
    assert_eq!(
        (res.status.as_u16(), res.problem().unwrap().code.as_str()),
        (413, "payload_too_large")
    );
}

#[actix_web::test]
async fn request_id_is_echoed_or_generated_and_unknown_routes_are_problems() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = http
        .get(format!("{}/no/such/route", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(!res.headers()["x-request-id"].is_empty());
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["code"],
        "not_found"
    );
}

#[actix_web::test]
async fn system_endpoints_answer() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    for (path, needle) in [
        ("/healthz", "ok"),
        ("/readyz", "ready"),
        ("/openapi.json", "\"openapi\""),
        ("/docs", "redoc"),
        ("/docs/redoc.standalone.js", "Redoc"),
        ("/.well-known/jwks.json", "Ed25519"),
    ] {
        let res = http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.text().await.unwrap().contains(needle), "{path}");
    }
    // Metrics count requests by route pattern and status.
    let metrics = http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "kameng_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("kameng_http_request_duration_seconds_bucket"));
}
