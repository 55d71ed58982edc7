//! The order transaction: everything a purchase changes happens in one database transaction,
//! in this order — idempotency check, product and quantity rules, pricing, balance, card
//! claim, ledger posting, order row, receipt, outbox event. Any failure rolls all of it back.
//!
//! `quote` is the single place the money split is decided, so spend limits, parent commission
//! and refunds extend it rather than the transaction's shape.

use std::sync::Arc;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::catalog::{self, ProductRow, MAX_ORDER_QUANTITY};
use super::inventory::{self, DeliveredCard};
use super::ledger::{self, Posting, Txn};
use super::limits::{self, SpendLimits};
use super::network::NetworkPrices;
use super::receipts::{ReceiptClaims, ReceiptSigner, ISSUER};
use super::topups;
use super::validate;
use crate::crypto::{sha256_hex, Vault};
use crate::db::schema::{orders, resellers, suppliers};
use crate::db::{Db, DbConn};
use crate::error::{is_unique_violation, Error, Result};
use crate::events::outbox::{self, NewEvent};
use crate::time::rfc3339;

/// The end buyer as the reseller knows them (analytics only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Buyer {
    #[schema(max_length = 128)]
    pub id: Option<String>,
    #[schema(max_length = 64)]
    pub region: Option<String>,
}

/// `POST /v1/orders` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    pub product_id: String,
    pub quantity: i64,
    /// The reseller's own order number: the idempotency key.
    pub out_trade_no: String,
    /// Overrides the account's default callback URL for this order.
    pub notify_url: Option<String>,
    /// For direct top-up products: the fields the product's `topup_fields` names.
    #[schema(value_type = Option<Object>)]
    pub topup: Option<serde_json::Map<String, serde_json::Value>>,
    #[schema(nullable)]
    #[serde(default, deserialize_with = "crate::json::optional_object")]
    pub buyer: Option<Buyer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: String,
    pub reseller_id: String,
    pub out_trade_no: String,
    pub product_id: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub amount: i64,
    pub currency: String,
    /// `delivered`, `processing`, `completed`, `failed` or `refunded`.
    pub status: String,
    /// The supplier's message on a finished direct top-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_message: Option<String>,
    /// The delivered codes (card products; omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cards: Option<Vec<DeliveredCard>>,
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topup: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
    pub created_at: String,
    pub completed_at: Option<String>,
    /// EdDSA JWT proving this delivery; verify with `/.well-known/jwks.json`. Empty while a
    /// bulk order is `processing`.
    pub receipt: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: String,
    pub reseller_id: String,
    pub key_id: String,
    pub out_trade_no: String,
    pub product_id: String,
    pub supplier_id: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub amount: i64,
    pub cost_amount: i64,
    pub currency: String,
    pub status: String,
    pub request_hash: String,
    pub notify_url: Option<String>,
    pub topup: Option<String>,
    pub buyer_id: Option<String>,
    pub buyer_region: Option<String>,
    pub receipt: String,
    pub ledger_seq: i64,
    pub created_at: i64,
    pub completed_at: Option<i64>,
    pub deadline_at: Option<i64>,
    pub result_message: Option<String>,
}

impl OrderRow {
    pub fn view(&self, cards: Option<Vec<DeliveredCard>>) -> Order {
        let buyer = (self.buyer_id.is_some() || self.buyer_region.is_some()).then(|| Buyer {
            id: self.buyer_id.clone(),
            region: self.buyer_region.clone(),
        });
        Order {
            id: self.id.clone(),
            reseller_id: self.reseller_id.clone(),
            out_trade_no: self.out_trade_no.clone(),
            product_id: self.product_id.clone(),
            quantity: self.quantity,
            unit_price: self.unit_price,
            amount: self.amount,
            currency: self.currency.clone(),
            status: self.status.clone(),
            result_message: self.result_message.clone(),
            cards,
            topup: self
                .topup
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
            buyer,
            created_at: rfc3339(self.created_at),
            completed_at: self.completed_at.map(rfc3339),
            receipt: self.receipt.clone(),
        }
    }
}

/// Who is ordering.
#[derive(Debug, Clone)]
pub struct OrderContext {
    pub reseller_id: String,
    pub key_id: String,
    /// Daily spend caps this order is held to (checked inside the transaction).
    pub limits: SpendLimits,
}

/// What the order path needs besides the connection.
#[derive(Clone)]
pub struct OrderDeps {
    pub vault: Arc<Vault>,
    pub receipts: Arc<ReceiptSigner>,
    /// How long a supplier has to answer a direct top-up.
    pub topup_timeout_ms: i64,
    /// Card orders of more codes than this are delivered after the commit (see `bulk`).
    pub bulk_async_threshold: i64,
    /// `stock.low` when the stock covers fewer days than this (see `stock_low`).
    pub stock_low_days: f64,
}

pub struct Placed {
    pub order: Order,
    /// False when an earlier order with the same out_trade_no was returned.
    pub created: bool,
}

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

