//! Categories, products, level discounts and per-reseller prices: what a reseller sees and pays.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::chain::record_admin;
use super::validate;
use crate::db::schema::{categories, levels, products, reseller_prices, resellers, suppliers};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::time::rfc3339;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: String,
    pub name: String,
    /// Products in this category sell only while their supplier holds a valid licence.
    pub licence_required: bool,
}

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
    pub delivery: String,
    pub status: String,
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

/// A product as a reseller sees it, with this caller's unit price.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
    /// Available codes; null for direct products without a declared capacity.
    pub stock: Option<i64>,
    /// For direct products: what the buyer must supply.
    pub topup_fields: Vec<String>,
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

fn product_view(row: &ProductRow, category: &str, price: i64) -> Product {
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
        delivery: row.delivery.clone(),
        status: row.status.clone(),
        min_quantity: row.min_quantity,
        max_quantity: row.max_quantity,
        price,
        stock: if row.delivery == "card" {
            Some(row.stock)
        } else {
            None
        },
        topup_fields: serde_json::from_str(&row.topup_fields).unwrap_or_default(),
    }
}

pub fn admin_view(conn: &mut DbConn, row: &ProductRow) -> Result<AdminProduct> {
    let cat = category_name(conn, &row.category_id)?;
    Ok(AdminProduct {
        product: product_view(row, &cat, row.price),
        cost: row.cost,
        supplier_id: row.supplier_id.clone(),
        category_id: row.category_id.clone(),
        low_stock_threshold: row.low_stock_threshold,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    })
}

fn category_name(conn: &mut DbConn, id: &str) -> Result<String> {
    Ok(categories::table
        .find(id)
        .select(categories::name)
        .first(conn)?)
}

