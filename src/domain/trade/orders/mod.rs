//! Orders: what a reseller bought, as stored and as shown. Placing one is the transaction in
//! [`place`]; this module holds the types and the read side.

/// The buyer's columns as `place::load_buyer` reads them (`place::BuyerRow`) from reseller
/// `r`, for the product `$product` (SQL); also a PostgreSQL set's (`batch`), for all its buyers.
macro_rules! buyer_columns {
    ($product:literal) => {
        concat!(
            "r.balance, r.notify_url, r.currency, r.parent_id IS NULL, \
             COALESCE((SELECT CAST(l.discount_bps AS BIGINT) FROM levels l \
             WHERE l.name = r.level), 0), \
             (SELECT p.price FROM reseller_prices p WHERE p.reseller_id = r.id AND p.product_id = ",
            $product,
            ")"
        )
    };
}

mod batch;
mod idempotency;
pub mod integrity;
mod jit;
mod pieces;
mod place;
mod receipt_signing;
mod record;
mod set_write;
mod sub_reseller;

pub use jit::resume_due as resume_jit_orders;
pub use place::{place, place_order};
// The order's own checks, shared with sandbox orders (`trade::sandbox`).
pub(crate) use idempotency::request_hash;
pub(crate) use place::{check_fields_and_quantity, load_sellable, topup_fields, validate_request};
pub use record::{announce_delivery, callback_url};
pub use sub_reseller::{child_orders, SubResellerOrder};

use crate::domain::accounts::keys::nonces::NonceClaim;
/// Stored in `orders.status`; declared with the other shared states (see `domain::states`).
pub use crate::domain::states::OrderStatus;

use std::sync::Arc;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::Vault;
use crate::db::schema::orders;
use crate::db::DbConn;
use crate::domain::money::limits::SpendLimits;
use crate::domain::money::receipts::ReceiptSigner;
use crate::domain::trade::claims::{self, ClaimLink, DeliveryMode, Recipient};
use crate::domain::trade::inventory::{self, DeliveredCard};
use crate::error::{Error, Result};
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
#[schema(example = json!({
    "product_id": "prd_01a2b3c4", "quantity": 1, "out_trade_no": "SHOP-1001",
    "notify_url": "https://shop.example.com/kameng/callback", "buyer": {"id": "customer-42", "region": "CN"}
}))]
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
    /// `codes` (default): the codes in the response. `claim_links` (card products): one gift
    /// link per card instead, in `claims`; whoever holds a link redeems its code once.
    #[serde(default)]
    pub delivery_mode: DeliveryMode,
    /// Days the gift links stay redeemable (1..365, default 30); then each unclaimed card
    /// goes back to stock and its price back to the buyer. `claim_links` only.
    pub claim_ttl_days: Option<i64>,
    /// One gift link per recipient, in order (`claim_links` only; 1..10,000, and `quantity`
    /// must equal their count).
    pub recipients: Option<Vec<Recipient>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "ord_01a2b3c4", "reseller_id": "rsl_01a2b3c4", "out_trade_no": "SHOP-1001",
    "product_id": "prd_01a2b3c4", "quantity": 1, "unit_price": 4850, "amount": 4850, "currency": "CNY",
    "status": "delivered", "cards": [{"code": "STEAM-7F3K-9QX2-L8PA", "secret": "4821", "expires_at": null}],
    "created_at": "2026-12-01T08:00:00Z", "completed_at": "2026-12-01T08:00:00Z",
    "receipt": "eyJhbGciOiJFZERTQSIsImtpZCI6InJjcHQtMSJ9.eyJpc3MiOiJrYW1lbmcifQ.c2lnbmF0dXJl"
}))]
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
    // The text of an `OrderStatus`: API clients (tests among them) hold it as a `String`.
    pub status: String,
    /// The supplier's message on a finished direct top-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_message: Option<String>,
    /// The delivered codes (card products; omitted in lists and for gift-link orders).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cards: Option<Vec<DeliveredCard>>,
    /// A gift-link order's links, one per card (omitted in lists; page them with
    /// `GET /v1/orders/{id}/claims`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimLink>>,
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
    /// True on an order placed with a sandbox key (absent on live orders).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
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
    pub status: OrderStatus,
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
    /// Placed with a key that has a daily spend cap: only such orders are in the index the
    /// cap's check reads (`orders_key_capped`). A key's cap is set when it is made, for good.
    pub key_capped: bool,
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
            status: self.status.to_string(),
            result_message: self.result_message.clone(),
            cards,
            claims: None,
            topup: self
                .topup
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
            buyer,
            created_at: rfc3339(self.created_at),
            completed_at: self.completed_at.map(rfc3339),
            receipt: self.receipt.clone(),
            sandbox: false,
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
    /// The request's nonce, when the order's transaction is to record it (PostgreSQL; see
    /// `auth::nonces::NonceClaim`).
    pub nonce: Option<NonceClaim>,
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
    /// Asking just-in-time suppliers for codes (see `jit`); none: such products sell only
    /// pushed codes.
    pub jit: Option<crate::domain::trade::fulfilment::JitDeps>,
}

pub struct Placed {
    pub order: Order,
    /// False when an earlier order with the same out_trade_no was returned.
    pub created: bool,
    /// The commit enqueued an event with somewhere to go: the handler wakes the delivery
    /// worker. False for an order nobody is called back about, so the hot path does not make
    /// the worker poll (a transaction of its own) after every order.
    pub announced: bool,
}

pub fn load(conn: &mut DbConn, id: &str) -> Result<OrderRow> {
    orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("order"))
}

/// The order as its buyer sees it: with its codes, or a gift-link order with its links.
pub fn with_cards(conn: &mut DbConn, vault: &Vault, row: OrderRow) -> Result<Order> {
    if let Some(links) = claims::for_order(conn, vault, &row.id)? {
        let mut order = row.view(None);
        order.claims = Some(links);
        return Ok(order);
    }
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
