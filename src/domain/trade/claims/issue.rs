//! Placing a claim-link order: its gift-link fields checked before anything is read, and one
//! claim written per claimed card inside the order transaction.

use std::collections::HashSet;

use diesel::prelude::*;

use super::{ClaimLink, ClaimRow, ClaimStatus, DeliveryMode, Recipient};
use crate::crypto::Vault;
use crate::db::schema::claims;
use crate::db::DbConn;
use crate::domain::trade::catalog::{Delivery, ProductRow};
use crate::domain::trade::orders::{OrderRequest, OrderRow};
use crate::error::{Error, Result};

pub const DEFAULT_TTL_DAYS: i64 = 30;
pub const MAX_TTL_DAYS: i64 = 365;
pub const MAX_RECIPIENTS: usize = 10_000;
const DAY_MS: i64 = 86_400_000;
/// Rows per multi-row INSERT: well inside both databases' parameter limits (14 per row).
const CHUNK: usize = 500;

/// The gift-link fields of an order, checked without the database: they need
/// `claim_links`; a TTL of 1..365 days; recipients (1..10,000, distinct `ref`s) as many as
/// the quantity — stated twice on purpose, so a list cut short never buys fewer or more
/// links than the buyer's system expects to mail.
pub fn validate(req: &OrderRequest) -> Result<()> {
    if req.delivery_mode == DeliveryMode::Codes {
        if req.claim_ttl_days.is_some() || req.recipients.is_some() {
            return Err(Error::invalid(
                "delivery_mode",
                "claim_ttl_days and recipients need \"delivery_mode\": \"claim_links\"",
            ));
        }
        return Ok(());
    }
    if let Some(days) = req.claim_ttl_days {
        if !(1..=MAX_TTL_DAYS).contains(&days) {
            return Err(Error::invalid(
                "claim_ttl_days",
                format!("must be between 1 and {MAX_TTL_DAYS}"),
            ));
        }
    }
    if let Some(list) = &req.recipients {
        if list.is_empty() || list.len() > MAX_RECIPIENTS {
            return Err(Error::invalid(
                "recipients",
                format!("must list 1 to {MAX_RECIPIENTS} recipients"),
            ));
        }
        if list.len() as i64 != req.quantity {
            return Err(Error::invalid(
                "quantity",
                "must equal the number of recipients (one gift link each)",
            ));
        }
        let mut seen = HashSet::with_capacity(list.len());
        for (i, r) in list.iter().enumerate() {
            check_recipient(i, r)?;
            if !seen.insert(r.reference.as_str()) {
                return Err(Error::invalid(
                    &format!("recipients[{i}].ref"),
                    "appears twice; each recipient needs its own ref",
                ));
            }
        }
    }
    Ok(())
}

fn check_recipient(i: usize, r: &Recipient) -> Result<()> {
    let chars = |s: &str| s.chars().count();
    let printable = |s: &str| !s.chars().any(char::is_control);
    if r.reference.trim().is_empty() || chars(&r.reference) > 128 || !printable(&r.reference) {
        return Err(Error::invalid(
            &format!("recipients[{i}].ref"),
            "must be 1..128 printable characters",
        ));
    }
    if r.name
        .as_deref()
        .is_some_and(|n| chars(n) > 128 || !printable(n))
    {
        return Err(Error::invalid(
            &format!("recipients[{i}].name"),
            "at most 128 printable characters",
        ));
    }
    if r.contact
        .as_deref()
        .is_some_and(|c| chars(c) > 256 || !printable(c))
    {
        return Err(Error::invalid(
            &format!("recipients[{i}].contact"),
            "at most 256 printable characters",
        ));
    }
    Ok(())
}

/// Gift links hand over codes; a direct top-up has none (it credits the account it names).
pub fn check_product(req: &OrderRequest, product: &ProductRow) -> Result<()> {
    if req.delivery_mode == DeliveryMode::ClaimLinks && product.delivery == Delivery::Direct {
        return Err(Error::invalid(
            "delivery_mode",
            "gift links are for card products; a direct top-up credits the account it names",
        ));
    }
    Ok(())
}

/// Writes one open claim per card the order claimed (in claim order, the i-th recipient to
/// the i-th card); returns the links for the response. Inside the order transaction.
pub fn issue(
    conn: &mut DbConn,
    vault: &Vault,
    order: &OrderRow,
    card_ids: &[i64],
    req: &OrderRequest,
) -> Result<Vec<ClaimLink>> {
    let ttl_days = req.claim_ttl_days.unwrap_or(DEFAULT_TTL_DAYS);
    let expires_at = order.created_at + ttl_days * DAY_MS;
    let recipients = req.recipients.as_deref().unwrap_or_default();
    let rows: Vec<ClaimRow> = card_ids
        .iter()
        .enumerate()
        .map(|(i, card_id)| {
            let id = crate::ids::new_id("clm");
            let recipient = recipients.get(i);
            ClaimRow {
                token_hash: super::token_hash(&vault.claim_token(&id)),
                id,
                order_id: order.id.clone(),
                reseller_id: order.reseller_id.clone(),
                product_id: order.product_id.clone(),
                card_id: *card_id,
                status: ClaimStatus::Unclaimed,
                recipient_ref: recipient.map(|r| r.reference.clone()),
                recipient_name: recipient.and_then(|r| r.name.clone()),
                recipient_contact: recipient.and_then(|r| r.contact.clone()),
                expires_at,
                created_at: order.created_at,
                claimed_at: None,
                ended_at: None,
                refund_seq: None,
            }
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|c| {
                (
                    claims::id.eq(&c.id),
                    claims::order_id.eq(&c.order_id),
                    claims::reseller_id.eq(&c.reseller_id),
                    claims::product_id.eq(&c.product_id),
                    claims::card_id.eq(c.card_id),
                    claims::token_hash.eq(&c.token_hash),
                    claims::status.eq(c.status),
                    claims::recipient_ref.eq(&c.recipient_ref),
                    claims::recipient_name.eq(&c.recipient_name),
                    claims::recipient_contact.eq(&c.recipient_contact),
                    claims::expires_at.eq(c.expires_at),
                    claims::created_at.eq(c.created_at),
                )
            })
            .collect();
        let insert = diesel::insert_into(claims::table).values(values);
        crate::on_backend!(conn, c => insert.execute(c))?;
    }
    Ok(rows.iter().map(|r| r.link(vault)).collect())
}
