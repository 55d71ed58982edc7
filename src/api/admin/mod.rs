//! Admin endpoints (`Authorization: Bearer <JWT>` from `/v1/admin/login`). Every change is
//! recorded in the audit chain with the acting admin.

mod accounts;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod compliance;
pub mod insight;
pub mod keys;
pub mod ledger;
pub mod orders;
pub mod quality;
pub mod resellers;
pub mod suppliers;
pub mod tickets;
pub mod webhooks;

use serde::Deserialize;
use utoipa::IntoParams;

/// Cursor pagination of admin lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1..200 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
