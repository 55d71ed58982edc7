//! A sub-reseller's orders as its parent sees them (`GET /v1/sub-resellers/{id}/orders`): no
//! codes, no end-buyer details, no receipt, with the parent's commission on each.

use std::collections::HashMap;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{list, OrderFilter};
use crate::db::schema::{audit_chain, ledger_entries};
use crate::db::DbConn;
use crate::domain::accounts::network::own_child;
use crate::domain::money::ledger;
use crate::error::Result;
use crate::time::rfc3339;

/// A sub-reseller's order as its parent sees it: no codes, no end-buyer details, no receipt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubResellerOrder {
    pub id: String,
    pub out_trade_no: String,
    pub product_id: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub created_at: String,
    pub completed_at: Option<String>,
    /// What the caller earned on this order, net of any taken back.
    pub commission: i64,
}

/// A page of a direct sub-reseller's orders, newest first, with the parent's commission on each.
pub fn child_orders(
    conn: &mut DbConn,
    parent_id: &str,
    child_id: &str,
    status: Option<String>,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<SubResellerOrder>> {
    own_child(conn, parent_id, child_id)?;
    let rows = list(
        conn,
        &OrderFilter {
            reseller_id: Some(child_id.to_string()),
            status,
            before,
            limit,
            ..OrderFilter::default()
        },
    )?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let earned: HashMap<String, i64> = ledger_entries::table
        .inner_join(audit_chain::table)
        .filter(ledger_entries::account.eq(ledger::reseller_account(parent_id)))
        .filter(audit_chain::subject.eq_any(&ids))
        .group_by(audit_chain::subject)
        .select((
            audit_chain::subject,
            sql::<BigInt>("CAST(COALESCE(SUM(ledger_entries.amount), 0) AS BIGINT)"),
        ))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| SubResellerOrder {
            commission: earned.get(&r.id).copied().unwrap_or(0),
            id: r.id,
            out_trade_no: r.out_trade_no,
            product_id: r.product_id,
            quantity: r.quantity,
            unit_price: r.unit_price,
            amount: r.amount,
            currency: r.currency,
            status: r.status.to_string(),
            created_at: rfc3339(r.created_at),
            completed_at: r.completed_at.map(rfc3339),
        })
        .collect())
}
