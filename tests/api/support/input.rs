//! Bad input is refused with problem+json and changes nothing; another reseller's order is
//! exactly as unknown as one that does not exist.

use kameng::client::{ClientError, ClientResult};
use kameng::domain::support::{SupportAnswer, SupportMessage};
use kameng::error::Problem;
use reqwest::Method;

use super::{send, shop};
use crate::common::TestApp;

fn msg(text: &str, order_id: Option<&str>, lang: Option<&str>) -> SupportMessage {
    SupportMessage {
        text: text.into(),
        order_id: order_id.map(str::to_string),
        lang: lang.map(str::to_string),
    }
}

/// The status and problem of a refused request.
fn refused(res: ClientResult<SupportAnswer>) -> (u16, Problem) {
    match res {
        Err(ClientError::Api { status, problem }) => (status, *problem),
        other => panic!("expected a problem, got {other:?}"),
    }
}

#[actix_web::test]
async fn bad_messages_are_422_and_change_nothing() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let order = shop.delivered("BI-1").await;
    let long = "code invalid ".repeat(80);
    let cases = [
        (msg("", Some(&order.id), None), "text"),
        (msg("   \n ", Some(&order.id), None), "text"),
        (msg(&long, Some(&order.id), None), "text"),
        (
            msg("the code is invalid", Some(&order.id), Some("fr")),
            "lang",
        ),
    ];
    for (m, field) in cases {
        let (status, problem) = refused(send(&shop.client, &m).await);
        assert_eq!((status, problem.code.as_str()), (422, "invalid_request"));
        assert_eq!(problem.errors[0].field, field, "{problem:?}");
    }
    // Exactly 1000 characters is still a message.
    let edge = "码".repeat(1000);
    assert!(send(&shop.client, &msg(&edge, None, None)).await.is_ok());
    // An unknown field and a wrong type are refused too.
    for body in [
        r#"{"text":"hi","order":"x"}"#,
        r#"{"text":5}"#,
        r#"{"order_id":"x"}"#,
    ] {
        let res = shop
            .client
            .send_raw(
                Method::POST,
                "/v1/support/messages",
                body.as_bytes().to_vec(),
            )
            .await
            .unwrap();
        assert_eq!(res.status.as_u16(), 422, "{body}");
        assert_eq!(res.problem().unwrap().code, "invalid_request");
    }
    // Nothing changed: no ticket, the callback was not sent again.
    assert!(shop.client.tickets("").await.unwrap().data.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(shop.callbacks_about(&order.id), 1);
}

#[actix_web::test]
async fn another_resellers_order_is_not_found_and_untouched() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let order = shop.delivered("IS-1").await;
    let (_, other) = app.reseller(None, 0).await;

    let mut problems = Vec::new();
    for id in [order.id.as_str(), "ord_doesnotexist"] {
        for text in ["the code is invalid", "where is my code"] {
            let (status, problem) = refused(send(&other, &msg(text, Some(id), None)).await);
            problems.push((status, problem.code, problem.detail));
        }
    }
    assert!(problems.iter().all(|p| *p == problems[0]), "{problems:?}");
    assert_eq!(problems[0].0, 404);
    assert_eq!(problems[0].1, "not_found");
    assert!(shop.client.tickets("").await.unwrap().data.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(shop.callbacks_about(&order.id), 1);
}