/// The parameters that make two requests "the same" for idempotency.
fn request_hash(req: &OrderRequest) -> String {
    let canonical = json!({
        "product_id": req.product_id,
        "quantity": req.quantity,
        "notify_url": req.notify_url,
        "topup": req.topup,
        "buyer": req.buyer,
    });
    sha256_hex(canonical.to_string().as_bytes())
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

fn find_by_trade_no(
    conn: &mut DbConn,
    reseller_id: &str,
    out_trade_no: &str,
) -> Result<Option<OrderRow>> {
    Ok(orders::table
        .filter(orders::reseller_id.eq(reseller_id))
        .filter(orders::out_trade_no.eq(out_trade_no))
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?)
}

/// The earlier order for this out_trade_no, if the parameters match; a conflict if not.
fn replay(conn: &mut DbConn, vault: &Vault, existing: OrderRow, hash: &str) -> Result<Placed> {
    if existing.request_hash != hash {
        return Err(Error::IdempotencyConflict);
    }
    let order = with_cards(conn, vault, existing)?;
    Ok(Placed {
        order,
        created: false,
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
    super::compliance::check_sellable(conn, &product, crate::time::now_ms())?;
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
    let bulk = super::bulk::is_bulk(direct, req.quantity, deps.bulk_async_threshold);
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

    super::analytics::record_sale(
        conn,
        &super::analytics::Sale {
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
        super::stock_low::on_order(conn, &product, req.quantity, deps.stock_low_days)?;
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
        super::stock_low::on_order(conn, &product, req.quantity, deps.stock_low_days)?;
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

/// Makes concurrent requests with one (reseller, out_trade_no) wait for each other, so the
/// later ones find the first one's order instead of claiming cards they would then release.
/// SQLite's single writer already does this; on PostgreSQL a transaction-scoped advisory lock.
fn serialize_trade_no(conn: &mut DbConn, reseller_id: &str, out_trade_no: &str) -> Result<()> {
    if let DbConn::Pg(c) = conn {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{reseller_id}\n{out_trade_no}").as_bytes());
        let key = i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(c)?;
    }
    Ok(())
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

/// Runs [`place`] in its own transaction; a lost idempotency race returns the winner's order.
pub fn place_order(
    db: &Db,
    deps: OrderDeps,
    ctx: OrderContext,
    req: OrderRequest,
) -> Result<Placed> {
    let (vault, reseller_id) = (deps.vault.clone(), ctx.reseller_id.clone());
    let (out_trade_no, hash) = (req.out_trade_no.clone(), request_hash(&req));
    match db.write(move |conn| place(conn, &deps, &ctx, &req)) {
        Err(Error::RaceLost) => {
            db.read(|conn| winner(conn, &vault, &reseller_id, &out_trade_no, &hash))
        }
        other => other,
    }
}

/// [`place_order`] for async callers: on SQLite the request waits for its group commit without
/// holding a thread.
pub async fn place_order_async(
    db: &Db,
    deps: OrderDeps,
    ctx: OrderContext,
    req: OrderRequest,
) -> Result<Placed> {
    let (vault, reseller_id) = (deps.vault.clone(), ctx.reseller_id.clone());
    let (out_trade_no, hash) = (req.out_trade_no.clone(), request_hash(&req));
    match db
        .write_async(move |conn| place(conn, &deps, &ctx, &req))
        .await
    {
        Err(Error::RaceLost) => {
            db.read_async(move |conn| winner(conn, &vault, &reseller_id, &out_trade_no, &hash))
                .await
        }
        other => other,
    }
}

/// The order that won an idempotency race, replayed to the loser.
fn winner(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    out_trade_no: &str,
    hash: &str,
) -> Result<Placed> {
    let existing = find_by_trade_no(conn, reseller_id, out_trade_no)?
        .ok_or_else(|| Error::internal("idempotency race without a winner"))?;
    replay(conn, vault, existing, hash)
}

pub fn load(conn: &mut DbConn, id: &str) -> Result<OrderRow> {
    orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("order"))
}

pub fn with_cards(conn: &mut DbConn, vault: &Vault, row: OrderRow) -> Result<Order> {
    let sealed = inventory::order_cards(conn, &row.id)?;
    let cards = sealed
        .iter()
        .map(|c| inventory::unseal(vault, c))
        .collect::<Result<Vec<_>>>()?;
    Ok(row.view(Some(cards)))
}

/// A reseller's own order with its codes; another reseller's order is "not found".
pub fn get_for_reseller(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    id: &str,
) -> Result<Order> {
    let row = load(conn, id)?;
    if row.reseller_id != reseller_id {
        return Err(Error::NotFound("order"));
    }
    with_cards(conn, vault, row)
}

#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub reseller_id: Option<String>,
    pub out_trade_no: Option<String>,
    pub status: Option<String>,
    pub product_id: Option<String>,
    /// Cursor: orders older than this id.
    pub before: Option<String>,
    pub limit: i64,
}

/// Orders newest first, at most `limit + 1` rows (the extra one signals a next page).
pub fn list(conn: &mut DbConn, f: &OrderFilter) -> Result<Vec<OrderRow>> {
    let mut q = orders::table.select(OrderRow::as_select()).into_boxed();
    if let Some(r) = &f.reseller_id {
        q = q.filter(orders::reseller_id.eq(r.clone()));
    }
    if let Some(t) = &f.out_trade_no {
        q = q.filter(orders::out_trade_no.eq(t.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(orders::status.eq(s.clone()));
    }
    if let Some(p) = &f.product_id {
        q = q.filter(orders::product_id.eq(p.clone()));
    }
    if let Some(b) = &f.before {
        q = q.filter(orders::id.lt(b.clone()));
    }
    Ok(q.order(orders::id.desc()).limit(f.limit + 1).load(conn)?)
}
