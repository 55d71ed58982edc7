//! Supplier quality: per product and per batch (`batch_ref` of the push), how many cards were
//! delivered and how many of those proved defective (ticketed, then refunded or replaced). An
//! admin can withdraw a bad batch: its unsold cards leave stock.
//!
//! Counts come from one grouped query over the cards (no counters to keep in step on the order
//! path); a card's status says it all: `available`, `sold`, `defective`, `withdrawn`.

use std::collections::BTreeMap;

use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::db::schema::{cards, products};
use crate::db::DbConn;
use crate::domain::money::chain::record_admin;
use crate::domain::trade::{catalog, fulfilment};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BatchQuality {
    /// The supplier's batch reference; null for cards pushed without one (and replacement codes
    /// handed in with a ticket answer).
    pub batch_ref: Option<String>,
    /// Cards delivered to buyers (sold or later found defective).
    pub delivered: i64,
    /// Delivered cards ticketed and then refunded or replaced.
    pub defective: i64,
    /// defective ÷ delivered (0 when nothing was delivered), rounded to 4 decimals.
    pub defect_rate: f64,
    /// Unsold cards in stock.
    pub available: i64,
    /// Unsold cards an admin withdrew.
    pub withdrawn: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ProductQuality {
    pub product_id: String,
    pub delivered: i64,
    pub defective: i64,
    pub defect_rate: f64,
    /// Per batch, in `batch_ref` order (null first).
    pub batches: Vec<BatchQuality>,
    /// Just-in-time fulfilment calls the supplier failed (error, timeout, wrong count, a known
    /// code); each cost an order, though not the reseller's money.
    #[serde(default)]
    pub jit_failures: i64,
}

pub fn rate(defective: i64, delivered: i64) -> f64 {
    if delivered == 0 {
        0.0
    } else {
        (defective as f64 / delivered as f64 * 10_000.0).round() / 10_000.0
    }
}

impl BatchQuality {
    fn add(&mut self, status: &str, n: i64) {
        match status {
            "sold" => self.delivered += n,
            "defective" => {
                self.delivered += n;
                self.defective += n;
            }
            "available" => self.available += n,
            "withdrawn" => self.withdrawn += n,
            _ => {}
        }
    }
}

type Counted = (String, Option<String>, String, i64);

fn summarise(rows: Vec<Counted>) -> BTreeMap<String, ProductQuality> {
    let mut by_product: BTreeMap<String, BTreeMap<Option<String>, BatchQuality>> = BTreeMap::new();
    for (product_id, batch_ref, status, n) in rows {
        by_product
            .entry(product_id)
            .or_default()
            .entry(batch_ref.clone())
            .or_insert_with(|| BatchQuality {
                batch_ref,
                ..Default::default()
            })
            .add(&status, n);
    }
    by_product
        .into_iter()
        .map(|(product_id, batches)| {
            let mut batches: Vec<BatchQuality> = batches.into_values().collect();
            for b in &mut batches {
                b.defect_rate = rate(b.defective, b.delivered);
            }
            let delivered = batches.iter().map(|b| b.delivered).sum();
            let defective = batches.iter().map(|b| b.defective).sum();
            let q = ProductQuality {
                product_id: product_id.clone(),
                delivered,
                defective,
                defect_rate: rate(defective, delivered),
                batches,
                jit_failures: 0,
            };
            (product_id, q)
        })
        .collect()
}

/// Quality of every product of a supplier that has cards, by product id.
pub fn for_supplier(
    conn: &mut DbConn,
    supplier_id: &str,
) -> Result<BTreeMap<String, ProductQuality>> {
    let rows: Vec<Counted> = cards::table
        .filter(cards::supplier_id.eq(supplier_id))
        .group_by((cards::product_id, cards::batch_ref, cards::status))
        .select((
            cards::product_id,
            cards::batch_ref,
            cards::status,
            count_star(),
        ))
        .load(conn)?;
    let mut by_product = summarise(rows);
    for (product_id, n) in fulfilment::breaker::failures_by_product(conn, supplier_id)? {
        by_product
            .entry(product_id.clone())
            .or_insert_with(|| ProductQuality {
                product_id,
                ..Default::default()
            })
            .jit_failures = n;
    }
    Ok(by_product)
}

/// Quality of one product (404 for an unknown product).
pub fn for_product(conn: &mut DbConn, product_id: &str) -> Result<ProductQuality> {
    catalog::load(conn, product_id)?;
    let rows: Vec<Counted> = cards::table
        .filter(cards::product_id.eq(product_id))
        .group_by((cards::product_id, cards::batch_ref, cards::status))
        .select((
            cards::product_id,
            cards::batch_ref,
            cards::status,
            count_star(),
        ))
        .load(conn)?;
    Ok(summarise(rows)
        .remove(product_id)
        .unwrap_or_else(|| ProductQuality {
            product_id: product_id.to_string(),
            ..Default::default()
        }))
}

/// `POST /v1/admin/products/{id}/batches/{batch_ref}/withdraw` result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Withdrawal {
    pub product_id: String,
    pub batch_ref: String,
    /// Unsold cards taken out of stock now.
    pub withdrawn: i64,
    /// The product's stock afterwards.
    pub stock: i64,
}

/// Withdraws a batch's unsold cards from stock (sold ones stay with their orders), audited.
/// Racing orders are safe: only rows still `available` change, and the stock counter drops by
/// exactly the rows changed.
pub fn withdraw_batch(
    conn: &mut DbConn,
    actor: &str,
    product_id: &str,
    batch_ref: &str,
    now: i64,
) -> Result<Withdrawal> {
    catalog::load(conn, product_id)?;
    let known: i64 = cards::table
        .filter(cards::product_id.eq(product_id))
        .filter(cards::batch_ref.eq(batch_ref))
        .count()
        .get_result(conn)?;
    if known == 0 {
        return Err(Error::NotFound("batch"));
    }
    let withdrawn = diesel::update(
        cards::table
            .filter(cards::product_id.eq(product_id))
            .filter(cards::batch_ref.eq(batch_ref))
            .filter(cards::status.eq("available")),
    )
    .set(cards::status.eq("withdrawn"))
    .execute(conn)? as i64;
    diesel::update(products::table.find(product_id))
        .set((
            products::stock.eq(products::stock - withdrawn),
            products::updated_at.eq(now),
        ))
        .execute(conn)?;
    let stock = crate::domain::trade::pending::stock_of(conn, product_id)?;
    record_admin(
        conn,
        actor,
        "batch.withdraw",
        product_id,
        json!({ "batch_ref": batch_ref, "withdrawn": withdrawn, "stock": stock }),
    )?;
    Ok(Withdrawal {
        product_id: product_id.to_string(),
        batch_ref: batch_ref.to_string(),
        withdrawn,
        stock,
    })
}
