//! The read side of tickets: one ticket as its reseller, its supplier or the admin sees it, and
//! the lists.

use diesel::prelude::*;

use super::{Ticket, TicketRow};
use crate::crypto::Vault;
use crate::db::schema::{cards, tickets};
use crate::db::DbConn;
use crate::domain::trade::inventory;
use crate::error::{Error, Result};

pub fn load(conn: &mut DbConn, id: &str) -> Result<TicketRow> {
    tickets::table
        .find(id)
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("ticket"))
}

fn card_code(conn: &mut DbConn, vault: &Vault, card_id: Option<i64>) -> Result<Option<String>> {
    let Some(id) = card_id else { return Ok(None) };
    let sealed: String = cards::table.find(id).select(cards::code_enc).first(conn)?;
    Ok(Some(vault.decrypt_string(&sealed)?))
}

/// The reseller's view of its own ticket: the named card and any replacement in plaintext.
pub fn get_for_reseller(
    conn: &mut DbConn,
    vault: &Vault,
    reseller_id: &str,
    id: &str,
) -> Result<Ticket> {
    let row = load(conn, id)?;
    if row.reseller_id != reseller_id {
        return Err(Error::NotFound("ticket"));
    }
    let mut view = row.view();
    view.card_code = card_code(conn, vault, row.card_id)?;
    if row.resolution.as_deref() == Some("replace") {
        let sealed = inventory::order_cards(conn, &row.id)?;
        view.replacement = Some(
            sealed
                .iter()
                .map(|c| inventory::unseal(vault, c))
                .collect::<Result<_>>()?,
        );
    }
    Ok(view)
}

/// The supplier's view: the named card's code (its own goods, so it can check redemption).
pub fn supplier_view(conn: &mut DbConn, vault: &Vault, row: &TicketRow) -> Result<Ticket> {
    let mut view = row.view();
    view.card_code = card_code(conn, vault, row.card_id)?;
    Ok(view)
}

#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub reseller_id: Option<String>,
    pub supplier_id: Option<String>,
    pub order_id: Option<String>,
    pub status: Option<String>,
    /// Cursor: tickets older than this id.
    pub before: Option<String>,
    pub limit: i64,
}

/// Tickets newest first, at most `limit + 1` rows (the extra one signals a next page).
pub fn list(conn: &mut DbConn, f: &TicketFilter) -> Result<Vec<TicketRow>> {
    let mut q = tickets::table.select(TicketRow::as_select()).into_boxed();
    if let Some(r) = &f.reseller_id {
        q = q.filter(tickets::reseller_id.eq(r.clone()));
    }
    if let Some(s) = &f.supplier_id {
        q = q.filter(tickets::supplier_id.eq(s.clone()));
    }
    if let Some(o) = &f.order_id {
        q = q.filter(tickets::order_id.eq(o.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(tickets::status.eq(s.clone()));
    }
    if let Some(b) = &f.before {
        q = q.filter(tickets::id.lt(b.clone()));
    }
    Ok(q.order(tickets::id.desc()).limit(f.limit + 1).load(conn)?)
}
