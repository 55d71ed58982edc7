//! The states a ticket moves through (see the parent module for the transitions).

use crate::db::text::text_enum;

text_enum! {
    /// Where a ticket stands, stored in `tickets.status`.
    pub enum TicketStatus {
        /// Waiting for the supplier's answer.
        Open = "open",
        /// An admin ordered a replacement there was no stock for: the supplier owes codes (or a
        /// refund) within a fresh SLA.
        AwaitingSupplier = "awaiting_supplier",
        /// The supplier disputes the complaint; an admin decides.
        Contested = "contested",
        /// Ended with a refund or a replacement.
        Resolved = "resolved",
        /// Ended by an admin without either.
        Rejected = "rejected",
    }
}

impl TicketStatus {
    /// An ended ticket records who ended it and when.
    pub fn is_final(self) -> bool {
        matches!(self, TicketStatus::Resolved | TicketStatus::Rejected)
    }
}

/// Statuses in which the supplier still owes an answer (and the SLA runs).
pub const WAITING: [TicketStatus; 2] = [TicketStatus::Open, TicketStatus::AwaitingSupplier];
