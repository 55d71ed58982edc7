//! Idempotency of `POST /v1/orders`: the reseller's `out_trade_no` names one order. A repeat
//! with the same parameters gets that order back; different parameters are a conflict.
//! Concurrent repeats: SQLite's single writer runs them one after the other, so the later ones
//! find the first one's order. On PostgreSQL they run side by side (no lock: an advisory lock
//! per order cost a round trip on every order); the unique index on (reseller, out_trade_no)
//! makes every one but the first fail at its order insert, roll back whatever it claimed, and
//! answer with the first one's order (`winner`).

use diesel::prelude::*;
use serde_json::json;

use super::{with_cards, OrderRequest, OrderRow, Placed};
use crate::crypto::{sha256_hex, Vault};
use crate::db::schema::orders;
use crate::db::DbConn;
use crate::domain::trade::claims::DeliveryMode;
use crate::error::{Error, Result};

/// The parameters that make two requests "the same" for idempotency.
pub(crate) fn request_hash(req: &OrderRequest) -> String {
    let mut canonical = json!({
        "product_id": req.product_id,
        "quantity": req.quantity,
        "notify_url": req.notify_url,
        "topup": req.topup,
        "buyer": req.buyer,
    });
    // Only gift-link orders add their fields, so a code order hashes as it always has.
    if req.delivery_mode == DeliveryMode::ClaimLinks {
        canonical["delivery_mode"] = json!(req.delivery_mode);
        canonical["claim_ttl_days"] = json!(req.claim_ttl_days);
        canonical["recipients"] = json!(req.recipients);
    }
    sha256_hex(canonical.to_string().as_bytes())
}

pub(super) fn find_by_trade_no(
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
pub(super) fn replay(
    conn: &mut DbConn,
    vault: &Vault,
    existing: OrderRow,
    hash: &str,
) -> Result<Placed> {
    if existing.request_hash != hash {
        return Err(Error::IdempotencyConflict);
    }
    let order = with_cards(conn, vault, existing)?;
    Ok(Placed {
        order,
        created: false,
        announced: false,
    })
}

/// The order that won an idempotency race, replayed to the loser.
pub(super) fn winner(
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
