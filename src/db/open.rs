//! Opening the database at start: the URL's scheme is checked, one connection is made before
//! the pool exists, and a failure is one message that names the URL (never its password) and
//! what to check. Without this a bad path made the pool retry for its whole timeout, logging
//! the same bare driver error dozens of times, and an unknown scheme (`mysql://…`) was taken
//! as a SQLite file name.

use std::path::Path;

use super::{sqlite_path, Backend};

/// `url` as it may be shown: the password of a PostgreSQL URL replaced by `***`.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Refuses a URL whose scheme is neither SQLite's nor PostgreSQL's.
pub fn check_scheme(url: &str) -> Result<(), String> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        None | Some("sqlite" | "postgres" | "postgresql") => Ok(()),
        Some(other) => Err(format!(
            "unsupported database URL scheme `{other}` in KAMENG_DATABASE_URL={}: use \
             sqlite://PATH (the embedded default) or postgres://USER:PASSWORD@HOST:PORT/DB",
            redacted(url)
        )),
    }
}

/// The message for a first connection that failed: what was tried, the driver's reason, and
/// what to check for this backend.
pub fn open_error(url: &str, backend: Backend, cause: &str) -> String {
    let advice = match backend {
        Backend::Sqlite => sqlite_advice(sqlite_path(url).unwrap_or(url)),
        Backend::Postgres => "check that PostgreSQL is running and reachable at that host and \
             port, that the user and password are right, and that the database exists \
             (createdb NAME)"
            .to_string(),
    };
    // Drivers answer in several lines (libpq adds a hint line): one line reads better in a log.
    let cause = cause.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "cannot open the database KAMENG_DATABASE_URL={}: {cause}; {advice}",
        redacted(url)
    )
}

fn sqlite_advice(path: &str) -> String {
    let file = Path::new(path);
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if file.is_dir() {
        format!("{path} is a directory: name a file, e.g. sqlite://{path}/kameng.db")
    } else if !dir.is_dir() {
        format!(
            "the directory {} does not exist: create it, or point KAMENG_DATABASE_URL at a \
             file in an existing directory",
            dir.display()
        )
    } else {
        format!(
            "check that the directory {} is writable by this user and that {path} is a SQLite \
             database",
            dir.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear() {
        let url = "postgres://kameng:hunter2@db.internal:5432/shop";
        assert_eq!(redacted(url), "postgres://kameng:***@db.internal:5432/shop");
        let msg = open_error(url, Backend::Postgres, "connection refused");
        assert!(
            !msg.contains("hunter2") && msg.contains("db.internal"),
            "{msg}"
        );
    }

    #[test]
    fn only_sqlite_and_postgres_schemes() {
        assert!(check_scheme("sqlite://kameng.db").is_ok());
        assert!(check_scheme("kameng.db").is_ok());
        assert!(check_scheme("postgresql://u@h/db").is_ok());
        let err = check_scheme("mysql://root:pw@localhost/shop").unwrap_err();
        assert!(err.contains("`mysql`") && !err.contains("pw@"), "{err}");
    }

    #[test]
    fn a_missing_directory_is_named() {
        let msg = open_error(
            "sqlite:///no/such/dir/kameng.db",
            Backend::Sqlite,
            "Unable to open the database file",
        );
        assert!(msg.contains("/no/such/dir does not exist"), "{msg}");
    }
}
