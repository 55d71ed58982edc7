//! Authentication: admin sessions, signed API requests, replay and rate limits. The keys and
//! scopes being checked are account data and live in `domain::accounts::keys`.

pub mod admin;
pub mod nonces;
pub mod ratelimit;
pub mod signed;
pub mod signing;

pub use crate::domain::accounts::keys::{Caller, OwnerKind, Scope};
pub use admin::AdminSession;
pub use signed::{Signed, SignedDeferred};
