//! A chat bot driven by lines on stdin, answering the way a shop bot would:
//!
//!   /list              products and your prices
//!   /price SKU         one product's price and stock
//!   /buy SKU N         buy N codes (one out_trade_no per command, safe to retry)
//!   /order ID          an order and its codes
//!   /balance           your prepaid balance
//!   anything else      asked of the support assistant (POST /v1/support/messages), about
//!                      the last order this bot placed or showed
//!
//!   printf '/list\n/buy DEMO-APPLE-50 1\n/balance\nhow do I redeem this?\n' | cargo run --release --example chat_bot

use std::io::BufRead;

use clap::Parser;
use kameng::client::{Client, ClientError};
use kameng::demo::DemoFile;

#[derive(Parser)]
struct Args {
    /// The server [default: the one in the demo file, else http://127.0.0.1:8080].
    #[arg(long, env = "KAMENG_URL")]
    url: Option<String>,
    #[arg(long, default_value = "kameng-demo.json")]
    demo: std::path::PathBuf,
    /// Which demo reseller the bot acts as (0 = shop, 1 = gold bot).
    #[arg(long, default_value_t = 1)]
    reseller: usize,
}

fn money(minor: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", minor / 100, minor % 100)
}

fn explain(e: &ClientError) -> String {
    match e.code() {
        Some("insufficient_balance") => "Your balance is too low for that.".into(),
        Some("out_of_stock") => "Sorry, not enough stock right now.".into(),
        Some("product_unavailable") => "That product is not on sale.".into(),
        Some("not_found") => "I can't find that.".into(),
        Some("invalid_request") => format!("That doesn't look right: {e}"),
        _ => format!("Something went wrong: {e}"),
    }
}

/// What the bot remembers between lines.
#[derive(Default)]
struct Session {
    /// Numbers the bot's out_trade_no values.
    seq: u32,
    /// The order the conversation is about: the last one bought or shown.
    last_order: Option<String>,
}

async fn answer(client: &Client, line: &str, session: &mut Session) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let find = |sku: &str, products: &[kameng::domain::trade::catalog::Product]| {
        products
            .iter()
            .find(|p| p.sku.eq_ignore_ascii_case(sku))
            .cloned()
    };
    match words.as_slice() {
        ["/list"] => match client.all_products().await {
            Ok(ps) => ps
                .iter()
                .map(|p| {
                    format!(
                        "{:<16} {:<32} {:>12}  {}",
                        p.sku,
                        p.name,
                        money(p.price, &p.currency),
                        p.stock.map_or("top-up".into(), |s| format!("{s} in stock"))
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => explain(&e),
        },
        ["/price", sku] => match client.all_products().await.map(|ps| find(sku, &ps)) {
            Ok(Some(p)) => format!(
                "{}: {} each, {}",
                p.name,
                money(p.price, &p.currency),
                p.stock
                    .map_or("delivered by top-up".into(), |s| format!("{s} in stock"))
            ),
            Ok(None) => format!("No product {sku}."),
            Err(e) => explain(&e),
        },
        ["/buy", sku, n] => {
            let Ok(n) = n.parse::<i64>() else {
                return "Usage: /buy SKU N".into();
            };
            let product = match client.all_products().await.map(|ps| find(sku, &ps)) {
                Ok(Some(p)) => p,
                Ok(None) => return format!("No product {sku}."),
                Err(e) => return explain(&e),
            };
            if product.delivery != "card" {
                return "That is a top-up product; this bot sells codes only.".into();
            }
            session.seq += 1;
            let out_trade_no = format!("BOT-{}-{}", kameng::time::now_ms(), session.seq);
            match client.buy(&product.id, n, &out_trade_no).await {
                Ok(order) => {
                    session.last_order = Some(order.id.clone());
                    let codes: Vec<String> = order
                        .cards
                        .unwrap_or_default()
                        .into_iter()
                        .map(|c| format!("  {}  {}", c.code, c.secret.unwrap_or_default()))
                        .collect();
                    format!(
                        "Paid {}. Order {}:\n{}",
                        money(order.amount, &order.currency),
                        order.id,
                        codes.join("\n")
                    )
                }
                Err(e) => explain(&e),
            }
        }
        ["/order", id] => match client.order(id).await {
            Ok(o) => {
                session.last_order = Some(o.id.clone());
                format!(
                "Order {} is {}: {} × {} = {}{}",
                o.id,
                o.status,
                o.quantity,
                o.product_id,
                money(o.amount, &o.currency),
                o.cards
                    .unwrap_or_default()
                    .iter()
                    .map(|c| format!("\n  {}", c.code))
                    .collect::<String>()
                )
            }
            Err(e) => explain(&e),
        },
        ["/balance"] => match client.account().await {
            Ok(a) => format!(
                "Balance: {} (level {})",
                money(a.balance, &a.currency),
                a.level
            ),
            Err(e) => explain(&e),
        },
        ["/help"] | [] => "Commands: /list, /price SKU, /buy SKU N, /order ID, /balance; or just ask (\"where is my code?\")".into(),
        [command, ..] if command.starts_with('/') => "I don't know that one. Try /help".into(),
        // Free text is a customer's question: the support assistant answers it, from the
        // state of the order the conversation is about.
        _ => match client
            .ask_support(line, session.last_order.as_deref())
            .await
        {
            Ok(a) => a.answer,
            Err(e) => explain(&e),
        },
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let demo = DemoFile::load(&args.demo)?;
    let url = demo.server_url(args.url.clone());
    let me = demo
        .resellers
        .get(args.reseller)
        .ok_or("no such demo reseller")?;
    let client = Client::new(&url, &me.key_id, &me.secret);
    let mut session = Session::default();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        println!("> {}", line.trim());
        println!("{}", answer(&client, line.trim(), &mut session).await);
    }
    Ok(())
}
