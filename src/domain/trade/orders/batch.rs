//! Card orders placed as one set: a SQLite group commit's, or on PostgreSQL the orders queued
//! while the instance's set workers were busy (`db::sets`). Each order is checked and priced
//! on its own, in arrival order, against what the orders before it in the set took — cards
//! picked from one read of the product's stock, balances moved in memory — and writes
//! nothing; an order that fails a check fails alone and changes nothing. Then the orders that
//! passed are written together: one multi-row statement per table (cards marked, records with
//! their ledger lines, order rows, events) and each touched balance once. SQLite applies the
//! stock counters and sales rollups at once and seals the records as they go in (one step of
//! the chain for the set); PostgreSQL appends pending sales and unsealed records, as a single
//! order does there, so that no set writes a row every buyer shares. No savepoint per order.
//!
//! PostgreSQL has other writers: the set locks its buyers' rows first, in id order, and picks
//! cards with `SKIP LOCKED` (see `SetState::shared`).
//!
//! Orders the set does not take — direct top-ups, bulk orders (both found once the product
//! is read), gift links and keys with a daily spend limit (both known before); on PostgreSQL
//! also sub-resellers' orders and orders the picked cards fall short of — run alone through
//! [`place`] after the set's writes (`SetRun::Done`). The set runs first in SQLite's batch and
//! with no savepoint (see `db::writer::SetRunner`): should its writes fail, the batch rolls
//! back and runs again with every order of the set alone; on PostgreSQL its transaction rolls
//! back and each order runs in a transaction of its own.

use std::collections::{HashMap, HashSet, VecDeque};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::pieces::{order_row, purchase, purchase_actor, receipt_claims, PURCHASE};
use super::place::{
    buyer_from, load_buyer, load_sellable, place, topup_fields, validate_request, BuyerRow,
    BuyerSql,
};
use super::set_write::{write, Planned, Signing, Taken};
use super::{OrderContext, OrderDeps, OrderRequest, Placed};
use crate::db::stmt::{rows_sql, stmt, Arg};
use crate::db::writer::{finish_with, Finish, SetItem, SetRun};
use crate::db::{Db, DbConn};
use crate::domain::accounts::keys::nonces::NonceClaim;
use crate::domain::money::chain::Numbered;
use crate::domain::money::ledger;
use crate::domain::money::limits::SpendLimits;
use crate::domain::trade::bulk::is_bulk;
use crate::domain::trade::catalog::{Delivery, ProductRow};
use crate::domain::trade::claims::{self, DeliveryMode};
use crate::domain::trade::inventory::{self, SealedCard};
use crate::domain::trade::pricing::quote::{quote, quote_at};
use crate::error::{Error, Result};

/// An order waiting for the next group commit's set.
struct Queued {
    deps: OrderDeps,
    ctx: OrderContext,
    req: OrderRequest,
    reply: tokio::sync::oneshot::Sender<Result<Placed>>,
}

/// Whether the order goes through a set rather than a transaction of its own.
pub(super) fn joins_set(db: &Db, ctx: &OrderContext, req: &OrderRequest) -> bool {
    db.takes_sets()
        && req.delivery_mode == DeliveryMode::Codes
        && ctx.limits == SpendLimits::default()
}

/// Places the order in the next group commit's set; answers once that batch committed.
pub(super) async fn place_in_set(
    db: &Db,
    deps: OrderDeps,
    ctx: OrderContext,
    req: OrderRequest,
) -> Result<Placed> {
    db.on_batch_set(|| Box::new(run));
    let (reply, answer) = tokio::sync::oneshot::channel();
    db.queue_item(Box::new(Queued {
        deps,
        ctx,
        req,
        reply,
    }))?;
    // Dropped unanswered: the set panicked, or (PostgreSQL) no connection could be had.
    // Either way nothing of the order persisted, and a retry is safe.
    answer
        .await
        .map_err(|_| Error::Unavailable("the order was not placed; retry it".into()))?
}

