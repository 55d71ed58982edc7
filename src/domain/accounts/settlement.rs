//! Supplier settlement: what the platform owes a supplier, and the payouts that settle it.
//!
//! The payable is the supplier's ledger account (`supplier:<id>`), nothing else: every order
//! credits it the cost, a refund's reversal charges it back, a payout debits it. No balance row
//! is kept — every order of every reseller would update it (issue 15) — so it is summed from the
//! lines over the `(account, id)` index when asked for.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{get, Supplier, MAX_CREDIT};
use crate::db::schema::{supplier_payouts, suppliers};
use crate::db::stmt::stmt;
use crate::db::DbConn;
use crate::domain::money::ledger::{self, LedgerAccount, Posting, Txn};
use crate::domain::money::statement::balance_through;
use crate::domain::validate;
use crate::error::{race_on_unique, Error, Result};
use crate::time::rfc3339;

/// The chained action of a payout; the payable's breakdown tells payouts apart by it.
pub const PAYOUT_ACTION: &str = "supplier.payout";

/// What a supplier is owed in one currency, and how it came about.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Payable {
    pub currency: String,
    /// `delivered − charged_back − paid_out`: what the platform owes now (negative when
    /// refunds after a payout charged back more than was left).
    pub payable: i64,
    /// Costs of delivered orders.
    pub delivered: i64,
    /// Costs charged back by refunds and failed top-ups.
    pub charged_back: i64,
    /// Payouts recorded by an admin.
    pub paid_out: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SupplierBalance {
    pub supplier_id: String,
    /// One entry per currency the supplier has lines in (none before its first sale).
    pub balances: Vec<Payable>,
}

