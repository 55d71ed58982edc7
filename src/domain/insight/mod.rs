//! Insight: what the sales say. Owns the sales reports over the rollups (`analytics`), demand
//! forecasts and slow movers (`forecast`), product recommendations (`recommend`) and the
//! background refresh that stores each product's forecast cover for `stock.low`
//! (`stock_cover`). Reads what `trade` wrote; writes nothing on the order path.
//!
//! May use `trade`, `accounts` and `money`.

pub mod analytics;
pub mod forecast;
pub mod recommend;
pub mod stock_cover;
