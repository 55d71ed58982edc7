//! Outbound events: the transactional outbox, the delivery worker, the delivery log, what each
//! account chose to receive and its signing secrets, test events and the address guard.

pub mod deliveries;
pub mod fulfilment;
pub mod outbox;
pub mod settings;
pub mod ssrf;
pub mod test_event;
pub mod worker;
