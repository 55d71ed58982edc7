//! The order transaction: everything a purchase changes happens in one database transaction,
//! in the order [`place`] reads — idempotency check, product and quantity rules, the buyer's
//! balance and currency, the quote (`trade::pricing::quote`), card claim, ledger posting,
//! spend limits, receipt, order row, pending sale, outbox event. Any failure rolls all of it
//! back.
//!
//! Scale-out: nothing here locks or updates a row that other resellers' orders also write.
//! The buyer's own balance row is the one shared row (its own orders queue on it); the chain
//! record goes in unsealed (`money::chain::seal` links it later), the product's stock counter
//! and the sales rollups move through `trade::pending`, card claims skip each other's rows.

use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::idempotency::{find_by_trade_no, replay, request_hash, winner};
use super::pieces::{order_row, purchase, purchase_actor, receipt_claims};
use super::record::{announce_delivery, insert, request_topup};
use super::{OrderContext, OrderDeps, OrderRequest, OrderRow, Placed};
use crate::db::stmt::stmt;
use crate::db::{Db, DbConn};
use crate::domain::accounts::compliance;
use crate::domain::accounts::keys::nonces;
use crate::domain::money::ledger::{self, Posting};
use crate::domain::money::limits;
use crate::domain::trade::catalog::{
    self, Delivery, ProductRow, ProductStatus, MAX_ORDER_QUANTITY,
};
use crate::domain::trade::claims::{self, DeliveryMode};
use crate::domain::trade::inventory::{self, DeliveredCard};
use crate::domain::trade::pending;
use crate::domain::trade::pricing::book::PriceBook;
use crate::domain::trade::pricing::network::NetworkPrices;
use crate::domain::trade::pricing::quote::{quote, quote_at};
use crate::domain::trade::sales_rollup::Sale;
use crate::domain::trade::topups;
use crate::domain::validate;
use crate::error::{is_unique_violation, Error, Result};

/// Checks that need no database, so bad input costs nothing.
pub(crate) fn validate_request(req: &OrderRequest) -> Result<()> {
    if req.out_trade_no.is_empty()
        || req.out_trade_no.len() > 64
        || !req.out_trade_no.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::invalid(
            "out_trade_no",
            "must be 1..64 printable ASCII characters",
        ));
    }
    if req.quantity < 1 || req.quantity > MAX_ORDER_QUANTITY {
        return Err(Error::invalid(
            "quantity",
            format!("must be between 1 and {MAX_ORDER_QUANTITY}"),
        ));
    }
    if let Some(url) = &req.notify_url {
        validate::callback_url("notify_url", url)?;
    }
    claims::validate(req)?;
    if let Some(b) = &req.buyer {
        // Characters, as the schema's maxLength counts them.
        if b.id.as_ref().is_some_and(|s| s.chars().count() > 128)
            || b.region.as_ref().is_some_and(|s| s.chars().count() > 64)
        {
            return Err(Error::invalid(
                "buyer",
                "id at most 128 and region at most 64 characters",
            ));
        }
    }
    Ok(())
}

/// Places an order inside the caller's transaction, step by step; any failing step fails the
/// order and the caller's rollback undoes the ones before it.
pub fn place(
    conn: &mut DbConn,
    deps: &OrderDeps,
    ctx: &OrderContext,
    req: &OrderRequest,
) -> Result<Placed> {
    place_as(conn, deps, ctx, req, crate::ids::new_id("ord"))
}

