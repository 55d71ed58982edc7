//! The two kinds of account: their tables and their own fields (a reseller's level, balance,
//! KYC status and parent).

use diesel::backend::Backend;
use diesel::deserialize::{FromSql, Queryable};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde_json::{json, Value};

use super::{
    Account, Changes, NewReseller, NewRow, NewSupplier, Reseller, ResellerCreated, ResellerPatch,
    Supplier, SupplierCreated, SupplierPatch, DEFAULT_CURRENCY,
};
use crate::db::schema::{resellers, suppliers};
use crate::db::DbConn;
use crate::domain::accounts::keys::Scope;
use crate::domain::accounts::keys::{IssuedKey, OwnerKind};
use crate::domain::accounts::network as sub_resellers;
use crate::domain::validate;
use crate::error::Result;

/// A stored unix-millisecond time, read as the RFC 3339 text the API shows.
pub struct Rfc3339Time(String);

impl<DB: Backend> Queryable<BigInt, DB> for Rfc3339Time
where
    i64: FromSql<BigInt, DB>,
{
    type Row = i64;

    fn build(ms: i64) -> diesel::deserialize::Result<Self> {
        Ok(Rfc3339Time(crate::time::rfc3339(ms)))
    }
}

impl From<Rfc3339Time> for String {
    fn from(t: Rfc3339Time) -> String {
        t.0
    }
}

impl Changes {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.url.is_none() && self.status.is_none()
    }
}

impl Account for Supplier {
    type New = NewSupplier;
    type Patch = SupplierPatch;
    type Created = SupplierCreated;
    const OWNER: OwnerKind = OwnerKind::Supplier;
    const ID_PREFIX: &'static str = "sup";
    const URL_FIELD: &'static str = "webhook_url";
    const KEY_SCOPES: &'static [Scope] = &[];

    fn id(&self) -> &str {
        &self.id
    }

    fn find(conn: &mut DbConn, id: &str) -> Result<Option<Self>> {
        Ok(suppliers::table
            .find(id)
            .select(Supplier::as_select())
            .first(conn)
            .optional()?)
    }

