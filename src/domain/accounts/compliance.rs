//! What a licence allows. A product in a `licence_required` category sells only while its
//! supplier holds an approved, unexpired licence covering it (one naming the product, or one
//! with no product, which covers all of that supplier's products).
//!
//! Two enforcement points: [`check_sellable`] inside the order transaction (exact at the
//! millisecond), and [`sweep_lapsed`], run periodically, which flips such products `off_sale` so
//! the catalogue shows it. The sweep remembers what it took off sale (`licence_holds`), and
//! approving a licence that covers those products puts them back ([`restore_held`]); a product
//! an admin took off sale is never touched.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde_json::json;

use crate::db::schema::{categories, licence_holds, licences, products};
use crate::db::DbConn;
use crate::domain::money::chain::record_admin;
use crate::domain::states::ProductStatus;
use crate::error::{Error, Result};

/// Who the sweep's changes are recorded as in the audit chain.
pub const SWEEP_ACTOR: &str = "system:licence-sweep";

/// What the licence rule needs to know of a product.
#[derive(Debug, Clone, Copy)]
pub struct Sellable<'a> {
    pub id: &'a str,
    pub category_id: &'a str,
    pub supplier_id: &'a str,
}

/// Refuses (409 `product_unavailable`) a product that needs a licence its supplier lacks.
pub fn check_sellable(conn: &mut DbConn, product: Sellable<'_>, now: i64) -> Result<()> {
    let required: bool = categories::table
        .find(product.category_id)
        .select(categories::licence_required)
        .first(conn)?;
    check_licence(conn, product, required, now)
}

/// [`check_sellable`] for a caller that read the category's `licence_required` with the
/// product (the order path: one round trip less).
pub fn check_licence(
    conn: &mut DbConn,
    product: Sellable<'_>,
    required: bool,
    now: i64,
) -> Result<()> {
    if !required || covered(conn, product.supplier_id, product.id, now)? {
        return Ok(());
    }
    Err(Error::ProductUnavailable(
        "this product's supplier holds no valid licence for it".into(),
    ))
}

