//! Authentication: admin sessions, signed API requests, keys, scopes, replay and rate limits.

pub mod admin;
pub mod keys;
pub mod nonces;
pub mod ratelimit;
pub mod scopes;
pub mod signed;
pub mod signing;

pub use admin::AdminSession;
pub use keys::{Caller, OwnerKind};
pub use scopes::Scope;
pub use signed::Signed;
