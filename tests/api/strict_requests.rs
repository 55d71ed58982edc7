//! A request is exactly one JSON value, errors name the field at fault, and signed answers say
//! what is left of the key's rate limit — as a newcomer's first hour found they did not.

use reqwest::Method;

use crate::common::TestApp;

/// Bodies that are not exactly one JSON object.
const TRAILING: [&str; 3] = ["xx", "{\"a\":1}", " ]"];

#[actix_web::test]
async fn a_signed_body_with_trailing_bytes_places_nothing() {
    let app = TestApp::spawn().await;
    let (_, _, p) = app.stocked_product("TRAIL", 100, 80, 3).await;
    let (_, rc) = app.reseller(None, 10_000).await;
    for (i, tail) in TRAILING.iter().enumerate() {
        let body = format!(
            "{{\"product_id\":\"{}\",\"quantity\":1,\"out_trade_no\":\"T9-{i}\"}}{tail}",
            p.product.id
        );
        let res = rc
            .send_raw(Method::POST, "/v1/orders", body.into_bytes())
            .await
            .unwrap();
        assert_eq!(res.status, 400, "{}", String::from_utf8_lossy(&res.body));
        assert_eq!(res.problem().unwrap().code, "invalid_request");
    }
    assert!(rc.orders("").await.unwrap().data.is_empty());
    assert_eq!(rc.account().await.unwrap().balance, 10_000);
}

#[actix_web::test]
async fn admin_and_unauthenticated_bodies_with_trailing_bytes_change_nothing() {
    let app = TestApp::spawn().await;
    let (r, rc) = app.reseller(None, 500).await;
    let http = reqwest::Client::new();
    for tail in TRAILING {
        let res = http
            .post(format!(
                "{}/v1/admin/resellers/{}/credit",
                app.base, r.reseller.id
            ))
            .bearer_auth(app.admin.token())
            .header("content-type", "application/json")
            .body(format!("{{\"amount\":1}}{tail}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let login = http
            .post(format!("{}/v1/admin/login", app.base))
            .header("content-type", "application/json")
            .body(format!(
                "{{\"username\":\"{}\",\"password\":\"{}\"}}{tail}",
                crate::common::ADMIN_USER,
                crate::common::ADMIN_PASS
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 400);
    }
    assert_eq!(rc.account().await.unwrap().balance, 500);
}

#[actix_web::test]
async fn errors_name_the_missing_field_and_the_bad_parameter() {
    let app = TestApp::spawn().await;
    let (_, rc) = app.reseller(None, 0).await;
    let res = rc
        .send_raw(
            Method::POST,
            "/v1/orders",
            br#"{"quantity":1,"out_trade_no":"M1"}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 422);
    let problem = res.problem().unwrap();
    assert_eq!(problem.errors[0].field, "product_id");

    let res = rc
        .send_raw(Method::GET, "/v1/orders?limit=abc", Vec::new())
        .await
        .unwrap();
    assert_eq!(res.status, 422);
    assert_eq!(res.problem().unwrap().errors[0].field, "limit");
}

#[actix_web::test]
async fn signed_answers_carry_rate_limit_headers() {
    let app = TestApp::spawn_with(|c| c.rate_limit_per_key = 10).await;
    let (_, rc) = app.reseller(None, 0).await;
    let header = |res: &kameng::client::RawResponse, name: &str| -> u64 {
        res.headers[name].to_str().unwrap().parse().unwrap()
    };
    let first = rc
        .send_raw(Method::GET, "/v1/account", Vec::new())
        .await
        .unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(header(&first, "ratelimit-limit"), 20);
    let left = header(&first, "ratelimit-remaining");
    assert!(left < 20, "{left}");
    let second = rc
        .send_raw(Method::GET, "/v1/account", Vec::new())
        .await
        .unwrap();
    assert!(header(&second, "ratelimit-remaining") < left);
    assert!(header(&second, "ratelimit-reset") >= 1);
}

#[actix_web::test]
async fn an_unknown_status_filter_is_named_not_an_empty_list() {
    let app = TestApp::spawn().await;
    let (_, rc) = app.reseller(None, 0).await;
    for path in ["/v1/orders?status=bogus", "/v1/tickets?status=bogus"] {
        let res = rc.send_raw(Method::GET, path, Vec::new()).await.unwrap();
        assert_eq!(res.status, 422, "{path}");
        let problem = res.problem().unwrap();
        assert_eq!(problem.errors[0].field, "status");
        assert!(problem.detail.contains("delivered") || problem.detail.contains("open"));
    }
    let ok = rc
        .send_raw(Method::GET, "/v1/orders?status=delivered", Vec::new())
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
}
