//! Outbound events: the transactional outbox (and, in time, its delivery worker).

pub mod outbox;
