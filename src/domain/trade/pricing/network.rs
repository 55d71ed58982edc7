//! Multi-level distribution pricing: what a sub-reseller pays and who earns what on it.
//!
//! A reseller with a parent pays its parent's price plus the parent's markup; the parent's price
//! is, recursively, what the parent itself would pay; the root of the chain (a reseller without
//! a parent) pays its level or per-reseller price from [`PriceBook`]. So for a chain
//! root → A → B, with `P(x)` the unit price `x` pays and `m(x)` the markup `x` sets:
//!
//! ```text
//! P(root) = PriceBook(root)           P(A) = P(root) + m(root)·P(root)     P(B) = P(A) + m(A)·P(A)
//! ```
//!
//! each markup rounded half up to a minor unit. When B buys, each ancestor is credited its own
//! markup × quantity as commission in the same ledger transaction as the purchase, and the
//! platform keeps `P(root)·quantity − cost`: the books balance by construction.
//!
//! A sub-reseller's own level and per-reseller prices play no part while it has a parent; they
//! apply again once an admin detaches it. Markups are set per parent (a default, and overrides
//! per product) and apply to all of its direct sub-resellers; no markup set means 0.
//!
//! The catalogue and the order quote share [`NetworkPrices`], so the price a reseller sees is the
//! price it pays.

use std::collections::HashMap;

use diesel::prelude::*;

use super::book::PriceBook;
use crate::db::schema::{network_markups, network_product_markups};
use crate::db::DbConn;
use crate::domain::accounts::network::ancestors;
use crate::domain::money::ledger::{self, Posting};
use crate::domain::trade::catalog::ProductRow;
use crate::error::{Error, Result};

/// One ancestor's markups.
struct Markup {
    reseller_id: String,
    default_bps: i64,
    products: HashMap<String, i64>,
}

impl Markup {
    fn bps(&self, product_id: &str) -> i64 {
        self.products
            .get(product_id)
            .copied()
            .unwrap_or(self.default_bps)
    }
}

/// The prices one reseller pays for a set of products, and who earns the markups.
pub struct NetworkPrices {
    /// Parent first, root last; empty for a root reseller.
    ancestors: Vec<Markup>,
    /// The price book of the chain's root (the buyer itself when it has no parent).
    root_book: PriceBook,
}

/// How one unit's price divides along the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceSplit {
    /// What the buyer pays per unit.
    pub unit_price: i64,
    /// What the chain's root pays per unit: the platform's side of the sale.
    pub root_unit_price: i64,
    /// Each ancestor's commission per unit, parent first.
    pub commissions: Vec<(String, i64)>,
}

impl NetworkPrices {
    /// The prices of a reseller without a parent, from its own book (no further reads).
    pub fn root(book: PriceBook) -> NetworkPrices {
        NetworkPrices {
            ancestors: Vec::new(),
            root_book: book,
        }
    }

    /// Loads the chain and markups for `product_ids` (one query per table, plus one per level).
    pub fn load(
        conn: &mut DbConn,
        reseller_id: &str,
        product_ids: &[String],
    ) -> Result<NetworkPrices> {
        let chain = ancestors(conn, reseller_id)?;
        let root = chain.last().map(String::as_str).unwrap_or(reseller_id);
        let root_book = PriceBook::for_reseller(conn, root, product_ids)?;
        if chain.is_empty() {
            return Ok(NetworkPrices {
                ancestors: Vec::new(),
                root_book,
            });
        }
        let defaults: HashMap<String, i64> = network_markups::table
            .filter(network_markups::reseller_id.eq_any(&chain))
            .select((network_markups::reseller_id, network_markups::default_bps))
            .load::<(String, i32)>(conn)?
            .into_iter()
            .map(|(id, bps)| (id, i64::from(bps)))
            .collect();
        let mut overrides: HashMap<String, HashMap<String, i64>> = HashMap::new();
        let rows: Vec<(String, String, i32)> = network_product_markups::table
            .filter(network_product_markups::reseller_id.eq_any(&chain))
            .filter(network_product_markups::product_id.eq_any(product_ids))
            .select((
                network_product_markups::reseller_id,
                network_product_markups::product_id,
                network_product_markups::markup_bps,
            ))
            .load(conn)?;
        for (reseller, product, bps) in rows {
            overrides
                .entry(reseller)
                .or_default()
                .insert(product, i64::from(bps));
        }
        let ancestors = chain
            .into_iter()
            .map(|id| Markup {
                default_bps: defaults.get(&id).copied().unwrap_or(0),
                products: overrides.remove(&id).unwrap_or_default(),
                reseller_id: id,
            })
            .collect();
        Ok(NetworkPrices {
            ancestors,
            root_book,
        })
    }

    /// The split of one unit of `product`, from the root's price down to the buyer's.
    pub fn split(&self, product: &ProductRow) -> Result<PriceSplit> {
        let root_unit_price = self.root_book.price(product);
        let mut price = root_unit_price;
        let mut commissions = Vec::with_capacity(self.ancestors.len());
        for m in self.ancestors.iter().rev() {
            let markup = markup_of(price, m.bps(&product.id))?;
            price = price
                .checked_add(markup)
                .ok_or_else(|| Error::internal("marked-up price overflows"))?;
            commissions.push((m.reseller_id.clone(), markup));
        }
        commissions.reverse();
        Ok(PriceSplit {
            unit_price: price,
            root_unit_price,
            commissions,
        })
    }

    /// What the buyer pays per unit of `product`.
    pub fn unit_price(&self, product: &ProductRow) -> Result<i64> {
        Ok(self.split(product)?.unit_price)
    }
}

/// `price × bps / 10 000`, rounded half up (prices are never negative).
fn markup_of(price: i64, bps: i64) -> Result<i64> {
    let m = (i128::from(price) * i128::from(bps) + 5_000) / 10_000;
    i64::try_from(m).map_err(|_| Error::internal("markup overflows"))
}

impl PriceSplit {
    /// Appends each ancestor's commission on `quantity` units (parent first, so rows are locked
    /// buyer-then-ancestors like every other network transaction) and returns their total.
    pub fn post_commissions(&self, quantity: i64, postings: &mut Vec<Posting>) -> Result<i64> {
        let mut total: i64 = 0;
        for (reseller_id, per_unit) in &self.commissions {
            let amount = per_unit
                .checked_mul(quantity)
                .ok_or_else(|| Error::invalid("quantity", "commission overflows"))?;
            total = total
                .checked_add(amount)
                .ok_or_else(|| Error::invalid("quantity", "commission overflows"))?;
            postings.push(Posting::new(ledger::reseller_account(reseller_id), amount));
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markups_round_half_up() {
        assert_eq!(markup_of(1000, 1000).ok(), Some(100));
        assert_eq!(markup_of(105, 1000).ok(), Some(11)); // 10.5 → 11
        assert_eq!(markup_of(104, 1000).ok(), Some(10)); // 10.4 → 10
        assert_eq!(markup_of(999, 0).ok(), Some(0));
    }
}
