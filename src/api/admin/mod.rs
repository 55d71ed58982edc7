//! Admin endpoints (`Authorization: Bearer <JWT>` from `/v1/admin/login`). Every change is
//! recorded in the audit chain with the acting admin.

mod accounts;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod compliance;
pub mod deposits;
pub mod insight;
pub mod keys;
pub mod ledger;
pub mod orders;
pub mod payouts;
pub mod quality;
pub mod resellers;
pub mod suppliers;
pub mod tickets;
pub mod webhooks;