/// [`place`] under a given order id (a just-in-time order's, announced to its supplier before
/// the order exists: see `jit`).
pub(super) fn place_as(
    conn: &mut DbConn,
    deps: &OrderDeps,
    ctx: &OrderContext,
    req: &OrderRequest,
    order_id: String,
) -> Result<Placed> {
    validate_request(req)?;
    // The request's nonce goes in with the order (a replay fails here, changing nothing).
    if let Some(claim) = &ctx.nonce {
        nonces::insert_claim(conn, claim)?;
    }
    // No lookup of the out_trade_no first (a round trip on every order for the rare retry):
    // a repeat fails at `insert_order` on the unique index, or earlier on whatever has changed
    // since (stock, balance), and `place_order` then answers with the first order.
    let product = load_sellable(conn, req)?;
    claims::check_product(req, &product)?;
    let direct = product.delivery == Delivery::Direct;
    let topup = topup_fields(&product, req)?;
    let buyer = load_buyer(conn, &ctx.reseller_id, &product)?;
    let mut quote = match &buyer.own_prices {
        Some(prices) => quote_at(prices, &ctx.reseller_id, &product, req.quantity)?,
        None => quote(conn, &ctx.reseller_id, &product, req.quantity)?,
    };
    if buyer.balance < quote.amount {
        return Err(Error::InsufficientBalance);
    }

    let now = crate::time::now_ms();
    // A bulk order claims here like any other; its codes are unsealed after the commit.
    // Gift links (`trade::claims`) are delivered with the order at any size: the links are
    // the delivery.
    let claim_links = req.delivery_mode == DeliveryMode::ClaimLinks;
    let bulk = !claim_links
        && crate::domain::trade::bulk::is_bulk(direct, req.quantity, deps.bulk_async_threshold);
    let (card_ids, delivered) = claim_cards(
        conn,
        deps,
        &product,
        &order_id,
        req.quantity,
        now,
        direct || bulk,
    )?;
    // Signed before the buyer's balance row is locked (by `post_payment`), so that row's
    // lock, held until COMMIT, does not also wait for the signature.
    let receipt = if bulk {
        String::new() // signed at delivery, over a digest of the codes
    } else {
        deps.receipts.sign(&receipt_claims(
            deps,
            ctx,
            &product,
            &order_id,
            req.quantity,
            quote.amount,
            now,
            &delivered,
        ))?
    };

    let postings = std::mem::take(&mut quote.postings);
    let ledger_seq = post_payment(conn, ctx, &product, &order_id, req.quantity, postings)?;
    limits::check_daily_spend(
        conn,
        &ctx.reseller_id,
        &ctx.key_id,
        &ctx.limits,
        quote.amount,
        now,
    )?;

    let deadline = direct.then_some(now + deps.topup_timeout_ms);
    let row = order_row(
        (ctx, req, &product),
        order_id.clone(),
        &quote,
        buyer.notify_url,
        (receipt, ledger_seq, now),
        topup
            .as_ref()
            .map(|t| serde_json::Value::Object(t.clone()).to_string()),
        deadline,
        direct || bulk,
    );
    insert_order(conn, &row)?;
    // The gift-link branch: the claimed cards go out as links, their codes stay sealed.
    let links = if claim_links {
        Some(claims::issue(conn, &deps.vault, &row, &card_ids, req)?)
    } else {
        None
    };
    let stock_taken = if direct { 0 } else { req.quantity };
    pending::record_sale(conn, &Sale::from(&row), stock_taken)?;

    if let Some(deadline) = deadline {
        request_topup(
            conn,
            &product,
            &order_id,
            req.quantity,
            topup.as_ref(),
            deadline,
        )?;
    } else if !bulk {
        // A bulk order's `order.delivered` follows from `bulk::deliver`.
        announce_delivery(conn, &row, false)?;
    }
    // `stock.low` is the settler's to send, when it folds the stock this order took.

    let cards = (!direct && !bulk && !claim_links).then_some(delivered);
    let mut order = row.view(cards);
    order.claims = links;
    Ok(Placed {
        order,
        created: true,
        // A top-up's request may go to its supplier; a bulk order's event follows later.
        announced: direct || (!bulk && row.notify_url.is_some()),
    })
}

/// The product, if it may be sold now in this quantity: on sale, licensed, within its limits.
pub(crate) fn load_sellable(conn: &mut DbConn, req: &OrderRequest) -> Result<ProductRow> {
    let (product, licence_required) = catalog::load_with_licence_rule(conn, &req.product_id)?;
    if product.status != ProductStatus::OnSale {
        return Err(Error::ProductUnavailable("this product is off sale".into()));
    }
    compliance::check_licence(
        conn,
        product.sellable(),
        licence_required,
        crate::time::now_ms(),
    )?;
    Ok(product)
}

