//! Product recommendations for a reseller: what resellers with similar sales sell that it does
//! not, from the last 90 days of the analytics rollup. The algorithm is the pure [`similar`]
//! module; this one loads its inputs and renders the result.
//!
//! Every reseller's recent sales (the matrix the algorithm compares) is one aggregate over
//! the window — a few hundred milliseconds at a million orders — so it is kept in memory for
//! [`SNAPSHOT_TTL`] and shared by all requests; what the reseller itself sold, which products
//! are on sale and the prices are read fresh on every request.

pub mod similar;

#[cfg(test)]
mod evaluation;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{products, resellers};
use crate::db::DbConn;
use crate::domain::insight::analytics::{self, day_of, DayRange};
use crate::domain::trade::catalog::{self, Product, ProductStatus};
use crate::error::Result;
use similar::{Candidates, Sales};

/// Days of sales the recommender compares.
pub const WINDOW_DAYS: i64 = 90;
/// How long a sales snapshot is reused.
pub const SNAPSHOT_TTL: Duration = Duration::from_secs(300);
/// Most recommendations one request may ask for.
pub const MAX_LIMIT: i64 = 50;

/// Every reseller's units per product over the window, and units per product per buyer region.
pub struct Snapshot {
    day: i64,
    taken: Instant,
    pub sales: Sales,
    pub by_region: HashMap<String, HashMap<String, f64>>,
}

impl Snapshot {
    pub fn load(conn: &mut DbConn, now_ms: i64) -> Result<Snapshot> {
        let today = day_of(now_ms);
        let range = DayRange {
            from: today - (WINDOW_DAYS - 1),
            to: today,
        };
        let mut sales = Sales::new();
        let mut by_region: HashMap<String, HashMap<String, f64>> = HashMap::new();
        for (reseller, product, region, units) in analytics::recent_sales(conn, range)? {
            let units = units as f64;
            if !region.is_empty() {
                *by_region
                    .entry(region)
                    .or_default()
                    .entry(product.clone())
                    .or_default() += units;
            }
            *sales
                .entry(reseller)
                .or_default()
                .entry(product)
                .or_default() += units;
        }
        Ok(Snapshot {
            day: today,
            taken: Instant::now(),
            sales,
            by_region,
        })
    }

    /// Units per product sold to buyers in these regions, most first.
    fn regional(&self, regions: &[String]) -> Vec<(String, f64)> {
        let mut totals: HashMap<&str, f64> = HashMap::new();
        for units in regions.iter().filter_map(|r| self.by_region.get(r)) {
            for (p, u) in units {
                *totals.entry(p.as_str()).or_default() += u;
            }
        }
        let mut out: Vec<(String, f64)> = totals
            .into_iter()
            .map(|(p, u)| (p.to_string(), u))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

/// The shared snapshot (one per process; `AppState` holds it).
#[derive(Default)]
pub struct SnapshotCache {
    slot: Mutex<Option<Arc<Snapshot>>>,
}

impl SnapshotCache {
    /// The current snapshot, reloaded when older than the TTL or taken on another UTC day.
    /// Loading happens under the lock so concurrent requests wait for one load.
    pub fn get(&self, conn: &mut DbConn, now_ms: i64) -> Result<Arc<Snapshot>> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.as_ref() {
            if s.day == day_of(now_ms) && s.taken.elapsed() < SNAPSHOT_TTL {
                return Ok(s.clone());
            }
        }
        let fresh = Arc::new(Snapshot::load(conn, now_ms)?);
        *slot = Some(fresh.clone());
        Ok(fresh)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Recommendation {
    /// The product at this reseller's price.
    pub product: Product,
    /// Why it is suggested, in words.
    pub reason: String,
    /// `similar_resellers`, `region` (what sells where this reseller's buyers are) or
    /// `bestseller`.
    pub basis: String,
}

/// Up to `limit` products for this reseller. `region` names where its buyers are when its
/// own orders do not say (a new reseller).
pub fn for_reseller(
    conn: &mut DbConn,
    snapshot: &Snapshot,
    reseller_id: &str,
    region: Option<&str>,
    limit: usize,
) -> Result<Vec<Recommendation>> {
    let sold: HashSet<String> = analytics::products_sold_by(conn, reseller_id)?
        .into_iter()
        .collect();
    let currency: String = resellers::table
        .find(reseller_id)
        .select(resellers::currency)
        .first(conn)?;
    let eligible: HashSet<String> = products::table
        .filter(products::status.eq(ProductStatus::OnSale))
        .filter(products::currency.eq(&currency))
        .select(products::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let regions = match region {
        Some(r) => vec![r.to_string()],
        None => analytics::buyer_regions(conn, reseller_id)?,
    };
    let candidates = Candidates {
        sold: &sold,
        eligible: &eligible,
    };
    let suggestions = similar::recommend(
        reseller_id,
        &snapshot.sales,
        &candidates,
        &regions,
        &snapshot.regional(&regions),
        limit,
    );
    suggestions
        .into_iter()
        .map(|s| {
            Ok(Recommendation {
                product: catalog::reseller_product(conn, reseller_id, &s.product_id)?,
                reason: s.basis.reason(),
                basis: s.basis.kind().into(),
            })
        })
        .collect()
}
