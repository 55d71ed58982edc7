//! Supplier licences: a supplier files its proof of the right to distribute (for one product or,
//! with no `product_id`, for all its products); an admin approves or rejects it (audited). What a
//! licence allows is enforced in `compliance`.
//!
//! States: `pending` → `approved` | `rejected`; an approved licence can later be `rejected`
//! (revoked, e.g. found forged), after which the sweep takes its products off sale.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::compliance;
use crate::db::schema::{licences, products};
use crate::db::DbConn;
use crate::domain::money::chain::record_admin;
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::time::{parse_rfc3339, rfc3339};

/// `POST /v1/supplier/licences` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLicence {
    /// The product it covers; omitted = every product of this supplier.
    pub product_id: Option<String>,
    /// The licence's number or reference as issued.
    pub reference: String,
    /// Who issued it (authority or rights holder).
    pub issuer: String,
    /// RFC 3339; must be in the future.
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Licence {
    pub id: String,
    pub supplier_id: String,
    /// Null: covers all of the supplier's products.
    pub product_id: Option<String>,
    pub reference: String,
    pub issuer: String,
    pub expires_at: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub created_at: String,
    pub reviewed_at: Option<String>,
}

/// `POST /v1/admin/licences/{id}/review` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenceReview {
    /// `approved` or `rejected`.
    pub decision: String,
    pub memo: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = licences)]
pub struct LicenceRow {
    pub id: String,
    pub supplier_id: String,
    pub product_id: Option<String>,
    pub reference: String,
    pub issuer: String,
    pub expires_at: i64,
    pub status: String,
    pub created_at: i64,
    pub reviewed_at: Option<i64>,
}

impl LicenceRow {
    pub fn view(&self) -> Licence {
        Licence {
            id: self.id.clone(),
            supplier_id: self.supplier_id.clone(),
            product_id: self.product_id.clone(),
            reference: self.reference.clone(),
            issuer: self.issuer.clone(),
            expires_at: rfc3339(self.expires_at),
            status: self.status.clone(),
            created_at: rfc3339(self.created_at),
            reviewed_at: self.reviewed_at.map(rfc3339),
        }
    }
}

pub fn submit(conn: &mut DbConn, supplier_id: &str, req: &NewLicence, now: i64) -> Result<Licence> {
    let reference = validate::non_empty("reference", &req.reference, 200)?;
    let issuer = validate::non_empty("issuer", &req.issuer, 200)?;
    let expires_at = parse_rfc3339(&req.expires_at)
        .ok_or_else(|| Error::invalid("expires_at", "must be an RFC 3339 timestamp"))?;
    if expires_at <= now {
        return Err(Error::invalid("expires_at", "must be in the future"));
    }
    if let Some(pid) = &req.product_id {
        // Another supplier's product is "not found", as everywhere else.
        let owner: Option<String> = products::table
            .find(pid)
            .select(products::supplier_id)
            .first(conn)
            .optional()?;
        if owner.as_deref() != Some(supplier_id) {
            return Err(Error::NotFound("product"));
        }
    }
    let id = crate::ids::new_id("lic");
    diesel::insert_into(licences::table)
        .values((
            licences::id.eq(&id),
            licences::supplier_id.eq(supplier_id),
            licences::product_id.eq(&req.product_id),
            licences::reference.eq(&reference),
            licences::issuer.eq(&issuer),
            licences::expires_at.eq(expires_at),
            licences::status.eq("pending"),
            licences::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(load(conn, &id)?.view())
}

pub fn load(conn: &mut DbConn, id: &str) -> Result<LicenceRow> {
    licences::table
        .find(id)
        .select(LicenceRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("licence"))
}

#[derive(Debug, Default, Clone)]
pub struct LicenceFilter {
    pub supplier_id: Option<String>,
    pub status: Option<String>,
    /// Cursor: licences filed after this id.
    pub after: Option<String>,
    pub limit: i64,
}

/// Oldest first (a review queue), at most `limit + 1` rows (the extra one signals a next page).
pub fn list(conn: &mut DbConn, f: &LicenceFilter) -> Result<Vec<Licence>> {
    let mut q = licences::table.select(LicenceRow::as_select()).into_boxed();
    if let Some(s) = &f.supplier_id {
        q = q.filter(licences::supplier_id.eq(s.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(licences::status.eq(s.clone()));
    }
    if let Some(a) = &f.after {
        q = q.filter(licences::id.gt(a.clone()));
    }
    Ok(q.order(licences::id.asc())
        .limit(f.limit + 1)
        .load::<LicenceRow>(conn)?
        .iter()
        .map(LicenceRow::view)
        .collect())
}

/// An admin's decision (audited). Approving puts back on sale the products the sweep took off
/// for want of this licence.
pub fn review(
    conn: &mut DbConn,
    actor: &str,
    id: &str,
    r: &LicenceReview,
    now: i64,
) -> Result<Licence> {
    let memo = r
        .memo
        .as_deref()
        .map(|m| validate::non_empty("memo", m, 500))
        .transpose()?;
    let row = load(conn, id)?;
    let decision = match (r.decision.as_str(), row.status.as_str()) {
        ("approved", "pending") => {
            if row.expires_at <= now {
                return Err(Error::Conflict("this licence has already expired".into()));
            }
            "approved"
        }
        ("rejected", "pending" | "approved") => "rejected",
        ("approved" | "rejected", current) => {
            return Err(Error::Conflict(format!(
                "a licence that is {current} cannot be {}",
                r.decision
            )))
        }
        _ => {
            return Err(Error::invalid(
                "decision",
                "must be `approved` or `rejected`",
            ))
        }
    };
    diesel::update(licences::table.find(id))
        .set((
            licences::status.eq(decision),
            licences::reviewed_at.eq(Some(now)),
            licences::reviewed_by.eq(Some(actor)),
        ))
        .execute(conn)?;
    let restored = if decision == "approved" {
        compliance::restore_held(conn, &row.supplier_id, row.product_id.as_deref(), now)?
    } else {
        Vec::new()
    };
    record_admin(
        conn,
        actor,
        "licence.review",
        id,
        json!({ "decision": decision, "memo": memo, "supplier_id": row.supplier_id,
                "product_id": row.product_id, "restored_on_sale": restored }),
    )?;
    Ok(load(conn, id)?.view())
}
