//! A root reseller's unit price: its level's discount off the base price, or an admin's
//! per-reseller override. Levels and overrides are set here too.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::db::schema::{levels, reseller_prices, resellers};
use crate::db::DbConn;
use crate::domain::accounts::{self, Reseller};
use crate::domain::money::chain::record_admin;
use crate::domain::trade::catalog::{self, ProductRow};
use crate::domain::validate;
use crate::error::{Error, Result};

/// How a reseller's price is worked out (level discount, or a per-reseller override).
pub struct PriceBook {
    discount_bps: i64,
    overrides: HashMap<String, i64>,
}

impl PriceBook {
    /// A book already read: a level discount and at most the one override the caller looked
    /// up (the order path reads both with the buyer's row, see `orders::place`).
    pub fn of(discount_bps: i64, product_id: &str, price_override: Option<i64>) -> PriceBook {
        PriceBook {
            discount_bps,
            overrides: price_override
                .map(|p| (product_id.to_string(), p))
                .into_iter()
                .collect(),
        }
    }

    pub fn for_reseller(
        conn: &mut DbConn,
        reseller_id: &str,
        product_ids: &[String],
    ) -> Result<PriceBook> {
        let level: String = resellers::table
            .find(reseller_id)
            .select(resellers::level)
            .first(conn)?;
        let discount_bps = levels::table
            .find(&level)
            .select(levels::discount_bps)
            .first::<i32>(conn)
            .optional()?
            .unwrap_or(0) as i64;
        let mine = reseller_prices::table
            .filter(reseller_prices::reseller_id.eq(reseller_id))
            .select((reseller_prices::product_id, reseller_prices::price));
        // One product (the order path) is a statement diesel keeps prepared; an `IN` list is
        // prepared anew each time.
        let overrides = match product_ids {
            [one] => mine
                .filter(reseller_prices::product_id.eq(one))
                .load::<(String, i64)>(conn)?,
            many => mine
                .filter(reseller_prices::product_id.eq_any(many))
                .load::<(String, i64)>(conn)?,
        }
        .into_iter()
        .collect();
        Ok(PriceBook {
            discount_bps,
            overrides,
        })
    }

    /// Override if set, else base price less the level discount, rounded half up.
    pub fn price(&self, product: &ProductRow) -> i64 {
        if let Some(p) = self.overrides.get(&product.id) {
            return *p;
        }
        let num = product.price as i128 * (10_000 - self.discount_bps) as i128 + 5_000;
        (num / 10_000) as i64
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Level {
    pub name: String,
    /// Discount off the base price in basis points (100 = 1 %).
    pub discount_bps: i32,
}

pub fn put_level(conn: &mut DbConn, actor: &str, name: &str, discount_bps: i32) -> Result<Level> {
    let name = validate::non_empty("name", name, 64)?;
    if !(0..=10_000).contains(&discount_bps) {
        return Err(Error::invalid(
            "discount_bps",
            "must be between 0 and 10000",
        ));
    }
    let exists: i64 = levels::table
        .filter(levels::name.eq(&name))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        diesel::update(levels::table.find(&name))
            .set(levels::discount_bps.eq(discount_bps))
            .execute(conn)?;
    } else {
        diesel::insert_into(levels::table)
            .values((
                levels::name.eq(&name),
                levels::discount_bps.eq(discount_bps),
            ))
            .execute(conn)?;
    }
    record_admin(
        conn,
        actor,
        "level.put",
        &name,
        json!({ "discount_bps": discount_bps }),
    )?;
    Ok(Level { name, discount_bps })
}

pub fn list_levels(conn: &mut DbConn) -> Result<Vec<Level>> {
    Ok(levels::table
        .order(levels::name.asc())
        .load::<(String, i32)>(conn)?
        .into_iter()
        .map(|(name, discount_bps)| Level { name, discount_bps })
        .collect())
}

pub fn put_reseller_price(
    conn: &mut DbConn,
    actor: &str,
    reseller_id: &str,
    product_id: &str,
    price: i64,
) -> Result<()> {
    validate::non_negative("price", price)?;
    accounts::get::<Reseller>(conn, reseller_id)?;
    catalog::load(conn, product_id)?;
    let target = reseller_prices::table.find((reseller_id, product_id));
    let exists: i64 = target.count().get_result(conn)?;
    if exists > 0 {
        diesel::update(target)
            .set(reseller_prices::price.eq(price))
            .execute(conn)?;
    } else {
        diesel::insert_into(reseller_prices::table)
            .values((
                reseller_prices::reseller_id.eq(reseller_id),
                reseller_prices::product_id.eq(product_id),
                reseller_prices::price.eq(price),
            ))
            .execute(conn)?;
    }
    record_admin(
        conn,
        actor,
        "price.put",
        &format!("{reseller_id}/{product_id}"),
        json!({ "price": price }),
    )?;
    Ok(())
}
