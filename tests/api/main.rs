//! Integration tests: the real HTTP app over a real database, driven by the crate's typed,
//! signing client. Run on SQLite by default and on PostgreSQL with KAMENG_TEST_DATABASE_URL.

// Tests fail by panicking: unwrap is the assertion.
#![allow(clippy::unwrap_used)]

mod common;

mod admin;
mod errors;
mod insight;
mod migrations;
mod openapi;
mod orders;
mod signing;
mod stock;
