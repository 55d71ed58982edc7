//! The distribution network: a reseller creates sub-resellers, funds them from its own balance,
//! sees their sales (never their codes) and its commission statement; an admin re-parents or
//! detaches them. Pricing and commission are in `trade::pricing::network`.
//!
//! Depth: a root reseller is level 1, its sub-resellers level 2, and so on up to
//! `KAMENG_MAX_RESELLER_DEPTH` (default 3). The limit is enforced when a link is made (creation,
//! re-parenting); lowering it later leaves existing deeper chains as they are, each level still
//! paid its markup.
//!
//! The parent receives its new sub-reseller's first API key (it onboards it); the sub-reseller
//! should rotate it (`POST /v1/keys`, then `DELETE` the first one). Nothing else lets a parent
//! act as its sub-reseller or read its orders' codes.
//!
//! `manage.rs` holds what changes the network (creation, re-parenting, transfers),
//! `reports.rs` what reads it (a parent's list of sub-resellers, their orders, commission
//! statements).

mod manage;
mod reports;
mod tree;

pub use manage::{create, set_parent, transfer, NewSubReseller, TransferRequest, TransferResult};
pub use reports::{commissions, list, CommissionLine, SubReseller};
pub use tree::ancestors;

use serde::{Deserialize, Deserializer};

use crate::db::DbConn;
use crate::domain::accounts::{self, Reseller};
use crate::error::{Error, Result};

/// Direct sub-resellers one reseller may have.
pub const MAX_SUB_RESELLERS: i64 = 1_000;

/// `Some(None)` for an explicit `null`, so a PATCH can tell "detach" from "leave as is".
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A direct sub-reseller of `parent_id`, or "not found" (also for anyone else's).
pub fn own_child(conn: &mut DbConn, parent_id: &str, child_id: &str) -> Result<Reseller> {
    match accounts::get::<Reseller>(conn, child_id) {
        Ok(r) if r.parent_id.as_deref() == Some(parent_id) => Ok(r),
        _ => Err(Error::NotFound("sub-reseller")),
    }
}
