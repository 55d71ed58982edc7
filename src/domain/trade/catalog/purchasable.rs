//! Whether the caller can buy a product now, stated in the listing itself, so a client never
//! offers what the order would refuse.
//!
//! Why listed with a reason rather than hidden: a hidden product would also have to vanish from
//! `GET /v1/products/{id}` and from pages (short pages, cursors skipping), and the reseller
//! could not tell "not sold to me" from "does not exist" — a shop wants to show "sold in USD"
//! or "out of stock" and ask the operator, a bot wants to filter. So every product is listed,
//! and one the caller cannot buy carries `purchasable: false` with a machine-readable reason.
//!
//! The rules are the order path's (`trade::orders::place`), checked in its order, so the first
//! reason an order would hit is the one named: off sale, licence, currency, balance for the
//! smallest quantity, stock. What the listing cannot know is not stated: a daily spend limit
//! (per key and per day), and the race with other buyers for the last codes.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Delivery, ProductRow, ProductStatus};
use crate::db::DbConn;
use crate::domain::accounts::compliance;
use crate::error::Result;

/// Why the caller cannot buy a product now; each names the error code an order would get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unpurchasable {
    /// The product is off sale (`product_unavailable`).
    OffSale,
    /// Its category needs a licence its supplier does not hold now (`product_unavailable`).
    LicenceMissing,
    /// It is sold in another currency than the caller's balance (`product_unavailable`).
    CurrencyMismatch,
    /// The balance does not cover the smallest quantity (`insufficient_balance`).
    InsufficientBalance,
    /// Fewer codes in stock than the smallest quantity (`out_of_stock`).
    OutOfStock,
}

/// What the rules need to know of the buyer; the admin's view has none.
pub struct Buyer<'a> {
    pub currency: &'a str,
    pub balance: i64,
}

/// The rules for a set of products: one licence look-up for all of them.
pub struct Purchasability {
    unlicensed: HashSet<String>,
}

impl Purchasability {
    pub fn load(conn: &mut DbConn, rows: &[ProductRow]) -> Result<Self> {
        let items: Vec<_> = rows.iter().map(ProductRow::sellable).collect();
        Ok(Self {
            unlicensed: compliance::unlicensed(conn, &items, crate::time::now_ms())?,
        })
    }

    /// The first reason an order of `row` at `unit_price` would be refused, if any.
    pub fn reason(
        &self,
        row: &ProductRow,
        unit_price: i64,
        buyer: Option<&Buyer<'_>>,
    ) -> Option<Unpurchasable> {
        if row.status != ProductStatus::OnSale {
            return Some(Unpurchasable::OffSale);
        }
        if self.unlicensed.contains(&row.id) {
            return Some(Unpurchasable::LicenceMissing);
        }
        if let Some(buyer) = buyer {
            if buyer.currency != row.currency {
                return Some(Unpurchasable::CurrencyMismatch);
            }
            let smallest = unit_price.saturating_mul(row.min_quantity);
            if buyer.balance < smallest {
                return Some(Unpurchasable::InsufficientBalance);
            }
        }
        if row.delivery == Delivery::Card && row.stock < row.min_quantity {
            return Some(Unpurchasable::OutOfStock);
        }
        None
    }
}
