//! Sandbox orders: the live order's checks and answers (validation, idempotency on
//! `out_trade_no`, product rules, price, balance), over the sandbox tables only.

use std::sync::Arc;

use diesel::prelude::*;
use serde_json::json;

use super::catalog::{currency_of, trigger_product};
use super::{synthetic_code, Trigger, RECEIPT_ISSUER, START_BALANCE, TOPUP_DEADLINE_MS};
use crate::crypto::sha256_hex;
use crate::db::schema::{resellers, sandbox_accounts, sandbox_attempts, sandbox_orders};
use crate::db::{Db, DbConn};
use crate::domain::money::receipts::{ReceiptClaims, ReceiptSigner};
use crate::domain::trade::catalog::Delivery;
use crate::domain::trade::inventory::DeliveredCard;
use crate::domain::trade::orders::{
    check_fields_and_quantity, load_sellable, request_hash, topup_fields, validate_request, Order,
    OrderContext, OrderRequest, OrderStatus, Placed,
};
use crate::domain::trade::pricing::quote::quote;
use crate::error::{is_unique_violation, Error, Result};
use crate::events::outbox::{self, NewEvent};
use crate::time::rfc3339;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_orders)]
pub struct SandboxOrderRow {
    pub id: String,
    pub reseller_id: String,
    pub key_id: String,
    pub out_trade_no: String,
    pub product_id: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub amount: i64,
    pub currency: String,
    pub status: OrderStatus,
    pub request_hash: String,
    pub notify_url: Option<String>,
    pub topup: Option<String>,
    /// The synthetic codes, as a JSON array of `DeliveredCard`.
    pub cards: Option<String>,
    pub receipt: String,
    pub created_at: i64,
    pub completed_at: Option<i64>,
    pub deadline_at: Option<i64>,
    pub result_message: Option<String>,
}

impl SandboxOrderRow {
    /// The order as the API shows it; `with_cards` for a single order (lists omit codes).
    pub fn view(&self, with_cards: bool) -> Order {
        let cards = self
            .cards
            .as_deref()
            .filter(|_| with_cards)
            .and_then(|c| serde_json::from_str::<Vec<DeliveredCard>>(c).ok());
        Order {
            id: self.id.clone(),
            reseller_id: self.reseller_id.clone(),
            out_trade_no: self.out_trade_no.clone(),
            product_id: self.product_id.clone(),
            quantity: self.quantity,
            unit_price: self.unit_price,
            amount: self.amount,
            currency: self.currency.clone(),
            status: self.status.to_string(),
            result_message: self.result_message.clone(),
            cards,
            topup: self
                .topup
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
            buyer: None,
            created_at: rfc3339(self.created_at),
            completed_at: self.completed_at.map(rfc3339),
            receipt: self.receipt.clone(),
            sandbox: true,
            claims: None,
        }
    }

    /// The data of this order's callbacks: a live event's fields plus `"sandbox": true`.
    pub fn event_data(&self) -> serde_json::Value {
        json!({
            "order_id": self.id,
            "out_trade_no": self.out_trade_no,
            "product_id": self.product_id,
            "quantity": self.quantity,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "sandbox": true,
        })
    }
}

/// What is being bought: a trigger or a live product, as the sandbox sells it.
struct Item {
    trigger: Option<Trigger>,
    sku: String,
    unit_price: i64,
    currency: String,
    delivery: Delivery,
    topup: Option<serde_json::Map<String, serde_json::Value>>,
}

fn resolve(conn: &mut DbConn, reseller_id: &str, req: &OrderRequest) -> Result<Item> {
    let currency = currency_of(conn, reseller_id)?;
    if let Some(t) = Trigger::named(&req.product_id) {
        let p = trigger_product(t, &currency);
        let topup = check_fields_and_quantity(
            t.delivery(),
            &p.topup_fields,
            (p.min_quantity, p.max_quantity),
            req,
        )?;
        return Ok(Item {
            trigger: Some(t),
            sku: p.sku,
            unit_price: p.price,
            currency,
            delivery: t.delivery(),
            topup,
        });
    }
    // The live order's product rules (on sale, licensed), so the sandbox refuses what live
    // would.
    let product = load_sellable(conn, req)?;
    let topup = topup_fields(&product, req)?;
    if currency != product.currency {
        return Err(Error::ProductUnavailable(format!(
            "this product is sold in {}",
            product.currency
        )));
    }
    let q = quote(conn, reseller_id, &product, req.quantity)?;
    Ok(Item {
        trigger: None,
        sku: product.sku.clone(),
        unit_price: q.unit_price,
        currency,
        delivery: product.delivery,
        topup,
    })
}

