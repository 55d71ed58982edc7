//! Everything the load run needs, created through the public API as an integrator would:
//! a supplier, one card product, stock pushed in full-size batches, and funded resellers.

use kameng::client::{AdminClient, Client};
use kameng::domain::trade::catalog::NewProduct;
use kameng::domain::trade::inventory::{NewCard, PushCards, MAX_CARDS_PER_PUSH};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Unit price of the benchmark product in minor units; every order is quantity 1.
const PRICE: i64 = 100;
const COST: i64 = 80;

pub struct Reseller {
    pub id: String,
    pub client: Client,
    /// Total credited by this run (the balance starts at zero).
    pub credited: i64,
}

pub struct Fixture {
    /// Prefix that makes this run's SKU, codes and out_trade_nos unique on a reused server.
    pub run_id: String,
    pub product_id: String,
    pub admin: AdminClient,
    pub resellers: Vec<Reseller>,
    /// The product's supplier, for pushes during a phase (`--push-during`).
    pub supplier: Client,
}

pub struct SetupOptions<'a> {
    pub url: &'a str,
    pub admin_user: &'a str,
    pub admin_password: &'a str,
    pub stock: usize,
    pub resellers: usize,
    /// Instances to spread the resellers' clients over (empty: all on `url`).
    pub spread: &'a [String],
}

pub async fn prepare(http: &reqwest::Client, opts: &SetupOptions<'_>) -> Result<Fixture, BoxError> {
    let run_id = format!("b{}", kameng::time::now_ms());
    let admin = AdminClient::login(opts.url, opts.admin_user, opts.admin_password)
        .await
        .map_err(|e| {
            format!(
                "admin login at {} failed ({e}); is the server running, with \
                 KAMENG_BOOTSTRAP_ADMIN matching --admin?",
                opts.url
            )
        })?;

    let supplier = admin
        .create_supplier(&format!("bench supplier {run_id}"), None)
        .await?;
    let product = admin
        .create_product(&NewProduct {
            sku: format!("BENCH-{run_id}"),
            name: format!("Benchmark card {run_id}"),
            category: "benchmark".into(),
            supplier_id: supplier.supplier.id.clone(),
            face_value: PRICE,
            cost: COST,
            price: PRICE,
            delivery: "card".into(),
            currency: None,
            region: None,
            description: None,
            instructions: None,
            min_quantity: Some(1),
            max_quantity: Some(1),
            topup_fields: None,
            low_stock_threshold: None,
        })
        .await?;
    let product_id = product.product.id.clone();

    // Kept in the fixture for pushes during a phase.
    let supplier_client = Client::with_http(
        http.clone(),
        opts.url,
        &supplier.api_key.key_id,
        &supplier.api_key.secret,
    );
    let started = std::time::Instant::now();
    let mut pushed = 0;
    // Each push's wall time as the client sees it (dedup, encryption, insert, commit, HTTP).
    let mut push_secs = Vec::new();
    while pushed < opts.stock {
        let n = (opts.stock - pushed).min(MAX_CARDS_PER_PUSH);
        let cards = (pushed..pushed + n)
            .map(|i| NewCard {
                code: format!("{run_id}-{i:09}"),
                secret: Some(format!("s{i:09}")),
                expires_at: None,
            })
            .collect();
        let push_started = std::time::Instant::now();
        let res = supplier_client
            .push_cards(
                &product_id,
                &PushCards {
                    cards,
                    batch_ref: Some(format!("{run_id}-{pushed}")),
                },
            )
            .await?;
        push_secs.push(push_started.elapsed().as_secs_f64());
        if res.accepted != n {
            return Err(format!("push accepted {} of {n} cards", res.accepted).into());
        }
        pushed += n;
    }
    let first = push_secs.first().copied().unwrap_or_default();
    push_secs.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((push_secs.len() as f64 * q) as usize).min(push_secs.len().saturating_sub(1));
        push_secs.get(i).copied().unwrap_or_default()
    };
    eprintln!(
        "setup: pushed {pushed} cards in {:.1} s; per {MAX_CARDS_PER_PUSH}-card push: median {:.3} s, p90 {:.3} s, max {:.3} s (the first {first:.3} s)",
        started.elapsed().as_secs_f64(),
        at(0.5),
        at(0.9),
        push_secs.last().copied().unwrap_or_default(),
    );

    // Each reseller gets enough to buy the whole stock alone, so balance never limits the run.
    let credit = opts.stock as i64 * PRICE;
    let mut resellers = Vec::with_capacity(opts.resellers);
    for i in 0..opts.resellers {
        let created = admin
            .create_reseller(&format!("bench reseller {run_id} #{i}"), None, None)
            .await?;
        admin.credit(&created.reseller.id, credit).await?;
        resellers.push(Reseller {
            id: created.reseller.id.clone(),
            client: Client::with_http(
                http.clone(),
                opts.spread
                    .get(i % opts.spread.len().max(1))
                    .map_or(opts.url, String::as_str),
                &created.api_key.key_id,
                &created.api_key.secret,
            ),
            credited: credit,
        });
    }
    Ok(Fixture {
        run_id,
        product_id,
        admin,
        resellers,
        supplier: supplier_client,
    })
}
