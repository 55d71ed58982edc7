//! Every price rule: a reseller's level discount and per-reseller prices (`book`), what a
//! sub-reseller pays through its parents' markups and the commission each earns (`network`),
//! the markups a parent sets (`markups`), and the split of one order's money (`quote`). The
//! catalogue listing and the order quote both read prices here, so the price a reseller sees is
//! the price it pays.

pub mod book;
pub mod markups;
pub mod network;
pub mod quote;
