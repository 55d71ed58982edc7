//! Enterprise bulk buying: card orders of more codes than `KAMENG_BULK_ASYNC_THRESHOLD`.
//!
//! Such an order claims its cards inside the order transaction exactly like a small one — one
//! atomic claim, so nothing can oversell — and commits as `processing` (202) without unsealing
//! the codes, so the writer is not held decrypting thousands of them and the response stays
//! small. Right after the commit (and, should the server stop in between, from the background
//! sweep) [`deliver`] unseals the codes on a read connection, signs the receipt with a digest
//! over the ordered code hashes (see `ReceiptClaims`), then in a short write flips the order to
//! `delivered` and enqueues `order.delivered`. The flip is conditional, so two finishers racing
//! deliver once. The buyer pages the codes from `GET /v1/orders/{id}/cards`.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::crypto::Vault;
use crate::db::schema::{cards, orders as orders_t};
use crate::db::{Db, DbConn};
use crate::domain::money::receipts::{codes_digest, ReceiptClaims, ReceiptSigner, ISSUER};
use crate::domain::trade::inventory::{self, DeliveredCard};
use crate::domain::trade::orders::{self, OrderRow, OrderStatus};
use crate::error::{Error, Result};

/// True when a card order of `quantity` codes is delivered asynchronously.
pub fn is_bulk(direct: bool, quantity: i64, threshold: i64) -> bool {
    !direct && threshold > 0 && quantity > threshold
}

/// A bulk card order still to be delivered: processing without a top-up deadline.
fn awaiting_delivery(row: &OrderRow) -> bool {
    row.status == OrderStatus::Processing && row.deadline_at.is_none()
}

/// Unseals the order's codes and signs its receipt; `None` when it is not awaiting delivery.
fn sign_receipt(
    conn: &mut DbConn,
    vault: &Vault,
    signer: &ReceiptSigner,
    order_id: &str,
) -> Result<Option<String>> {
    let row = orders::load(conn, order_id)?;
    if !awaiting_delivery(&row) {
        return Ok(None);
    }
    let sealed = inventory::order_cards(conn, order_id)?;
    if sealed.len() as i64 != row.quantity {
        return Err(Error::internal(format!(
            "bulk order {order_id} holds {} cards for {} ordered",
            sealed.len(),
            row.quantity
        )));
    }
    let codes = sealed
        .iter()
        .map(|c| vault.decrypt_string(&c.code_enc))
        .collect::<Result<Vec<String>>>()?;
    let receipt = signer.sign(&ReceiptClaims {
        iss: ISSUER.into(),
        sub: row.id.clone(),
        reseller_id: row.reseller_id.clone(),
        product_id: row.product_id.clone(),
        quantity: row.quantity,
        amount: row.amount,
        currency: row.currency.clone(),
        iat: crate::time::now_secs(),
        codes: Vec::new(),
        codes_digest: Some(codes_digest(codes.iter().map(String::as_str))),
    })?;
    Ok(Some(receipt))
}

/// Flips the order to `delivered` with its receipt and enqueues `order.delivered`, once.
fn mark_delivered(conn: &mut DbConn, order_id: &str, receipt: &str) -> Result<bool> {
    let now = crate::time::now_ms();
    let changed = diesel::update(
        orders_t::table
            .filter(orders_t::id.eq(order_id))
            .filter(orders_t::status.eq(OrderStatus::Processing))
            .filter(orders_t::deadline_at.is_null()),
    )
    .set((
        orders_t::status.eq(OrderStatus::Delivered),
        orders_t::completed_at.eq(now),
        orders_t::receipt.eq(receipt),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    let row = orders::load(conn, order_id)?;
    orders::announce_delivery(conn, &row, true)?;
    Ok(true)
}

/// Delivers one bulk order; true when this call delivered it (so an event is waiting).
/// Blocking: call from a blocking thread.
pub fn deliver(db: &Db, vault: &Vault, signer: &ReceiptSigner, order_id: &str) -> Result<bool> {
    match db.read(|c| sign_receipt(c, vault, signer, order_id))? {
        Some(receipt) => {
            let order_id = order_id.to_string();
            db.write(move |c| mark_delivered(c, &order_id, &receipt))
        }
        None => Ok(false),
    }
}

/// Delivers bulk orders left processing since before `created_before` (the post-commit step
/// did not run, e.g. the server stopped); returns how many it delivered.
pub fn deliver_stranded(
    db: &Db,
    vault: &Vault,
    signer: &ReceiptSigner,
    created_before: i64,
    limit: i64,
) -> Result<usize> {
    // The literal status lets both backends use the partial index `orders_processing`.
    let ids: Vec<String> = db.read(|c| {
        Ok(orders_t::table
            .filter(sql::<Bool>("status = 'processing'"))
            .filter(orders_t::deadline_at.is_null())
            .filter(orders_t::created_at.lt(created_before))
            .order(orders_t::created_at.asc())
            .limit(limit)
            .select(orders_t::id)
            .load(c)?)
    })?;
    let mut n = 0;
    for id in ids {
        if deliver(db, vault, signer, &id)? {
            n += 1;
        }
    }
    Ok(n)
}

/// A page of a reseller's own order's codes in delivery order, after the card `after` (cursor),
/// at most `limit + 1` (the extra one signals a next page). Another reseller's order is "not
/// found"; a bulk order still processing is a conflict (wait for `order.delivered`).
pub fn cards_page(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    order_id: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<(i64, DeliveredCard)>> {
    let row = orders::load(conn, order_id)?;
    if row.reseller_id != reseller_id {
        return Err(Error::NotFound("order"));
    }
    if awaiting_delivery(&row) {
        return Err(Error::Conflict(
            "this order is still being delivered; its codes follow with order.delivered".into(),
        ));
    }
    if crate::domain::trade::claims::is_claim_order(conn, order_id)? {
        return Err(Error::Conflict(
            "this order was delivered as gift links; a code is shown only to who redeems it".into(),
        ));
    }
    let mut q = cards::table
        .filter(cards::order_id.eq(order_id))
        .order(cards::id.asc())
        .limit(limit + 1)
        .select((
            cards::id,
            cards::code_enc,
            cards::secret_enc,
            cards::expires_at,
        ))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(cards::id.gt(a));
    }
    q.load::<inventory::SealedCard>(conn)?
        .iter()
        .map(|c| Ok((c.id, inventory::unseal(vault, c)?)))
        .collect()
}
