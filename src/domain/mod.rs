//! Business rules, free of HTTP types: accounts, catalogue and pricing, inventory, orders,
//! the ledger, the hash chain and receipts.

pub mod accounts;
pub mod analytics;
pub mod bulk;
pub mod catalog;
pub mod chain;
pub mod compliance;
pub mod duplicates;
pub mod forecast;
pub mod inventory;
pub mod keys;
pub mod kyc;
pub mod ledger;
pub mod ledger_check;
pub mod licences;
pub mod limits;
pub mod network;
pub mod orders;
pub mod quality;
pub mod receipts;
pub mod recommend;
pub mod stock_low;
pub mod sub_resellers;
pub mod tickets;
pub mod topups;
pub mod validate;
