//! A supplier's feed: push a CSV of codes (`code,secret,expires_at`, header optional) in batches
//! with a progress bar, report accepted / duplicate / rejected, and optionally answer
//! `order.topup_requested` webhooks for direct top-ups, or act as a just-in-time supplier:
//! `--serve-jit CSV` registers a fulfilment endpoint for `--sku` (declared stock: the CSV's
//! rows) and answers kameng's signed fulfilment requests with codes from the CSV, the same
//! codes again for a repeated `request_id`.
//!
//!   cargo run --release --example supplier_feed -- --sku DEMO-STEAM-100 --csv codes.csv
//!   cargo run --release --example supplier_feed -- --sku DEMO-STEAM-100 --generate 5000 --serve-topups 30
//!   cargo run --release --example supplier_feed -- --sku DEMO-STEAM-100 --serve-jit codes.csv --serve-secs 60

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use clap::Parser;
use kameng::client::{verify_event, Client};
use kameng::demo::DemoFile;
use kameng::domain::trade::fulfilment::{FulfilmentAnswer, FulfilmentRequest, FulfilmentSettings};
use kameng::domain::trade::inventory::{NewCard, PushCards};
use reqwest::Method;

#[derive(Parser)]
struct Args {
    /// The server [default: the one in the demo file, else http://127.0.0.1:8080].
    #[arg(long, env = "KAMENG_URL")]
    url: Option<String>,
    #[arg(long, default_value = "kameng-demo.json")]
    demo: std::path::PathBuf,
    /// The product to stock.
    #[arg(long)]
    sku: Option<String>,
    /// CSV file of codes.
    #[arg(long)]
    csv: Option<std::path::PathBuf>,
    /// Instead of a CSV, generate this many random codes.
    #[arg(long)]
    generate: Option<usize>,
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Answer top-up webhooks for this many seconds (0 = don't).
    #[arg(long, default_value_t = 0)]
    serve_topups: u64,
    /// Where the webhook receiver listens (the demo registered 127.0.0.1:9102).
    #[arg(long, default_value = "127.0.0.1:9102")]
    listen: String,
    /// Act as a just-in-time supplier for --sku, issuing the codes of this CSV on demand.
    #[arg(long)]
    serve_jit: Option<std::path::PathBuf>,
    /// Where the fulfilment endpoint listens.
    #[arg(long, default_value = "127.0.0.1:9103")]
    jit_listen: String,
    /// How long to answer fulfilment requests, in seconds.
    #[arg(long, default_value_t = 60)]
    serve_secs: u64,
}

/// The just-in-time supplier's codes: those not issued yet, and those issued per request_id.
struct JitStock {
    secret: String,
    unissued: Mutex<VecDeque<NewCard>>,
    issued: Mutex<HashMap<String, Vec<NewCard>>>,
}

/// Answers a fulfilment request: verify kameng's signature, then issue `quantity` codes (or
/// the ones issued before for this `request_id`; kameng asks again after a crash).
async fn fulfil(req: HttpRequest, body: web::Bytes, stock: web::Data<JitStock>) -> HttpResponse {
    if !verify_event(req.headers(), &body, &stock.secret) {
        return HttpResponse::Unauthorized().finish();
    }
    let Ok(ask) = serde_json::from_slice::<FulfilmentRequest>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let mut issued = stock.issued.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(cards) = issued.get(&ask.request_id) {
        return HttpResponse::Ok().json(FulfilmentAnswer {
            cards: cards.clone(),
        });
    }
    let mut unissued = stock.unissued.lock().unwrap_or_else(|e| e.into_inner());
    let wanted = usize::try_from(ask.quantity).unwrap_or(usize::MAX);
    if wanted > unissued.len() {
        println!(
            "request {}: {wanted} wanted, {} left",
            ask.request_id,
            unissued.len()
        );
        return HttpResponse::Conflict().finish();
    }
    let cards: Vec<NewCard> = unissued.drain(..wanted).collect();
    println!("issued {wanted} codes for order {}", ask.order_id);
    issued.insert(ask.request_id, cards.clone());
    HttpResponse::Ok().json(FulfilmentAnswer { cards })
}

/// Registers this feed as the product's fulfilment endpoint and answers for `secs` seconds.
async fn serve_jit(
    args: &Args,
    client: &Client,
    product_id: &str,
    secret: &str,
    csv: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let cards = read_csv(csv)?;
    let declared = cards.len() as i64;
    let stock = web::Data::new(JitStock {
        secret: secret.to_string(),
        unissued: Mutex::new(cards.into()),
        issued: Mutex::default(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(stock.clone())
            .route("/fulfil", web::post().to(fulfil))
    })
    .workers(1)
    .bind(&args.jit_listen)?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let settings = FulfilmentSettings {
        url: format!("http://{}/fulfil", args.jit_listen),
        declared_stock: declared,
        timeout_ms: None,
    };
    client.put_fulfilment(product_id, &settings).await?;
    println!(
        "answering fulfilment requests on {} with {declared} codes for {} s",
        settings.url, args.serve_secs
    );
    tokio::time::sleep(Duration::from_secs(args.serve_secs)).await;
    handle.stop(true).await;
    Ok(())
}

fn read_csv(path: &std::path::Path) -> Result<Vec<NewCard>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("code,"))
        .map(|l| {
            let mut f = l.split(',').map(|s| s.trim().to_string());
            NewCard {
                code: f.next().unwrap_or_default(),
                secret: f.next().filter(|s| !s.is_empty()),
                expires_at: f.next().filter(|s| !s.is_empty()),
            }
        })
        .collect())
}

