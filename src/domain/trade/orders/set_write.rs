//! An order set's writes, once its orders are planned (`batch`): nonces, cards, balances,
//! records and their lines, sales, events and the order rows, one multi-row write per table
//! (`db::writes`: on PostgreSQL all of them in one round trip), while the receipts are signed.

use std::sync::Arc;

use super::receipt_signing;
use super::record::{delivered_event, order_args, ORDERS_INSERT};
use super::{OrderRow, Placed};
use crate::db::stmt::Shape;
use crate::db::writes::Writes;
use crate::db::DbConn;
use crate::domain::accounts::keys::nonces::{self, NonceClaim};
use crate::domain::money::chain::{self, Numbered};
use crate::domain::money::receipts::{ReceiptClaims, ReceiptSigner};
use crate::domain::trade::inventory::{self, stock_low};
use crate::domain::trade::pending;
use crate::domain::trade::sales_rollup::Sale;
use crate::error::{race_on_unique, Error, Result};
use crate::events::outbox::{self, NewEvent};

/// An order that passed its checks, ready to write once its receipt is signed.
pub(super) struct Planned {
    pub row: OrderRow,
    pub card_ids: Vec<i64>,
    pub record: Numbered,
    pub placed: Placed,
}

/// What signs a planned order's receipt, and what it signs.
pub(super) type Signing = (Arc<ReceiptSigner>, ReceiptClaims);

/// What the set's planned orders took, besides their own rows.
pub(super) struct Taken<'s> {
    pub now: i64,
    /// Each moved balance, as the planned orders left it.
    pub balances: Vec<(&'s str, i64)>,
    pub stock_low_days: f64,
}

/// Numbers the planned orders' records and writes everything the orders took, their request
/// nonces (`claims`) and their rows; returns their receipts, in order. The receipts are signed
/// meanwhile, shared with a helper thread (`receipt_signing`): on SQLite while the writes run,
/// on PostgreSQL while the records are numbered (the one round trip before the writes').
///
/// On SQLite the sales go straight to the counters (a pending row would be folded before this
/// batch commits); on PostgreSQL they go in as pending rows, for the settler to fold, so that
/// no set writes a row every buyer shares.
///
/// Fails, leaving the caller to roll back, when a nonce was used before or twice in the set
/// (a replay: every order then runs alone, where the replay fails by itself), when an
/// `out_trade_no` was committed before or by another set (`RaceLost`; the repeat then gets the
/// first order), or when signing failed.
pub(super) fn write(
    conn: &mut DbConn,
    claims: &[&NonceClaim],
    planned: &mut [(usize, Planned)],
    to_sign: Vec<Signing>,
    taken: &Taken<'_>,
) -> Result<Vec<String>> {
    let receipts = receipt_signing::begin(to_sign);
    let seqs = chain::take_seqs(conn, planned.len())?;
    for ((_, p), seq) in planned.iter_mut().zip(seqs) {
        p.record.seq = seq;
        p.row.ledger_seq = seq;
    }
    let planned = &*planned;
    let events: Vec<NewEvent<'_>> = planned
        .iter()
        .map(|(_, p)| delivered_event(&p.row, false))
        .collect();
    let events = outbox::Stamped::new(&events);
    let mut writes = Writes::new(conn);
    let nonce_rows = nonces::claim_rows(claims).ok_or(Error::Replayed)?;
    let new_nonces = writes.rows(conn, nonces::NEW_CLAIMS, &nonce_rows)?;
    let cards: Vec<(i64, &str)> = planned
        .iter()
        .flat_map(|(_, p)| p.card_ids.iter().map(|id| (*id, p.row.id.as_str())))
        .collect();
    let sold = writes.rows(
        conn,
        inventory::MARK_SOLD,
        &inventory::sold_rows(&cards, taken.now),
    )?;
    let balances: Vec<[_; 2]> = taken
        .balances
        .iter()
        .map(|(id, balance)| [(*id).into(), (*balance).into()])
        .collect();
    writes.rows(conn, BALANCES_UPDATE, &balances)?;
    let records: Vec<&Numbered> = planned.iter().map(|(_, p)| &p.record).collect();
    chain::append_numbered(conn, &mut writes, &records)?;
    let sales: Vec<(Sale<'_>, i64)> = planned
        .iter()
        .map(|(_, p)| (Sale::from(&p.row), p.row.quantity))
        .collect();
    if conn.is_postgres() {
        pending::record_sales(conn, &mut writes, &sales)?;
    } else if !sales.is_empty() {
        for stock in pending::apply_sales(conn, &sales)? {
            stock_low::on_stock_taken(conn, &stock, taken.stock_low_days)?;
        }
    }
    writes.rows(conn, outbox::EVENTS_INSERT, &events.rows())?;
    let receipts = receipts.finish()?;
    let orders: Vec<_> = planned
        .iter()
        .zip(&receipts)
        .map(|((_, p), receipt)| order_args(&p.row, receipt))
        .collect();
    writes
        .rows(conn, ORDERS_INSERT, &orders)
        .map_err(race_on_unique)?;
    let counts = writes.finish(conn).map_err(race_on_unique)?;
    if counts[new_nonces] != nonce_rows.len() {
        return Err(Error::Replayed);
    }
    if counts[sold] != cards.len() {
        return Err(Error::internal("a picked card was no longer available"));
    }
    Ok(receipts)
}

/// Sets each moved balance, one row a reseller.
const BALANCES_UPDATE: Shape = (
    "UPDATE resellers SET balance = v.column2 FROM (VALUES ",
    "(?, ?)",
    ") AS v WHERE resellers.id = v.column1",
);
