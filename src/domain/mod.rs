//! Business rules, free of HTTP types, grouped by bounded context. Each folder's `mod.rs` says
//! what it owns. The contexts form layers; a module may import from its own context and from
//! the ones below it, never from one above (so no import cycle between folders):
//!
//! ```text
//!         support             the assistant that answers customers' messages
//!           |
//! aftersales   insight        tickets, quality  |  analytics, forecast, recommendations, stock cover
//!        \      /
//!         trade               catalogue, pricing, orders, inventory, bulk, top-ups, sales rollups
//!           |
//!        accounts             suppliers and resellers, keys and scopes, KYC, licences, the network tree
//!           |
//!         money               ledger, hash chain, receipts, spend limits, book checks, credits
//! ```
//!
//! Below every context sit `validate` (input checks) and `states` (the order and product states
//! several contexts read); below all of them the infrastructure modules (`db`, `error`,
//! `crypto`, `time`, `ids`, `json`, `events::outbox`). Nothing here imports `actix_web`,
//! `crate::auth`, `crate::state` or `crate::config`: what a rule needs from configuration is
//! passed in as a value.

pub mod accounts;
pub mod aftersales;
pub mod insight;
pub mod money;
pub mod states;
pub mod support;
pub mod trade;
pub mod validate;
