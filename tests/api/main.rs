//! Integration tests: the real HTTP app over a real database, driven by the crate's typed,
//! signing client. Run on SQLite by default and on PostgreSQL with KAMENG_TEST_DATABASE_URL.

// Tests fail by panicking: unwrap is the assertion.
#![allow(clippy::unwrap_used)]

mod common;

mod abuse;
mod admin;
mod architecture;
mod batch;
mod claims;
mod compliance;
mod crash;
mod db_outage;
mod deposits;
mod errors;
mod events;
mod examples;
mod insight;
mod isolation;
mod jit;
mod ledger_check;
mod migrations;
mod network;
mod openapi;
mod orders;
mod process;
mod properties;
mod purchasable;
mod readme;
mod receiver;
mod sandbox;
mod scale;
mod secrets;
mod settlement;
mod signing;
mod startup;
mod stock;
mod stock_low;
mod strict_requests;
mod support;
mod tamper;
mod tickets;
mod webhooks_self_service;
