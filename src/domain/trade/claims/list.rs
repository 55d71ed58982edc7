//! The buyer's lists of an order's gift links: with the order, a page at a time, and as CSV
//! for the system that mails them.

use diesel::prelude::*;

use super::{ClaimLink, ClaimRow, ClaimStatus};
use crate::crypto::Vault;
use crate::db::schema::claims;
use crate::db::DbConn;
use crate::domain::trade::orders;
use crate::error::{Error, Result};

/// Rows read per round of the CSV export.
const EXPORT_PAGE: i64 = 1_000;

/// Whether the order was delivered as gift links (its codes are then shown only to whoever
/// redeems them, never with the order).
pub fn is_claim_order(conn: &mut DbConn, order_id: &str) -> Result<bool> {
    let ids: Vec<String> = claims::table
        .filter(claims::order_id.eq(order_id))
        .select(claims::id)
        .limit(1)
        .load(conn)?;
    Ok(!ids.is_empty())
}

/// How many links an order has, how many were redeemed and when the last one was (`None` for
/// an order of codes): what the support assistant tells a customer.
pub fn redeemed_summary(
    conn: &mut DbConn,
    order_id: &str,
) -> Result<Option<(usize, usize, Option<i64>)>> {
    let rows: Vec<(ClaimStatus, Option<i64>)> = claims::table
        .filter(claims::order_id.eq(order_id))
        .select((claims::status, claims::claimed_at))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let redeemed = rows.iter().filter(|r| r.0 == ClaimStatus::Claimed).count();
    let last = rows.iter().filter_map(|r| r.1).max();
    Ok(Some((rows.len(), redeemed, last)))
}

/// Every link of an order, in card order (`None` for an order of codes).
pub fn for_order(
    conn: &mut DbConn,
    vault: &Vault,
    order_id: &str,
) -> Result<Option<Vec<ClaimLink>>> {
    let rows: Vec<ClaimRow> = claims::table
        .filter(claims::order_id.eq(order_id))
        .order(claims::card_id.asc())
        .select(ClaimRow::as_select())
        .load(conn)?;
    Ok((!rows.is_empty()).then(|| rows.iter().map(|r| r.link(vault)).collect()))
}

#[derive(Debug, Clone)]
pub struct ClaimFilter {
    pub status: Option<ClaimStatus>,
    /// Cursor: links after this claim id.
    pub after: Option<String>,
    pub limit: i64,
}

/// A page of one of this reseller's orders' links, oldest first, at most `limit + 1` (the
/// extra one signals a next page). Another reseller's order is "not found".
pub fn page(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    order_id: &str,
    f: &ClaimFilter,
) -> Result<Vec<ClaimLink>> {
    let order = orders::load(conn, order_id)?;
    if order.reseller_id != reseller_id {
        return Err(Error::NotFound("order"));
    }
    Ok(rows(conn, order_id, f)?
        .iter()
        .map(|r| r.link(vault))
        .collect())
}

fn rows(conn: &mut DbConn, order_id: &str, f: &ClaimFilter) -> Result<Vec<ClaimRow>> {
    let mut q = claims::table
        .filter(claims::order_id.eq(order_id))
        .select(ClaimRow::as_select())
        .into_boxed();
    if let Some(s) = f.status {
        q = q.filter(claims::status.eq(s));
    }
    if let Some(a) = &f.after {
        q = q.filter(claims::id.gt(a.clone()));
    }
    Ok(q.order(claims::id.asc()).limit(f.limit + 1).load(conn)?)
}

/// The order's links as CSV (`claim_id,status,ref,name,contact,url_path,expires_at,
/// claimed_at`), read from the database a thousand at a time.
pub fn csv_export(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    order_id: &str,
    status: Option<ClaimStatus>,
) -> Result<String> {
    let mut f = ClaimFilter {
        status,
        after: None,
        limit: EXPORT_PAGE - 1,
    };
    let mut out =
        String::from("claim_id,status,ref,name,contact,url_path,expires_at,claimed_at\r\n");
    loop {
        let links = page(conn, vault, reseller_id, order_id, &f)?;
        for l in &links {
            let r = l.recipient.as_ref();
            let fields = [
                l.claim_id.as_str(),
                l.status.as_str(),
                r.map_or("", |r| r.reference.as_str()),
                r.and_then(|r| r.name.as_deref()).unwrap_or(""),
                r.and_then(|r| r.contact.as_deref()).unwrap_or(""),
                l.url_path.as_str(),
                l.expires_at.as_str(),
                l.claimed_at.as_deref().unwrap_or(""),
            ];
            let line: Vec<String> = fields.iter().map(|v| csv_field(v)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        match links.last() {
            Some(last) if links.len() as i64 > f.limit => f.after = Some(last.claim_id.clone()),
            _ => return Ok(out),
        }
    }
}

/// One RFC 4180 field. Recipient names and contacts come from the buyer's own input and end
/// up in a spreadsheet: a leading `=`, `+`, `-`, `@` (a formula there) gets a `'` first.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
