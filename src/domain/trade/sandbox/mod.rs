//! The sandbox: what a request signed with a sandbox key sees instead of the live service, so
//! an integrator can build and test against the real API without money, stock or suppliers.
//!
//! A sandbox key sees the live catalogue (same ids, skus and prices, stock always
//! [`SHOWN_STOCK`]) plus the [`Trigger`] products, a balance of its own ([`START_BALANCE`] at
//! first use and after a reset), and its own orders with synthetic `SANDBOX-…` codes. All of
//! it lives in the `sandbox_*` tables: a sandbox order never touches live stock, balances, the
//! ledger, the chain, analytics, supplier views or spend limits, and a live key never sees a
//! sandbox order (nor the reverse: they are different tables). Callbacks are the one thing
//! shared: sandbox orders announce themselves through the same outbox, signed and retried like
//! live ones, with `"sandbox": true` in their data.
//!
//! Like Stripe's test mode, the sandbox is per account, not a second deployment: the same
//! server, the same signing, a key flag deciding which world a request sees.

pub mod catalog;
pub mod orders;
pub mod topups;

use crate::domain::trade::catalog::Delivery;

/// A sandbox balance at first use and after `POST /v1/sandbox/reset`, in minor units.
pub const START_BALANCE: i64 = 1_000_000;
/// The stock every sandbox card product shows.
pub const SHOWN_STOCK: i64 = 1000;
/// The issuer of a sandbox order's receipt: a live verifier (issuer `kameng`) refuses it, so a
/// sandbox receipt can never pass for proof of a real delivery.
pub const RECEIPT_ISSUER: &str = "kameng-sandbox";
/// How long `SANDBOX-SLOW` takes to answer.
pub const SLOW_DELAY_MS: u64 = 3_000;
/// When a sandbox top-up that will succeed or fail gets its answer.
pub const TOPUP_ANSWER_AFTER_MS: i64 = 1_000;
/// The deadline of a sandbox top-up (`SANDBOX-TOPUP-TIMEOUT` fails at it).
pub const TOPUP_DEADLINE_MS: i64 = 10_000;

/// The products that behave in a fixed way, for testing an integration's failure paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `409 out_of_stock`.
    OutOfStock,
    /// The first attempt of each `out_trade_no` answers `503 unavailable`; a retry succeeds.
    Unavailable,
    /// `201` after [`SLOW_DELAY_MS`].
    Slow,
    /// Direct: `202`, then `completed` and `order.completed`.
    TopupOk,
    /// Direct: `202`, then `failed`, refunded, `order.failed`.
    TopupFail,
    /// Direct: `202`, no supplier answer, `failed` at the [`TOPUP_DEADLINE_MS`] deadline.
    TopupTimeout,
}

impl Trigger {
    pub const ALL: [Trigger; 6] = [
        Trigger::OutOfStock,
        Trigger::Unavailable,
        Trigger::Slow,
        Trigger::TopupOk,
        Trigger::TopupFail,
        Trigger::TopupTimeout,
    ];

    pub fn sku(self) -> &'static str {
        match self {
            Trigger::OutOfStock => "SANDBOX-OUT-OF-STOCK",
            Trigger::Unavailable => "SANDBOX-UNAVAILABLE",
            Trigger::Slow => "SANDBOX-SLOW",
            Trigger::TopupOk => "SANDBOX-TOPUP-OK",
            Trigger::TopupFail => "SANDBOX-TOPUP-FAIL",
            Trigger::TopupTimeout => "SANDBOX-TOPUP-TIMEOUT",
        }
    }

    /// The product id: the sku, lowercased, under the `prd_sandbox_` prefix.
    pub fn product_id(self) -> String {
        format!(
            "prd_sandbox_{}",
            self.sku()
                .trim_start_matches("SANDBOX-")
                .to_ascii_lowercase()
                .replace('-', "_")
        )
    }

    /// The trigger a product id (or, as a convenience, a sku) names.
    pub fn named(id: &str) -> Option<Trigger> {
        Trigger::ALL
            .into_iter()
            .find(|t| t.product_id() == id || t.sku() == id)
    }

    pub fn delivery(self) -> Delivery {
        match self {
            Trigger::TopupOk | Trigger::TopupFail | Trigger::TopupTimeout => Delivery::Direct,
            _ => Delivery::Card,
        }
    }

    pub fn behaviour(self) -> &'static str {
        match self {
            Trigger::OutOfStock => "Always answers 409 out_of_stock.",
            Trigger::Unavailable => {
                "The first attempt of each out_trade_no answers 503 unavailable; a retry with the same out_trade_no succeeds."
            }
            Trigger::Slow => "Answers 201 after 3 s (test client time-outs and safe retries).",
            Trigger::TopupOk => {
                "Direct top-up: 202 processing, then completed and order.completed within 2 s."
            }
            Trigger::TopupFail => {
                "Direct top-up: 202 processing, then failed, refunded, order.failed."
            }
            Trigger::TopupTimeout => {
                "Direct top-up: 202 processing, no supplier answer, failed and refunded at a 10 s deadline."
            }
        }
    }
}

/// A synthetic code: recognisably a sandbox one, unique, never a live code.
pub fn synthetic_code() -> String {
    let token = crate::crypto::random_token("", 8).to_ascii_uppercase();
    format!("SANDBOX-{}-{}", &token[..8], &token[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigger_is_found_by_its_id_and_its_sku() {
        for t in Trigger::ALL {
            assert_eq!(Trigger::named(&t.product_id()), Some(t));
            assert_eq!(Trigger::named(t.sku()), Some(t));
        }
        assert_eq!(Trigger::OutOfStock.product_id(), "prd_sandbox_out_of_stock");
        assert_eq!(Trigger::named("prd_live"), None);
    }

    #[test]
    fn synthetic_codes_say_what_they_are() {
        let a = synthetic_code();
        assert!(a.starts_with("SANDBOX-") && a.len() == "SANDBOX-".len() + 17);
        assert_ne!(a, synthetic_code());
    }
}
