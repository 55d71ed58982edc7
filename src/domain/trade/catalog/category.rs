//! Product categories: found or created by name, renamed, and marked as needing a supplier
//! licence (see `accounts::compliance`).

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::db::schema::categories;
use crate::db::DbConn;
use crate::domain::money::chain::record_admin;
use crate::domain::validate;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: String,
    pub name: String,
    /// Products in this category sell only while their supplier holds a valid licence.
    pub licence_required: bool,
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
