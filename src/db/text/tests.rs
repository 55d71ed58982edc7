//! Every stored enum and the ledger account: the same text through Rust, JSON and both
//! databases, and back.

use diesel::prelude::*;

use super::StoredText;
use crate::db::DbConn;
use crate::domain::aftersales::tickets::TicketStatus;
use crate::domain::money::ledger::LedgerAccount;
use crate::domain::states::{Delivery, OrderStatus, ProductStatus};

/// Checks one `text_enum!` type against the texts rows and clients have always used.
macro_rules! assert_texts {
    ($ty:ty, [$($text:literal),+ $(,)?]) => {{
        let texts: Vec<&str> = <$ty>::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts, vec![$($text),+], "{}", stringify!($ty));
        for &v in <$ty>::ALL {
            assert_eq!(<$ty>::parse(v.as_str()), Some(v));
            assert_eq!(v.to_string(), v.as_str());
            assert_eq!(v.text(), v.as_str());
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<$ty>(&json).unwrap(), v);
        }
        assert_eq!(<$ty>::parse("nonsense"), None);
        assert!(serde_json::from_str::<$ty>("\"nonsense\"").is_err());
    }};
}

#[test]
fn enums_keep_their_texts_in_rust_and_json() {
    assert_texts!(
        OrderStatus,
        ["processing", "delivered", "completed", "failed", "refunded"]
    );
    assert_texts!(ProductStatus, ["on_sale", "off_sale"]);
    assert_texts!(Delivery, ["card", "direct"]);
    assert_texts!(
        TicketStatus,
        [
            "open",
            "awaiting_supplier",
            "contested",
            "resolved",
            "rejected"
        ]
    );
}

fn ledger_accounts() -> Vec<(LedgerAccount, &'static str)> {
    vec![
        (LedgerAccount::Reseller("rsl_1".into()), "reseller:rsl_1"),
        (LedgerAccount::Supplier("sup_1".into()), "supplier:sup_1"),
        (LedgerAccount::PlatformRevenue, "platform:revenue"),
        (LedgerAccount::PlatformFunding, "platform:funding"),
        (LedgerAccount::PlatformPayouts, "platform:payouts"),
    ]
}

#[test]
fn ledger_accounts_format_and_parse() {
    for (account, text) in ledger_accounts() {
        assert_eq!(account.to_string(), text);
        assert_eq!(account.text(), text);
        assert_eq!(LedgerAccount::parse(text), Some(account));
    }
    // Whatever follows a party's prefix is the id, as it was before the type existed.
    assert_eq!(
        LedgerAccount::parse("reseller:a:b"),
        Some(LedgerAccount::Reseller("a:b".into()))
    );
    assert_eq!(
        LedgerAccount::parse("reseller:"),
        Some(LedgerAccount::Reseller(String::new()))
    );
    assert_eq!(
        LedgerAccount::parse("reseller:r1")
            .as_ref()
            .and_then(LedgerAccount::reseller_id),
        Some("r1")
    );
    assert_eq!(LedgerAccount::PlatformRevenue.reseller_id(), None);
    for unknown in ["platform:other", "Reseller:x", "", "reseller"] {
        assert_eq!(LedgerAccount::parse(unknown), None, "{unknown}");
    }
}

diesel::table! {
    stored (v) {
        v -> Text,
    }
}

/// Writes each value into a real TEXT column and reads it back, as text and as the type, on
/// `$conn` (a `DbConn`: the multi-backend impls) and on the connection inside it (the SQLite or
/// PostgreSQL impls).
macro_rules! assert_round_trips {
    ($conn:expr, $ty:ty, $values:expr) => {{
        let conn: &mut DbConn = $conn;
        for (value, text) in $values {
            let value: $ty = value;
            let text: &str = text;
            diesel::delete(stored::table).execute(conn).unwrap();
            diesel::insert_into(stored::table)
                .values(stored::v.eq(&value))
                .execute(conn)
                .unwrap();
            let raw: String = stored::table.select(stored::v).first(conn).unwrap();
            assert_eq!(raw, text);
            let back: $ty = stored::table.select(stored::v).first(conn).unwrap();
            assert_eq!(back, value);
            crate::on_backend!(&mut *conn, c => {
                diesel::delete(stored::table).execute(c).unwrap();
                diesel::insert_into(stored::table)
                    .values(stored::v.eq(&value))
                    .execute(c)
                    .unwrap();
                let found: $ty = stored::table
                    .filter(stored::v.eq(&value))
                    .select(stored::v)
                    .first(c)
                    .unwrap();
                assert_eq!(found, value);
                let raw: String = stored::table.select(stored::v).first(c).unwrap();
                assert_eq!(raw, text);
            });
        }
    }};
}

fn with_texts<T: Copy>(all: &[T], text: fn(T) -> &'static str) -> Vec<(T, &'static str)> {
    all.iter().map(|&v| (v, text(v))).collect()
}

fn round_trips(conn: &mut DbConn) {
    diesel::sql_query("CREATE TEMPORARY TABLE stored (v TEXT PRIMARY KEY)")
        .execute(conn)
        .unwrap();
    assert_round_trips!(
        conn,
        OrderStatus,
        with_texts(OrderStatus::ALL, OrderStatus::as_str)
    );
    assert_round_trips!(
        conn,
        ProductStatus,
        with_texts(ProductStatus::ALL, ProductStatus::as_str)
    );
    assert_round_trips!(conn, Delivery, with_texts(Delivery::ALL, Delivery::as_str));
    assert_round_trips!(
        conn,
        TicketStatus,
        with_texts(TicketStatus::ALL, TicketStatus::as_str)
    );
    assert_round_trips!(conn, LedgerAccount, ledger_accounts());

    // A text no value writes is an error naming it, not a default.
    diesel::delete(stored::table).execute(conn).unwrap();
    diesel::insert_into(stored::table)
        .values(stored::v.eq("shipped"))
        .execute(conn)
        .unwrap();
    let err = stored::table
        .select(stored::v)
        .first::<OrderStatus>(conn)
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("`shipped` is not a OrderStatus"),
        "{err:?}"
    );
}

#[test]
fn round_trips_through_sqlite() {
    let conn = diesel::SqliteConnection::establish(":memory:").unwrap();
    round_trips(&mut DbConn::Sqlite(conn));
}

/// Runs when the suite runs against PostgreSQL (`KAMENG_TEST_DATABASE_URL`); the table is
/// temporary, so it leaves nothing behind.
#[test]
fn round_trips_through_postgres() {
    if let Some(mut conn) = crate::db::test_postgres() {
        round_trips(&mut conn);
    }
}
