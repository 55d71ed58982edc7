//! The order transaction: everything a purchase changes happens in one database transaction,
//! in this order — idempotency check, product and quantity rules, pricing, balance, card
//! claim, ledger posting, order row, receipt, outbox event. Any failure rolls all of it back.
//!
//! `quote` is the single place the money split is decided, so spend limits, parent commission
//! and refunds extend it rather than the transaction's shape.

use diesel::prelude::*;
use serde_json::json;

use super::idempotency::{find_by_trade_no, replay, request_hash, serialize_trade_no, winner};
use super::{OrderContext, OrderDeps, OrderRequest, OrderRow, Placed};
use crate::crypto::sha256_hex;
use crate::db::schema::{orders, resellers, suppliers};
use crate::db::{Db, DbConn};
use crate::domain::catalog::{self, ProductRow, MAX_ORDER_QUANTITY};
use crate::domain::inventory::{self, DeliveredCard};
use crate::domain::ledger::{self, Posting, Txn};
use crate::domain::limits;
use crate::domain::network::NetworkPrices;
use crate::domain::receipts::{ReceiptClaims, ISSUER};
use crate::domain::{topups, validate};
use crate::error::{is_unique_violation, Error, Result};
use crate::events::outbox::{self, NewEvent};
use crate::time::rfc3339;

