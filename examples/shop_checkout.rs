//! A shop's one-click purchase: place an order with the shop's own order number, print the codes,
//! retry safely on a network error (same out_trade_no, so the platform returns the original order
//! instead of charging twice), and receive the signed `order.delivered` callback — verifying the
//! signature and deduplicating by event id, as a real shop backend must.
//!
//!   cargo run --release --example shop_checkout [-- --demo kameng-demo.json --sku DEMO-STEAM-100]
//!
//! The server is the one `kameng demo` wrote into the demo file; `--url` or `KAMENG_URL` override it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use clap::Parser;
use kameng::client::{verify_event, Client, ClientError};
use kameng::demo::DemoFile;
use kameng::domain::trade::orders::{Order, OrderRequest};

#[derive(Parser)]
struct Args {
    /// The server [default: the one in the demo file, else http://127.0.0.1:8080].
    #[arg(long, env = "KAMENG_URL")]
    url: Option<String>,
    #[arg(long, default_value = "kameng-demo.json")]
    demo: std::path::PathBuf,
    #[arg(long, default_value = "DEMO-STEAM-100")]
    sku: String,
    #[arg(long, default_value_t = 1)]
    quantity: i64,
    /// Where the callback receiver listens (the demo registered 127.0.0.1:9101).
    #[arg(long, default_value = "127.0.0.1:9101")]
    listen: String,
    /// Make the first attempt time out on the client side, to show a safe retry.
    #[arg(long)]
    flaky: bool,
    /// Seconds to wait for the callback.
    #[arg(long, default_value_t = 15)]
    wait: u64,
}

#[derive(Default)]
struct Inbox {
    seen: HashSet<String>,
    orders: Vec<String>,
}

/// The shop's callback endpoint: verify, deduplicate by event id, then act once.
async fn callback(
    req: HttpRequest,
    body: web::Bytes,
    secret: web::Data<String>,
    inbox: web::Data<Arc<Mutex<Inbox>>>,
) -> HttpResponse {
    if !verify_event(req.headers(), &body, &secret) {
        println!("callback: signature did not verify — ignored");
        return HttpResponse::Unauthorized().finish();
    }
    let event: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return HttpResponse::BadRequest().finish(),
    };
    let id = event["id"].as_str().unwrap_or_default().to_string();
    let mut inbox = inbox.lock().unwrap_or_else(|p| p.into_inner());
    if inbox.seen.insert(id.clone()) {
        println!(
            "callback: verified {} {} for order {}",
            event["type"].as_str().unwrap_or(""),
            id,
            event["data"]["order_id"]
        );
        inbox.orders.push(
            event["data"]["order_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    } else {
        println!("callback: duplicate {id} — already handled");
    }
    // Answer 2xx either way so the platform stops retrying.
    HttpResponse::NoContent().finish()
}

async fn place_with_retry(
    client: &Client,
    flaky: Option<&Client>,
    req: &OrderRequest,
) -> Result<(Order, bool), ClientError> {
    if let Some(flaky) = flaky {
        match flaky.create_order(req).await {
            Err(ClientError::Http(e)) => println!(
                "first attempt failed on the network ({e}); retrying with the same out_trade_no"
            ),
            other => return other,
        }
    }
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=5 {
        match client.create_order(req).await {
            Err(ClientError::Http(e)) if attempt < 5 => {
                println!("network error ({e}); retry {attempt} in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    unreachable!("the loop returns on its last attempt")
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let demo = DemoFile::load(&args.demo)?;
    let url = demo.server_url(args.url.clone());
    let shop = &demo.resellers[0];
    let product = demo
        .products
        .iter()
        .find(|p| p.sku == args.sku)
        .ok_or("unknown --sku")?;

    let inbox = web::Data::new(Arc::new(Mutex::new(Inbox::default())));
    let secret = web::Data::new(shop.webhook_secret.clone());
    let (i2, s2) = (inbox.clone(), secret.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(i2.clone())
            .app_data(s2.clone())
            .route("/callback", web::post().to(callback))
    })
    .workers(1)
    .bind(&args.listen)?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    println!("callback receiver on http://{}/callback", args.listen);

    let client = Client::new(&url, &shop.key_id, &shop.secret);
    let flaky = args.flaky.then(|| {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(1))
            .build()
            .expect("client");
        Client::with_http(http, &url, &shop.key_id, &shop.secret)
    });
    let out_trade_no = format!("SHOP-{}", kameng::time::now_ms());
    let req = OrderRequest {
        product_id: product.id.clone(),
        quantity: args.quantity,
        out_trade_no: out_trade_no.clone(),
        notify_url: None,
        topup: None,
        buyer: None,
        delivery_mode: Default::default(),
        claim_ttl_days: None,
        recipients: None,
    };
    let (order, created) = match place_with_retry(&client, flaky.as_ref(), &req).await {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("order failed: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "order {} ({}) {}: {} × {} = {} {}",
        order.id,
        out_trade_no,
        if created {
            "created"
        } else {
            "returned by the retry (not charged twice)"
        },
        order.quantity,
        order.unit_price,
        order.amount,
        order.currency
    );
    for card in order.cards.clone().unwrap_or_default() {
        println!(
            "  code {}  secret {}",
            card.code,
            card.secret.unwrap_or_default()
        );
    }

    let deadline = std::time::Instant::now() + Duration::from_secs(args.wait);
    loop {
        if inbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .orders
            .contains(&order.id)
        {
            println!("done: delivery confirmed by a verified callback");
            break;
        }
        if std::time::Instant::now() > deadline {
            println!("no callback within {} s (is the server running with KAMENG_ALLOW_PRIVATE_WEBHOOKS=true?)", args.wait);
            handle.stop(true).await;
            std::process::exit(2);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    handle.stop(true).await;
    Ok(())
}