fn find(
    conn: &mut DbConn,
    reseller_id: &str,
    out_trade_no: &str,
) -> Result<Option<SandboxOrderRow>> {
    Ok(sandbox_orders::table
        .filter(sandbox_orders::reseller_id.eq(reseller_id))
        .filter(sandbox_orders::out_trade_no.eq(out_trade_no))
        .select(SandboxOrderRow::as_select())
        .first(conn)
        .optional()?)
}

/// The sandbox balance: [`START_BALANCE`] until first used (a read; nothing is created).
pub fn balance(conn: &mut DbConn, reseller_id: &str) -> Result<i64> {
    Ok(sandbox_accounts::table
        .find(reseller_id)
        .select(sandbox_accounts::balance)
        .first(conn)
        .optional()?
        .unwrap_or(START_BALANCE))
}

/// Creates the sandbox account at [`START_BALANCE`] if it has none yet.
fn ensure_account(conn: &mut DbConn, reseller_id: &str, now: i64) -> Result<()> {
    let exists: i64 = sandbox_accounts::table
        .filter(sandbox_accounts::reseller_id.eq(reseller_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(sandbox_accounts::table)
            .values((
                sandbox_accounts::reseller_id.eq(reseller_id),
                sandbox_accounts::balance.eq(START_BALANCE),
                sandbox_accounts::reset_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Moves the sandbox balance by `delta`; a debit below zero is `insufficient_balance`.
pub(super) fn adjust(conn: &mut DbConn, reseller_id: &str, delta: i64, now: i64) -> Result<()> {
    ensure_account(conn, reseller_id, now)?;
    let changed = diesel::update(
        sandbox_accounts::table
            .filter(sandbox_accounts::reseller_id.eq(reseller_id))
            .filter(sandbox_accounts::balance.ge(-delta)),
    )
    .set(sandbox_accounts::balance.eq(sandbox_accounts::balance + delta))
    .execute(conn)?;
    if changed == 0 {
        return Err(Error::InsufficientBalance);
    }
    Ok(())
}

/// Places a sandbox order inside the caller's transaction.
pub fn place(
    conn: &mut DbConn,
    signer: &ReceiptSigner,
    ctx: &OrderContext,
    req: &OrderRequest,
    now: i64,
) -> Result<Placed> {
    validate_request(req)?;
    let hash = request_hash(req);
    if let Some(existing) = find(conn, &ctx.reseller_id, &req.out_trade_no)? {
        if existing.request_hash != hash {
            return Err(Error::IdempotencyConflict);
        }
        return Ok(Placed {
            order: existing.view(true),
            created: false,
            announced: false,
        });
    }
    let item = resolve(conn, &ctx.reseller_id, req)?;
    if item.trigger == Some(Trigger::OutOfStock) {
        return Err(Error::OutOfStock);
    }
    let amount = item
        .unit_price
        .checked_mul(req.quantity)
        .ok_or_else(|| Error::invalid("quantity", "amount overflows"))?;
    adjust(conn, &ctx.reseller_id, -amount, now)?;

    let id = crate::ids::new_id("sbx");
    let direct = item.delivery == Delivery::Direct;
    let cards: Vec<DeliveredCard> = if direct {
        Vec::new()
    } else {
        (0..req.quantity)
            .map(|_| DeliveredCard {
                code: synthetic_code(),
                secret: None,
                expires_at: None,
            })
            .collect()
    };
    let receipt = signer.sign(&ReceiptClaims {
        iss: RECEIPT_ISSUER.into(),
        sub: id.clone(),
        reseller_id: ctx.reseller_id.clone(),
        product_id: req.product_id.clone(),
        quantity: req.quantity,
        amount,
        currency: item.currency.clone(),
        iat: now / 1000,
        codes: cards
            .iter()
            .map(|c| sha256_hex(c.code.as_bytes()))
            .collect(),
        codes_digest: None,
    })?;
    let notify_url = match &req.notify_url {
        Some(u) => Some(u.clone()),
        None => resellers::table
            .find(&ctx.reseller_id)
            .select(resellers::notify_url)
            .first::<Option<String>>(conn)?,
    };
    let row = SandboxOrderRow {
        id,
        reseller_id: ctx.reseller_id.clone(),
        key_id: ctx.key_id.clone(),
        out_trade_no: req.out_trade_no.clone(),
        product_id: req.product_id.clone(),
        sku: item.sku,
        quantity: req.quantity,
        unit_price: item.unit_price,
        amount,
        currency: item.currency,
        status: if direct {
            OrderStatus::Processing
        } else {
            OrderStatus::Delivered
        },
        request_hash: hash,
        notify_url,
        topup: item.topup.map(|t| serde_json::Value::Object(t).to_string()),
        cards: (!direct).then(|| json!(cards).to_string()),
        receipt,
        created_at: now,
        completed_at: (!direct).then_some(now),
        deadline_at: direct.then_some(now + TOPUP_DEADLINE_MS),
        result_message: None,
    };
    insert(conn, &row)?;
    if !direct {
        announce(conn, &row, "order.delivered", row.event_data())?;
    }
    Ok(Placed {
        order: row.view(true),
        created: true,
        announced: true,
    })
}

fn insert(conn: &mut DbConn, o: &SandboxOrderRow) -> Result<()> {
    let inserted = diesel::insert_into(sandbox_orders::table)
        .values((
            sandbox_orders::id.eq(&o.id),
            sandbox_orders::reseller_id.eq(&o.reseller_id),
            sandbox_orders::key_id.eq(&o.key_id),
            sandbox_orders::out_trade_no.eq(&o.out_trade_no),
            sandbox_orders::product_id.eq(&o.product_id),
            sandbox_orders::sku.eq(&o.sku),
            sandbox_orders::quantity.eq(o.quantity),
            sandbox_orders::unit_price.eq(o.unit_price),
            sandbox_orders::amount.eq(o.amount),
            sandbox_orders::currency.eq(&o.currency),
            sandbox_orders::status.eq(&o.status),
            sandbox_orders::request_hash.eq(&o.request_hash),
            sandbox_orders::notify_url.eq(&o.notify_url),
            sandbox_orders::topup.eq(&o.topup),
            sandbox_orders::cards.eq(&o.cards),
            sandbox_orders::receipt.eq(&o.receipt),
            sandbox_orders::created_at.eq(o.created_at),
            sandbox_orders::completed_at.eq(o.completed_at),
            sandbox_orders::deadline_at.eq(o.deadline_at),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(()),
        // A concurrent request with the same out_trade_no committed first (PostgreSQL).
        Err(e) if is_unique_violation(&e) => Err(Error::RaceLost),
        Err(e) => Err(e.into()),
    }
}

/// A callback about a sandbox order, through the live outbox (signed and retried alike).
pub(super) fn announce(
    conn: &mut DbConn,
    row: &SandboxOrderRow,
    event_type: &str,
    data: serde_json::Value,
) -> Result<()> {
    outbox::enqueue(
        conn,
        NewEvent {
            event_type,
            owner_kind: "reseller",
            owner_id: &row.reseller_id,
            url: row.notify_url.as_deref(),
            data,
        },
    )?;
    Ok(())
}

/// For `SANDBOX-UNAVAILABLE`: true the first time an `out_trade_no` is tried (recorded in its
/// own transaction, since the 503 that follows rolls nothing back), false once it has been
/// tried or has an order.
pub fn first_attempt(
    conn: &mut DbConn,
    reseller_id: &str,
    out_trade_no: &str,
    now: i64,
) -> Result<bool> {
    if find(conn, reseller_id, out_trade_no)?.is_some() {
        return Ok(false);
    }
    let tried: i64 = sandbox_attempts::table
        .filter(sandbox_attempts::reseller_id.eq(reseller_id))
        .filter(sandbox_attempts::out_trade_no.eq(out_trade_no))
        .count()
        .get_result(conn)?;
    if tried > 0 {
        return Ok(false);
    }
    match diesel::insert_into(sandbox_attempts::table)
        .values((
            sandbox_attempts::reseller_id.eq(reseller_id),
            sandbox_attempts::out_trade_no.eq(out_trade_no),
            sandbox_attempts::created_at.eq(now),
        ))
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Places a sandbox order: the trigger behaviours that need time or a transaction of their
/// own happen here, then [`place`] in one write.
pub async fn place_order(
    db: &Db,
    signer: Arc<ReceiptSigner>,
    ctx: OrderContext,
    req: OrderRequest,
) -> Result<Placed> {
    validate_request(&req)?;
    match Trigger::named(&req.product_id) {
        Some(Trigger::Slow) => {
            tokio::time::sleep(std::time::Duration::from_millis(super::SLOW_DELAY_MS)).await;
        }
        Some(Trigger::Unavailable) => {
            let (reseller, trade_no) = (ctx.reseller_id.clone(), req.out_trade_no.clone());
            let now = crate::time::now_ms();
            if db
                .write_async(move |c| first_attempt(c, &reseller, &trade_no, now))
                .await?
            {
                return Err(Error::Unavailable(
                    "sandbox trigger SANDBOX-UNAVAILABLE: the first attempt of this out_trade_no"
                        .into(),
                ));
            }
        }
        _ => {}
    }
    let (reseller, trade_no) = (ctx.reseller_id.clone(), req.out_trade_no.clone());
    let placed = db
        .write_async(move |c| place(c, &signer, &ctx, &req, crate::time::now_ms()))
        .await;
    match placed {
        // The concurrent winner's order is the answer (as for live orders).
        Err(Error::RaceLost) => {
            let row = db
                .read_async(move |c| find(c, &reseller, &trade_no))
                .await?
                .ok_or(Error::RaceLost)?;
            Ok(Placed {
                order: row.view(true),
                created: false,
                announced: false,
            })
        }
        other => other,
    }
}

/// One of this reseller's sandbox orders (another's, or a live one, is "not found").
pub fn get(conn: &mut DbConn, reseller_id: &str, id: &str) -> Result<Order> {
    sandbox_orders::table
        .find(id)
        .filter(sandbox_orders::reseller_id.eq(reseller_id))
        .select(SandboxOrderRow::as_select())
        .first(conn)
        .optional()?
        .map(|r| r.view(true))
        .ok_or(Error::NotFound("order"))
}

/// This reseller's sandbox orders, newest first, at most `limit + 1` (without codes).
pub fn list(
    conn: &mut DbConn,
    reseller_id: &str,
    out_trade_no: Option<&str>,
    status: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Order>> {
    let mut q = sandbox_orders::table
        .filter(sandbox_orders::reseller_id.eq(reseller_id.to_string()))
        .select(SandboxOrderRow::as_select())
        .into_boxed();
    if let Some(t) = out_trade_no {
        q = q.filter(sandbox_orders::out_trade_no.eq(t.to_string()));
    }
    if let Some(s) = status {
        q = q.filter(sandbox_orders::status.eq(s.to_string()));
    }
    if let Some(b) = before {
        q = q.filter(sandbox_orders::id.lt(b.to_string()));
    }
    Ok(q.order(sandbox_orders::id.desc())
        .limit(limit + 1)
        .load::<SandboxOrderRow>(conn)?
        .iter()
        .map(|r| r.view(false))
        .collect())
}

/// Restores the sandbox balance to [`START_BALANCE`] and forgets the sandbox orders (and the
/// `SANDBOX-UNAVAILABLE` attempts) of this reseller. Returns the balance.
pub fn reset(conn: &mut DbConn, reseller_id: &str, now: i64) -> Result<i64> {
    ensure_account(conn, reseller_id, now)?;
    diesel::update(sandbox_accounts::table.find(reseller_id))
        .set((
            sandbox_accounts::balance.eq(START_BALANCE),
            sandbox_accounts::reset_at.eq(now),
        ))
        .execute(conn)?;
    diesel::delete(sandbox_orders::table.filter(sandbox_orders::reseller_id.eq(reseller_id)))
        .execute(conn)?;
    diesel::delete(sandbox_attempts::table.filter(sandbox_attempts::reseller_id.eq(reseller_id)))
        .execute(conn)?;
    Ok(START_BALANCE)
}
