//! Business rules, free of HTTP types: accounts, catalogue and pricing, inventory, orders,
//! the ledger, the hash chain and receipts.

pub mod accounts;
pub mod analytics;
pub mod catalog;
pub mod chain;
pub mod forecast;
pub mod inventory;
pub mod ledger;
pub mod orders;
pub mod receipts;
pub mod recommend;
pub mod validate;
