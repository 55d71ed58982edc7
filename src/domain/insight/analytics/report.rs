//! The sales reports the API returns: a reseller's own, the platform's (admin), and per-product
//! sales for suppliers.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{day_label, query, DayRange, Figures, GroupBy};
use crate::db::schema::{products, resellers};
use crate::db::DbConn;
use crate::error::Result;

/// How many entries the admin report's top lists hold.
pub const TOP: usize = 10;

/// Sales figures as a reseller sees them (what it paid; never the supplier cost).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ResellerFigures {
    pub orders: i64,
    pub units: i64,
    /// What the orders cost this reseller, in minor units.
    pub amount: i64,
    pub refunded_orders: i64,
    pub refunded_amount: i64,
    /// `amount` less `refunded_amount`.
    pub net_amount: i64,
}

impl From<&Figures> for ResellerFigures {
    fn from(f: &Figures) -> Self {
        ResellerFigures {
            orders: f.orders,
            units: f.units,
            amount: f.amount,
            refunded_orders: f.refunded_orders,
            refunded_amount: f.refunded_amount,
            net_amount: f.net_amount(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResellerSalesGroup {
    /// The day (`YYYY-MM-DD`, UTC), product id, or buyer region (`""`: none given).
    pub key: String,
    /// The product's name when grouped by product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(flatten)]
    pub figures: ResellerFigures,
}

/// `GET /v1/analytics/sales`: this reseller's orders (delivered, completed or later refunded)
/// by UTC day of purchase.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResellerSalesReport {
    pub from: String,
    pub to: String,
    pub group_by: String,
    pub currency: String,
    pub totals: ResellerFigures,
    /// Days in order (every day of the range, zeros included); products and regions by
    /// amount, largest first.
    pub groups: Vec<ResellerSalesGroup>,
}

/// Platform figures: GMV, cost, margin and refunds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PlatformFigures {
    pub orders: i64,
    pub units: i64,
    /// Gross merchandise value: what resellers paid, refunded orders included.
    pub gmv: i64,
    /// What suppliers are paid for those orders.
    pub cost: i64,
    /// GMV less cost, on orders that were not refunded.
    pub margin: i64,
    pub refunded_orders: i64,
    pub refunded_amount: i64,
    /// `refunded_orders / orders` (0 when there are no orders).
    pub refund_rate: f64,
    /// GMV less refunds.
    pub net_gmv: i64,
}

impl From<&Figures> for PlatformFigures {
    fn from(f: &Figures) -> Self {
        PlatformFigures {
            orders: f.orders,
            units: f.units,
            gmv: f.amount,
            cost: f.cost,
            margin: f.margin(),
            refunded_orders: f.refunded_orders,
            refunded_amount: f.refunded_amount,
            refund_rate: (f.refund_rate() * 10_000.0).round() / 10_000.0,
            net_gmv: f.net_amount(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlatformSalesGroup {
    /// The day (`YYYY-MM-DD`), product id, region (`""`: none given) or reseller id.
    pub key: String,
    /// The product's or reseller's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(flatten)]
    pub figures: PlatformFigures,
}

/// `GET /v1/admin/analytics/sales`: every reseller's orders in one currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlatformSalesReport {
    pub from: String,
    pub to: String,
    pub group_by: String,
    pub currency: String,
    pub totals: PlatformFigures,
    pub groups: Vec<PlatformSalesGroup>,
    /// The best-selling products by GMV.
    pub top_products: Vec<PlatformSalesGroup>,
    /// The resellers with the most GMV.
    pub top_resellers: Vec<PlatformSalesGroup>,
}

/// Largest amount first, then key, so equal figures list in a stable order.
fn by_amount_desc(rows: &mut [(String, Figures)]) {
    rows.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then_with(|| a.0.cmp(&b.0)));
}

/// Every day of the range, with zeros for days without sales.
fn fill_days(range: DayRange, rows: Vec<(i64, Figures)>) -> Vec<(String, Figures)> {
    let by_day: HashMap<i64, Figures> = rows.into_iter().collect();
    (range.from..=range.to)
        .map(|d| (day_label(d), by_day.get(&d).copied().unwrap_or_default()))
        .collect()
}

pub fn product_names(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, String>> {
    Ok(products::table
        .filter(products::id.eq_any(ids))
        .select((products::id, products::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

fn reseller_names(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, String>> {
    Ok(resellers::table
        .filter(resellers::id.eq_any(ids))
        .select((resellers::id, resellers::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn reseller_sales(
    conn: &mut DbConn,
    reseller_id: &str,
    range: DayRange,
    by: GroupBy,
) -> Result<ResellerSalesReport> {
    let currency: String = resellers::table
        .find(reseller_id)
        .select(resellers::currency)
        .first(conn)?;
    let mut labels = HashMap::new();
    let rows = match by {
        GroupBy::Day => fill_days(range, query::reseller_days(conn, reseller_id, range)?),
        GroupBy::Product | GroupBy::Region => {
            let mut rows = query::reseller_groups(conn, reseller_id, range, by)?;
            by_amount_desc(&mut rows);
            if by == GroupBy::Product {
                let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
                labels = product_names(conn, &ids)?;
            }
            rows
        }
    };
    let totals = Figures::sum(rows.iter().map(|r| &r.1));
    Ok(ResellerSalesReport {
        from: day_label(range.from),
        to: day_label(range.to),
        group_by: by.as_str().into(),
        currency,
        totals: (&totals).into(),
        groups: rows
            .into_iter()
            .map(|(key, f)| ResellerSalesGroup {
                label: labels.get(&key).cloned(),
                key,
                figures: (&f).into(),
            })
            .collect(),
    })
}

fn platform_groups(
    rows: Vec<(String, Figures)>,
    labels: &HashMap<String, String>,
) -> Vec<PlatformSalesGroup> {
    rows.into_iter()
        .map(|(key, f)| PlatformSalesGroup {
            label: labels.get(&key).cloned(),
            key,
            figures: (&f).into(),
        })
        .collect()
}

pub fn platform_sales(
    conn: &mut DbConn,
    currency: &str,
    range: DayRange,
    by: GroupBy,
) -> Result<PlatformSalesReport> {
    let mut by_product = query::platform_by(conn, "product", currency, range)?;
    by_amount_desc(&mut by_product);
    let mut by_reseller = query::platform_by(conn, "reseller", currency, range)?;
    by_amount_desc(&mut by_reseller);
    by_reseller.truncate(TOP);
    let totals = Figures::sum(by_product.iter().map(|r| &r.1));

    let product_ids: Vec<String> = by_product.iter().map(|r| r.0.clone()).collect();
    let product_labels = product_names(conn, &product_ids)?;
    let reseller_ids: Vec<String> = by_reseller.iter().map(|r| r.0.clone()).collect();
    let reseller_labels = reseller_names(conn, &reseller_ids)?;

    let top_products = platform_groups(
        by_product.iter().take(TOP).cloned().collect(),
        &product_labels,
    );
    let groups = match by {
        GroupBy::Day => platform_groups(
            fill_days(range, query::platform_days(conn, currency, range)?),
            &HashMap::new(),
        ),
        GroupBy::Product => platform_groups(by_product, &product_labels),
        GroupBy::Region => {
            let mut rows = query::platform_by(conn, "region", currency, range)?;
            by_amount_desc(&mut rows);
            platform_groups(rows, &HashMap::new())
        }
    };
    Ok(PlatformSalesReport {
        from: day_label(range.from),
        to: day_label(range.to),
        group_by: by.as_str().into(),
        currency: currency.into(),
        totals: (&totals).into(),
        groups,
        top_products,
        top_resellers: platform_groups(by_reseller, &reseller_labels),
    })
}

/// A product's recent sales as its supplier sees them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SupplierSales {
    /// The window: the last `days` UTC days, today included.
    pub days: i64,
    pub orders: i64,
    pub units: i64,
    pub refunded_units: i64,
    /// What the supplier is paid for them (cost), net of refunds charged back.
    pub amount: i64,
}

/// Sales window shown to suppliers.
pub const SUPPLIER_SALES_DAYS: i64 = 30;

/// Sales of each product over the last [`SUPPLIER_SALES_DAYS`] days, today included.
pub fn supplier_sales(
    conn: &mut DbConn,
    product_ids: &[String],
    now_ms: i64,
) -> Result<HashMap<String, SupplierSales>> {
    let today = super::day_of(now_ms);
    let range = DayRange {
        from: today - (SUPPLIER_SALES_DAYS - 1),
        to: today,
    };
    let figures = query::product_figures(conn, product_ids, range)?;
    Ok(product_ids
        .iter()
        .map(|id| {
            let f = figures.get(id).copied().unwrap_or_default();
            let sales = SupplierSales {
                days: SUPPLIER_SALES_DAYS,
                orders: f.orders,
                units: f.units,
                refunded_units: f.refunded_units,
                amount: f.cost - f.refunded_cost,
            };
            (id.clone(), sales)
        })
        .collect())
}
