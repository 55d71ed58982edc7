//! `kameng demo`: seeds the configured database with a demo supplier, two resellers at different
//! levels, card and direct products with stock and balances, writes the keys to a JSON file the
//! examples read, and prints a ready-to-paste signed request.

use serde::{Deserialize, Serialize};

use crate::crypto::random_token;
use crate::domain::accounts::keys::IssuedKey;
use crate::domain::accounts::{self, NewReseller, NewSupplier, Reseller, Supplier};
use crate::domain::trade::catalog::{self, Delivery, NewProduct};
use crate::domain::trade::inventory::{self, NewCard, PushCards};
use crate::error::{Error, Result};
use crate::state::AppState;

const ACTOR: &str = "system:demo";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoAccount {
    pub id: String,
    pub name: String,
    pub key_id: String,
    pub secret: String,
    pub webhook_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoProduct {
    pub id: String,
    pub sku: String,
    pub delivery: String,
}

/// What `kameng demo` writes (and the examples read).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoFile {
    /// The server the demo was seeded for (its `KAMENG_BIND`); the examples talk to it unless
    /// told otherwise (`--url` or `KAMENG_URL`). Absent in files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub supplier: DemoAccount,
    /// `[standard level, gold level]`.
    pub resellers: Vec<DemoAccount>,
    pub products: Vec<DemoProduct>,
}

impl DemoFile {
    pub fn load(path: &std::path::Path) -> std::result::Result<DemoFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e} (run `kameng demo` first)", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The server to talk to: `given` (`--url` or `KAMENG_URL`) if set, else the one this file
    /// was seeded for, else the default address.
    pub fn server_url(&self, given: Option<String>) -> String {
        given
            .or_else(|| self.url.clone())
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
    }
}

pub struct DemoOptions {
    /// The server's base URL, written into the file for the examples.
    pub url: String,
    pub shop_callback: String,
    pub supplier_webhook: String,
}

fn account(id: &str, name: &str, key: IssuedKey, webhook_secret: String) -> DemoAccount {
    DemoAccount {
        id: id.into(),
        name: name.into(),
        key_id: key.key_id,
        secret: key.secret,
        webhook_secret,
    }
}

pub fn seed(state: &AppState, opts: &DemoOptions) -> Result<DemoFile> {
    let vault = state.vault.clone();
    let (shop_callback, supplier_webhook) =
        (opts.shop_callback.clone(), opts.supplier_webhook.clone());
    let url = opts.url.clone();
    state.db.write(move |c| {
        let existing = catalog::list_rows(
            c,
            &catalog::ProductFilter {
                q: Some("DEMO-".into()),
                limit: 1,
                ..Default::default()
            },
        )?;
        if !existing.is_empty() {
            return Err(Error::Conflict(
                "this database already holds the demo; use a fresh KAMENG_DATABASE_URL".into(),
            ));
        }
        let supplier = NewSupplier {
            name: "Demo Games Ltd".into(),
            webhook_url: Some(supplier_webhook),
        };
        let s = accounts::create::<Supplier>(c, &vault, ACTOR, &supplier)?;
        crate::domain::trade::pricing::book::put_level(c, ACTOR, "gold", 500)?;
        let reseller = |name: &str, level: Option<&str>, notify_url: Option<String>| NewReseller {
            name: name.into(),
            level: level.map(Into::into),
            notify_url,
        };
        let shop = reseller("Demo Shop", None, Some(shop_callback));
        let shop = accounts::create::<Reseller>(c, &vault, ACTOR, &shop)?;
        let bot = reseller("Demo Bot (gold)", Some("gold"), None);
        let bot = accounts::create::<Reseller>(c, &vault, ACTOR, &bot)?;
        for r in [&shop.reseller.id, &bot.reseller.id] {
            accounts::credit(c, ACTOR, r, 1_000_000, Some("demo balance"))?;
        }
        let mut products = Vec::new();
        let cards = [
            (
                "DEMO-STEAM-100",
                "Steam Wallet 100 CNY",
                "steam",
                10_000,
                9_300,
                9_700,
            ),
            (
                "DEMO-APPLE-50",
                "App Store 50 CNY",
                "apple",
                5_000,
                4_700,
                4_900,
            ),
            (
                "DEMO-WIN-PRO",
                "Windows 11 Pro licence",
                "software",
                99_900,
                60_000,
                79_900,
            ),
        ];
        for (sku, name, category, face, cost, price) in cards {
            let p = catalog::create_product(
                c,
                ACTOR,
                &NewProduct {
                    sku: sku.into(),
                    name: name.into(),
                    category: category.into(),
                    supplier_id: s.supplier.id.clone(),
                    face_value: face,
                    cost,
                    price,
                    delivery: Delivery::Card.to_string(),
                    instructions: Some("Redeem in the store's wallet page.".into()),
                    region: Some("CN".into()),
                    max_quantity: Some(50),
                    ..Default::default()
                },
            )?;
            let stock = PushCards {
                cards: (0..200)
                    .map(|_| NewCard {
                        code: random_token(&format!("{sku}-"), 8).to_uppercase(),
                        secret: Some(random_token("", 3)),
                        expires_at: None,
                    })
                    .collect(),
                batch_ref: Some("demo-batch-1".into()),
            };
            inventory::push(c, &vault, &s.supplier.id, &p.product.id, &stock)?;
            products.push(DemoProduct {
                id: p.product.id,
                sku: sku.into(),
                delivery: Delivery::Card.to_string(),
            });
        }
        let gems = catalog::create_product(
            c,
            ACTOR,
            &NewProduct {
                sku: "DEMO-GEMS-60".into(),
                name: "Mobile game: 60 gems top-up".into(),
                category: "mobile-games".into(),
                supplier_id: s.supplier.id.clone(),
                face_value: 600,
                cost: 500,
                price: 580,
                delivery: Delivery::Direct.to_string(),
                topup_fields: Some(vec!["account".into(), "server".into()]),
                ..Default::default()
            },
        )?;
        products.push(DemoProduct {
            id: gems.product.id,
            sku: "DEMO-GEMS-60".into(),
            delivery: Delivery::Direct.to_string(),
        });
        Ok(DemoFile {
            url: Some(url),
            supplier: account(
                &s.supplier.id,
                &s.supplier.name,
                s.api_key,
                s.webhook_secret,
            ),
            resellers: vec![
                account(
                    &shop.reseller.id,
                    &shop.reseller.name,
                    shop.api_key,
                    shop.webhook_secret,
                ),
                account(
                    &bot.reseller.id,
                    &bot.reseller.name,
                    bot.api_key,
                    bot.webhook_secret,
                ),
            ],
            products,
        })
    })
}

