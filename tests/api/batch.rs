//! Orders that share one set (SQLite places a group commit's card orders as one set,
//! PostgreSQL the orders queued while its set workers were busy): each keeps its own outcome —
//! the ones that fail their checks change nothing, the others commit — and the books hold
//! afterwards.

use std::collections::{HashMap, HashSet};

use diesel::RunQueryDsl;
use kameng::client::{Client, ClientError};
use kameng::domain::trade::orders::Order;

use crate::common::{order_req, TestApp};

type Outcome = Result<(Order, bool), ClientError>;

/// Sends every order at once while the database is held, so that they all queue for (and
/// share) the next set. SQLite: a slow job holds the writer. PostgreSQL (one set worker): a
/// transaction holds a decoy buyer's row, and the decoy's order — a product that does not
/// exist, so it changes nothing — holds the worker, its set waiting for that row.
async fn all_in_one_batch(
    app: &TestApp,
    orders: Vec<(Client, kameng::domain::trade::orders::OrderRequest)>,
) -> Vec<Outcome> {
    let (decoy, decoy_c) = app.reseller(None, 0).await;
    let db = app.state.db.clone();
    let (held_tx, held) = std::sync::mpsc::channel::<()>();
    let hold = std::thread::spawn(move || {
        let hold = move || {
            let _ = held_tx.send(());
            std::thread::sleep(std::time::Duration::from_millis(800));
        };
        if db.groups_commits() {
            return db.write(move |_| {
                hold();
                Ok(())
            });
        }
        db.write_direct(|c| {
            kameng::db::stmt::stmt(
                "SELECT id FROM resellers WHERE id = ? FOR UPDATE",
                [decoy.reseller.id.as_str().into()],
            )
            .execute(c)?;
            hold();
            Ok(())
        })
    });
    tokio::task::spawn_blocking(move || held.recv())
        .await
        .unwrap()
        .unwrap();
    let decoy = tokio::spawn(async move {
        let req = order_req("prd_decoy", 1, "DECOY-1");
        decoy_c.create_order(&req).await.map(|_| ())
    });
    // The decoy's set has the worker before the orders arrive.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let sent = orders
        .into_iter()
        .map(|(client, req)| async move { client.create_order(&req).await });
    let outcomes = futures_util::future::join_all(sent).await;
    hold.join().unwrap().unwrap();
    let refused = decoy.await.unwrap().unwrap_err();
    assert_eq!(refused.code(), Some("not_found"));
    outcomes
}

fn code(outcome: &Outcome) -> &str {
    match outcome {
        Ok((_, true)) => "created",
        Ok((_, false)) => "replayed",
        Err(e) => e.code().unwrap_or("no problem document"),
    }
}

