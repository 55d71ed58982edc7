//! Compliance and trust: scoped keys, daily spend limits under racing orders, real-name
//! verification, supplier licences, suspension.

mod keys;
mod kyc;
mod licences;
mod limits;

use kameng::auth::Scope;
use kameng::client::Client;
use kameng::domain::accounts::keys::NewKey;
use kameng::domain::accounts::licences::NewLicence;
use kameng::domain::money::chain::Record;
use reqwest::Method;

use crate::common::{cards, TestApp};

pub fn new_key(name: &str, scopes: &[Scope], cap: Option<i64>) -> NewKey {
    NewKey {
        name: name.into(),
        scopes: scopes.to_vec(),
        daily_spend_limit: cap,
        sandbox: false,
    }
}

/// A fresh key of `owner` with these scopes and cap, as a client.
pub async fn scoped(app: &TestApp, owner: &Client, scopes: &[Scope], cap: Option<i64>) -> Client {
    let k = owner
        .create_key(&new_key("bot", scopes, cap))
        .await
        .unwrap();
    app.client(&k.key_id, k.secret.as_deref().unwrap())
}

/// The admin records of the audit chain, newest first.
pub async fn admin_audit(app: &TestApp) -> Vec<Record> {
    let page: kameng::api::Page<Record> = app
        .admin
        .send(Method::GET, "/v1/admin/audit?kind=admin&limit=200", None)
        .await
        .unwrap()
        .json()
        .unwrap();
    page.data
}
#[actix_web::test]
async fn a_suspended_supplier_is_refused_until_reactivated() {
    let app = TestApp::spawn().await;
    let (s, supplier, p) = app.stocked_product("SUSP", 100, 80, 1).await;
    let (_, reseller) = app.reseller(None, 1_000).await;
    app.admin
        .set_account_status("supplier", &s.supplier.id, "suspended")
        .await
        .unwrap();
    assert_eq!(
        supplier.supplier_products().await.unwrap_err().code(),
        Some("forbidden")
    );
    let err = supplier
        .push_cards(&p.product.id, &cards("SUSP2", 0..1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    let err = supplier
        .submit_licence(&NewLicence {
            product_id: None,
            reference: "R".into(),
            issuer: "I".into(),
            expires_at: kameng::time::rfc3339(kameng::time::now_ms() + 60_000),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    // A suspended supplier's stock still sells.
    reseller.buy(&p.product.id, 1, "SUSP-1").await.unwrap();
    app.admin
        .set_account_status("supplier", &s.supplier.id, "active")
        .await
        .unwrap();
    assert_eq!(supplier.supplier_products().await.unwrap()[0].stock, 0);
    assert!(admin_audit(&app)
        .await
        .iter()
        .any(|r| r.action == "supplier.update" && r.subject == s.supplier.id));
}
