//! Migrations go up, down and up again on this backend (SQLite, or PostgreSQL when configured).

use diesel::connection::SimpleConnection;
use kameng::db::{revert_migrations, run_migrations, Manager};

use crate::common::test_database;

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
    use kameng::db::revert_last_migration;
    use kameng::domain::money::chain::{self, record_hash, NewRecord};

    let dir = tempfile::tempdir().unwrap();
    let db = test_database(dir.path());
    let mut conn = Manager::new(&db.url).establish().unwrap();
    run_migrations(&mut conn).unwrap();
    // Back to before the sealed chain: revert the migrations since, then it (its `pos` column
    // gone), however many later migrations there are.
    while diesel::sql_query("SELECT pos FROM audit_chain LIMIT 0")
        .execute(&mut conn)
        .is_ok()
    {
        revert_last_migration(&mut conn).unwrap();
    }
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
