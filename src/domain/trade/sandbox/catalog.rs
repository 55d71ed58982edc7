//! The sandbox catalogue: the live products at the caller's price with a fixed stock, and the
//! trigger products, merged in id order so cursor paging works across both.

use diesel::prelude::*;

use super::{Trigger, SHOWN_STOCK};
use crate::db::schema::resellers;
use crate::db::DbConn;
use crate::domain::trade::catalog::{self, Delivery, Product, ProductFilter, ProductStatus};
use crate::error::{Error, Result};

/// The category the trigger products are listed under.
pub const CATEGORY: &str = "sandbox";
/// A trigger product's price and face value, in minor units of the caller's currency.
pub const TRIGGER_PRICE: i64 = 100;

pub fn currency_of(conn: &mut DbConn, reseller_id: &str) -> Result<String> {
    Ok(resellers::table
        .find(reseller_id)
        .select(resellers::currency)
        .first(conn)?)
}

/// A trigger product as listed, in the caller's currency so it can always be bought.
pub fn trigger_product(t: Trigger, currency: &str) -> Product {
    let direct = t.delivery() == Delivery::Direct;
    Product {
        id: t.product_id(),
        sku: t.sku().to_string(),
        name: format!("Sandbox trigger {}", t.sku()),
        category: CATEGORY.to_string(),
        description: t.behaviour().to_string(),
        instructions: "Sandbox only: nothing is delivered or charged.".to_string(),
        region: None,
        face_value: TRIGGER_PRICE,
        currency: currency.to_string(),
        delivery: t.delivery().to_string(),
        status: ProductStatus::OnSale.to_string(),
        min_quantity: 1,
        max_quantity: 100,
        price: TRIGGER_PRICE,
        stock: (!direct).then_some(SHOWN_STOCK),
        topup_fields: if direct {
            vec!["account".to_string()]
        } else {
            Vec::new()
        },
        // Priced in the caller's own currency, on sale, never licensed: always buyable.
        available: true,
        purchasable: true,
        unpurchasable_reason: None,
    }
}

/// A live product as the sandbox shows it: every card product in stock.
fn sandboxed(mut p: Product) -> Product {
    if p.stock.is_some() {
        p.stock = Some(SHOWN_STOCK);
    }
    p
}

fn matches(p: &Product, f: &ProductFilter) -> bool {
    f.category.as_deref().is_none_or(|c| c == p.category)
        && f.delivery.as_deref().is_none_or(|d| d == p.delivery)
        && f.q
            .as_deref()
            .is_none_or(|q| p.name.contains(q) || p.sku.contains(q))
        && f.after.as_deref().is_none_or(|a| p.id.as_str() > a)
}

/// At most `f.limit + 1` products (the extra one signals a next page), by id.
pub fn products(conn: &mut DbConn, reseller_id: &str, f: &ProductFilter) -> Result<Vec<Product>> {
    let currency = currency_of(conn, reseller_id)?;
    let mut all: Vec<Product> = catalog::reseller_products(conn, reseller_id, f)?
        .into_iter()
        .map(sandboxed)
        .collect();
    all.extend(
        Trigger::ALL
            .into_iter()
            .map(|t| trigger_product(t, &currency))
            .filter(|p| matches(p, f)),
    );
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all.truncate((f.limit + 1) as usize);
    Ok(all)
}

pub fn product(conn: &mut DbConn, reseller_id: &str, id: &str) -> Result<Product> {
    match Trigger::named(id) {
        Some(t) if t.product_id() == id => Ok(trigger_product(t, &currency_of(conn, reseller_id)?)),
        Some(_) => Err(Error::NotFound("product")),
        None => catalog::reseller_product(conn, reseller_id, id).map(sandboxed),
    }
}
