//! Does every order still say what was paid and delivered? An order row is checked against
//! the two records that cannot be quietly rewritten with it: its ledger transaction (sealed
//! in the audit chain: subject, product, quantity, the buyer's debit) and its signed receipt
//! (order, reseller, product, quantity, amount, currency and a hash of each delivered code).
//! Part of `GET /v1/admin/ledger/check`.

use std::collections::HashMap;

use diesel::prelude::*;

use super::OrderRow;
use crate::crypto::{sha256_hex, Vault};
use crate::db::schema::{audit_chain, cards, claims, ledger_entries, orders};
use crate::db::DbConn;
use crate::domain::money::checks::OrderMismatch;
use crate::domain::money::ledger::reseller_account;
use crate::domain::money::receipts::{digest_of_code_hashes, verify_receipt, Jwks};
use crate::domain::trade::claims::ClaimStatus;
use crate::error::Result;

const PAGE: i64 = 500;
const MAX_LISTED: usize = 100;

/// The orders that disagree with their ledger transaction or receipt (at most 100), and how
/// many orders were checked.
pub fn check(conn: &mut DbConn, vault: &Vault, jwks: &Jwks) -> Result<(usize, Vec<OrderMismatch>)> {
    let mut checked = 0;
    let mut found = Vec::new();
    let mut after = String::new();
    loop {
        let page: Vec<OrderRow> = orders::table
            .filter(orders::id.gt(&after))
            .order(orders::id.asc())
            .limit(PAGE)
            .select(OrderRow::as_select())
            .load(conn)?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        checked += page.len();
        let facts = Facts::load(conn, vault, &page)?;
        for order in &page {
            if let Some(problem) = facts.problem(order, jwks) {
                found.push(OrderMismatch {
                    order_id: order.id.clone(),
                    problem,
                });
                if found.len() >= MAX_LISTED {
                    return Ok((checked, found));
                }
            }
        }
    }
    Ok((checked, found))
}

/// What a page of orders is checked against.
struct Facts {
    /// By ledger sequence: subject, action, detail.
    records: HashMap<i64, (String, String, String)>,
    /// By (ledger sequence, account): the sum of that account's lines.
    lines: HashMap<(i64, String), i64>,
    /// By order id: SHA-256 of each delivered code, in delivery order.
    codes: HashMap<String, Vec<String>>,
}

impl Facts {
    fn load(conn: &mut DbConn, vault: &Vault, page: &[OrderRow]) -> Result<Facts> {
        let seqs: Vec<i64> = page.iter().map(|o| o.ledger_seq).collect();
        let ids: Vec<&str> = page.iter().map(|o| o.id.as_str()).collect();
        let records = audit_chain::table
            .filter(audit_chain::seq.eq_any(&seqs))
            .select((
                audit_chain::seq,
                (
                    audit_chain::subject,
                    audit_chain::action,
                    audit_chain::detail,
                ),
            ))
            .load::<(i64, (String, String, String))>(conn)?
            .into_iter()
            .collect();
        let mut lines = HashMap::new();
        for (seq, account, amount) in ledger_entries::table
            .filter(ledger_entries::txn_seq.eq_any(&seqs))
            .select((
                ledger_entries::txn_seq,
                ledger_entries::account,
                ledger_entries::amount,
            ))
            .load::<(i64, String, i64)>(conn)?
        {
            *lines.entry((seq, account)).or_default() += amount;
        }
        // An order's cards: those it still holds, and those gift links gave back to stock
        // (the claim keeps the card; the receipt still names its code). By card id, which is
        // delivery order.
        let mut held: Vec<(String, i64, String)> = cards::table
            .filter(cards::order_id.eq_any(&ids))
            .select((
                cards::order_id.assume_not_null(),
                cards::id,
                cards::code_enc,
            ))
            .load(conn)?;
        held.extend(
            claims::table
                .inner_join(cards::table.on(cards::id.eq(claims::card_id)))
                .filter(claims::order_id.eq_any(&ids))
                .filter(claims::status.eq_any([ClaimStatus::Expired, ClaimStatus::Revoked]))
                .select((claims::order_id, cards::id, cards::code_enc))
                .load::<(String, i64, String)>(conn)?,
        );
        held.sort_unstable_by_key(|h| h.1);
        let mut codes: HashMap<String, Vec<String>> = HashMap::new();
        for (order_id, _, code_enc) in held {
            let code = vault.decrypt_string(&code_enc)?;
            codes
                .entry(order_id)
                .or_default()
                .push(sha256_hex(code.as_bytes()));
        }
        Ok(Facts {
            records,
            lines,
            codes,
        })
    }

    fn problem(&self, o: &OrderRow, jwks: &Jwks) -> Option<String> {
        let Some((subject, action, detail)) = self.records.get(&o.ledger_seq) else {
            return Some("its ledger transaction is missing".into());
        };
        let detail: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
        if subject != &o.id
            || action != "order.purchase"
            || detail["product_id"] != o.product_id.as_str()
            || detail["quantity"] != o.quantity
        {
            return Some("its ledger transaction is for another order, product or quantity".into());
        }
        let debit = self
            .lines
            .get(&(o.ledger_seq, reseller_account(&o.reseller_id).to_string()))
            .copied();
        if debit != Some(-o.amount) {
            return Some("its ledger transaction debited another reseller or amount".into());
        }
        let codes = self.codes.get(&o.id).map(Vec::as_slice).unwrap_or_default();
        if o.receipt.is_empty() {
            // A bulk order still being delivered: its receipt is signed when it completes.
            return None;
        }
        let Ok(claims) = verify_receipt(&o.receipt, jwks) else {
            return Some("its receipt does not verify".into());
        };
        if claims.sub != o.id
            || claims.reseller_id != o.reseller_id
            || claims.product_id != o.product_id
            || claims.quantity != o.quantity
            || claims.amount != o.amount
            || claims.currency != o.currency
        {
            return Some("it does not match its signed receipt".into());
        }
        let delivered_match = match &claims.codes_digest {
            Some(digest) => *digest == digest_of_code_hashes(codes),
            None => {
                let (mut signed, mut held) = (claims.codes.clone(), codes.to_vec());
                signed.sort_unstable();
                held.sort_unstable();
                signed == held
            }
        };
        if !delivered_match {
            return Some("its delivered cards are not the ones its receipt names".into());
        }
        None
    }
}
