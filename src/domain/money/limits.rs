//! Daily spend limits: a key's own cap (`daily_spend_limit`, set when a reseller creates the key)
//! and `KAMENG_UNVERIFIED_DAILY_LIMIT` for resellers whose real name is not verified.
//!
//! [`check_daily_spend`] runs inside the order transaction right after the ledger posting, which
//! has just updated the reseller's row. On PostgreSQL that row lock makes a reseller's racing
//! orders wait for one another, and under READ COMMITTED each waiter's next statement (the sum
//! below) sees the winner's committed order; on SQLite the single writer serialises them. So
//! racing orders cannot pass a limit together. A key belongs to one reseller, so the same lock
//! covers the key's cap.
//!
//! "Today" is the UTC calendar day. Orders that ended `failed` or `refunded` gave the money
//! back and do not count. With no limit in force the check costs no query at all.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::schema::{orders, resellers};
use crate::db::stmt::stmt;
use crate::db::DbConn;
use crate::domain::states::OrderStatus;
use crate::error::{Error, Result};

const DAY_MS: i64 = 86_400_000;

/// The caps that apply to one order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendLimits {
    /// The ordering key's cap per UTC day in minor units, if it has one.
    pub key_daily: Option<i64>,
    /// The cap per UTC day for resellers not KYC-`verified`; 0 = none.
    pub unverified_daily: i64,
}

/// Midnight UTC of the day `now_ms` falls in.
pub fn utc_day_start(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(DAY_MS)
}

/// Refuses the order (403 `spending_limit_exceeded`) when `amount` on top of today's spend
/// would pass a cap. Must run inside the order transaction after `ledger::post` (see above);
/// the order being placed is not inserted yet, hence `+ amount`.
pub fn check_daily_spend(
    conn: &mut DbConn,
    reseller_id: &str,
    key_id: &str,
    limits: &SpendLimits,
    amount: i64,
    now_ms: i64,
) -> Result<()> {
    let since = utc_day_start(now_ms);
    if let Some(cap) = limits.key_daily {
        let spent = spent_since(conn, Spender::Key(key_id), since)?;
        if spent.saturating_add(amount) > cap {
            return Err(Error::SpendingLimitExceeded(format!(
                "this key's daily spend limit is {cap}; spent today {spent}, this order {amount}"
            )));
        }
    }
    if limits.unverified_daily > 0 {
        let kyc: String = resellers::table
            .find(reseller_id)
            .select(resellers::kyc_status)
            .first(conn)?;
        if kyc != "verified" {
            let cap = limits.unverified_daily;
            let spent = spent_since(conn, Spender::Reseller(reseller_id), since)?;
            if spent.saturating_add(amount) > cap {
                return Err(Error::SpendingLimitExceeded(format!(
                    "accounts without verified real-name details may spend {cap} a day; \
                     spent today {spent}, this order {amount}"
                )));
            }
        }
    }
    Ok(())
}

enum Spender<'a> {
    Reseller(&'a str),
    Key(&'a str),
}

/// Sum of the amounts of orders since `since` that kept their money.
fn spent_since(conn: &mut DbConn, who: Spender<'_>, since: i64) -> Result<i64> {
    let reseller_id = match who {
        Spender::Key(id) => {
            return Ok(stmt(key_spend!(), [id.into(), since.into()])
                .returning::<BigInt>()
                .one(conn)?)
        }
        Spender::Reseller(id) => id,
    };
    // No (reseller_id, created_at) index (every order would write its tail): the range on the
    // time-ordered id lets `orders_reseller (reseller_id, id)` find today's orders.
    // SUM(bigint) is NUMERIC on PostgreSQL; cast back so both backends read a BIGINT.
    Ok(orders::table
        .filter(orders::reseller_id.eq(reseller_id))
        .filter(orders::id.ge(order_ids_from(since - ID_CLOCK_SLACK_MS)))
        .filter(orders::created_at.ge(since))
        .filter(orders::status.ne_all(OrderStatus::RETURNED))
        .select(sql::<BigInt>("CAST(COALESCE(SUM(amount), 0) AS BIGINT)"))
        .first(conn)?)
}

/// A capped key's spend since `?` (its orders that kept their money: `OrderStatus::RETURNED`,
/// spelled out, as the text is fixed). Only capped keys' orders are in `orders_key_capped`; the
/// bare `key_capped` is that partial index's own predicate, which a bound `= true` would not
/// prove to the planner.
macro_rules! key_spend {
    () => {
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM orders \
         WHERE key_capped AND key_id = ? AND created_at >= ? \
         AND status NOT IN ('failed', 'refunded')"
    };
}
use key_spend;

/// How the database plans a capped key's spend (SQLite: `EXPLAIN QUERY PLAN`'s steps;
/// PostgreSQL: `EXPLAIN`'s lines); a test holds it to `orders_key_capped`.
pub fn key_spend_plan(conn: &mut DbConn, key_id: &str) -> Result<Vec<String>> {
    let sql = if conn.is_postgres() {
        concat!("EXPLAIN ", key_spend!())
    } else {
        concat!("EXPLAIN QUERY PLAN ", key_spend!())
    };
    Ok(stmt(sql, [key_id.into(), 0i64.into()]).plan_lines(conn)?)
}

/// How much earlier than its `created_at` an order's id may have been taken: a just-in-time
/// order takes its id before its supplier answers. A day: the range then also reads
/// yesterday's orders, which `created_at` filters out — few, for a reseller under a daily cap.
const ID_CLOCK_SLACK_MS: i64 = DAY_MS;

/// The lowest order id (`ord_` and a UUIDv7 in lowercase hex, see `ids::new_id`) taken at or
/// after `at_ms`: UUIDv7 starts with its 48-bit millisecond time, so ids sort by time.
fn order_ids_from(at_ms: i64) -> String {
    format!("ord_{:012x}", at_ms.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_sort_after_the_bound_of_their_time() {
        let id = crate::ids::new_id("ord");
        let now = crate::time::now_ms();
        assert!(id >= order_ids_from(now - 1_000), "{id}");
        assert!(id < order_ids_from(now + 1_000), "{id}");
    }

    #[test]
    fn a_capped_keys_spend_leaves_out_exactly_the_returned_statuses() {
        let listed: Vec<String> = OrderStatus::RETURNED
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let clause = format!("status NOT IN ({})", listed.join(", "));
        assert!(key_spend!().ends_with(&clause), "{}", key_spend!());
    }

    #[test]
    fn the_day_starts_at_utc_midnight() {
        // 2026-01-01T00:00:00Z = 1767225600 s.
        let midnight = 1_767_225_600_000;
        assert_eq!(utc_day_start(midnight), midnight);
        assert_eq!(utc_day_start(midnight + DAY_MS - 1), midnight);
        assert_eq!(utc_day_start(midnight - 1), midnight - DAY_MS);
    }
}
