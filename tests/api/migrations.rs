//! Migrations go up, down and up again on this backend (SQLite, or PostgreSQL when configured).

use diesel::connection::SimpleConnection;
use kameng::db::{revert_migrations, run_migrations, Manager};

use crate::common::{test_database, TestDb};

/// A migrated database taken back to before `version` (and every migration after it), with
/// what keeps it alive.
fn as_before(version: &str) -> (tempfile::TempDir, TestDb, kameng::db::DbConn) {
    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let mut conn = Manager::new(&db.url).establish().unwrap();
    run_migrations(&mut conn).unwrap();
    kameng::db::revert_through(&mut conn, version).unwrap();
    (dir, db, conn)
}

#[test]
fn migrations_round_trip_up_down_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let mut conn = Manager::new(&db.url).establish().unwrap();
    run_migrations(&mut conn).unwrap();
    conn.batch_execute("SELECT count(*) FROM orders").unwrap();
    revert_migrations(&mut conn).unwrap();
    assert!(
        conn.batch_execute("SELECT count(*) FROM orders").is_err(),
        "down must drop the tables"
    );
    run_migrations(&mut conn).unwrap();
    conn.batch_execute("SELECT count(*) FROM orders; SELECT hash FROM chain_head")
        .unwrap();
}

/// A database whose chain was written before records were sealed (each appended under the
/// chain head, position = sequence number) upgrades and still verifies, and new records chain
/// on after the old ones.
#[test]
fn records_chained_before_the_sealer_still_verify_after_the_upgrade() {
    use diesel::prelude::*;
    use kameng::domain::money::chain::{self, record_hash, NewRecord};

    let (_dir, _db, mut conn) = as_before("2026-12-12-000001");
    // Three records as the old `chain::append` wrote them.
    let mut prev = "0".repeat(64);
    for seq in 1..=3i64 {
        let detail = format!("{{\"n\":{seq}}}");
        let entries = [
            ("reseller:r".to_string(), -seq, "CNY".to_string()),
            ("platform:revenue".to_string(), seq, "CNY".to_string()),
        ];
        let seq_text = seq.to_string();
        let hash = record_hash(
            [
                &prev,
                &seq_text,
                "ledger",
                "key:k",
                "order.purchase",
                "o",
                &detail,
                "1000",
            ],
            &entries,
        );
        conn.batch_execute(&format!(
            "INSERT INTO audit_chain (seq, kind, actor, action, subject, detail, created_at, \
             prev_hash, hash) VALUES ({seq}, 'ledger', 'key:k', 'order.purchase', 'o', \
             '{detail}', 1000, '{prev}', '{hash}'); \
             INSERT INTO ledger_entries (txn_seq, account, amount, currency, created_at) VALUES \
             ({seq}, 'reseller:r', {neg}, 'CNY', 1000), ({seq}, 'platform:revenue', {seq}, 'CNY', 1000); \
             UPDATE chain_head SET seq = {seq}, hash = '{hash}' WHERE id = 1",
            neg = -seq
        ))
        .unwrap();
        prev = hash;
    }
    run_migrations(&mut conn).unwrap();
    let report = chain::verify(&mut conn).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, 3);

    // A new record goes in unsealed, is sealed after the old ones, and the chain holds.
    let seq = conn
        .transaction(|c| {
            let rec = NewRecord {
                kind: "admin",
                actor: "admin:root",
                action: "test",
                subject: "s",
                detail: serde_json::json!({}),
            };
            chain::append(c, rec, "", &[])
        })
        .unwrap();
    assert_eq!(seq, 4, "identities continue after the old ones");
    let sealed = conn.transaction(|c| chain::seal(c, true)).unwrap();
    assert_eq!(sealed, 1);
    let report = chain::verify(&mut conn).unwrap();
    assert!(report.ok && report.checked == 4, "{report:?}");
}