/// Checks that need no database, so bad input costs nothing.
fn validate_request(req: &OrderRequest) -> Result<()> {
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

/// The money split of one order.
pub struct Quote {
    pub unit_price: i64,
    pub amount: i64,
    pub cost_amount: i64,
    pub postings: Vec<Posting>,
}

pub fn quote(
    conn: &mut DbConn,
    reseller_id: &str,
    product: &ProductRow,
    quantity: i64,
) -> Result<Quote> {
    // The buyer's price and each ancestor's markup (multi-level distribution; see `network`).
    let split = NetworkPrices::load(conn, reseller_id, std::slice::from_ref(&product.id))?
        .split(product)?;
    let unit_price = split.unit_price;
    let amount = unit_price
        .checked_mul(quantity)
        .ok_or_else(|| Error::invalid("quantity", "amount overflows"))?;
    let cost_amount = product
        .cost
        .checked_mul(quantity)
        .ok_or_else(|| Error::invalid("quantity", "cost overflows"))?;
    let mut postings = vec![
        Posting::new(ledger::reseller_account(reseller_id), -amount),
        Posting::new(ledger::supplier_account(&product.supplier_id), cost_amount),
    ];
    let commission = split.post_commissions(quantity, &mut postings)?;
    postings.push(Posting::new(
        ledger::PLATFORM_REVENUE,
        amount - cost_amount - commission,
    ));
    Ok(Quote {
        unit_price,
        amount,
        cost_amount,
        postings,
    })
}

/// Places an order inside the caller's transaction.
pub fn place(
    conn: &mut DbConn,
    deps: &OrderDeps,
    ctx: &OrderContext,
    req: &OrderRequest,
) -> Result<Placed> {
    validate_request(req)?;
    let hash = request_hash(req);
    serialize_trade_no(conn, &ctx.reseller_id, &req.out_trade_no)?;
    if let Some(existing) = find_by_trade_no(conn, &ctx.reseller_id, &req.out_trade_no)? {
        return replay(conn, &deps.vault, existing, &hash);
    }
    let product = catalog::load(conn, &req.product_id)?;
    if product.status != "on_sale" {
        return Err(Error::ProductUnavailable("this product is off sale".into()));
    }
    crate::domain::compliance::check_sellable(conn, &product, crate::time::now_ms())?;
    let direct = product.delivery == "direct";
    let topup = if direct {
        let required: Vec<String> = serde_json::from_str(&product.topup_fields).unwrap_or_default();
        Some(topups::validate_fields(&required, req.topup.as_ref())?)
    } else if req.topup.is_some() {
        return Err(Error::invalid(
            "topup",
            "only direct top-up products take top-up fields",
        ));
    } else {
        None
    };
    if req.quantity < product.min_quantity || req.quantity > product.max_quantity {
        return Err(Error::invalid(
            "quantity",
            format!(
                "must be between {} and {} for this product",
                product.min_quantity, product.max_quantity
            ),
        ));
    }
    let (balance, notify_default, currency): (i64, Option<String>, String) = resellers::table
        .find(&ctx.reseller_id)
        .select((
            resellers::balance,
            resellers::notify_url,
            resellers::currency,
        ))
        .first(conn)?;
    if currency != product.currency {
        return Err(Error::ProductUnavailable(format!(
            "this product is sold in {}",
            product.currency
        )));
    }
    let quote = quote(conn, &ctx.reseller_id, &product, req.quantity)?;
    if balance < quote.amount {
        return Err(Error::InsufficientBalance);
    }

    let now = crate::time::now_ms();
    let order_id = crate::ids::new_id("ord");
    // A bulk order claims here like any other; its codes are unsealed after the commit.
    let bulk = crate::domain::bulk::is_bulk(direct, req.quantity, deps.bulk_async_threshold);
    let delivered: Vec<DeliveredCard> = if direct {
        Vec::new()
    } else {
        let sealed = inventory::claim(conn, &product.id, &order_id, req.quantity, now)?;
        if bulk {
            Vec::new()
        } else {
            sealed
                .iter()
                .map(|c| inventory::unseal(&deps.vault, c))
                .collect::<Result<_>>()?
        }
    };

    let ledger_seq = ledger::post(
        conn,
        Txn {
            action: "order.purchase",
            actor: &format!("key:{}", ctx.key_id),
            subject: &order_id,
            currency: &product.currency,
            detail: json!({ "product_id": product.id, "quantity": req.quantity }),
            postings: quote.postings,
        },
    )?;
    limits::check_daily_spend(
        conn,
        &ctx.reseller_id,
        &ctx.key_id,
        &ctx.limits,
        quote.amount,
        now,
    )?;

    let receipt = if bulk {
        String::new() // signed at delivery, over a digest of the codes
    } else {
        deps.receipts.sign(&ReceiptClaims {
            iss: ISSUER.into(),
            sub: order_id.clone(),
            reseller_id: ctx.reseller_id.clone(),
            product_id: product.id.clone(),
            quantity: req.quantity,
            amount: quote.amount,
            currency: product.currency.clone(),
            iat: now / 1000,
            codes: delivered
                .iter()
                .map(|c| sha256_hex(c.code.as_bytes()))
                .collect(),
            codes_digest: None,
        })?
    };

    let notify_url = req.notify_url.clone().or(notify_default);
    let deadline = direct.then_some(now + deps.topup_timeout_ms);
    let row = OrderRow {
        id: order_id.clone(),
        reseller_id: ctx.reseller_id.clone(),
        key_id: ctx.key_id.clone(),
        out_trade_no: req.out_trade_no.clone(),
        product_id: product.id.clone(),
        supplier_id: product.supplier_id.clone(),
        quantity: req.quantity,
        unit_price: quote.unit_price,
        amount: quote.amount,
        cost_amount: quote.cost_amount,
        currency: product.currency.clone(),
        status: if direct || bulk {
            "processing"
        } else {
            "delivered"
        }
        .into(),
        request_hash: hash,
        notify_url,
        topup: topup
            .as_ref()
            .map(|t| serde_json::Value::Object(t.clone()).to_string()),
        buyer_id: req.buyer.as_ref().and_then(|b| b.id.clone()),
        buyer_region: req.buyer.as_ref().and_then(|b| b.region.clone()),
        receipt,
        ledger_seq,
        created_at: now,
        completed_at: (!direct && !bulk).then_some(now),
        deadline_at: deadline,
        result_message: None,
    };
    if let Err(e) = insert(conn, &row) {
        // Another connection committed the same out_trade_no first (PostgreSQL).
        return Err(if is_unique_violation(&e) {
            Error::RaceLost
        } else {
            e.into()
        });
    }
    let notify_url = row.notify_url.as_deref();

    crate::domain::analytics::record_sale(
        conn,
        &crate::domain::analytics::Sale {
            created_at: now,
            reseller_id: &ctx.reseller_id,
            product_id: &product.id,
            region: req.buyer.as_ref().and_then(|b| b.region.as_deref()),
            currency: &product.currency,
            quantity: req.quantity,
            amount: quote.amount,
            cost_amount: quote.cost_amount,
        },
    )?;

    if let Some(deadline) = deadline {
        request_topup(
            conn,
            &product,
            &order_id,
            req.quantity,
            topup.as_ref(),
            deadline,
        )?;
    } else if bulk {
        // `order.delivered` follows from `bulk::deliver`.
        crate::domain::stock_low::on_order(conn, &product, req.quantity, deps.stock_low_days)?;
    } else {
        outbox::enqueue(
            conn,
            NewEvent {
                event_type: "order.delivered",
                owner_kind: "reseller",
                owner_id: &ctx.reseller_id,
                url: notify_url,
                data: json!({
                    "order_id": order_id,
                    "out_trade_no": req.out_trade_no,
                    "product_id": product.id,
                    "quantity": req.quantity,
                    "amount": quote.amount,
                    "currency": product.currency,
                    "status": "delivered",
                }),
            },
        )?;
        crate::domain::stock_low::on_order(conn, &product, req.quantity, deps.stock_low_days)?;
    }

    let cards = (!direct && !bulk).then_some(delivered);
    Ok(Placed {
        order: row.view(cards),
        created: true,
    })
}

/// Inserts a new order row; the caller keeps the row it wrote instead of reading it back.
fn insert(conn: &mut DbConn, o: &OrderRow) -> diesel::QueryResult<usize> {
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(&o.id),
            orders::reseller_id.eq(&o.reseller_id),
            orders::key_id.eq(&o.key_id),
            orders::out_trade_no.eq(&o.out_trade_no),
            orders::product_id.eq(&o.product_id),
            orders::supplier_id.eq(&o.supplier_id),
            orders::quantity.eq(o.quantity),
            orders::unit_price.eq(o.unit_price),
            orders::amount.eq(o.amount),
            orders::cost_amount.eq(o.cost_amount),
            orders::currency.eq(&o.currency),
            orders::status.eq(&o.status),
            orders::request_hash.eq(&o.request_hash),
            orders::notify_url.eq(&o.notify_url),
            orders::topup.eq(&o.topup),
            orders::buyer_id.eq(&o.buyer_id),
            orders::buyer_region.eq(&o.buyer_region),
            orders::receipt.eq(&o.receipt),
            orders::ledger_seq.eq(o.ledger_seq),
            orders::created_at.eq(o.created_at),
            orders::completed_at.eq(o.completed_at),
            orders::deadline_at.eq(o.deadline_at),
        ))
        .execute(conn)
}