/// The set runner: every queued order's outcome, told after the set's COMMIT, and the orders
/// left to run alone; all of them back when the set's writes failed (`together`), to be run
/// again each alone.
fn run(conn: &mut DbConn, items: Vec<SetItem>, together: bool) -> SetRun {
    let queued: Vec<Queued> = items
        .into_iter()
        .filter_map(|item| item.downcast::<Queued>().ok().map(|q| *q))
        .collect();
    let outcomes: Vec<Option<Result<Placed>>> = if together {
        match place_together(conn, &queued) {
            Ok(outcomes) => outcomes,
            Err(e) => {
                if matches!(e, Error::RaceLost | Error::Replayed) {
                    tracing::debug!(
                        orders = queued.len(),
                        "a set repeated an out_trade_no or a request"
                    );
                } else {
                    tracing::warn!(error = %e, orders = queued.len(), "a set of orders failed to write");
                }
                return SetRun::Failed(
                    queued.into_iter().map(|q| Box::new(q) as SetItem).collect(),
                );
            }
        }
    } else {
        queued.iter().map(|q| Some(place_alone(conn, q))).collect()
    };
    let (mut finished, mut alone): (Vec<Finish>, Vec<SetItem>) = (Vec::new(), Vec::new());
    for (q, outcome) in queued.into_iter().zip(outcomes) {
        match outcome {
            Some(outcome) => {
                // The set inserted the nonce of every order it answers (`set_write::write`);
                // alone, an order's transaction holds its nonce only if it placed the order.
                let recorded = together || outcome.is_ok();
                let (reply, claim) = (q.reply, q.ctx.nonce.filter(|_| recorded));
                let finish = finish_with(outcome, move |r| {
                    let _ = reply.send(r);
                });
                finished.push(Box::new(move |committed: bool| {
                    if let (true, Some(claim)) = (committed, &claim) {
                        claim.mark_recorded();
                    }
                    finish(committed);
                }));
            }
            None => alone.push(Box::new(q) as SetItem),
        }
    }
    SetRun::Done(finished, alone)
}

/// One outcome per order, in order, `None` for an order left to run alone (see the module's
/// comment); an error when the set's writes failed, leaving them for the caller to roll back.
fn place_together(conn: &mut DbConn, queued: &[Queued]) -> Result<Vec<Option<Result<Placed>>>> {
    let mut set = SetState::new(conn, queued)?;
    let mut outcomes: Vec<Option<Result<Placed>>> = queued.iter().map(|_| None).collect();
    let mut planned: Vec<(usize, Planned)> = Vec::new();
    let mut to_sign: Vec<Signing> = Vec::new();
    let mut alone = vec![false; queued.len()];
    for (i, q) in queued.iter().enumerate() {
        match set.plan(conn, q) {
            Ok(Some((p, signing))) => {
                planned.push((i, p));
                to_sign.push(signing);
            }
            Ok(None) => alone[i] = true,
            Err(e) => outcomes[i] = Some(Err(e)),
        }
    }
    let stock_low_days = queued.first().map_or(0.0, |q| q.deps.stock_low_days);
    // The nonces of the orders the set answers, planned or failed; one left to run alone
    // records its own.
    let claims: Vec<&NonceClaim> = queued
        .iter()
        .zip(&alone)
        .filter(|(_, alone)| !**alone)
        .filter_map(|(q, _)| q.ctx.nonce.as_ref())
        .collect();
    let taken = Taken {
        now: set.now,
        balances: set
            .moved
            .iter()
            .map(|id| (id.as_str(), set.balances[id]))
            .collect(),
        stock_low_days,
    };
    let receipts = write(conn, &claims, &mut planned, to_sign, &taken)?;
    for ((i, mut p), receipt) in planned.into_iter().zip(receipts) {
        p.placed.order.receipt = receipt;
        outcomes[i] = Some(Ok(p.placed));
    }
    Ok(outcomes)
}

/// An order in its own transaction (a savepoint inside SQLite's batch).
fn place_alone(conn: &mut DbConn, q: &Queued) -> Result<Placed> {
    conn.transaction(|c| place(c, &q.deps, &q.ctx, &q.req))
}

/// What the orders planned so far have taken, in memory.
struct SetState {
    now: i64,
    /// Cards each product's orders in the set ask for, to pick them with one read.
    demand: HashMap<String, i64>,
    products: HashMap<String, ProductRow>,
    /// Picked cards not yet taken, oldest first, per product.
    pools: HashMap<String, VecDeque<SealedCard>>,
    /// Balances as the planned orders left them (resellers read so far).
    balances: HashMap<String, i64>,
    /// The resellers whose balance a planned order moved.
    moved: HashSet<String>,
    /// `(reseller, out_trade_no)` of the planned orders.
    trade_nos: HashSet<(String, String)>,
    /// PostgreSQL: other transactions write too. The set's buyers' rows are locked before
    /// anything is read, in id order (two sets wait, never deadlock); cards are picked with
    /// `SKIP LOCKED`, so a short pick may only mean rows other transactions hold.
    shared: bool,
    /// PostgreSQL: the buyers as locked and read for the set (SQLite reads each when planned).
    buyers: Buyers,
}