/// Orders placed with a capped key before `orders.key_capped` existed are marked capped on
/// upgrade, so the cap's check still counts them on the day of the upgrade.
#[test]
fn orders_of_capped_keys_keep_counting_after_the_upgrade() {
    use diesel::prelude::*;
    use kameng::db::schema::orders;

    let (_dir, _db, mut conn) = as_before("2026-12-20-000001");
    // Bare rows, without the reseller, product and supplier they would point at.
    let mut script = match conn {
        kameng::db::DbConn::Sqlite(_) => "PRAGMA foreign_keys = OFF;",
        kameng::db::DbConn::Pg(_) => "SET session_replication_role = replica;",
    }
    .to_string();
    for (key, cap) in [("k_capped", "500"), ("k_free", "NULL")] {
        script += &format!(
            "INSERT INTO api_keys (key_id, owner_kind, owner_id, name, secret_enc, scopes, \
             daily_spend_limit, created_at) VALUES ('{key}', 'reseller', 'r', 'n', 's', '[]', \
             {cap}, 1000); \
             INSERT INTO orders (id, reseller_id, key_id, out_trade_no, product_id, \
             supplier_id, quantity, unit_price, amount, cost_amount, currency, status, \
             request_hash, receipt, ledger_seq, created_at) VALUES ('o_{key}', 'r', '{key}', \
             '{key}', 'p', 's', 1, 100, 100, 80, 'CNY', 'delivered', 'h', 'x', 1, 1000);"
        );
    }
    conn.batch_execute(&script).unwrap();
    run_migrations(&mut conn).unwrap();
    let marked: Vec<(String, bool)> = orders::table
        .select((orders::key_id, orders::key_capped))
        .order(orders::key_id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        marked,
        [
            ("k_capped".to_string(), true),
            ("k_free".to_string(), false)
        ]
    );
}

/// SQLite: an order's foreign keys are checked at COMMIT (see the `deferred_keys` migration),
/// on a database upgraded to it and through a connection that was open during the upgrade: a
/// line whose record does not exist still fails its transaction, which leaves nothing, and the
/// edited schema passes SQLite's integrity check.
#[test]
fn order_foreign_keys_are_checked_at_commit_after_the_upgrade() {
    checked_at_commit_after_upgrade_to(
        "2026-12-21-000001",
        "INSERT INTO ledger_entries \
         (txn_seq, account, amount, currency, balance_after, created_at) \
         VALUES (424242, 'reseller:nobody', 1, 'CNY', 1, 0)",
        "ledger_entries",
    );
}

/// SQLite: a card's product key is checked at COMMIT too (the `deferred_card_keys` migration):
/// a push's slice inserts its cards 100 to a statement with no statement journal. Cards of a
/// product that does not exist still fail their transaction and leave nothing.
#[test]
fn card_product_keys_are_checked_at_commit_after_the_upgrade() {
    checked_at_commit_after_upgrade_to(
        "2026-12-22-000001",
        "INSERT INTO cards (product_id, supplier_id, code_hash, code_enc, status, created_at) \
         VALUES ('p_nowhere', 's', 'h1', 'e', 'available', 0), \
                ('p_nowhere', 's', 'h2', 'e', 'available', 0)",
        "cards",
    );
}

/// Upgrades a database from before `version`, with a connection open meanwhile; on both, `orphan`
/// (rows whose parent does not exist) passes as a statement and fails at COMMIT, and `table`
/// holds nothing after; the edited schema passes SQLite's integrity check.
fn checked_at_commit_after_upgrade_to(version: &str, orphan: &str, table: &str) {
    // `stmt` keeps its text for the statement cache: once per test, so leaked.
    let count: &'static str = Box::leak(format!("SELECT count(*) FROM {table}").into_boxed_str());
    let (_dir, db, mut conn) = as_before(version);
    if conn.is_postgres() {
        return;
    }
    let mut open_before = Manager::new(&db.url).establish().unwrap();
    open_before.batch_execute(count).unwrap();
    run_migrations(&mut conn).unwrap();
    for c in [&mut conn, &mut open_before] {
        c.batch_execute(&format!("BEGIN; {orphan};"))
            .expect("deferred: the insert itself passes");
        let commit = c.batch_execute("COMMIT").unwrap_err().to_string();
        assert!(commit.contains("FOREIGN KEY"), "{commit}");
        c.batch_execute("ROLLBACK").unwrap();
        let rows: i64 = kameng::db::stmt::stmt(count, [])
            .returning::<diesel::sql_types::BigInt>()
            .one(c)
            .unwrap();
        assert_eq!(rows, 0);
    }
    let check: String = kameng::db::stmt::stmt("PRAGMA integrity_check", [])
        .returning::<diesel::sql_types::Text>()
        .one(&mut conn)
        .unwrap();
    assert_eq!(check, "ok");
}
