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

/// What generated clients name their methods after: every operation (this branch's and any
/// merged later) has a unique camelCase `operationId`, a declared tag and a summary; signed
/// operations name the `signed` scheme, admin ones the `admin` scheme; and the document says
/// where the server is.
#[test]
fn every_operation_is_named_tagged_and_summarised() {
    let spec: serde_json::Value =
        serde_json::from_str(&kameng::api::openapi::spec_json()).expect("json");
    let declared: Vec<&str> = spec["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    // `^[a-z][a-zA-Z0-9]+$`
    let camel = |id: &str| {
        id.len() > 1
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_alphanumeric())
    };
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let at = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(camel(id), "{at}: operationId {id:?} is not camelCase");
            if let Some(other) = seen.insert(id.to_string(), at.clone()) {
                panic!("operationId {id} is used by both {other} and {at}");
            }
            let tags = op["tags"].as_array().map(Vec::as_slice).unwrap_or_default();
            assert!(!tags.is_empty(), "{at} has no tag");
            for tag in tags {
                let tag = tag.as_str().unwrap_or_default();
                assert!(declared.contains(&tag), "{at}: tag {tag} is not declared");
            }
            assert!(
                !op["summary"].as_str().unwrap_or_default().is_empty(),
                "{at} has no summary"
            );
            let schemes: Vec<&str> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_object())
                .flat_map(|s| s.keys().map(String::as_str))
                .collect();
            if path == "/v1/admin/login" {
                assert!(schemes.is_empty(), "{at} takes no credentials");
            } else if path.starts_with("/v1/claims/") || path.starts_with("/v1/payments/") {
                // A gift link's token, or a payment provider's own signature, is the credential.
                assert!(schemes.is_empty(), "{at} takes no API credentials");
            } else if path.starts_with("/v1/admin/") {
                assert_eq!(schemes, ["admin"], "{at} must name the admin scheme");
            } else if path.starts_with("/v1/") {
                assert_eq!(schemes, ["signed"], "{at} must name the signed scheme");
            }
        }
    }
    assert!(seen.contains_key("createOrder") && seen.contains_key("pushSupplierCards"));
    assert_eq!(spec["servers"][0]["url"], "/");
}
