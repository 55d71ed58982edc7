//! After-sales: what happens when a delivered code is disputed. Owns tickets (open, respond,
//! contest, resolve with refund or replacement: `tickets`) and supplier quality figures and
//! batch withdrawals (`quality`).
//!
//! May use `trade`, `accounts` and `money`.

pub mod quality;
pub mod tickets;