#[actix_web::test]
async fn failing_and_succeeding_orders_in_one_batch_each_keep_their_outcome() {
    let app = TestApp::spawn_with(|c| c.order_sets = 1).await;
    let (_, _, plenty) = app.stocked_product("PLENTY", 10_000, 9_000, 20).await;
    let (_, _, last_one) = app.stocked_product("LASTONE", 5_000, 4_000, 1).await;
    let plenty = plenty.product.id;
    let last_one = last_one.product.id;
    // Enough for two of PLENTY, not three.
    let (poor, poor_c) = app.reseller(None, 25_000).await;
    let (rich, rich_c) = app.reseller(None, 100_000).await;
    let (other, other_c) = app.reseller(None, 300_000).await;

    let mut orders = Vec::new();
    for n in 0..3 {
        orders.push((poor_c.clone(), order_req(&plenty, 1, &format!("POOR-{n}"))));
    }
    orders.push((rich_c.clone(), order_req(&plenty, 2, "RICH-1")));
    // The same order twice: one is placed, the other answered with it.
    orders.push((rich_c.clone(), order_req(&plenty, 3, "RICH-2")));
    orders.push((rich_c.clone(), order_req(&plenty, 3, "RICH-2")));
    orders.push((rich_c.clone(), order_req("prd_does_not_exist", 1, "RICH-3")));
    orders.push((rich_c.clone(), order_req(&plenty, 0, "RICH-4")));
    // One card left, two buyers.
    orders.push((rich_c.clone(), order_req(&last_one, 1, "RICH-5")));
    orders.push((other_c.clone(), order_req(&last_one, 1, "OTHER-1")));
    // More than the whole stock, whatever the others took before it.
    orders.push((other_c.clone(), order_req(&plenty, 21, "OTHER-2")));
    orders.push((other_c.clone(), order_req(&plenty, 4, "OTHER-3")));

    let outcomes = all_in_one_batch(&app, orders).await;
    let codes: Vec<&str> = outcomes.iter().map(code).collect();

    let poor_codes: Vec<&str> = codes[0..3].to_vec();
    assert_eq!(
        poor_codes.iter().filter(|c| **c == "created").count(),
        2,
        "two of three fit the balance: {poor_codes:?}"
    );
    assert!(
        poor_codes.contains(&"insufficient_balance"),
        "{poor_codes:?}"
    );
    assert_eq!(codes[3], "created");
    let mut twice = [codes[4], codes[5]];
    twice.sort();
    assert_eq!(
        twice,
        ["created", "replayed"],
        "the same out_trade_no twice"
    );
    let (first, second) = (outcomes[4].as_ref().unwrap(), outcomes[5].as_ref().unwrap());
    assert_eq!(
        first.0.id, second.0.id,
        "the repeat answers with the placed order"
    );
    assert_eq!(first.0.cards, second.0.cards);
    assert_eq!(codes[6], "not_found");
    assert_eq!(codes[7], "invalid_request");
    let mut last = [codes[8], codes[9]];
    last.sort();
    assert_eq!(last, ["created", "out_of_stock"], "one card, two buyers");
    assert_eq!(codes[10], "out_of_stock", "21 of 20");
    assert_eq!(codes[11], "created");

    // Every delivered code once; stock fell by exactly what was delivered.
    let delivered: Vec<&Order> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .filter(|(_, created)| *created)
        .map(|(o, _)| o)
        .collect();
    let codes_out: Vec<String> = delivered
        .iter()
        .flat_map(|o| o.cards.clone().unwrap_or_default())
        .map(|c| c.code)
        .collect();
    let distinct: HashSet<&String> = codes_out.iter().collect();
    assert_eq!(distinct.len(), codes_out.len(), "a code delivered twice");
    let units: HashMap<&str, i64> = delivered.iter().fold(HashMap::new(), |mut m, o| {
        *m.entry(o.product_id.as_str()).or_default() += o.quantity;
        m
    });
    assert_eq!(units[plenty.as_str()], 2 + 2 + 3 + 4);
    assert_eq!(codes_out.len() as i64, 2 + 2 + 3 + 4 + 1);
    assert_eq!(poor_c.product(&plenty).await.unwrap().stock, Some(20 - 11));
    assert_eq!(poor_c.product(&last_one).await.unwrap().stock, Some(0));

    // Each balance moved by its own delivered orders only.
    let spent = |id: &str| -> i64 {
        delivered
            .iter()
            .filter(|o| o.reseller_id == id)
            .map(|o| o.amount)
            .sum()
    };
    assert_eq!(spent(&poor.reseller.id), 20_000);
    for (r, c, start) in [
        (&poor, &poor_c, 25_000),
        (&rich, &rich_c, 100_000),
        (&other, &other_c, 300_000),
    ] {
        assert_eq!(
            c.account().await.unwrap().balance,
            start - spent(&r.reseller.id)
        );
    }
    // Every created order reads back as answered; failed ones left no order behind.
    for o in &delivered {
        let back = rich_c.clone();
        let owner = [(&poor, &poor_c), (&rich, &rich_c), (&other, &other_c)]
            .into_iter()
            .find(|(r, _)| r.reseller.id == o.reseller_id)
            .map(|(_, c)| c)
            .unwrap_or(&back);
        assert_eq!(owner.order(&o.id).await.unwrap().cards, o.cards);
    }
    {
        // The orders did share a set (more than 8 in one group commit or order set).
        let metrics = reqwest::get(format!("{}/metrics", app.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let read = |name: &str| -> f64 {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name} in {metrics}"))
        };
        let batches = read("kameng_commit_batch_size_count");
        let small = read("kameng_commit_batch_size_bucket{le=\"8\"}");
        assert!(
            batches - small >= 1.0,
            "no batch of more than 8 jobs: {}",
            metrics
                .lines()
                .filter(|l| l.starts_with("kameng_commit_batch_size"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let all = app.admin.orders("limit=100").await.unwrap();
    assert_eq!(
        all.data.len(),
        delivered.len(),
        "only the created orders exist"
    );
    app.assert_books_check().await;
}

/// SQLite runs in multi-thread mode once kameng opened it: no mutex around every call on a
/// connection (each is used by one thread at a time). Every connection here is opened through
/// `Manager`, which configures SQLite first, so the setting must have taken.
#[actix_web::test]
async fn sqlite_connections_are_opened_without_a_mutex_each() {
    let app = TestApp::spawn().await;
    if app.state.db.backend() != kameng::db::Backend::Sqlite {
        return;
    }
    assert!(
        kameng::db::sqlite_config::configure(),
        "configured before SQLite initialized"
    );
    assert!(!kameng::db::sqlite_config::connections_get_a_mutex());
}
