//! The checked-in OpenAPI document must equal the one generated from the code.

#[test]
fn checked_in_spec_matches_code() {
    let generated = kameng::api::openapi::spec_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, &generated).expect("write spec");
    }
    let committed = std::fs::read_to_string(path).expect("openapi/openapi.json exists");
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test api openapi` (or `kameng openapi > openapi/openapi.json`) and commit it"
    );
}

#[test]
fn spec_documents_signing_and_every_route() {
    let spec: serde_json::Value =
        serde_json::from_str(&kameng::api::openapi::spec_json()).expect("json");
    let schemes = &spec["components"]["securitySchemes"];
    assert!(schemes["signed"]["description"]
        .as_str()
        .unwrap_or("")
        .contains("string_to_sign"));
    assert_eq!(schemes["admin"]["scheme"], "bearer");
    for path in [
        "/v1/orders",
        "/v1/orders/{id}",
        "/v1/products",
        "/v1/account/ledger",
        "/v1/supplier/products/{id}/cards",
        "/v1/admin/resellers/{id}/credit",
        "/v1/admin/audit/verify",
        "/.well-known/jwks.json",
    ] {
        assert!(
            spec["paths"][path].is_object(),
            "{path} missing from the spec"
        );
    }
    let create = &spec["paths"]["/v1/orders"]["post"]["responses"];
    for status in ["200", "201", "401", "402", "409", "413", "422", "429"] {
        assert!(
            create[status].is_object(),
            "POST /v1/orders lacks a {status} response"
        );
    }
}

/// The reference page loads nothing from outside, has an icon and an Authentication section,
/// and its sidebar shows short plain labels.
#[actix_web::test]
async fn docs_page_is_self_contained_and_readable() {
    let app = crate::common::TestApp::spawn().await;
    let get = |path: &str| reqwest::get(format!("{}{path}", app.base));
    let html = get("/docs").await.unwrap().text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let js = get("/docs/redoc.standalone.js")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!js.contains("cdn.redoc.ly"));
    assert!(
        !js.contains("src:\"http"),
        "the bundle loads an outside resource"
    );
    let icon = get("/favicon.ico").await.unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/x-icon");
    assert!(icon.bytes().await.unwrap().starts_with(&[0, 0, 1, 0]));

    let spec: serde_json::Value = serde_json::from_str(&kameng::api::openapi::spec_json()).unwrap();
    let info = spec["info"]["description"].as_str().unwrap();
    assert!(info.contains("# Authentication"));
    assert!(info.contains("<!-- ReDoc-Inject: <security-definitions> -->"));
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let summary = op["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty()
                    && !summary.contains('\n')
                    && !summary.contains('`')
                    && summary.len() <= 160,
                "{method} {path}: {summary:?}"
            );
        }
    }
}