impl SetState {
    fn new(conn: &mut DbConn, queued: &[Queued]) -> Result<Self> {
        let shared = conn.is_postgres();
        let buyers = if shared {
            lock_buyers(conn, queued)?
        } else {
            Buyers::new()
        };
        let mut demand: HashMap<String, i64> = HashMap::new();
        // A bulk order runs alone and claims its own cards: not picked for it here.
        let joins = |q: &&Queued| !is_bulk(false, q.req.quantity, q.deps.bulk_async_threshold);
        for q in queued.iter().filter(joins) {
            *demand.entry(q.req.product_id.clone()).or_default() += q.req.quantity.max(0);
        }
        Ok(SetState {
            now: crate::time::now_ms(),
            demand,
            products: HashMap::new(),
            pools: HashMap::new(),
            balances: HashMap::new(),
            moved: HashSet::new(),
            trade_nos: HashSet::new(),
            shared,
            buyers,
        })
    }

    /// The checks of `place` in its order, against the set so far; `None`: the order runs
    /// alone (a direct top-up or a bulk order; on PostgreSQL also a sub-reseller's order, whose
    /// commissions move balances the set has not locked, and one the picked cards fall short of).
    fn plan(&mut self, conn: &mut DbConn, q: &Queued) -> Result<Option<(Planned, Signing)>> {
        let (deps, ctx, req) = (&q.deps, &q.ctx, &q.req);
        validate_request(req)?;
        // A retry of an order placed before (or earlier in this set): answered with that
        // order once the batch committed, as a lost race is. PostgreSQL asks no one: the
        // unique index fails the set's write, and each order then runs alone (a round trip
        // per order saved for the rare retry).
        let trade_no = (ctx.reseller_id.clone(), req.out_trade_no.clone());
        if self.trade_nos.contains(&trade_no)
            || (!self.shared && trade_no_taken(conn, &ctx.reseller_id, &req.out_trade_no)?)
        {
            return Err(Error::RaceLost);
        }
        let product = self.product(conn, req)?;
        claims::check_product(req, &product)?;
        topup_fields(&product, req)?;
        let bulk =
            crate::domain::trade::bulk::is_bulk(false, req.quantity, deps.bulk_async_threshold);
        if product.delivery == Delivery::Direct || bulk {
            return Ok(None);
        }
        let read = self
            .buyers
            .get(&(ctx.reseller_id.clone(), product.id.clone()));
        let buyer = match read {
            Some(row) => buyer_from(row.clone(), &product)?,
            None => load_buyer(conn, &ctx.reseller_id, &product)?,
        };
        let quote = match &buyer.own_prices {
            Some(prices) => quote_at(prices, &ctx.reseller_id, &product, req.quantity)?,
            None => quote(conn, &ctx.reseller_id, &product, req.quantity)?,
        };
        let moves_others = quote.postings.iter().any(|p| {
            p.account
                .reseller_id()
                .is_some_and(|r| r != ctx.reseller_id)
        });
        if self.shared && moves_others {
            return Ok(None);
        }
        let balance = *self
            .balances
            .entry(ctx.reseller_id.clone())
            .or_insert(buyer.balance);
        if balance < quote.amount {
            return Err(Error::InsufficientBalance);
        }
        let order_id = crate::ids::new_id("ord");
        let cards = match self.peek_cards(conn, &product.id, req.quantity) {
            // Rows other transactions hold may come free: `place` waits for them a while.
            Err(Error::OutOfStock) if self.shared => return Ok(None),
            cards => cards?,
        };
        let delivered = cards
            .iter()
            .map(|c| inventory::unseal(&deps.vault, c))
            .collect::<Result<Vec<_>>>()?;
        let now = self.now;
        // Signed once the set is planned, beside its writes (see `set_write::write`).
        let claims = receipt_claims(
            deps,
            ctx,
            &product,
            &order_id,
            req.quantity,
            quote.amount,
            now,
            &delivered,
        );
        let actor = purchase_actor(ctx);
        let mut moved: HashMap<String, i64> = HashMap::new();
        let txn = purchase(
            &actor,
            &product,
            &order_id,
            req.quantity,
            quote.postings.clone(),
        );
        let entries = ledger::lines(&txn, |id, delta| {
            let before = match moved.get(id).or(self.balances.get(id)) {
                Some(b) => *b,
                None => balance_of(conn, id)?,
            };
            let after = before + delta;
            if after < 0 {
                return Err(Error::InsufficientBalance);
            }
            moved.insert(id.to_string(), after);
            Ok(after)
        })?;
        let detail = txn.detail.to_string();
        drop(txn);
        // Every check passed: take what the order takes.
        self.moved.extend(moved.keys().cloned());
        self.balances.extend(moved);
        let card_ids: Vec<i64> = self.take_cards(&product.id, cards.len());
        self.trade_nos.insert(trade_no);
        // Numbered once the set is planned (see `set_write::write`).
        let seq = 0;
        let row = order_row(
            (ctx, req, &product),
            order_id.clone(),
            &quote,
            buyer.notify_url,
            (String::new(), seq, now),
            None,
            None,
            false,
        );
        let placed = Placed {
            order: row.view(Some(delivered)),
            created: true,
            announced: row.notify_url.is_some(),
        };
        let signing = (deps.receipts.clone(), claims);
        Ok(Some((
            Planned {
                card_ids,
                record: Numbered {
                    seq,
                    kind: "ledger",
                    actor,
                    action: PURCHASE,
                    subject: order_id,
                    detail,
                    created_at: now,
                    currency: product.currency.clone(),
                    entries,
                },
                row,
                placed,
            },
            signing,
        )))
    }

