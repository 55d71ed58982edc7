//! Admin authentication and onboarding.

use reqwest::Method;
use serde_json::json;

use crate::common::{TestApp, ADMIN_PASS, ADMIN_USER};

#[actix_web::test]
async fn login_refuses_wrong_password_and_admin_routes_need_a_valid_token() {
    let app = TestApp::spawn().await;
    let err = kameng::client::AdminClient::login(&app.base, ADMIN_USER, "wrong password")
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), Some("unauthorized"));
    let err = kameng::client::AdminClient::login(&app.base, "nobody", ADMIN_PASS)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), Some("unauthorized"));

    let http = reqwest::Client::new();
    let missing = http
        .get(format!("{}/v1/admin/resellers", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let forged = http
        .get(format!("{}/v1/admin/resellers", app.base))
        .bearer_auth("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwibmFtZSI6IngiLCJpc3MiOiJrYW1lbmctYWRtaW4iLCJpYXQiOjEsImV4cCI6OTk5OTk5OTk5OX0.bad")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let body: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    // A token signed with another master key (another deployment) is refused too.
    let other = TestApp::spawn().await;
    let res = http
        .get(format!("{}/v1/admin/resellers", app.base))
        .bearer_auth(other.admin.token())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[actix_web::test]
async fn login_is_rate_limited_per_ip() {
    let app = TestApp::spawn_with(|c| c.login_rate_limit_per_min = 3).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res = reqwest::Client::new()
            .post(format!("{}/v1/admin/login", app.base))
            .json(&json!({"username": ADMIN_USER, "password": "nope nope"}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    // The harness's own login used one attempt.
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[actix_web::test]
async fn onboarding_returns_secrets_once_and_lists_never_show_them() {
    let app = TestApp::spawn().await;
    let s = app
        .admin
        .create_supplier("Acme", Some("https://acme.example/hook"))
        .await
        .unwrap();
    assert!(s.api_key.secret.starts_with("sk_"));
    assert!(s.webhook_secret.starts_with("whsec_"));
    let r = app
        .admin
        .create_reseller("Shop", Some("gold"), None)
        .await
        .unwrap();
    assert_eq!(r.reseller.level, "gold");
    assert_eq!(r.reseller.kyc_status, "unverified");
    assert_eq!(r.reseller.balance, 0);

    for path in [
        "/v1/admin/suppliers",
        "/v1/admin/resellers",
        &format!("/v1/admin/resellers/{}", r.reseller.id),
    ] {
        let res = app.admin.send(Method::GET, path, None).await.unwrap();
        assert_eq!(res.status, 200, "{path}");
        let text = String::from_utf8(res.body).unwrap();
        assert!(
            !text.contains(&r.api_key.secret)
                && !text.contains(&s.api_key.secret)
                && !text.contains(&r.webhook_secret)
        );
    }
    // Secrets are stored encrypted, not in plaintext.
    let stored: Vec<String> = app
        .state
        .db
        .read(|c| {
            use diesel::prelude::*;
            use kameng::db::schema::api_keys;
            Ok(api_keys::table.select(api_keys::secret_enc).load(c)?)
        })
        .unwrap();
    assert!(stored.iter().all(|s| !s.contains("sk_")));
}

#[actix_web::test]
async fn admin_actions_are_audited_with_the_admin() {
    let app = TestApp::spawn().await;
    let s = app.admin.create_supplier("Acme", None).await.unwrap();
    let res = app
        .admin
        .send(Method::GET, "/v1/admin/audit?kind=admin", None)
        .await
        .unwrap();
    let page: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
    let first = &page["data"][0];
    assert_eq!(first["action"], "supplier.create");
    assert_eq!(first["actor"], format!("admin:{ADMIN_USER}"));
    assert_eq!(first["subject"], s.supplier.id);
    assert!(app.admin.verify_audit().await.unwrap().ok);
}

#[actix_web::test]
async fn products_categories_and_levels_are_managed_by_the_admin() {
    let app = TestApp::spawn().await;
    let (s, _) = app.supplier().await;
    let p = app
        .card_product(&s.supplier.id, "STEAM-100", 10_000, 9_000)
        .await;
    assert_eq!(p.product.category, "steam");
    assert_eq!(p.product.status, "on_sale");
    // Same SKU again is a conflict.
    let res = app
        .admin
        .send(Method::POST, "/v1/admin/products", Some(json!({"sku":"STEAM-100","name":"x","category":"steam","supplier_id":s.supplier.id,"face_value":1,"cost":1,"price":1,"delivery":"card"})))
        .await
        .unwrap();
    assert_eq!(res.status, 409);
    let patched = app
        .admin
        .update_product(&p.product.id, json!({"price": 9_500, "status": "off_sale"}))
        .await
        .unwrap();
    assert_eq!(
        (patched.product.price, patched.product.status.as_str()),
        (9_500, "off_sale")
    );

    let cats: Vec<serde_json::Value> = app
        .admin
        .send(Method::GET, "/v1/admin/categories", None)
        .await
        .unwrap()
        .json()
        .unwrap();
    let id = cats[0]["id"].as_str().unwrap().to_string();
    let res = app
        .admin
        .send(
            Method::PATCH,
            &format!("/v1/admin/categories/{id}"),
            Some(json!({"licence_required": true})),
        )
        .await
        .unwrap();
    assert_eq!(
        res.json::<serde_json::Value>().unwrap()["licence_required"],
        true
    );

    let level = app.admin.put_level("gold", 500).await.unwrap();
    assert_eq!(level["discount_bps"], 500);
    let res = app
        .admin
        .send(
            Method::PUT,
            "/v1/admin/levels/gold",
            Some(json!({"discount_bps": 10_001})),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 422);
}