fn covered(conn: &mut DbConn, supplier_id: &str, product_id: &str, now: i64) -> Result<bool> {
    let n: i64 = licences::table
        .filter(licences::supplier_id.eq(supplier_id))
        .filter(licences::status.eq("approved"))
        .filter(licences::expires_at.gt(now))
        .filter(
            licences::product_id
                .is_null()
                .or(licences::product_id.eq(product_id)),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Of these products, the ids [`check_sellable`] would refuse now, in two queries for the lot
/// (the catalogue states it per product; see `trade::catalog::purchasable`).
pub fn unlicensed(conn: &mut DbConn, items: &[Sellable<'_>], now: i64) -> Result<HashSet<String>> {
    let category_ids: Vec<&str> = items.iter().map(|p| p.category_id).collect();
    let required: HashSet<String> = categories::table
        .filter(categories::id.eq_any(&category_ids))
        .filter(categories::licence_required.eq(true))
        .select(categories::id)
        .load(conn)?
        .into_iter()
        .collect();
    let needing: Vec<&Sellable<'_>> = items
        .iter()
        .filter(|p| required.contains(p.category_id))
        .collect();
    if needing.is_empty() {
        return Ok(HashSet::new());
    }
    let suppliers: Vec<String> = needing.iter().map(|p| p.supplier_id.to_string()).collect();
    let valid = valid_licences(conn, &suppliers, now)?;
    Ok(needing
        .into_iter()
        .filter(|p| !covers(&valid, p.supplier_id, p.id))
        .map(|p| p.id.to_string())
        .collect())
}

/// Whether `valid` (from [`valid_licences`]) holds a licence covering this product.
fn covers(
    valid: &HashMap<String, Vec<Option<String>>>,
    supplier_id: &str,
    product_id: &str,
) -> bool {
    valid.get(supplier_id).is_some_and(|ps| {
        ps.iter()
            .any(|p| p.as_deref().is_none_or(|p| p == product_id))
    })
}

/// Valid licences of these suppliers: supplier → covered product ids (`None` = all of them).
fn valid_licences(
    conn: &mut DbConn,
    supplier_ids: &[String],
    now: i64,
) -> Result<HashMap<String, Vec<Option<String>>>> {
    let rows: Vec<(String, Option<String>)> = licences::table
        .filter(licences::supplier_id.eq_any(supplier_ids))
        .filter(licences::status.eq("approved"))
        .filter(licences::expires_at.gt(now))
        .select((licences::supplier_id, licences::product_id))
        .load(conn)?;
    let mut map: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for (s, p) in rows {
        map.entry(s).or_default().push(p);
    }
    Ok(map)
}

/// Takes off sale every on-sale product that needs a licence its supplier no longer holds
/// (expired, revoked, or never filed); returns how many. Idempotent and safe with several
/// instances: each product flips with a guarded UPDATE, so only one sweep counts it.
pub fn sweep_lapsed(conn: &mut DbConn, now: i64) -> Result<usize> {
    let candidates: Vec<(String, String)> = products::table
        .inner_join(categories::table)
        .filter(categories::licence_required.eq(true))
        .filter(products::status.eq(ProductStatus::OnSale))
        .select((products::id, products::supplier_id))
        // One lock order for every sweeper, so concurrent instances cannot deadlock.
        .order(products::id.asc())
        .load(conn)?;
    if candidates.is_empty() {
        return Ok(0);
    }
    let suppliers: Vec<String> = candidates
        .iter()
        .map(|c| c.1.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let valid = valid_licences(conn, &suppliers, now)?;
    let mut flipped = Vec::new();
    for (product_id, supplier_id) in candidates {
        if covers(&valid, &supplier_id, &product_id) {
            continue;
        }
        let changed = diesel::update(
            products::table
                .filter(products::id.eq(&product_id))
                .filter(products::status.eq(ProductStatus::OnSale)),
        )
        .set((
            products::status.eq(ProductStatus::OffSale),
            products::updated_at.eq(now),
        ))
        .execute(conn)?;
        if changed == 1 {
            diesel::delete(licence_holds::table.find(&product_id)).execute(conn)?;
            diesel::insert_into(licence_holds::table)
                .values((
                    licence_holds::product_id.eq(&product_id),
                    licence_holds::held_at.eq(now),
                ))
                .execute(conn)?;
            flipped.push(product_id);
        }
    }
    if !flipped.is_empty() {
        record_admin(
            conn,
            SWEEP_ACTOR,
            "product.licence_lapsed",
            "products",
            json!({ "product_ids": flipped, "status": ProductStatus::OffSale }),
        )?;
    }
    Ok(flipped.len())
}

/// Puts back on sale the held products of `supplier_id` that a just-approved licence covers
/// (`product_id` None = all of them); returns their ids. Runs inside the approval transaction.
pub fn restore_held(
    conn: &mut DbConn,
    supplier_id: &str,
    product_id: Option<&str>,
    now: i64,
) -> Result<Vec<String>> {
    let mut q = licence_holds::table
        .inner_join(products::table.on(products::id.eq(licence_holds::product_id)))
        .filter(products::supplier_id.eq(supplier_id.to_string()))
        .select(products::id)
        .into_boxed();
    if let Some(p) = product_id {
        q = q.filter(products::id.eq(p.to_string()));
    }
    let held: Vec<String> = q.load(conn)?;
    let mut restored = Vec::new();
    for id in held {
        diesel::delete(licence_holds::table.find(&id)).execute(conn)?;
        let changed = diesel::update(
            products::table
                .filter(products::id.eq(&id))
                .filter(products::status.eq(ProductStatus::OffSale)),
        )
        .set((
            products::status.eq(ProductStatus::OnSale),
            products::updated_at.eq(now),
        ))
        .execute(conn)?;
        if changed == 1 {
            restored.push(id);
        }
    }
    Ok(restored)
}
