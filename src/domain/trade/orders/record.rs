//! What a placed order writes besides the ledger: its row and the events it announces.

use diesel::prelude::*;
use serde_json::json;

use super::{OrderRow, OrderStatus};
use crate::db::schema::{orders, resellers, suppliers};
use crate::db::DbConn;
use crate::domain::trade::catalog::ProductRow;
use crate::error::Result;
use crate::events::outbox::{self, NewEvent};
use crate::time::rfc3339;

/// `order.delivered` to the reseller's callback; a bulk order's event points at its codes'
/// pages (`cards_url`) instead of carrying them.
pub fn announce_delivery(conn: &mut DbConn, row: &OrderRow, bulk: bool) -> Result<()> {
    let mut data = json!({
        "order_id": row.id,
        "out_trade_no": row.out_trade_no,
        "product_id": row.product_id,
        "quantity": row.quantity,
        "amount": row.amount,
        "currency": row.currency,
        "status": OrderStatus::Delivered,
    });
    if bulk {
        data["cards_url"] = json!(format!("/v1/orders/{}/cards", row.id));
    }
    outbox::enqueue(
        conn,
        NewEvent {
            event_type: "order.delivered",
            owner_kind: "reseller",
            owner_id: &row.reseller_id,
            url: row.notify_url.as_deref(),
            data,
        },
    )?;
    Ok(())
}

/// Where the reseller's events about this order go: the order's URL, else the account's as it
/// is now (it may have been set since the order).
pub fn callback_url(conn: &mut DbConn, order: &OrderRow) -> Result<Option<String>> {
    if order.notify_url.is_some() {
        return Ok(order.notify_url.clone());
    }
    Ok(resellers::table
        .find(&order.reseller_id)
        .select(resellers::notify_url)
        .first(conn)?)
}

/// Inserts a new order row; the caller keeps the row it wrote instead of reading it back.
pub(super) fn insert(conn: &mut DbConn, o: &OrderRow) -> diesel::QueryResult<usize> {
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
pub(super) fn request_topup(
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