/// Finds a category by name or creates it.
pub fn category_by_name(conn: &mut DbConn, name: &str) -> Result<String> {
    let name = validate::non_empty("category", name, 100)?;
    if let Some(id) = categories::table
        .filter(categories::name.eq(&name))
        .select(categories::id)
        .first::<String>(conn)
        .optional()?
    {
        return Ok(id);
    }
    let id = crate::ids::new_id("cat");
    diesel::insert_into(categories::table)
        .values((
            categories::id.eq(&id),
            categories::name.eq(&name),
            categories::licence_required.eq(false),
            categories::created_at.eq(crate::time::now_ms()),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn list_categories(conn: &mut DbConn) -> Result<Vec<Category>> {
    Ok(categories::table
        .order(categories::name.asc())
        .select((
            categories::id,
            categories::name,
            categories::licence_required,
        ))
        .load::<(String, String, bool)>(conn)?
        .into_iter()
        .map(|(id, name, licence_required)| Category {
            id,
            name,
            licence_required,
        })
        .collect())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    pub name: Option<String>,
    pub licence_required: Option<bool>,
}

pub fn update_category(
    conn: &mut DbConn,
    actor: &str,
    id: &str,
    patch: &CategoryPatch,
) -> Result<Category> {
    let exists: i64 = categories::table
        .filter(categories::id.eq(id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(Error::NotFound("category"));
    }
    if let Some(name) = &patch.name {
        let name = validate::non_empty("name", name, 100)?;
        let taken: i64 = categories::table
            .filter(categories::name.eq(&name))
            .filter(categories::id.ne(id))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(Error::Conflict(format!("a category named {name} exists")));
        }
        diesel::update(categories::table.find(id))
            .set(categories::name.eq(name))
            .execute(conn)?;
    }
    if let Some(req) = patch.licence_required {
        diesel::update(categories::table.find(id))
            .set(categories::licence_required.eq(req))
            .execute(conn)?;
    }
    record_admin(
        conn,
        actor,
        "category.update",
        id,
        json!({ "name": patch.name, "licence_required": patch.licence_required }),
    )?;
    list_categories(conn)?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(Error::NotFound("category"))
}

/// `POST /v1/admin/products` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    /// Category name; unknown names are created.
    pub category: String,
    pub supplier_id: String,
    pub face_value: i64,
    /// What the supplier is paid per unit.
    pub cost: i64,
    /// Base price per unit before level discounts.
    pub price: i64,
    /// `card` or `direct`.
    pub delivery: String,
    pub currency: Option<String>,
    pub region: Option<String>,
    pub description: Option<String>,
    pub instructions: Option<String>,
    pub min_quantity: Option<i64>,
    pub max_quantity: Option<i64>,
    pub topup_fields: Option<Vec<String>>,
    pub low_stock_threshold: Option<i64>,
}

/// Most codes one order may ask for.
pub const MAX_ORDER_QUANTITY: i64 = 10_000;

fn check_quantities(min: i64, max: i64) -> Result<()> {
    if min < 1 {
        return Err(Error::invalid("min_quantity", "must be at least 1"));
    }
    if max < min || max > MAX_ORDER_QUANTITY {
        return Err(Error::invalid(
            "max_quantity",
            format!("must be between min_quantity and {MAX_ORDER_QUANTITY}"),
        ));
    }
    Ok(())
}

fn check_topup_fields(delivery: &str, fields: &[String]) -> Result<String> {
    if delivery == "direct" && fields.is_empty() {
        return Err(Error::invalid(
            "topup_fields",
            "direct products must name at least one field",
        ));
    }
    if fields.iter().any(|f| f.trim().is_empty() || f.len() > 64) {
        return Err(Error::invalid(
            "topup_fields",
            "field names must be 1..64 characters",
        ));
    }
    Ok(serde_json::to_string(fields).unwrap_or_else(|_| "[]".into()))
}

pub fn create_product(conn: &mut DbConn, actor: &str, p: &NewProduct) -> Result<AdminProduct> {
    let sku = validate::non_empty("sku", &p.sku, 100)?;
    let name = validate::non_empty("name", &p.name, 200)?;
    validate::non_negative("face_value", p.face_value)?;
    validate::non_negative("cost", p.cost)?;
    validate::non_negative("price", p.price)?;
    if !matches!(p.delivery.as_str(), "card" | "direct") {
        return Err(Error::invalid("delivery", "must be `card` or `direct`"));
    }
    let currency = validate::currency("currency", p.currency.as_deref().unwrap_or("CNY"))?;
    let (min, max) = (p.min_quantity.unwrap_or(1), p.max_quantity.unwrap_or(100));
    check_quantities(min, max)?;
    let topup_fields = check_topup_fields(&p.delivery, p.topup_fields.as_deref().unwrap_or(&[]))?;
    let supplier_exists: i64 = suppliers::table
        .filter(suppliers::id.eq(&p.supplier_id))
        .count()
        .get_result(conn)?;
    if supplier_exists == 0 {
        return Err(Error::invalid("supplier_id", "no such supplier"));
    }
    let sku_taken: i64 = products::table
        .filter(products::sku.eq(&sku))
        .count()
        .get_result(conn)?;
    if sku_taken > 0 {
        return Err(Error::Conflict(format!("a product with sku {sku} exists")));
    }
    let category_id = category_by_name(conn, &p.category)?;
    let id = crate::ids::new_id("prd");
    let now = crate::time::now_ms();
    diesel::insert_into(products::table)
        .values((
            products::id.eq(&id),
            products::sku.eq(&sku),
            products::name.eq(&name),
            products::category_id.eq(&category_id),
            products::supplier_id.eq(&p.supplier_id),
            products::description.eq(p.description.clone().unwrap_or_default()),
            products::instructions.eq(p.instructions.clone().unwrap_or_default()),
            products::region.eq(&p.region),
            products::face_value.eq(p.face_value),
            products::cost.eq(p.cost),
            products::price.eq(p.price),
            products::currency.eq(&currency),
            products::delivery.eq(&p.delivery),
            products::status.eq("on_sale"),
            products::min_quantity.eq(min),
            products::max_quantity.eq(max),
            products::topup_fields.eq(topup_fields),
            products::stock.eq(0i64),
            products::low_stock_threshold.eq(p.low_stock_threshold),
            products::created_at.eq(now),
            products::updated_at.eq(now),
        ))
        .execute(conn)?;
    record_admin(
        conn,
        actor,
        "product.create",
        &id,
        json!({ "sku": sku, "price": p.price, "cost": p.cost }),
    )?;
    let row = load(conn, &id)?;
    admin_view(conn, &row)
}

/// `PATCH /v1/admin/products/{id}` body: any subset of fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    pub instructions: Option<String>,
    pub region: Option<String>,
    pub face_value: Option<i64>,
    pub cost: Option<i64>,
    pub price: Option<i64>,
    /// `on_sale` or `off_sale`.
    pub status: Option<String>,
    pub min_quantity: Option<i64>,
    pub max_quantity: Option<i64>,
    pub topup_fields: Option<Vec<String>>,
    pub low_stock_threshold: Option<i64>,
}

pub fn update_product(
    conn: &mut DbConn,
    actor: &str,
    id: &str,
    p: &ProductPatch,
) -> Result<AdminProduct> {
    let mut row = load(conn, id)?;
    if let Some(v) = &p.name {
        row.name = validate::non_empty("name", v, 200)?;
    }
    if let Some(v) = &p.category {
        row.category_id = category_by_name(conn, v)?;
    }
    if let Some(v) = &p.description {
        row.description = v.clone();
    }
    if let Some(v) = &p.instructions {
        row.instructions = v.clone();
    }
    if let Some(v) = &p.region {
        row.region = Some(v.clone()).filter(|r| !r.is_empty());
    }
    if let Some(v) = p.face_value {
        row.face_value = validate::non_negative("face_value", v)?;
    }
    if let Some(v) = p.cost {
        row.cost = validate::non_negative("cost", v)?;
    }
    if let Some(v) = p.price {
        row.price = validate::non_negative("price", v)?;
    }
    if let Some(v) = &p.status {
        if !matches!(v.as_str(), "on_sale" | "off_sale") {
            return Err(Error::invalid("status", "must be `on_sale` or `off_sale`"));
        }
        row.status = v.clone();
    }
    row.min_quantity = p.min_quantity.unwrap_or(row.min_quantity);
    row.max_quantity = p.max_quantity.unwrap_or(row.max_quantity);
    check_quantities(row.min_quantity, row.max_quantity)?;
    if let Some(v) = &p.topup_fields {
        row.topup_fields = check_topup_fields(&row.delivery, v)?;
    }
    if let Some(v) = p.low_stock_threshold {
        row.low_stock_threshold = Some(validate::non_negative("low_stock_threshold", v)?);
    }
    diesel::update(products::table.find(id))
        .set((
            products::name.eq(&row.name),
            products::category_id.eq(&row.category_id),
            products::description.eq(&row.description),
            products::instructions.eq(&row.instructions),
            products::region.eq(&row.region),
            products::face_value.eq(row.face_value),
            products::cost.eq(row.cost),
            products::price.eq(row.price),
            products::status.eq(&row.status),
            products::min_quantity.eq(row.min_quantity),
            products::max_quantity.eq(row.max_quantity),
            products::topup_fields.eq(&row.topup_fields),
            products::low_stock_threshold.eq(row.low_stock_threshold),
            products::updated_at.eq(crate::time::now_ms()),
        ))
        .execute(conn)?;
    record_admin(
        conn,
        actor,
        "product.update",
        id,
        serde_json::to_value(PatchAudit::from(p)).unwrap_or_default(),
    )?;
    let row = load(conn, id)?;
    admin_view(conn, &row)
}

#[derive(Serialize)]
struct PatchAudit {
    price: Option<i64>,
    cost: Option<i64>,
    status: Option<String>,
}

impl From<&ProductPatch> for PatchAudit {
    fn from(p: &ProductPatch) -> Self {
        PatchAudit {
            price: p.price,
            cost: p.cost,
            status: p.status.clone(),
        }
    }
}

pub fn load(conn: &mut DbConn, id: &str) -> Result<ProductRow> {
    products::table
        .find(id)
        .select(ProductRow::as_select())
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
    Ok(q.order(products::id.asc()).limit(f.limit + 1).load(conn)?)
}

pub fn category_names(conn: &mut DbConn) -> Result<HashMap<String, String>> {
    Ok(categories::table
        .select((categories::id, categories::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// How a reseller's price is worked out (level discount, or a per-reseller override).
pub struct PriceBook {
    discount_bps: i64,
    overrides: HashMap<String, i64>,
}

impl PriceBook {
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

/// The catalogue as a reseller sees it.
pub fn reseller_products(
    conn: &mut DbConn,
    reseller_id: &str,
    f: &ProductFilter,
) -> Result<Vec<Product>> {
    let rows = list_rows(conn, f)?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    // The same prices the order quote charges (sub-resellers see their parent's markups).
    let prices = super::network::NetworkPrices::load(conn, reseller_id, &ids)?;
    let names = category_names(conn)?;
    rows.iter()
        .map(|r| {
            Ok(product_view(
                r,
                names.get(&r.category_id).map(String::as_str).unwrap_or(""),
                prices.unit_price(r)?,
            ))
        })
        .collect()
}

pub fn reseller_product(conn: &mut DbConn, reseller_id: &str, product_id: &str) -> Result<Product> {
    let row = load(conn, product_id)?;
    let prices =
        super::network::NetworkPrices::load(conn, reseller_id, std::slice::from_ref(&row.id))?;
    let cat = category_name(conn, &row.category_id)?;
    Ok(product_view(&row, &cat, prices.unit_price(&row)?))
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
    super::accounts::get::<super::accounts::Reseller>(conn, reseller_id)?;
    load(conn, product_id)?;
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
