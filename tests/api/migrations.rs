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
