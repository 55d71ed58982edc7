//! Outbound events: the transactional outbox, the delivery worker, test events and the address
//! guard.

pub mod fulfilment;
pub mod outbox;
pub mod ssrf;
pub mod test_event;
pub mod worker;
