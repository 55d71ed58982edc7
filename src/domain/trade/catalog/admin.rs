//! Product creation and edits by the admin: field rules, SKU uniqueness, audit records.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{admin_view, category_by_name, load, AdminProduct, Delivery, ProductStatus};
use crate::db::schema::{products, suppliers};
use crate::db::DbConn;
use crate::domain::money::chain::record_admin;
use crate::domain::validate;
use crate::error::{Error, Result};

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

fn check_topup_fields(delivery: Delivery, fields: &[String]) -> Result<String> {
    if delivery == Delivery::Direct && fields.is_empty() {
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
    let delivery = Delivery::parse(&p.delivery)
        .ok_or_else(|| Error::invalid("delivery", "must be `card` or `direct`"))?;
    let currency = validate::currency("currency", p.currency.as_deref().unwrap_or("CNY"))?;
    let (min, max) = (p.min_quantity.unwrap_or(1), p.max_quantity.unwrap_or(100));
    check_quantities(min, max)?;
    let topup_fields = check_topup_fields(delivery, p.topup_fields.as_deref().unwrap_or(&[]))?;
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
            products::delivery.eq(delivery),
            products::status.eq(ProductStatus::OnSale),
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
        row.status = ProductStatus::parse(v)
            .ok_or_else(|| Error::invalid("status", "must be `on_sale` or `off_sale`"))?;
    }
    row.min_quantity = p.min_quantity.unwrap_or(row.min_quantity);
    row.max_quantity = p.max_quantity.unwrap_or(row.max_quantity);
    check_quantities(row.min_quantity, row.max_quantity)?;
    if let Some(v) = &p.topup_fields {
        row.topup_fields = check_topup_fields(row.delivery, v)?;
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
            products::status.eq(row.status),
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
