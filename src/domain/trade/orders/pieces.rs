//! The pieces of a placed order that both ways of placing one build — one at a time
//! ([`super::place`]) or as a SQLite batch's set ([`super::batch`]): its row, its payment as a
//! ledger transaction, its receipt.

use serde_json::json;

use super::idempotency::request_hash;
use super::{OrderContext, OrderDeps, OrderRequest, OrderRow, OrderStatus};
use crate::crypto::sha256_hex;
use crate::domain::money::ledger::{Posting, Txn};
use crate::domain::money::receipts::{self, ReceiptClaims, ISSUER};
use crate::domain::trade::catalog::ProductRow;
use crate::domain::trade::inventory::DeliveredCard;
use crate::domain::trade::pricing::quote::Quote;

/// The row a placed order writes: `delivered_later` for a direct top-up or a bulk order
/// (`processing` until delivered), else delivered now.
#[allow(clippy::too_many_arguments)]
pub(super) fn order_row(
    (ctx, req, product): (&OrderContext, &OrderRequest, &ProductRow),
    order_id: String,
    quote: &Quote,
    account_notify_url: Option<String>,
    (receipt, ledger_seq, now): (String, i64, i64),
    topup: Option<String>,
    deadline_at: Option<i64>,
    delivered_later: bool,
) -> OrderRow {
    OrderRow {
        id: order_id,
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
        status: if delivered_later {
            OrderStatus::Processing
        } else {
            OrderStatus::Delivered
        },
        request_hash: request_hash(req),
        notify_url: req.notify_url.clone().or(account_notify_url),
        topup,
        buyer_id: req.buyer.as_ref().and_then(|b| b.id.clone()),
        buyer_region: req.buyer.as_ref().and_then(|b| b.region.clone()),
        receipt,
        ledger_seq,
        created_at: now,
        completed_at: (!delivered_later).then_some(now),
        deadline_at,
        result_message: None,
        key_capped: ctx.limits.key_daily.is_some(),
    }
}

/// The ledger action of an order's payment.
pub(super) const PURCHASE: &str = "order.purchase";

/// Who an order's payment is booked to: the ordering key.
pub(super) fn purchase_actor(ctx: &OrderContext) -> String {
    format!("key:{}", ctx.key_id)
}

/// An order's payment as a ledger transaction.
pub(super) fn purchase<'a>(
    actor: &'a str,
    product: &'a ProductRow,
    order_id: &'a str,
    quantity: i64,
    postings: Vec<Posting>,
) -> Txn<'a> {
    Txn {
        action: PURCHASE,
        actor,
        subject: order_id,
        currency: &product.currency,
        detail: json!({ "product_id": product.id, "quantity": quantity }),
        postings,
    }
}

/// What the delivery receipt signs: claims over the order and a hash of each delivered code;
/// over more codes than the bulk threshold (a large gift-link order), a digest of them
/// instead, as a bulk order's receipt has.
#[allow(clippy::too_many_arguments)]
pub(super) fn receipt_claims(
    deps: &OrderDeps,
    ctx: &OrderContext,
    product: &ProductRow,
    order_id: &str,
    quantity: i64,
    amount: i64,
    now: i64,
    delivered: &[DeliveredCard],
) -> ReceiptClaims {
    let (codes, codes_digest) = receipt_codes(deps, delivered);
    ReceiptClaims {
        iss: ISSUER.into(),
        sub: order_id.to_string(),
        reseller_id: ctx.reseller_id.clone(),
        product_id: product.id.clone(),
        quantity,
        amount,
        currency: product.currency.clone(),
        iat: now / 1000,
        codes,
        codes_digest,
    }
}

/// The receipt's `codes` or `codes_digest` (see [`receipt_claims`]).
fn receipt_codes(deps: &OrderDeps, delivered: &[DeliveredCard]) -> (Vec<String>, Option<String>) {
    let large = deps.bulk_async_threshold > 0 && delivered.len() as i64 > deps.bulk_async_threshold;
    if large {
        let digest = receipts::codes_digest(delivered.iter().map(|c| c.code.as_str()));
        (Vec::new(), Some(digest))
    } else {
        let hashes = delivered
            .iter()
            .map(|c| sha256_hex(c.code.as_bytes()))
            .collect();
        (hashes, None)
    }
}