/// The supplier's payable per currency, summed from its ledger lines.
pub fn balance(conn: &mut DbConn, supplier_id: &str) -> Result<SupplierBalance> {
    get::<Supplier>(conn, supplier_id)?;
    let account = ledger::supplier_account(supplier_id).to_string();
    let rows: Vec<(String, i64, i64, i64)> = stmt(
        "SELECT e.currency, \
         CAST(COALESCE(SUM(CASE WHEN c.action <> ? AND e.amount > 0 \
           THEN e.amount ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN c.action <> ? AND e.amount < 0 \
           THEN -e.amount ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN c.action = ? \
           THEN -e.amount ELSE 0 END), 0) AS BIGINT) \
         FROM ledger_entries e JOIN audit_chain c ON c.seq = e.txn_seq \
         WHERE e.account = ? GROUP BY e.currency ORDER BY e.currency",
        [
            PAYOUT_ACTION.into(),
            PAYOUT_ACTION.into(),
            PAYOUT_ACTION.into(),
            account.as_str().into(),
        ],
    )
    .returning::<(Text, BigInt, BigInt, BigInt)>()
    .rows(conn)?;
    Ok(SupplierBalance {
        supplier_id: supplier_id.to_string(),
        balances: rows
            .into_iter()
            .map(|(currency, delivered, charged_back, paid_out)| Payable {
                currency,
                payable: delivered - charged_back - paid_out,
                delivered,
                charged_back,
                paid_out,
            })
            .collect(),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayout {
    /// Minor units, more than zero and at most what the supplier is owed in `currency`.
    #[schema(example = 150000)]
    pub amount: i64,
    /// The bank or payment reference of the transfer (1..100 chars); unique per supplier, so
    /// repeating a request with it records nothing new.
    #[schema(example = "WIRE-2026-12-0042")]
    pub reference: String,
    /// Default `CNY`.
    pub currency: Option<String>,
    pub memo: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = supplier_payouts)]
pub struct PayoutRow {
    pub id: String,
    pub supplier_id: String,
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    pub memo: Option<String>,
    pub txn_seq: i64,
    pub created_by: String,
    pub created_at: i64,
}

/// A recorded payout.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Payout {
    pub id: String,
    pub supplier_id: String,
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    pub memo: Option<String>,
    /// The admin who recorded it.
    pub created_by: String,
    pub created_at: String,
}

impl From<PayoutRow> for Payout {
    fn from(r: PayoutRow) -> Self {
        Payout {
            id: r.id,
            supplier_id: r.supplier_id,
            amount: r.amount,
            currency: r.currency,
            reference: r.reference,
            memo: r.memo,
            created_by: r.created_by,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// Records a payout: one ledger transaction debiting the supplier's payable (towards
/// `platform:payouts`), chained like every movement. Returns the payout and whether it was
/// recorded now (false: the same `reference` was recorded before with the same amount and
/// currency; a different amount or currency under it is `idempotency_conflict`).
pub fn record_payout(
    conn: &mut DbConn,
    actor: &str,
    supplier_id: &str,
    req: &NewPayout,
) -> Result<(Payout, bool)> {
    if req.amount <= 0 || req.amount > MAX_CREDIT {
        return Err(Error::invalid(
            "amount",
            format!("must be between 1 and {MAX_CREDIT}"),
        ));
    }
    let reference = validate::non_empty("reference", &req.reference, 100)?;
    let currency = validate::currency("currency", req.currency.as_deref().unwrap_or("CNY"))?;
    let memo = req
        .memo
        .as_deref()
        .map(|m| validate::non_empty("memo", m, 500))
        .transpose()?;
    get::<Supplier>(conn, supplier_id)?;
    // Payouts of one supplier take turns (PostgreSQL; SQLite's writer runs one at a time):
    // two at once could each see the whole payable. Orders never lock this row.
    if let DbConn::Pg(c) = conn {
        suppliers::table
            .filter(suppliers::id.eq(supplier_id))
            .select(suppliers::id)
            .for_update()
            .get_result::<String>(c)?;
    }
    let earlier = supplier_payouts::table
        .filter(supplier_payouts::supplier_id.eq(supplier_id))
        .filter(supplier_payouts::reference.eq(&reference))
        .select(PayoutRow::as_select())
        .first::<PayoutRow>(conn)
        .optional()?;
    if let Some(p) = earlier {
        if p.amount != req.amount || p.currency != currency {
            return Err(Error::IdempotencyConflict);
        }
        return Ok((p.into(), false));
    }
    let account = ledger::supplier_account(supplier_id);
    let payable = balance_through(conn, &account, &currency, i64::MAX)?;
    if req.amount > payable {
        return Err(Error::PayoutExceedsPayable(format!(
            "a payout of {} {currency} exceeds the {payable} {currency} the supplier is owed",
            req.amount
        )));
    }
    let id = crate::ids::new_id("pay");
    let txn_seq = ledger::post(
        conn,
        Txn {
            action: PAYOUT_ACTION,
            actor,
            subject: &id,
            currency: &currency,
            detail: json!({ "supplier_id": supplier_id, "reference": reference, "memo": memo }),
            postings: vec![
                Posting::new(account, -req.amount),
                Posting::new(LedgerAccount::PlatformPayouts, req.amount),
            ],
        },
    )?;
    let row = PayoutRow {
        id,
        supplier_id: supplier_id.to_string(),
        amount: req.amount,
        currency,
        reference,
        memo,
        txn_seq,
        created_by: actor.to_string(),
        created_at: crate::time::now_ms(),
    };
    diesel::insert_into(supplier_payouts::table)
        .values((
            supplier_payouts::id.eq(&row.id),
            supplier_payouts::supplier_id.eq(&row.supplier_id),
            supplier_payouts::amount.eq(row.amount),
            supplier_payouts::currency.eq(&row.currency),
            supplier_payouts::reference.eq(&row.reference),
            supplier_payouts::memo.eq(&row.memo),
            supplier_payouts::txn_seq.eq(row.txn_seq),
            supplier_payouts::created_by.eq(&row.created_by),
            supplier_payouts::created_at.eq(row.created_at),
        ))
        .execute(conn)
        // A concurrent request with the same key committed first.
        .map_err(race_on_unique)?;
    Ok((row.into(), true))
}

/// A supplier's payouts, newest first, `limit + 1` after the cursor (a payout id).
pub fn payouts(
    conn: &mut DbConn,
    supplier_id: &str,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Payout>> {
    get::<Supplier>(conn, supplier_id)?;
    let mut q = supplier_payouts::table
        .filter(supplier_payouts::supplier_id.eq(supplier_id))
        .select(PayoutRow::as_select())
        .order(supplier_payouts::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(supplier_payouts::id.lt(b));
    }
    Ok(q.load::<PayoutRow>(conn)?
        .into_iter()
        .map(Payout::from)
        .collect())
}
