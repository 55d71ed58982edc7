//! Trade: what is sold, at what price, and the sale itself. Owns the catalogue (`catalog`:
//! categories, product admin, listings), every price rule in one place (`pricing`: levels,
//! per-reseller prices, network markups and the quote an order pays), orders and their
//! idempotency (`orders`), stock (`inventory`: pushes, deduplication, the `stock.low` event),
//! bulk orders (`bulk`), gift links handing a card to someone other than the buyer (`claims`),
//! direct top-ups (`topups`), the daily sales rollups (`sales_rollup`)
//! and the pending counters orders append to instead of sharing a row (`pending`).
//!
//! May use `accounts` and `money`.

pub mod bulk;
pub mod catalog;
pub mod claims;
pub mod fulfilment;
pub mod inventory;
pub mod orders;
pub mod pending;
pub mod pricing;
pub mod sales_rollup;
pub mod sandbox;
pub mod topups;
