//! Outbound events: the transactional outbox, the delivery worker and the address guard.

pub mod outbox;
pub mod ssrf;
pub mod worker;
