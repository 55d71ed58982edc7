//! What a placed order writes besides the ledger: its row and the events it announces.

use diesel::prelude::*;
use serde_json::json;

use super::{OrderRow, OrderStatus};
use crate::db::schema::{resellers, suppliers};
use crate::db::stmt::{execute_rows, Arg, Shape, ROW_CHUNKS};
use crate::db::DbConn;
use crate::domain::trade::catalog::ProductRow;
use crate::error::Result;
use crate::events::outbox::{self, NewEvent};
use crate::time::rfc3339;

/// `order.delivered` to the reseller's callback; a bulk order's event points at its codes'
/// pages (`cards_url`) instead of carrying them.
pub fn announce_delivery(conn: &mut DbConn, row: &OrderRow, bulk: bool) -> Result<()> {
    outbox::enqueue(conn, delivered_event(row, bulk))?;
    Ok(())
}

/// The `order.delivered` event of `row` (see [`announce_delivery`]).
pub(super) fn delivered_event(row: &OrderRow, bulk: bool) -> NewEvent<'_> {
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
    NewEvent {
        event_type: "order.delivered",
        owner_kind: "reseller",
        owner_id: &row.reseller_id,
        url: row.notify_url.as_deref(),
        data,
    }
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
    insert_many(conn, &[o])
}

/// Inserts new order rows with one multi-row INSERT (a SQLite batch's orders).
pub(super) fn insert_many(conn: &mut DbConn, rows: &[&OrderRow]) -> diesel::QueryResult<usize> {
    let args: Vec<[Arg<'_>; 23]> = rows.iter().map(|o| order_args(o, &o.receipt)).collect();
    execute_rows(conn, &ROW_CHUNKS, ORDERS_INSERT, &args)
}

/// The row of [`ORDERS_INSERT`] for `o`, signed with `receipt` (an order set's receipts are
/// signed while its other rows are written).
pub(super) fn order_args<'a>(o: &'a OrderRow, receipt: &'a str) -> [Arg<'a>; 23] {
    [
        o.id.as_str().into(),
        o.reseller_id.as_str().into(),
        o.key_id.as_str().into(),
        o.out_trade_no.as_str().into(),
        o.product_id.as_str().into(),
        o.supplier_id.as_str().into(),
        o.quantity.into(),
        o.unit_price.into(),
        o.amount.into(),
        o.cost_amount.into(),
        o.currency.as_str().into(),
        o.status.as_str().into(),
        o.request_hash.as_str().into(),
        o.notify_url.as_deref().into(),
        o.topup.as_deref().into(),
        o.buyer_id.as_deref().into(),
        o.buyer_region.as_deref().into(),
        receipt.into(),
        o.ledger_seq.into(),
        o.created_at.into(),
        o.completed_at.into(),
        o.deadline_at.into(),
        o.key_capped.into(),
    ]
}

/// Inserts order rows, one a row ([`order_args`]).
pub(super) const ORDERS_INSERT: Shape = (
    "INSERT INTO orders (id, reseller_id, key_id, out_trade_no, product_id, supplier_id, \
     quantity, unit_price, amount, cost_amount, currency, status, request_hash, notify_url, \
     topup, buyer_id, buyer_region, receipt, ledger_seq, created_at, completed_at, \
     deadline_at, key_capped) VALUES ",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "",
);

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
