//! The README's snippets work as written: the signing snippets reproduce SPEC.md's test vectors,
//! and "A first purchase by hand" delivers a code from a fresh server.

use std::process::Command;

fn block(readme: &str, marker: &str) -> String {
    let start = readme.find(&format!("<!-- {marker} -->")).expect("marker");
    let end = readme
        .find(&format!("<!-- /{marker} -->"))
        .expect("end marker");
    let inner = &readme[start..end];
    let code_start = inner.find("```").unwrap();
    let code = &inner[code_start..];
    let first_newline = code.find('\n').unwrap();
    let close = code.rfind("```").unwrap();
    code[first_newline + 1..close].to_string()
}

#[test]
fn signing_snippets_reproduce_the_test_vectors() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();

    let python = format!(
        "{}\nprint(sign('sk_test_5f2a9c1e7b3d4f60', 'POST', '/v1/orders', '', 1767225600, 'n0nce-0001', b'{{\"product_id\":\"prd_01\",\"quantity\":1,\"out_trade_no\":\"T1001\"}}'))\n\
         print(sign('sk_test_5f2a9c1e7b3d4f60', 'GET', '/v1/products', 'category=steam&limit=2', 1767225600, 'n0nce-0002', b''))\n\
         print(verify_event('whsec_test_8d1c', 't=1767225600,v1=f550b86bf76e682a9ac6df3d9693ecd802c7489bfeace54757d4d36590b0d4f8', b'{{\"id\":\"evt_01\",\"type\":\"order.delivered\",\"created_at\":\"2026-01-01T00:00:00Z\",\"data\":{{\"order_id\":\"ord_01\"}}}}'))\n",
        block(&readme, "sign-python")
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&python)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1d03bb7cc72dcc2cc4fb47298867269224f95cb782af0bcbd6ea66c598dff0ff\n46a46383746f10f39794421db9b1c5af0229f06231a19e66d470cda9dc458f3c\nTrue\n"
    );

    let shell = format!("{}\necho \"$SIG\"\n", block(&readme, "sign-shell"));
    let run = |method: &str, path: &str, query: &str, nonce: &str, body: &str| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(&shell)
            .env("METHOD", method)
            .env("PATH_ONLY", path)
            .env("QUERY", query)
            .env("TS", "1767225600")
            .env("NONCE", nonce)
            .env("BODY", body)
            .env("SECRET", "sk_test_5f2a9c1e7b3d4f60")
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        run(
            "POST",
            "/v1/orders",
            "",
            "n0nce-0001",
            r#"{"product_id":"prd_01","quantity":1,"out_trade_no":"T1001"}"#
        ),
        "1d03bb7cc72dcc2cc4fb47298867269224f95cb782af0bcbd6ea66c598dff0ff"
    );
    assert_eq!(
        run(
            "GET",
            "/v1/products",
            "category=steam&limit=2",
            "n0nce-0002",
            ""
        ),
        "46a46383746f10f39794421db9b1c5af0229f06231a19e66d470cda9dc458f3c"
    );
}

/// The first-purchase block, run by bash against a fresh `kameng serve` with only its base URL
/// changed, ends in a delivered order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_purchase_by_hand_delivers_a_code() {
    for tool in ["curl", "jq", "openssl"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "the README block needs {tool} (.ci/run installs it)");
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let script = block(&readme, "first-purchase");
    assert!(script.contains("BASE=http://127.0.0.1:8080\n"));
    let dir = tempfile::tempdir().unwrap();
    let db = crate::common::test_database(dir.path());
    let server = crate::process::ServerProcess::start(
        &db.url,
        dir.path(),
        &[("KAMENG_BOOTSTRAP_ADMIN", "admin:change-me-please")],
    )
    .await;
    let script = script.replace(
        "BASE=http://127.0.0.1:8080\n",
        &format!("BASE={}\n", server.base),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .output()
            .expect("bash")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The block prints each answer; the last one is the order.
    let answers: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let order = answers.last().unwrap();
    assert_eq!(order["status"], "delivered", "{stdout}");
    assert_eq!(order["out_trade_no"], "T1001");
    let cards = order["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 1);
    assert!(cards[0]["code"].as_str().unwrap().starts_with("DEMO-AAAA-"));
    assert!(order["receipt"].as_str().is_some_and(|r| !r.is_empty()));
}