/// The text `kameng demo` prints.
/// What `kameng demo` prints: every command in it runs as printed. `serve_env` holds the
/// `KAMENG_*` settings the demo ran with (`NAME=value `, each with a trailing space), so the
/// printed `serve` opens the same database on the same address.
pub fn instructions(demo: &DemoFile, base: &str, file: &str, serve_env: &str) -> String {
    let shop = &demo.resellers[0];
    let product = &demo.products[0];
    let default_file = file == "kameng-demo.json";
    let demo_flag = if default_file {
        String::new()
    } else {
        format!(" --demo {file}")
    };
    let demo_arg = if default_file {
        String::new()
    } else {
        format!(" -- --demo {file}")
    };
    format!(
        r#"Demo seeded. Keys were written to {file} (keep it private).

  supplier  {sup_name}: key {sup_key}
  reseller  {shop_name}: key {shop_key}   (standard price, callbacks to the shop example)
  reseller  {bot_name}: key {bot_key}   (gold level, 5 % off)
  products  {skus}

Start the server (callbacks to 127.0.0.1 need KAMENG_ALLOW_PRIVATE_WEBHOOKS=true):

  {serve_env}KAMENG_ALLOW_PRIVATE_WEBHOOKS=true cargo run --release -- serve

Then buy one {sku} as {shop_name} — paste this into a shell:

KEY={shop_key}; SECRET={shop_secret}
BODY='{{"product_id":"{pid}","quantity":1,"out_trade_no":"DEMO-'$(date +%s)'"}}'
TS=$(date +%s); NONCE=$(openssl rand -hex 12)
BODY_HASH=$(printf '%s' "$BODY" | openssl dgst -sha256 -hex | sed 's/^.* //')
SIG=$(printf 'POST\n/v1/orders\n\n%s\n%s\n%s' "$TS" "$NONCE" "$BODY_HASH" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')
curl -s {base}/v1/orders -H "X-Kameng-Key: $KEY" -H "X-Kameng-Timestamp: $TS" -H "X-Kameng-Nonce: $NONCE" -H "X-Kameng-Signature: $SIG" -H 'content-type: application/json' -d "$BODY"

The examples read {file} (the server's address is in it; --url or KAMENG_URL override it):

  cargo run --release --example shop_checkout{demo_arg}        # one-click purchase + verified callback
  printf '/list\n/price DEMO-STEAM-100\n/buy DEMO-APPLE-50 1\n/balance\n' | cargo run --release --example chat_bot{demo_arg}
  cargo run --release --example supplier_feed -- --sku DEMO-STEAM-100 --generate 5000 --serve-topups 30{demo_flag}
"#,
        sup_name = demo.supplier.name,
        sup_key = demo.supplier.key_id,
        shop_name = shop.name,
        shop_key = shop.key_id,
        shop_secret = shop.secret,
        bot_name = demo.resellers[1].name,
        bot_key = demo.resellers[1].key_id,
        skus = demo
            .products
            .iter()
            .map(|p| p.sku.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        sku = product.sku,
        pid = product.id,
    )
}
