//! Callback targets that point into the platform's own network are refused.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use serde_json::Value;

use super::app;
use crate::receiver::Receiver;

/// With private callbacks refused, each of these targets fails at delivery with a recorded
/// error, quickly, and nothing reaches the loopback receiver behind them.
#[actix_web::test]
async fn ssrf_targets_are_refused() {
    let app = app().await;
    let rx = Receiver::start();
    let port = rx.url.rsplit(':').next().unwrap().trim_end_matches("/hook");
    let (r, reseller) = app.reseller(None, 0).await;
    let targets = [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://127.1:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
        format!("http://0x7f.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://LOCALHOST.:{port}/hook"),
        format!("http://0.0.0.0:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://[::]:{port}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[fe80::1]/".to_string(),
        "http://10.0.0.1/".to_string(),
        "http://172.16.5.4/".to_string(),
        "http://192.168.1.1/".to_string(),
        "http://100.64.0.1/".to_string(),
        "http://[fd00::1]/".to_string(),
        "http://[64:ff9b::7f00:1]/".to_string(),
        "https://127.0.0.1/".to_string(),
    ];
    for target in &targets {
        let res = app
            .admin
            .send(
                Method::PATCH,
                &format!("/v1/admin/resellers/{}", r.reseller.id),
                Some(json!({ "notify_url": target })),
            )
            .await
            .unwrap();
        assert!(res.status.is_success(), "{target}: {}", res.status);
        let started = Instant::now();
        let res = reseller
            .send_raw(Method::POST, "/v1/webhooks/test", Vec::new())
            .await
            .unwrap();
        assert!(res.status.is_success(), "{target}: {}", res.status);
        let report: Value = res.json().unwrap();
        assert_eq!(report["delivered"], false, "{target}: {report}");
        let error = report["attempt"]["error"].as_str().unwrap_or_default();
        // A name may also fail to resolve here (`LOCALHOST.`): refused all the same.
        let by_name = target.contains("localhost") || target.contains("LOCALHOST");
        assert!(
            error.contains("not a public address")
                || (by_name && error.contains("does not resolve")),
            "{target}: {report}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{target}: refusal took {:?}",
            started.elapsed()
        );
    }
    // The refusals are recorded for the operator.
    let failed: Value = app
        .admin
        .send(
            Method::GET,
            "/v1/admin/webhooks?status=failed&limit=200",
            None,
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    let recorded = failed["data"].as_array().unwrap();
    assert_eq!(recorded.len(), targets.len(), "{failed}");
    assert!(rx.received().is_empty(), "a callback reached loopback");
}
