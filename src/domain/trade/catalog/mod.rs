//! The catalogue: products as stored (`ProductRow`), as a reseller sees them at its own price
//! (`Product`, [`reseller_products`]) and as the admin sees them (`AdminProduct`). Categories
//! live in `category`, product creation and edits in `admin`; prices come from
//! `trade::pricing`, so the listing shows what an order charges.

mod admin;
mod category;
mod purchasable;

/// Stored in `products.delivery` and `products.status`; declared with the other shared states
/// (see `domain::states`).
pub use crate::domain::states::{Delivery, ProductStatus};
pub use admin::*;
pub use category::*;
pub use purchasable::{Buyer, Purchasability, Unpurchasable};

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{categories, products, resellers};
use crate::db::DbConn;
use crate::domain::accounts::compliance::Sellable;
use crate::domain::trade::pricing::network::NetworkPrices;
use crate::error::{Error, Result};
use crate::time::rfc3339;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub category_id: String,
    pub supplier_id: String,
    pub description: String,
    pub instructions: String,
    pub region: Option<String>,
    pub face_value: i64,
    pub cost: i64,
    pub price: i64,
    pub currency: String,
    pub delivery: Delivery,
    pub status: ProductStatus,
    pub min_quantity: i64,
    pub max_quantity: i64,
    pub topup_fields: String,
    pub stock: i64,
    pub low_stock_threshold: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Units the forecast expects to sell within the stock-low days (see `stock_low`).
    pub cover_units: Option<i64>,
    /// When `stock.low` was sent for the current low spell.
    pub stock_low_at: Option<i64>,
}

impl ProductRow {
    /// What the licence rule (`accounts::compliance`) checks before a sale.
    pub fn sellable(&self) -> Sellable<'_> {
        Sellable {
            id: &self.id,
            category_id: &self.category_id,
            supplier_id: &self.supplier_id,
        }
    }
}

/// A product as a reseller sees it, with this caller's unit price.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "prd_01a2b3c4", "sku": "STEAM-50", "name": "Steam wallet code 50 CNY", "category": "steam",
    "description": "Adds 50 CNY to a Steam wallet.", "instructions": "Redeem at store.steampowered.com/account/redeemwalletcode",
    "region": "CN", "face_value": 5000, "currency": "CNY", "delivery": "card", "status": "on_sale",
    "min_quantity": 1, "max_quantity": 100, "price": 4850, "stock": 120, "topup_fields": [],
    "available": true, "purchasable": true, "unpurchasable_reason": null
}))]
pub struct Product {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub description: String,
    /// How to redeem the code.
    pub instructions: String,
    pub region: Option<String>,
    pub face_value: i64,
    pub currency: String,
    /// `card` (codes delivered in the response) or `direct` (account top-up).
    pub delivery: String,
    /// `on_sale` or `off_sale`.
    pub status: String,
    pub min_quantity: i64,
    pub max_quantity: i64,
    /// This caller's unit price in minor units.
    pub price: i64,
    /// Available codes (pushed ones, plus a just-in-time supplier's declared stock not yet
    /// sold); null for direct products without a declared capacity.
    pub stock: Option<i64>,
    /// Whether an order can be placed now: on sale and, for card products, some stock (a
    /// just-in-time supplier paused by its circuit breaker counts none).
    pub available: bool,
    /// For direct products: what the buyer must supply.
    pub topup_fields: Vec<String>,
    /// Whether an order of `min_quantity` would be accepted now (for the admin: by a buyer
    /// with enough balance in the product's currency). Stock can still run out meanwhile.
    pub purchasable: bool,
    /// Why not, when `purchasable` is false; null otherwise.
    pub unpurchasable_reason: Option<Unpurchasable>,
}

/// A product as the admin sees it: the base price plus cost and ownership.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminProduct {
    #[serde(flatten)]
    pub product: Product,
    pub cost: i64,
    pub supplier_id: String,
    pub category_id: String,
    pub low_stock_threshold: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

fn product_view(
    row: &ProductRow,
    category: &str,
    price: i64,
    unpurchasable: Option<Unpurchasable>,
) -> Product {
    Product {
        id: row.id.clone(),
        sku: row.sku.clone(),
        name: row.name.clone(),
        category: category.to_string(),
        description: row.description.clone(),
        instructions: row.instructions.clone(),
        region: row.region.clone(),
        face_value: row.face_value,
        currency: row.currency.clone(),
        delivery: row.delivery.to_string(),
        status: row.status.to_string(),
        min_quantity: row.min_quantity,
        max_quantity: row.max_quantity,
        price,
        stock: if row.delivery == Delivery::Card {
            Some(row.stock)
        } else {
            None
        },
        topup_fields: serde_json::from_str(&row.topup_fields).unwrap_or_default(),
        purchasable: unpurchasable.is_none(),
        unpurchasable_reason: unpurchasable,
        available: row.status == ProductStatus::OnSale
            && (row.delivery == Delivery::Direct || row.stock > 0),
    }
}

pub fn admin_view(conn: &mut DbConn, row: &ProductRow) -> Result<AdminProduct> {
    let cat = category_name(conn, &row.category_id)?;
    let rules = Purchasability::load(conn, std::slice::from_ref(row))?;
    Ok(AdminProduct {
        product: product_view(row, &cat, row.price, rules.reason(row, row.price, None)),
        cost: row.cost,
        supplier_id: row.supplier_id.clone(),
        category_id: row.category_id.clone(),
        low_stock_threshold: row.low_stock_threshold,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    })
}

/// One product as the admin sees it (404 for an unknown id).
pub fn admin_product(conn: &mut DbConn, id: &str) -> Result<AdminProduct> {
    let row = load(conn, id)?;
    admin_view(conn, &row)
}

