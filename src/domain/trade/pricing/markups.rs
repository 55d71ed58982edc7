//! The markups a parent sets on its sub-resellers' prices: a default and per-product
//! overrides (`GET`/`PUT /v1/sub-resellers/markups`). How they turn into prices and commission
//! is in `pricing::network`.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{network_markups, network_product_markups, products};
use crate::db::DbConn;
use crate::error::{Error, Result};

/// Highest markup a parent may set: 100 % of its own price.
pub const MAX_MARKUP_BPS: i32 = 10_000;
/// Most per-product overrides one parent may keep.
pub const MAX_PRODUCT_MARKUPS: usize = 10_000;
/// A parent's markups on its sub-resellers' prices (`GET`/`PUT /v1/sub-resellers/markups`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Markups {
    /// Markup on every product without an override, in basis points of this reseller's own
    /// price (100 = 1 %), 0..=10000.
    pub default_bps: i32,
    /// Per-product markups replacing the default. `PUT` replaces the whole list.
    #[serde(default, deserialize_with = "crate::json::objects")]
    pub products: Vec<ProductMarkup>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProductMarkup {
    pub product_id: String,
    /// Basis points of this reseller's own price, 0..=10000.
    pub markup_bps: i32,
}

fn check_bps(field: &str, bps: i32) -> Result<()> {
    if (0..=MAX_MARKUP_BPS).contains(&bps) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("must be between 0 and {MAX_MARKUP_BPS} basis points"),
        ))
    }
}

pub fn get_markups(conn: &mut DbConn, reseller_id: &str) -> Result<Markups> {
    let default_bps = network_markups::table
        .find(reseller_id)
        .select(network_markups::default_bps)
        .first::<i32>(conn)
        .optional()?
        .unwrap_or(0);
    let products = network_product_markups::table
        .filter(network_product_markups::reseller_id.eq(reseller_id))
        .order(network_product_markups::product_id.asc())
        .select((
            network_product_markups::product_id,
            network_product_markups::markup_bps,
        ))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .map(|(product_id, markup_bps)| ProductMarkup {
            product_id,
            markup_bps,
        })
        .collect();
    Ok(Markups {
        default_bps,
        products,
    })
}

/// Replaces a reseller's markups; they apply to its sub-resellers' next prices and orders.
pub fn put_markups(conn: &mut DbConn, reseller_id: &str, m: &Markups) -> Result<Markups> {
    check_bps("default_bps", m.default_bps)?;
    if m.products.len() > MAX_PRODUCT_MARKUPS {
        return Err(Error::invalid(
            "products",
            format!("at most {MAX_PRODUCT_MARKUPS} overrides"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, p) in m.products.iter().enumerate() {
        check_bps(&format!("products[{i}].markup_bps"), p.markup_bps)?;
        if !seen.insert(p.product_id.as_str()) {
            return Err(Error::invalid(
                &format!("products[{i}].product_id"),
                "is listed twice",
            ));
        }
    }
    let ids: Vec<&str> = seen.into_iter().collect();
    let mut known = 0usize;
    for chunk in ids.chunks(500) {
        let n: i64 = products::table
            .filter(products::id.eq_any(chunk))
            .count()
            .get_result(conn)?;
        known += n as usize;
    }
    if known != ids.len() {
        return Err(Error::invalid(
            "products",
            "names a product that does not exist",
        ));
    }

    let now = crate::time::now_ms();
    let updated = diesel::update(network_markups::table.find(reseller_id))
        .set((
            network_markups::default_bps.eq(m.default_bps),
            network_markups::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(network_markups::table)
            .values((
                network_markups::reseller_id.eq(reseller_id),
                network_markups::default_bps.eq(m.default_bps),
                network_markups::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    diesel::delete(
        network_product_markups::table.filter(network_product_markups::reseller_id.eq(reseller_id)),
    )
    .execute(conn)?;
    for chunk in m.products.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|p| {
                (
                    network_product_markups::reseller_id.eq(reseller_id),
                    network_product_markups::product_id.eq(p.product_id.as_str()),
                    network_product_markups::markup_bps.eq(p.markup_bps),
                )
            })
            .collect();
        let insert = diesel::insert_into(network_product_markups::table).values(rows);
        crate::on_backend!(conn, c => insert.execute(c))?;
    }
    get_markups(conn, reseller_id)
}