/// A direct product's top-up fields, checked against what it requires; card products take none.
/// Also checks the quantity against the product's limits (after the fields, as it always has).
pub(crate) fn topup_fields(
    product: &ProductRow,
    req: &OrderRequest,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    let required: Vec<String> = serde_json::from_str(&product.topup_fields).unwrap_or_default();
    check_fields_and_quantity(
        product.delivery,
        &required,
        (product.min_quantity, product.max_quantity),
        req,
    )
}

/// [`topup_fields`] for a product given by its parts (a sandbox trigger has no product row).
pub(crate) fn check_fields_and_quantity(
    delivery: Delivery,
    required: &[String],
    (min_quantity, max_quantity): (i64, i64),
    req: &OrderRequest,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    let topup = if delivery == Delivery::Direct {
        Some(topups::validate_fields(required, req.topup.as_ref())?)
    } else if req.topup.is_some() {
        return Err(Error::invalid(
            "topup",
            "only direct top-up products take top-up fields",
        ));
    } else {
        None
    };
    if req.quantity < min_quantity || req.quantity > max_quantity {
        return Err(Error::invalid(
            "quantity",
            format!("must be between {min_quantity} and {max_quantity} for this product"),
        ));
    }
    Ok(topup)
}

/// The buying reseller's balance and default callback, if it buys in the product's currency;
/// and, when it has no parent, its own prices for the product.
pub(super) struct Buyer {
    pub(super) balance: i64,
    pub(super) notify_url: Option<String>,
    /// `None` for a sub-reseller: its price runs through its parents (`pricing::network`).
    pub(super) own_prices: Option<NetworkPrices>,
}

/// The columns [`load_buyer`] reads: balance, notify URL, currency, whether the buyer has no
/// parent, its level's discount, its override price for the product.
pub(super) type BuyerRow = (i64, Option<String>, String, bool, i64, Option<i64>);
pub(super) type BuyerSql = (BigInt, Nullable<Text>, Text, Bool, BigInt, Nullable<BigInt>);

/// One statement for the buyer's row, its level's discount and its override price for this
/// product: on PostgreSQL every statement is a round trip, and a root reseller's quote needs
/// nothing else (four statements were one each).
pub(super) fn load_buyer(
    conn: &mut DbConn,
    reseller_id: &str,
    product: &ProductRow,
) -> Result<Buyer> {
    let row: BuyerRow = stmt(
        concat!(
            "SELECT ",
            buyer_columns!("?"),
            " FROM resellers r WHERE r.id = ?"
        ),
        [product.id.as_str().into(), reseller_id.into()],
    )
    .returning::<BuyerSql>()
    .one(conn)?;
    buyer_from(row, product)
}

/// The buyer of `product` as its [`BuyerRow`] shows it; refused if it buys in another currency.
pub(super) fn buyer_from(row: BuyerRow, product: &ProductRow) -> Result<Buyer> {
    let (balance, notify_url, currency, root, discount_bps, price_override) = row;
    if currency != product.currency {
        return Err(Error::ProductUnavailable(format!(
            "this product is sold in {}",
            product.currency
        )));
    }
    let own_prices =
        root.then(|| NetworkPrices::root(PriceBook::of(discount_bps, &product.id, price_override)));
    Ok(Buyer {
        balance,
        notify_url,
        own_prices,
    })
}

/// Claims the order's codes (none for a direct product): their card ids, and the codes unsealed
/// unless they are delivered later (`sealed_until_later`: direct or bulk).
fn claim_cards(
    conn: &mut DbConn,
    deps: &OrderDeps,
    product: &ProductRow,
    order_id: &str,
    quantity: i64,
    now: i64,
    sealed_until_later: bool,
) -> Result<(Vec<i64>, Vec<DeliveredCard>)> {
    if product.delivery == Delivery::Direct {
        return Ok((Vec::new(), Vec::new()));
    }
    // The stock counter moves with the order's pending sale (`trade::pending`).
    let sealed = inventory::claim_cards(conn, &product.id, order_id, quantity, now)?;
    let ids = sealed.iter().map(|c| c.id).collect();
    if sealed_until_later {
        return Ok((ids, Vec::new()));
    }
    let cards = sealed
        .iter()
        .map(|c| inventory::unseal(&deps.vault, c))
        .collect::<Result<_>>()?;
    Ok((ids, cards))
}

