//! Money: the double-entry ledger and everything that proves it. Owns the ledger postings
//! (`ledger`), the tamper-evident hash chain every movement and admin action is recorded in
//! (`chain`), signed delivery receipts (`receipts`), daily spend limits checked inside the order
//! transaction (`limits`) and the books check (`checks`).
//!
//! Depends on nothing else in `domain` but `validate` and `states`: every other context posts
//! through here.

pub mod chain;
pub mod checks;
mod clawback;
pub mod ledger;
pub mod limits;
pub mod receipts;
pub mod statement;