/// Products as the admin sees them.
pub fn admin_products(conn: &mut DbConn, f: &ProductFilter) -> Result<Vec<AdminProduct>> {
    list_rows(conn, f)?
        .iter()
        .map(|r| admin_view(conn, r))
        .collect()
}

fn category_name(conn: &mut DbConn, id: &str) -> Result<String> {
    Ok(categories::table
        .find(id)
        .select(categories::name)
        .first(conn)?)
}

/// A product with its exact stock (pending sales and declared stock included).
pub fn load(conn: &mut DbConn, id: &str) -> Result<ProductRow> {
    let mut row = load_for_sale(conn, id)?;
    shown_stock(conn, std::slice::from_mut(&mut row))?;
    Ok(row)
}

/// The stock a reader sees: the counter plus sales still pending, plus what a just-in-time
/// supplier has declared and not sold (`trade::fulfilment`).
fn shown_stock(conn: &mut DbConn, rows: &mut [ProductRow]) -> Result<()> {
    crate::domain::trade::pending::exact_stock(conn, rows)?;
    crate::domain::trade::fulfilment::add_declared_stock(conn, rows, crate::time::now_ms())
}

/// A product as the order path reads it: one query, `stock` without the sales still pending
/// (the order path does not read it; see `trade::pending`).
pub fn load_for_sale(conn: &mut DbConn, id: &str) -> Result<ProductRow> {
    products::table
        .find(id)
        .select(ProductRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("product"))
}

/// [`load_for_sale`] with its category's `licence_required`, in the same round trip.
pub fn load_with_licence_rule(conn: &mut DbConn, id: &str) -> Result<(ProductRow, bool)> {
    products::table
        .inner_join(categories::table)
        .filter(products::id.eq(id))
        .select((ProductRow::as_select(), categories::licence_required))
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("product"))
}

/// Filters of the product lists.
#[derive(Debug, Default, Clone)]
pub struct ProductFilter {
    pub category: Option<String>,
    pub q: Option<String>,
    pub delivery: Option<String>,
    pub supplier_id: Option<String>,
    pub after: Option<String>,
    pub limit: i64,
}

/// Rows matching a filter, ordered by id, at most `limit + 1` (the extra row says there is a
/// next page).
pub fn list_rows(conn: &mut DbConn, f: &ProductFilter) -> Result<Vec<ProductRow>> {
    let mut q = products::table.select(ProductRow::as_select()).into_boxed();
    if let Some(cat) = &f.category {
        let ids: Vec<String> = categories::table
            .filter(categories::name.eq(cat))
            .select(categories::id)
            .load(conn)?;
        q = q.filter(products::category_id.eq_any(ids));
    }
    if let Some(text) = &f.q {
        let pattern = format!("%{}%", text.replace(['%', '_'], ""));
        q = q.filter(
            products::name
                .like(pattern.clone())
                .or(products::sku.like(pattern)),
        );
    }
    if let Some(d) = &f.delivery {
        q = q.filter(products::delivery.eq(d.clone()));
    }
    if let Some(s) = &f.supplier_id {
        q = q.filter(products::supplier_id.eq(s.clone()));
    }
    if let Some(a) = &f.after {
        q = q.filter(products::id.gt(a.clone()));
    }
    let mut rows = q.order(products::id.asc()).limit(f.limit + 1).load(conn)?;
    shown_stock(conn, &mut rows)?;
    Ok(rows)
}

pub fn category_names(conn: &mut DbConn) -> Result<HashMap<String, String>> {
    Ok(categories::table
        .select((categories::id, categories::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The catalogue as a reseller sees it.
pub fn reseller_products(
    conn: &mut DbConn,
    reseller_id: &str,
    f: &ProductFilter,
) -> Result<Vec<Product>> {
    let rows = list_rows(conn, f)?;
    let names = category_names(conn)?;
    reseller_views(conn, reseller_id, &rows, |id| {
        names.get(id).cloned().unwrap_or_default()
    })
}

pub fn reseller_product(conn: &mut DbConn, reseller_id: &str, product_id: &str) -> Result<Product> {
    let row = load(conn, product_id)?;
    let cat = category_name(conn, &row.category_id)?;
    let mut views = reseller_views(conn, reseller_id, std::slice::from_ref(&row), |_| {
        cat.clone()
    })?;
    views.pop().ok_or(Error::NotFound("product"))
}

/// Rows as this reseller sees them: at the price the order quote charges (sub-resellers see
/// their parent's markups) and whether it could buy each now.
fn reseller_views(
    conn: &mut DbConn,
    reseller_id: &str,
    rows: &[ProductRow],
    category: impl Fn(&str) -> String,
) -> Result<Vec<Product>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let prices = NetworkPrices::load(conn, reseller_id, &ids)?;
    let rules = Purchasability::load(conn, rows)?;
    let (currency, balance): (String, i64) = resellers::table
        .find(reseller_id)
        .select((resellers::currency, resellers::balance))
        .first(conn)?;
    let buyer = Buyer {
        currency: &currency,
        balance,
    };
    rows.iter()
        .map(|r| {
            let price = prices.unit_price(r)?;
            let reason = rules.reason(r, price, Some(&buyer));
            Ok(product_view(r, &category(&r.category_id), price, reason))
        })
        .collect()
}

/// A supplier sets when `stock.low` fires for one of its own products.
pub fn set_low_stock_threshold(
    conn: &mut DbConn,
    supplier_id: &str,
    product_id: &str,
    threshold: Option<i64>,
) -> Result<()> {
    let p = load(conn, product_id)?;
    if p.supplier_id != supplier_id {
        return Err(Error::NotFound("product"));
    }
    diesel::update(products::table.find(product_id))
        .set(products::low_stock_threshold.eq(threshold))
        .execute(conn)?;
    Ok(())
}