/// Posts the quote's ledger lines as the order's chained transaction; returns its sequence.
fn post_payment(
    conn: &mut DbConn,
    ctx: &OrderContext,
    product: &ProductRow,
    order_id: &str,
    quantity: i64,
    postings: Vec<Posting>,
) -> Result<i64> {
    let actor = purchase_actor(ctx);
    ledger::post(
        conn,
        purchase(&actor, product, order_id, quantity, postings),
    )
}

/// Writes the order row; another connection that committed the same out_trade_no first
/// (PostgreSQL) makes this a lost race, answered with the winner's order.
fn insert_order(conn: &mut DbConn, row: &OrderRow) -> Result<()> {
    match insert(conn, row) {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(Error::RaceLost),
        Err(e) => Err(e.into()),
    }
}

/// Records the order's nonce on its own when the order's transaction did not (it failed);
/// `Err(Replayed)` if the key already used it. A set that committed the nonce with a failed
/// order marked it recorded.
async fn record_nonce(db: &Db, ctx: &OrderContext) -> Result<()> {
    let Some(claim) = ctx.nonce.clone() else {
        return Ok(());
    };
    if claim.recorded() {
        return Ok(());
    }
    db.write_async(move |conn| nonces::insert_claim(conn, &claim).map(|()| claim))
        .await?
        .mark_recorded();
    Ok(())
}

/// Runs of an order transaction PostgreSQL aborted for a deadlock with concurrent ones (card
/// claims under a sell-out can wait on each other's rows); it changed nothing, so it runs again.
const ATTEMPTS: u32 = 5;

/// Runs [`place`] in its own transaction; a lost idempotency race returns the winner's order.
/// On SQLite the request waits for its group commit without holding a thread.
pub async fn place_order(
    db: &Db,
    deps: OrderDeps,
    ctx: OrderContext,
    req: OrderRequest,
) -> Result<Placed> {
    let (vault, reseller_id) = (deps.vault.clone(), ctx.reseller_id.clone());
    let (out_trade_no, hash) = (req.out_trade_no.clone(), request_hash(&req));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (d, c, r) = (deps.clone(), ctx.clone(), req.clone());
        let placed = if super::batch::joins_set(db, &c, &r) {
            super::batch::place_in_set(db, d, c, r).await
        } else {
            db.write_async(move |conn| place(conn, &d, &c, &r)).await
        };
        // Placed means committed, and the nonce with it (see `place`).
        if let (Ok(_), Some(claim)) = (&placed, &ctx.nonce) {
            claim.mark_recorded();
        }
        match placed {
            Err(Error::Contention(_)) if attempt < ATTEMPTS => continue,
            Err(Error::RaceLost) => {
                record_nonce(db, &ctx).await?;
                return db
                    .read_async(move |conn| {
                        winner(conn, &vault, &reseller_id, &out_trade_no, &hash)
                    })
                    .await;
            }
            // A refused order may be a retry of one placed earlier, refused today for what
            // changed since (the stock it bought, the balance it spent): the first order wins.
            // Not for malformed requests (checked before anything else, as before) or an
            // unavailable database.
            Err(e) if !matches!(e, Error::Invalid { .. } | Error::Unavailable(_)) => {
                // A replay stops here, before any other work.
                record_nonce(db, &ctx).await?;
                let earlier = db
                    .read_async(move |conn| {
                        match find_by_trade_no(conn, &reseller_id, &out_trade_no)? {
                            Some(existing) => replay(conn, &vault, existing, &hash).map(Some),
                            None => Ok(None),
                        }
                    })
                    .await?;
                let ctx = OrderContext { nonce: None, ..ctx };
                return match earlier {
                    Some(placed) => Ok(placed),
                    // Too few pushed codes: a just-in-time product asks its supplier.
                    None if matches!(e, Error::OutOfStock) => {
                        super::jit::after_out_of_stock(db, &deps, &ctx, &req, e).await
                    }
                    None => Err(e),
                };
            }
            other => return other,
        }
    }
}