    /// The product, sellable now, read once per set.
    fn product(&mut self, conn: &mut DbConn, req: &OrderRequest) -> Result<ProductRow> {
        if let Some(p) = self.products.get(&req.product_id) {
            return Ok(p.clone());
        }
        let p = load_sellable(conn, req)?;
        self.products.insert(p.id.clone(), p.clone());
        Ok(p)
    }

    /// The next `quantity` cards of the product's pool (picked with one read the first time,
    /// enough for every order of the set), or `OutOfStock` taking none.
    fn peek_cards(
        &mut self,
        conn: &mut DbConn,
        product_id: &str,
        quantity: i64,
    ) -> Result<Vec<SealedCard>> {
        if !self.pools.contains_key(product_id) {
            let want = self.demand.get(product_id).copied().unwrap_or(quantity);
            let picked = inventory::pick_available(conn, product_id, self.now, want)?;
            self.pools.insert(product_id.to_string(), picked.into());
        }
        let pool = &self.pools[product_id];
        if (pool.len() as i64) < quantity {
            return Err(Error::OutOfStock);
        }
        Ok(pool.iter().take(quantity as usize).cloned().collect())
    }

    fn take_cards(&mut self, product_id: &str, n: usize) -> Vec<i64> {
        let pool = self.pools.get_mut(product_id).expect("peeked first");
        pool.drain(..n).map(|c| c.id).collect()
    }
}

/// PostgreSQL: locks the rows of the set's buyers, in id order, and reads each as
/// `load_buyer` does for every product it orders — one statement for the set.
fn lock_buyers(conn: &mut DbConn, queued: &[Queued]) -> Result<Buyers> {
    let mut pairs: Vec<(&str, &str)> = queued
        .iter()
        .map(|q| (q.ctx.reseller_id.as_str(), q.req.product_id.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let sql = rows_sql(
        concat!(
            "SELECT v.column1, v.column2, ",
            buyer_columns!("v.column2"),
            " FROM resellers r JOIN (VALUES "
        ),
        "(?, ?)",
        pairs.len(),
        ") AS v ON r.id = v.column1 ORDER BY r.id FOR UPDATE OF r",
    );
    type Row = (Text, Text, BuyerSql);
    let rows: Vec<(String, String, BuyerRow)> = stmt(
        sql,
        pairs
            .iter()
            .flat_map(|(r, p)| [Arg::from(*r), Arg::from(*p)]),
    )
    .returning::<Row>()
    .rows(conn)?;
    Ok(rows
        .into_iter()
        .map(|(reseller, product, row)| ((reseller, product), row))
        .collect())
}

/// Buyers read for a PostgreSQL set, by `(reseller, product)`.
type Buyers = HashMap<(String, String), BuyerRow>;

/// Whether the reseller already has an order of this `out_trade_no`.
fn trade_no_taken(conn: &mut DbConn, reseller_id: &str, out_trade_no: &str) -> Result<bool> {
    let found: Option<i64> = stmt(
        "SELECT 1 FROM orders WHERE reseller_id = ? AND out_trade_no = ?",
        [reseller_id.into(), out_trade_no.into()],
    )
    .returning::<BigInt>()
    .one(conn)
    .optional()?;
    Ok(found.is_some())
}

fn balance_of(conn: &mut DbConn, reseller_id: &str) -> Result<i64> {
    stmt(
        "SELECT balance FROM resellers WHERE id = ?",
        [reseller_id.into()],
    )
    .returning::<BigInt>()
    .one(conn)
    .optional()?
    .ok_or(Error::InsufficientBalance)
}
