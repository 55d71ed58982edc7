//! The three examples run against a live server seeded by `kameng demo`, as the README says.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use kameng::client::Client;
use kameng::demo::DemoFile;

use crate::common::{order_req, test_database};
use crate::process::{free_port, ServerProcess};

fn example(name: &str) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_kameng"));
    let path = bin.parent().unwrap().join("examples").join(name);
    if !path.exists() {
        // `cargo test` builds the examples; `cargo test --test api` alone does not.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "--examples"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(ok.success(), "building the examples failed");
    }
    path
}

/// A finished process's stdout, after asserting it exited 0 (else its stdout and stderr).
fn succeeded(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[actix_web::test]
async fn the_examples_work_against_kameng_demo() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let (shop_port, supplier_port, server_port) = (free_port(), free_port(), free_port());
    let bind = format!("127.0.0.1:{server_port}");
    let demo_file = dir.path().join("kameng-demo.json");
    let out = Command::new(env!("CARGO_BIN_EXE_kameng"))
        .args(["demo", "--out"])
        .arg(&demo_file)
        .args([
            "--shop-callback",
            &format!("http://127.0.0.1:{shop_port}/callback"),
        ])
        .args([
            "--supplier-webhook",
            &format!("http://127.0.0.1:{supplier_port}/webhook"),
        ])
        .env("KAMENG_DATABASE_URL", &db.url)
        .env("KAMENG_DATA_DIR", dir.path())
        .env("KAMENG_BIND", &bind)
        .env("KAMENG_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("openssl dgst -sha256 -hmac"),
        "demo prints a signed curl: {printed}"
    );
    // The printed commands run as printed: release builds, this demo file, this server.
    let file_arg = format!("--demo {}", demo_file.display());
    for line in printed.lines().filter(|l| l.contains("--example")) {
        assert!(line.contains("cargo run --release --example"), "{line}");
        assert!(line.contains(&file_arg), "{line}");
    }
    assert!(
        printed.contains(&format!("KAMENG_BIND={bind} ")),
        "{printed}"
    );
    let demo = DemoFile::load(&demo_file).unwrap();
    assert_eq!(demo.products.len(), 4);
    assert_eq!(demo.url.as_deref(), Some(format!("http://{bind}").as_str()));

    let server = ServerProcess::start(&db.url, dir.path(), &[("KAMENG_BIND", &bind)]).await;
    // The examples find the server through the demo file (no --url, no KAMENG_URL).
    let common = |name: &str| {
        let mut c = Command::new(example(name));
        c.arg("--demo").arg(&demo_file).env_remove("KAMENG_URL");
        c
    };

    // Shop: one-click purchase with a flaky first attempt, then the verified callback.
    let shop = common("shop_checkout")
        .args([
            "--listen",
            &format!("127.0.0.1:{shop_port}"),
            "--flaky",
            "--wait",
            "20",
        ])
        .output()
        .unwrap();
    let text = succeeded(&shop);
    assert!(text.contains("code DEMO-STEAM-100-"), "{text}");
    assert!(
        text.contains("callback: verified order.delivered"),
        "{text}"
    );

    // Chat bot: commands on stdin.
    let mut bot = common("chat_bot")
        .env("KAMENG_URL", &server.base)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    bot.stdin
        .take()
        .unwrap()
        .write_all(
            "/list\n/price DEMO-APPLE-50\n/buy DEMO-APPLE-50 2\n/buy NOPE 1\n/balance\n/what\nhow do I redeem these?\n卡密收不到\n".as_bytes(),
        )
        .unwrap();
    let out = bot.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("DEMO-GEMS-60"), "{text}");
    assert!(
        text.contains("App Store 50 CNY: 46.55 CNY each"),
        "gold price in /price: {text}"
    );
    assert!(text.contains("Paid 93.10 CNY"), "{text}");
    assert!(text.contains("No product NOPE."), "{text}");
    assert!(text.contains("Balance: 9906.90 CNY (level gold)"), "{text}");
    assert!(text.contains("Try /help"), "{text}");
    // Free text goes to the support assistant, about the order the bot just placed.
    assert!(
        text.contains("How to redeem App Store 50 CNY: Redeem in the store's wallet page."),
        "{text}"
    );
    assert!(text.contains("App Store 50 CNY × 2）已发货"), "{text}");

    // Supplier feed: a CSV with a duplicate and a blank code, pushed in batches.
    let csv = dir.path().join("codes.csv");
    let mut rows = String::from("code,secret,expires_at\n");
    for i in 0..250 {
        rows.push_str(&format!("FEED-{i:04},PIN{i},\n"));
    }
    rows.push_str("FEED-0001,,\n ,x,\n");
    std::fs::write(&csv, rows).unwrap();
    let feed = common("supplier_feed")
        .args(["--url", &server.base])
        .args(["--sku", "DEMO-APPLE-50", "--batch", "100"])
        .arg("--csv")
        .arg(&csv)
        .output()
        .unwrap();
    let text = succeeded(&feed);
    assert!(
        text.contains("pushed 252 codes to DEMO-APPLE-50: 250 accepted, 1 duplicates, 1 rejected"),
        "{text}"
    );

    // Supplier feed answering a direct top-up.
    let mut topups = common("supplier_feed")
        .args([
            "--serve-topups",
            "15",
            "--listen",
            &format!("127.0.0.1:{supplier_port}"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bot = &demo.resellers[1];
    let client = Client::new(&server.base, &bot.key_id, &bot.secret);
    let gems = demo
        .products
        .iter()
        .find(|p| p.delivery == "direct")
        .unwrap();
    let mut req = order_req(&gems.id, 1, "EX-TOPUP-1");
    req.topup = Some(
        serde_json::json!({"account": "p-1", "server": "s1"})
            .as_object()
            .unwrap()
            .clone(),
    );
    let (order, _) = client.create_order(&req).await.unwrap();
    assert_eq!(order.status, "processing");
    let mut status = String::new();
    for _ in 0..100 {
        status = client.order(&order.id).await.unwrap().status;
        if status != "processing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = topups.kill();
    let _ = topups.wait();
    assert_eq!(status, "completed");
}

/// `examples/php/purchase.php` (PHP's own hash_hmac, curl and sodium) lists, buys a code, reads
/// the order and verifies the receipt against a live server. Skipped, with a note, where `php`
/// is not installed (CI installs php-cli and php-curl).
#[actix_web::test]
async fn the_php_example_buys_a_code() {
    if Command::new("php").arg("--version").output().is_err() {
        println!("SKIPPED: php is not on PATH (apt-get install php-cli php-curl)");
        return;
    }
    let app = crate::common::TestApp::spawn().await;
    let (_, _, product) = app.stocked_product("PHP-GIFT", 1_000, 800, 2).await;
    let (r, client) = app.reseller(None, 5_000).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/php/purchase.php");
    let (base, key) = (app.base.clone(), r.api_key.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("php")
            .arg(script)
            .env("KAMENG_URL", base)
            .env("KAMENG_KEY_ID", key.key_id)
            .env("KAMENG_SECRET", key.secret)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = succeeded(&out);
    assert!(stdout.contains("receipt verified"), "{stdout}");
    // The order it printed is this reseller's, delivered and paid.
    let orders = client.orders("").await.unwrap().data;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].product_id, product.product.id);
    assert_eq!(orders[0].status, "delivered");
    let order = client.order(&orders[0].id).await.unwrap();
    let code = &order.cards.unwrap()[0].code;
    assert!(
        stdout.contains(&format!("order {}: {code}", order.id)),
        "{stdout}"
    );
    assert_eq!(client.account().await.unwrap().balance, 4_000);
}
