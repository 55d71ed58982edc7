//! The quote: the single place an order's money split is decided (the buyer's price through
//! the network, the supplier's cost, each ancestor's commission, the platform's revenue), so
//! spend limits, commission and refunds extend it rather than the order transaction's shape.

use super::network::NetworkPrices;
use crate::db::DbConn;
use crate::domain::money::ledger::{self, LedgerAccount, Posting};
use crate::domain::trade::catalog::ProductRow;
use crate::error::{Error, Result};

/// The money split of one order.
pub struct Quote {
    pub unit_price: i64,
    pub amount: i64,
    pub cost_amount: i64,
    pub postings: Vec<Posting>,
}

pub fn quote(
    conn: &mut DbConn,
    reseller_id: &str,
    product: &ProductRow,
    quantity: i64,
) -> Result<Quote> {
    // The buyer's price and each ancestor's markup (multi-level distribution; see `network`).
    let prices = NetworkPrices::load(conn, reseller_id, std::slice::from_ref(&product.id))?;
    quote_at(&prices, reseller_id, product, quantity)
}

/// [`quote`] at prices the caller already holds (`NetworkPrices::root` of a book read with the
/// buyer's row: the order path of a reseller without a parent reads nothing more).
pub fn quote_at(
    prices: &NetworkPrices,
    reseller_id: &str,
    product: &ProductRow,
    quantity: i64,
) -> Result<Quote> {
    let split = prices.split(product)?;
    let unit_price = split.unit_price;
    let amount = unit_price
        .checked_mul(quantity)
        .ok_or_else(|| Error::invalid("quantity", "amount overflows"))?;
    let cost_amount = product
        .cost
        .checked_mul(quantity)
        .ok_or_else(|| Error::invalid("quantity", "cost overflows"))?;
    let mut postings = vec![
        Posting::new(ledger::reseller_account(reseller_id), -amount),
        Posting::new(ledger::supplier_account(&product.supplier_id), cost_amount),
    ];
    let commission = split.post_commissions(quantity, &mut postings)?;
    postings.push(Posting::new(
        LedgerAccount::PlatformRevenue,
        amount - cost_amount - commission,
    ));
    Ok(Quote {
        unit_price,
        amount,
        cost_amount,
        postings,
    })
}
