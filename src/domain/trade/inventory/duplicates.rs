//! Cross-supplier duplicate flags: every time a push carries a code that another product already
//! holds (rejected as `duplicate_elsewhere`), the attempt is recorded for the admin. Resold or
//! leaked codes are how fraud shows up first. Only the keyed code hash is stored.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{duplicate_flags, products};
use crate::db::DbConn;
use crate::error::Result;
use crate::time::rfc3339;

/// Rows per multi-row INSERT, well inside both backends' parameter limits.
const CHUNK: usize = 500;

/// Records the codes of a push that other products hold. `existing` maps each already-stored
/// code hash of the push to the product holding it (as `inventory::push` computed it); entries
/// held by `product_id` itself are ordinary duplicates and are skipped.
pub fn flag(
    conn: &mut DbConn,
    supplier_id: &str,
    product_id: &str,
    existing: &HashMap<String, String>,
    now: i64,
) -> Result<usize> {
    let elsewhere: Vec<(&String, &String)> = existing
        .iter()
        .filter(|(_, holder)| holder.as_str() != product_id)
        .collect();
    if elsewhere.is_empty() {
        return Ok(0);
    }
    let mut holders: Vec<&str> = elsewhere.iter().map(|(_, p)| p.as_str()).collect();
    holders.sort_unstable();
    holders.dedup();
    let owners: HashMap<String, String> = products::table
        .filter(products::id.eq_any(&holders))
        .select((products::id, products::supplier_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    for chunk in elsewhere.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(hash, holder)| {
                (
                    duplicate_flags::supplier_id.eq(supplier_id),
                    duplicate_flags::product_id.eq(product_id),
                    duplicate_flags::code_hash.eq(hash.as_str()),
                    duplicate_flags::holder_product_id.eq(holder.as_str()),
                    duplicate_flags::holder_supplier_id
                        .eq(owners.get(holder.as_str()).cloned().unwrap_or_default()),
                    duplicate_flags::created_at.eq(now),
                )
            })
            .collect();
        let insert = diesel::insert_into(duplicate_flags::table).values(rows);
        crate::on_backend!(conn, c => insert.execute(c))?;
    }
    Ok(elsewhere.len())
}

/// One rejected attempt to push a code another product holds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DuplicateFlag {
    pub id: String,
    /// Who pushed the code, and into which product.
    pub supplier_id: String,
    pub product_id: String,
    /// Keyed hash of the code (the same code always has the same hash; the code itself is not
    /// recoverable from it).
    pub code_hash: String,
    /// The product (and its supplier) that already held the code.
    pub holder_product_id: String,
    pub holder_supplier_id: String,
    /// True when the holder is another supplier.
    pub cross_supplier: bool,
    pub created_at: String,
}

#[derive(Debug, Default, Clone)]
pub struct FlagFilter {
    pub supplier_id: Option<String>,
    pub product_id: Option<String>,
    /// Cursor: flags older than this id.
    pub before: Option<i64>,
    pub limit: i64,
}

type FlagRow = (i64, String, String, String, String, String, i64);

/// Flags newest first, at most `limit + 1` (the extra one signals a next page).
pub fn list(conn: &mut DbConn, f: &FlagFilter) -> Result<Vec<DuplicateFlag>> {
    let mut q = duplicate_flags::table
        .select((
            duplicate_flags::id,
            duplicate_flags::supplier_id,
            duplicate_flags::product_id,
            duplicate_flags::code_hash,
            duplicate_flags::holder_product_id,
            duplicate_flags::holder_supplier_id,
            duplicate_flags::created_at,
        ))
        .into_boxed();
    if let Some(s) = &f.supplier_id {
        q = q.filter(duplicate_flags::supplier_id.eq(s.clone()));
    }
    if let Some(p) = &f.product_id {
        q = q.filter(duplicate_flags::product_id.eq(p.clone()));
    }
    if let Some(b) = f.before {
        q = q.filter(duplicate_flags::id.lt(b));
    }
    let rows: Vec<FlagRow> = q
        .order(duplicate_flags::id.desc())
        .limit(f.limit + 1)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, supplier_id, product_id, code_hash, hp, hs, at)| DuplicateFlag {
                id: id.to_string(),
                cross_supplier: hs != supplier_id,
                supplier_id,
                product_id,
                code_hash,
                holder_product_id: hp,
                holder_supplier_id: hs,
                created_at: rfc3339(at),
            },
        )
        .collect())
}
