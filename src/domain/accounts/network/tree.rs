//! The reseller tree: each reseller's parent link, walked up to the root.

use diesel::prelude::*;

use crate::db::schema::resellers;
use crate::db::DbConn;
use crate::error::{Error, Result};

/// The walk up the parent links stops here. Depth limits are enforced when links are made
/// (`KAMENG_MAX_RESELLER_DEPTH`), so only a corrupted link (a cycle) could reach this.
const CHAIN_GUARD: usize = 32;

/// The ancestors of a reseller, parent first, root last; empty for a root reseller.
pub fn ancestors(conn: &mut DbConn, reseller_id: &str) -> Result<Vec<String>> {
    let mut chain: Vec<String> = Vec::new();
    let mut current = reseller_id.to_string();
    loop {
        let parent: Option<String> = resellers::table
            .find(&current)
            .select(resellers::parent_id)
            .first::<Option<String>>(conn)
            .optional()?
            .ok_or(Error::NotFound("reseller"))?;
        let Some(parent) = parent else {
            return Ok(chain);
        };
        if parent == reseller_id || chain.contains(&parent) || chain.len() >= CHAIN_GUARD {
            return Err(Error::internal(format!(
                "reseller {reseller_id} has a cyclic or overlong parent chain"
            )));
        }
        chain.push(parent.clone());
        current = parent;
    }
}
