//! SQLite's process-wide settings, made once before the first connection opens.
//!
//! - **Multi-thread mode** (`SQLITE_CONFIG_MULTITHREAD`): no mutex around each call on a
//!   connection. diesel hands a connection to one thread at a time (`&mut`, and the pool
//!   lends it out whole), which is all that mode asks; rusqlite opens its connections the same
//!   way (`SQLITE_OPEN_NO_MUTEX`). The bundled build's default, serialized mode, locked and
//!   unlocked a mutex in every bind, step and column read: about 2 % of the writer thread.
//! - **No memory statistics** (`SQLITE_CONFIG_MEMSTATUS` off): nothing here reads them, and
//!   keeping them takes a global mutex on every allocation SQLite makes.
//!
//! Both must be set before SQLite initializes; [`configure`] runs before kameng opens any
//! connection (`Manager`). Should something have initialized SQLite first (another library in the same
//! process), the calls are refused and SQLite keeps its defaults, which are safe.

#![expect(
    unsafe_code,
    reason = "sqlite3_config is a C variadic with no safe wrapper in libsqlite3-sys"
)]

use std::sync::OnceLock;

use libsqlite3_sys as ffi;

/// Applies the settings above, once per process, before any connection opens; whether they
/// took (false: SQLite was initialized before, and keeps its defaults).
pub fn configure() -> bool {
    static APPLIED: OnceLock<bool> = OnceLock::new();
    *APPLIED.get_or_init(|| {
        // SAFETY: both options take the documented arguments (none; one int). SQLite refuses
        // them (SQLITE_MISUSE) once it initialized, which leaves its defaults in place.
        let (threads, stats) = unsafe {
            (
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD),
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int),
            )
        };
        if threads != ffi::SQLITE_OK || stats != ffi::SQLITE_OK {
            tracing::warn!(
                threads,
                stats,
                "SQLite was initialized before kameng configured it"
            );
        }
        threads == ffi::SQLITE_OK
    })
}

/// Whether a connection opened now gets a mutex of its own (serialized mode), for tests: none
/// once [`configure`] took.
pub fn connections_get_a_mutex() -> bool {
    let mut db: *mut ffi::sqlite3 = std::ptr::null_mut();
    // SAFETY: an in-memory database opened, asked for its mutex and closed here; `db` is only
    // used between a successful open and its close.
    unsafe {
        let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_MEMORY;
        if ffi::sqlite3_open_v2(c":memory:".as_ptr(), &mut db, flags, std::ptr::null())
            != ffi::SQLITE_OK
        {
            ffi::sqlite3_close(db);
            panic!("cannot open an in-memory SQLite database");
        }
        let has = !ffi::sqlite3_db_mutex(db).is_null();
        ffi::sqlite3_close(db);
        has
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_configured_connections_have_no_mutex() {
        // Other unit tests may open SQLite first in this process; the api tests, which open
        // it only through `Manager`, hold it to `configure` taking (`tests/api/batch.rs`).
        let took = configure();
        assert_eq!(connections_get_a_mutex(), !took);
    }
}
