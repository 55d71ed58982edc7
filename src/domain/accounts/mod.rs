//! Accounts: who may trade and on what terms. Owns suppliers and resellers (`account`,
//! `kinds`), API keys and their scopes (`keys`), real-name verification (`kyc`), supplier
//! licences and the rule that a product needing one is only sold while it is valid
//! (`licences`, `compliance`), and the reseller network: parent links, sub-reseller onboarding,
//! transfers and reports (`network`); each account's self-service webhook settings and secret
//! rotation (`webhooks`);
//! money entering from outside and leaving to suppliers:
//! admin credits (`credit`), reseller deposits (`deposits`), supplier payables and payouts
//! (`settlement`).
//!
//! May use `money` (credits, transfers and admin actions are posted and chained there).

mod account;
mod credit;
mod kinds;

pub mod compliance;
pub mod deposits;
pub mod keys;
pub mod kyc;
pub mod licences;
pub mod network;
pub mod settlement;
pub mod webhooks;

pub use account::*;
pub use credit::{credit, fund, Funded, Funding, MAX_CREDIT};
pub use kinds::list_children;
