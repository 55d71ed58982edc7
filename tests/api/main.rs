//! Integration tests: the real HTTP app over a real database, driven by the crate's typed,
//! signing client. Run on SQLite by default and on PostgreSQL with KAMENG_TEST_DATABASE_URL.

mod common;

mod admin;
mod errors;
mod openapi;
mod orders;
mod signing;
mod stock;