/// Asks the supplier to fulfil a direct top-up (`order.topup_requested`).
fn request_topup(
    conn: &mut DbConn,
    product: &ProductRow,
    order_id: &str,
    quantity: i64,
    topup: Option<&serde_json::Map<String, serde_json::Value>>,
    deadline: i64,
) -> Result<()> {
    let url: Option<String> = suppliers::table
        .find(&product.supplier_id)
        .select(suppliers::webhook_url)
        .first(conn)?;
    outbox::enqueue(
        conn,
        NewEvent {
            event_type: "order.topup_requested",
            owner_kind: "supplier",
            owner_id: &product.supplier_id,
            url: url.as_deref(),
            data: json!({
                "order_id": order_id,
                "product_id": product.id,
                "sku": product.sku,
                "quantity": quantity,
                "face_value": product.face_value,
                "currency": product.currency,
                "topup": topup,
                "deadline_at": rfc3339(deadline),
            }),
        },
    )?;
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
        let (deps, ctx, req) = (deps.clone(), ctx.clone(), req.clone());
        match db
            .write_async(move |conn| place(conn, &deps, &ctx, &req))
            .await
        {
            Err(e) if e.is_contention() && attempt < ATTEMPTS => continue,
            Err(Error::RaceLost) => {
                return db
                    .read_async(move |conn| {
                        winner(conn, &vault, &reseller_id, &out_trade_no, &hash)
                    })
                    .await
            }
            other => return other,
        }
    }
}