    fn page(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<Self>> {
        let mut q = suppliers::table
            .select(Supplier::as_select())
            .order(suppliers::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(a) = after {
            q = q.filter(suppliers::id.gt(a.to_string()));
        }
        Ok(q.load(conn)?)
    }

    fn name_and_url(new: &NewSupplier) -> (&str, Option<&str>) {
        (&new.name, new.webhook_url.as_deref())
    }

    fn insert(conn: &mut DbConn, row: NewRow<'_>, _: &NewSupplier) -> Result<Value> {
        diesel::insert_into(suppliers::table)
            .values((
                suppliers::id.eq(row.id),
                suppliers::name.eq(row.name),
                suppliers::webhook_url.eq(row.url),
                suppliers::webhook_secret_enc.eq(row.webhook_secret_enc),
                suppliers::status.eq("active"),
                suppliers::created_at.eq(crate::time::now_ms()),
            ))
            .execute(conn)?;
        Ok(json!({ "name": row.name }))
    }

    fn created(supplier: Self, api_key: IssuedKey, webhook_secret: String) -> SupplierCreated {
        SupplierCreated {
            supplier,
            api_key,
            webhook_secret,
        }
    }

    fn common_changes(p: &SupplierPatch) -> [Option<&str>; 3] {
        [
            p.name.as_deref(),
            p.webhook_url.as_deref(),
            p.status.as_deref(),
        ]
    }

    fn apply(
        conn: &mut DbConn,
        _: &str,
        id: &str,
        _: &SupplierPatch,
        changes: Changes,
        _: usize,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        diesel::update(suppliers::table.find(id))
            .set((
                changes.name.map(|v| suppliers::name.eq(v)),
                changes.url.map(|v| suppliers::webhook_url.eq(v)),
                changes.status.map(|v| suppliers::status.eq(v)),
            ))
            .execute(conn)?;
        Ok(())
    }
}

impl Account for Reseller {
    type New = NewReseller;
    type Patch = ResellerPatch;
    type Created = ResellerCreated;
    const OWNER: OwnerKind = OwnerKind::Reseller;
    const ID_PREFIX: &'static str = "rsl";
    const URL_FIELD: &'static str = "notify_url";
    const KEY_SCOPES: &'static [Scope] = &Scope::ALL;

    fn id(&self) -> &str {
        &self.id
    }

    fn find(conn: &mut DbConn, id: &str) -> Result<Option<Self>> {
        Ok(resellers::table
            .find(id)
            .select(Reseller::as_select())
            .first(conn)
            .optional()?)
    }

    fn page(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<Self>> {
        reseller_page(conn, None, after, limit)
    }

    fn name_and_url(new: &NewReseller) -> (&str, Option<&str>) {
        (&new.name, new.notify_url.as_deref())
    }

    fn insert(conn: &mut DbConn, row: NewRow<'_>, new: &NewReseller) -> Result<Value> {
        let level = validate::non_empty("level", new.level.as_deref().unwrap_or("default"), 64)?;
        diesel::insert_into(resellers::table)
            .values((
                resellers::id.eq(row.id),
                resellers::name.eq(row.name),
                resellers::level.eq(&level),
                resellers::notify_url.eq(row.url),
                resellers::webhook_secret_enc.eq(row.webhook_secret_enc),
                resellers::kyc_status.eq("unverified"),
                resellers::status.eq("active"),
                resellers::currency.eq(DEFAULT_CURRENCY),
                resellers::balance.eq(0i64),
                resellers::created_at.eq(crate::time::now_ms()),
            ))
            .execute(conn)?;
        Ok(json!({ "name": row.name, "level": level }))
    }

    fn created(reseller: Self, api_key: IssuedKey, webhook_secret: String) -> ResellerCreated {
        ResellerCreated {
            reseller,
            api_key,
            webhook_secret,
        }
    }

    fn common_changes(p: &ResellerPatch) -> [Option<&str>; 3] {
        [
            p.name.as_deref(),
            p.notify_url.as_deref(),
            p.status.as_deref(),
        ]
    }

    fn apply(
        conn: &mut DbConn,
        actor: &str,
        id: &str,
        patch: &ResellerPatch,
        changes: Changes,
        max_depth: usize,
    ) -> Result<()> {
        if let Some(parent) = &patch.parent_id {
            let parent = parent.as_deref().filter(|p| !p.is_empty());
            sub_resellers::set_parent(conn, actor, id, parent, max_depth)?;
        }
        let level = patch
            .level
            .as_deref()
            .map(|l| validate::non_empty("level", l, 64))
            .transpose()?;
        if changes.is_empty() && level.is_none() {
            return Ok(());
        }
        diesel::update(resellers::table.find(id))
            .set((
                changes.name.map(|v| resellers::name.eq(v)),
                level.map(|v| resellers::level.eq(v)),
                changes.url.map(|v| resellers::notify_url.eq(v)),
                changes.status.map(|v| resellers::status.eq(v)),
            ))
            .execute(conn)?;
        Ok(())
    }
}

/// A reseller's direct sub-resellers ordered by id, at most `limit` after the cursor `after`.
pub fn list_children(
    conn: &mut DbConn,
    parent_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Reseller>> {
    reseller_page(conn, Some(parent_id), after, limit)
}

fn reseller_page(
    conn: &mut DbConn,
    parent_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Reseller>> {
    let mut q = resellers::table
        .select(Reseller::as_select())
        .order(resellers::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(p) = parent_id {
        q = q.filter(resellers::parent_id.eq(p.to_string()));
    }
    if let Some(a) = after {
        q = q.filter(resellers::id.gt(a.to_string()));
    }
    Ok(q.load(conn)?)
}