fn progress(done: usize, total: usize) {
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(width);
    eprint!(
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    let _ = std::io::stderr().flush();
}

/// Answers a top-up request: verify, then report success to the platform.
async fn webhook(
    req: HttpRequest,
    body: web::Bytes,
    ctx: web::Data<(String, Client)>,
) -> HttpResponse {
    let (secret, client) = ctx.get_ref();
    if !verify_event(req.headers(), &body, secret) {
        return HttpResponse::Unauthorized().finish();
    }
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if event["type"] == "order.topup_requested" {
        let order_id = event["data"]["order_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        println!(
            "top-up requested: order {order_id} for {}",
            event["data"]["topup"]
        );
        let client = client.clone();
        // Acknowledge now; fulfil and report afterwards, as a real top-up backend would.
        actix_web::rt::spawn(async move {
            let res = client
                .send_raw(
                    Method::POST,
                    &format!("/v1/supplier/orders/{order_id}/result"),
                    br#"{"status":"success","message":"credited"}"#.to_vec(),
                )
                .await;
            match res {
                Ok(r) => println!("reported order {order_id}: HTTP {}", r.status),
                Err(e) => println!("reporting order {order_id} failed: {e}"),
            }
        });
    } else {
        println!("event {}", event["type"]);
    }
    HttpResponse::NoContent().finish()
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let demo = DemoFile::load(&args.demo)?;
    let url = demo.server_url(args.url.clone());
    let client = Client::new(&url, &demo.supplier.key_id, &demo.supplier.secret);

    let product = match &args.sku {
        Some(sku) => Some(
            demo.products
                .iter()
                .find(|p| &p.sku == sku)
                .ok_or("unknown --sku")?,
        ),
        None => None,
    };
    if let Some(jit_csv) = &args.serve_jit {
        let product = product.ok_or("--serve-jit needs --sku")?;
        let secret = &demo.supplier.webhook_secret;
        return serve_jit(&args, &client, &product.id, secret, jit_csv).await;
    }

    if let (Some(sku), Some(product)) = (&args.sku, product) {
        let cards = match (&args.csv, args.generate) {
            (Some(path), _) => read_csv(path)?,
            (None, Some(n)) => (0..n)
                .map(|i| NewCard {
                    code: format!("{sku}-{}-{i:06}", kameng::time::now_ms()),
                    secret: None,
                    expires_at: None,
                })
                .collect(),
            (None, None) => return Err("give --csv FILE or --generate N".into()),
        };
        let (mut accepted, mut duplicates, mut rejected) = (0, 0, 0);
        let total = cards.len();
        let mut stock = 0;
        for (i, chunk) in cards.chunks(args.batch.clamp(1, 10_000)).enumerate() {
            let res = client
                .push_cards(
                    &product.id,
                    &PushCards {
                        cards: chunk.to_vec(),
                        batch_ref: Some(format!("feed-{i}")),
                    },
                )
                .await?;
            accepted += res.accepted;
            duplicates += res.duplicates;
            rejected += res.rejected.len();
            for r in &res.rejected {
                eprintln!(
                    "\n  row {} rejected: {}",
                    i * args.batch + r.index,
                    r.reason
                );
            }
            stock = res.stock;
            progress((i * args.batch + chunk.len()).min(total), total);
        }
        eprintln!();
        println!("pushed {total} codes to {sku}: {accepted} accepted, {duplicates} duplicates, {rejected} rejected; stock now {stock}");
    }

    if args.serve_topups > 0 {
        let ctx = web::Data::new((demo.supplier.webhook_secret.clone(), client.clone()));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(ctx.clone())
                .route("/webhook", web::post().to(webhook))
        })
        .workers(1)
        .bind(&args.listen)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        println!(
            "answering top-up webhooks on http://{}/webhook for {} s",
            args.listen, args.serve_topups
        );
        tokio::time::sleep(Duration::from_secs(args.serve_topups)).await;
        handle.stop(true).await;
    }
    Ok(())
}
