//! Scoped keys: self-service creation, listing, revocation, and scope refusal everywhere.

use kameng::auth::Scope;
use reqwest::Method;
use serde_json::json;

use super::{new_key, scoped};
use crate::common::{order_req, TestApp};

#[actix_web::test]
async fn resellers_create_list_and_revoke_their_own_scoped_keys() {
    let app = TestApp::spawn().await;
    let (r, main) = app.reseller(None, 0).await;
    let (_, other) = app.reseller(None, 0).await;

    let bot = main
        .create_key(&new_key(
            "bot",
            &[Scope::CatalogRead, Scope::OrdersWrite],
            Some(5_000),
        ))
        .await
        .unwrap();
    assert!(bot.secret.as_deref().unwrap().starts_with("sk_"));
    assert_eq!(bot.scopes, vec![Scope::CatalogRead, Scope::OrdersWrite]);
    assert_eq!(bot.daily_spend_limit, Some(5_000));
    let bot_client = app.client(&bot.key_id, bot.secret.as_deref().unwrap());
    bot_client.products("").await.unwrap();

    // Listing shows both keys and never a secret.
    let raw = main
        .send_raw(Method::GET, "/v1/keys", vec![])
        .await
        .unwrap();
    assert_eq!(raw.status, 200);
    assert!(!String::from_utf8_lossy(&raw.body).contains("secret"));
    let listed = main.keys("").await.unwrap().data;
    let ids: Vec<&str> = listed.iter().map(|k| k.key_id.as_str()).collect();
    assert!(ids.contains(&bot.key_id.as_str()) && ids.contains(&r.api_key.key_id.as_str()));
    assert_eq!(listed.len(), 2);
    // Paging works over keys too.
    let first = main.keys("limit=1").await.unwrap();
    assert_eq!(first.data.len(), 1);
    assert!(first.next_cursor.is_some());

    // A key can't manage keys unless it holds every scope.
    let err = bot_client
        .create_key(&new_key("x", &[Scope::CatalogRead], None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("insufficient_scope"));

    // Another reseller's key is not found to this one, and keeps working.
    let err = other.revoke_key(&bot.key_id).await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    bot_client.products("").await.unwrap();
    main.revoke_key(&bot.key_id).await.unwrap();
    assert_eq!(
        bot_client.products("").await.unwrap_err().code(),
        Some("unauthorized")
    );
    assert_eq!(main.keys("").await.unwrap().data.len(), 1);

    // Input checks.
    for body in [
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["admin:all"]}),
        json!({"name": "", "scopes": ["catalog:read"]}),
        json!({"name": "x", "scopes": ["catalog:read"], "daily_spend_limit": 0}),
    ] {
        let res = main
            .send_raw(Method::POST, "/v1/keys", body.to_string().into_bytes())
            .await
            .unwrap();
        assert_eq!(res.status, 422, "{body}");
        assert_eq!(res.problem().unwrap().code, "invalid_request");
    }
}

#[actix_web::test]
async fn a_key_manages_only_keys_no_more_powerful_than_itself() {
    let app = TestApp::spawn().await;
    let (r, main) = app.reseller(None, 0).await;
    // A full-access key with a cap of 1000 a day.
    let capped = scoped(&app, &main, &Scope::ALL, Some(1_000)).await;
    for cap in [None, Some(1_001)] {
        let err = capped
            .create_key(&new_key("escape", &[Scope::OrdersWrite], cap))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("forbidden"), "{cap:?}");
    }
    let ok = capped
        .create_key(&new_key("smaller", &[Scope::OrdersWrite], Some(500)))
        .await
        .unwrap();
    assert_eq!(ok.daily_spend_limit, Some(500));
    // It cannot revoke the uncapped key, but can revoke the smaller one.
    let err = capped.revoke_key(&r.api_key.key_id).await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    capped.revoke_key(&ok.key_id).await.unwrap();
}

/// For every scope: a key holding all the others is refused (403 `insufficient_scope`) where that
/// scope is needed, and a key holding only it gets through. `tickets:write` and
/// `sub_resellers:write` have no endpoint of their own yet; key management and the KYC
/// submission need every scope, so each missing scope is refused there too.
#[actix_web::test]
async fn a_key_lacking_a_scope_gets_insufficient_scope() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("SCOPE", 100, 80, 10).await;
    let (_, main) = app.reseller(None, 10_000).await;
    let order_body = |n: &str| serde_json::to_vec(&order_req(&p.product.id, 1, n)).unwrap();
    for scope in Scope::ALL {
        let others: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != scope).collect();
        let lacking = scoped(&app, &main, &others, None).await;
        let only = scoped(&app, &main, &[scope], None).await;
        let needing: Vec<(Method, String, Vec<u8>)> = match scope {
            Scope::CatalogRead => vec![
                (Method::GET, "/v1/products".into(), vec![]),
                (
                    Method::GET,
                    format!("/v1/products/{}", p.product.id),
                    vec![],
                ),
                (Method::GET, "/v1/categories".into(), vec![]),
            ],
            Scope::OrdersRead => vec![(Method::GET, "/v1/orders".into(), vec![])],
            Scope::OrdersWrite => vec![(
                Method::POST,
                "/v1/orders".into(),
                order_body(&format!("S-{}", scope.as_str())),
            )],
            Scope::AccountRead => vec![
                (Method::GET, "/v1/account".into(), vec![]),
                (Method::GET, "/v1/account/ledger".into(), vec![]),
                (Method::GET, "/v1/account/kyc".into(), vec![]),
                (Method::GET, "/v1/keys".into(), vec![]),
            ],
            Scope::TicketsWrite | Scope::SubResellersWrite => vec![],
        };
        let owner_only = [
            (
                Method::POST,
                "/v1/keys".to_string(),
                json!({"name": "x", "scopes": ["catalog:read"]})
                    .to_string()
                    .into_bytes(),
            ),
            (
                Method::POST,
                "/v1/account/kyc".to_string(),
                json!({"legal_name": "A", "id_number": "12345678", "contact": "a@b.c"})
                    .to_string()
                    .into_bytes(),
            ),
        ];
        for (method, path, body) in needing.iter().chain(owner_only.iter()) {
            let res = lacking
                .send_raw(method.clone(), path, body.clone())
                .await
                .unwrap();
            assert_eq!(res.status, 403, "{method} {path} without {scope:?}");
            let problem = res.problem().unwrap();
            assert_eq!(problem.code, "insufficient_scope", "{method} {path}");
        }
        for (method, path, body) in &needing {
            let res = only
                .send_raw(method.clone(), path, body.clone())
                .await
                .unwrap();
            assert!(
                res.status.is_success(),
                "{method} {path} with only {scope:?}: {}",
                res.status
            );
        }
    }
}
