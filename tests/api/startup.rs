//! Starting `kameng serve` as a newcomer does: a bad setting fails at once with one line that
//! says what to change, and a fresh database starts without a locking error in the log.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn serve(env: &[(&str, &str)], args: &[&str]) -> (Output, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kameng"));
    // A port of its own, not the default 8080: a newcomer runs the README's serve command and
    // then the tests beside it, and the bind error would hide the one each test expects.
    let bind = format!("127.0.0.1:{}", crate::process::free_port());
    cmd.arg("serve")
        .args(args)
        .current_dir(dir.path())
        .env("KAMENG_DATA_DIR", dir.path())
        .env("KAMENG_BIND", bind)
        .env("KAMENG_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output().unwrap();
    (out, started.elapsed())
}

/// The one error line of a start that failed (and that it failed quickly).
fn failure(env: &[(&str, &str)], args: &[&str]) -> String {
    let (out, took) = serve(env, args);
    assert!(!out.status.success());
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(
        errors.len(),
        1,
        "one error line, not a retry loop: {stderr}"
    );
    errors[0].to_string()
}

#[test]
fn a_missing_directory_is_named_once() {
    let line = failure(
        &[("KAMENG_DATABASE_URL", "sqlite:///no/such/dir/kameng.db")],
        &[],
    );
    assert!(line.contains("sqlite:///no/such/dir/kameng.db"), "{line}");
    assert!(line.contains("/no/such/dir does not exist"), "{line}");
}

#[test]
fn an_unknown_scheme_is_refused_without_its_password() {
    let line = failure(
        &[("KAMENG_DATABASE_URL", "mysql://root:hunter2@localhost/shop")],
        &[],
    );
    assert!(
        line.contains("`mysql`") && line.contains("postgres://"),
        "{line}"
    );
    assert!(!line.contains("hunter2"), "{line}");
}

#[test]
fn an_unreachable_postgres_names_host_and_advice_without_password() {
    let port = crate::process::free_port();
    let url = format!("postgres://kameng:hunter2@127.0.0.1:{port}/shop");
    let line = failure(&[("KAMENG_DATABASE_URL", &url)], &[]);
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(line.contains("check that PostgreSQL is running"), "{line}");
    assert!(!line.contains("hunter2"), "{line}");
}

#[test]
fn a_port_in_use_names_the_address_and_setting() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/k.db", dir.path().display());
    let line = failure(
        &[("KAMENG_BIND", &addr), ("KAMENG_DATABASE_URL", &url)],
        &[],
    );
    assert!(
        line.contains(&addr) && line.contains("KAMENG_BIND"),
        "{line}"
    );
}

#[test]
fn port_flag_points_to_kameng_bind_and_help_lists_settings() {
    let line = failure(&[], &["--port", "9000"]);
    assert!(line.contains("KAMENG_BIND=127.0.0.1:9000"), "{line}");
    let (out, _) = serve(&[], &["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for setting in [
        "KAMENG_BIND",
        "KAMENG_DATABASE_URL",
        "KAMENG_BOOTSTRAP_ADMIN",
    ] {
        assert!(help.contains(setting), "{help}");
    }
}

/// Fresh SQLite starts used to log `database is locked` now and then: the pool's connections
/// raced to switch the new file to WAL. The first connection now does it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_starts_log_no_locking_error() {
    for _ in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let url = format!("sqlite://{}/kameng.db", dir.path().display());
        let server = crate::process::ServerProcess::start_logged(
            &url,
            dir.path(),
            &[("KAMENG_DB_POOL_SIZE", "16")],
            Some(&log),
        )
        .await;
        drop(server);
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(!text.contains("database is locked"), "{text}");
        assert!(!text.contains("ERROR"), "{text}");
    }
}
