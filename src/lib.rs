//! kameng: a headless distribution API for digital goods.
//!
//! Layout: `api` (HTTP), `domain` (rules, no HTTP types), `db` (schema, connections,
//! migrations), `auth`, `events` (outbox), `client` (typed client shared by tests and examples).

pub mod api;
pub mod auth;
pub mod client;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod ids;
pub mod jobs;
pub mod json;
pub mod metrics;
pub mod redact;
pub mod server;
pub mod state;
pub mod time;
