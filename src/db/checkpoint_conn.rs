//! The background checkpointer's connection: a PASSIVE WAL checkpoint, then an fsync of the
//! database file that SQLite itself skips under load.
//!
//! SQLite syncs the database file at the end of a checkpoint only when the pass copied up to
//! the WAL's last frame as it stands at that moment (`walCheckpoint`: `mxSafeFrame ==
//! mxFrame`). Under load the writer commits while a pass copies, so no background pass ever
//! synced: every page it copied stayed dirty in the page cache until the writer's own
//! checkpoint between batches, which does reach the end and so synced all of them, with orders
//! waiting. Measured with `perf trace` on the 10^6 database after a 10,000-card push: the
//! writer's fsync of the database file took 95–183 ms (thousands of scattered pages; 200 such
//! pages sync in ~7 ms on the same disk) while the background's own fsyncs took 2–13 ms.
//! Syncing here after every pass that copied pages leaves the writer only what it copies.
//!
//! Opened through libsqlite3-sys, not diesel: the sync goes through SQLite's own handle on the
//! file (`SQLITE_FCNTL_FILE_POINTER`), which diesel does not expose. Opening and closing a
//! second descriptor of the file ourselves would drop the POSIX locks SQLite's connections in
//! this process hold on it.

#![expect(
    unsafe_code,
    reason = "sqlite3_open_v2, sqlite3_wal_checkpoint_v2 and a file's xSync have no safe wrapper"
)]

use std::ffi::{c_int, c_void, CString};

use libsqlite3_sys as ffi;

use crate::error::{Error, Result};

/// What a pass found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Another checkpoint was running (the writer's): nothing was copied.
    pub busy: bool,
    /// Frames in the WAL when the pass began.
    pub frames: i64,
    /// Frames copied into the database file so far (this pass's and earlier ones').
    pub copied: i64,
    /// The pass synced the database file (it copied pages; see the module's comment).
    pub synced: bool,
}

/// A raw SQLite connection used only for checkpoints, on the thread that holds it.
pub struct CheckpointConn {
    db: *mut ffi::sqlite3,
}

// SAFETY: the connection is used by one thread at a time (`&mut self`), which multi-thread
// mode (`sqlite_config`) allows; it is not shared.
unsafe impl Send for CheckpointConn {}

impl CheckpointConn {
    /// Opens the database at `path` (which must exist; it is never created here).
    pub fn open(path: &str) -> Result<CheckpointConn> {
        super::sqlite_config::configure();
        let name = CString::new(path).map_err(|_| Error::internal("a NUL in the database path"))?;
        let mut db: *mut ffi::sqlite3 = std::ptr::null_mut();
        let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_URI;
        // SAFETY: `name` is a valid C string; `db` receives a handle (even on failure, when it
        // must still be closed, which `Drop` does).
        let rc = unsafe { ffi::sqlite3_open_v2(name.as_ptr(), &mut db, flags, std::ptr::null()) };
        let conn = CheckpointConn { db };
        // A fresh connection learns the database is in WAL mode on its first read; until then
        // a checkpoint answers -1 and does nothing.
        let rc = match rc {
            ffi::SQLITE_OK => unsafe {
                // SAFETY: an open handle and a valid C string; no callback. The timeout covers
                // that first read only (a PASSIVE checkpoint never waits).
                ffi::sqlite3_busy_timeout(db, 1000);
                ffi::sqlite3_exec(
                    db,
                    c"PRAGMA schema_version".as_ptr(),
                    None,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            },
            failed => failed,
        };
        if rc != ffi::SQLITE_OK {
            return Err(Error::Unavailable(format!(
                "cannot open the database for checkpoints: {}",
                conn.message(rc)
            )));
        }
        Ok(conn)
    }

    /// A PASSIVE checkpoint (never waits, never blocks the writer), then an fsync of the
    /// database file if the pass copied anything.
    pub fn pass(&mut self) -> Result<Pass> {
        let (mut frames, mut copied): (c_int, c_int) = (0, 0);
        // SAFETY: an open handle; the out-pointers are valid for the call.
        let rc = unsafe {
            ffi::sqlite3_wal_checkpoint_v2(
                self.db,
                c"main".as_ptr(),
                ffi::SQLITE_CHECKPOINT_PASSIVE,
                &mut frames,
                &mut copied,
            )
        };
        if rc == ffi::SQLITE_BUSY {
            return Ok(Pass {
                busy: true,
                frames: -1,
                copied: -1,
                synced: false,
            });
        }
        if rc != ffi::SQLITE_OK {
            return Err(Error::internal(format!("checkpoint: {}", self.message(rc))));
        }
        // Whether this pass copied pages or an earlier one did is not in the answer, and an
        // fsync with nothing dirty costs next to nothing: sync whenever some frame is copied.
        let synced = copied > 0;
        if synced {
            self.sync_database_file()?;
        }
        Ok(Pass {
            busy: false,
            frames: frames.into(),
            copied: copied.into(),
            synced,
        })
    }

    /// fsync of the database file through SQLite's own handle on it.
    fn sync_database_file(&mut self) -> Result<()> {
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        // SAFETY: an open handle; FILE_POINTER writes the main database's file handle, owned
        // by the connection and valid while it is open, into `file`.
        let rc = unsafe {
            ffi::sqlite3_file_control(
                self.db,
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                &mut file as *mut *mut ffi::sqlite3_file as *mut c_void,
            )
        };
        if rc != ffi::SQLITE_OK || file.is_null() {
            return Err(Error::internal(
                "checkpoint: no handle on the database file",
            ));
        }
        // SAFETY: `file` is the connection's open file; its methods outlive it.
        let rc = unsafe {
            match (*file).pMethods.as_ref().and_then(|m| m.xSync) {
                Some(sync) => sync(file, ffi::SQLITE_SYNC_NORMAL),
                None => ffi::SQLITE_OK,
            }
        };
        if rc != ffi::SQLITE_OK {
            return Err(Error::internal(format!(
                "syncing the database file: {}",
                self.message(rc)
            )));
        }
        Ok(())
    }

    fn message(&self, rc: c_int) -> String {
        // SAFETY: sqlite3_errstr returns a static string for any code.
        let text = unsafe { std::ffi::CStr::from_ptr(ffi::sqlite3_errstr(rc)) };
        text.to_string_lossy().into_owned()
    }
}

impl Drop for CheckpointConn {
    fn drop(&mut self) {
        // SAFETY: the handle from open (possibly a failed one, which close also takes).
        unsafe {
            ffi::sqlite3_close(self.db);
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    use super::*;

    /// A pass a reader's older snapshot holds back (it cannot reach the WAL's end, so SQLite
    /// does not sync the database file) still syncs it; the data stays whole.
    #[test]
    fn a_held_back_pass_still_syncs_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = format!("{}/c.db", dir.path().display());
        let mut writer = diesel::SqliteConnection::establish(&path).unwrap();
        writer
            .batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
                 CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT); \
                 INSERT INTO t (pad) SELECT zeroblob(500) FROM (WITH RECURSIVE c(x) AS \
                 (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) SELECT x FROM c);",
            )
            .unwrap();
        let mut reader = diesel::SqliteConnection::establish(&path).unwrap();
        reader
            .batch_execute("BEGIN; SELECT count(*) FROM t;")
            .unwrap();
        writer
            .batch_execute("INSERT INTO t (pad) VALUES ('after the reader began');")
            .unwrap();
        let mut conn = CheckpointConn::open(&path).unwrap();
        let pass = conn.pass().unwrap();
        assert!(!pass.busy);
        assert!(
            0 < pass.copied && pass.copied < pass.frames,
            "held back: {pass:?}"
        );
        assert!(pass.synced, "{pass:?}");
        reader.batch_execute("COMMIT;").unwrap();
        let pass = conn.pass().unwrap();
        assert_eq!(pass.copied, pass.frames);
        drop(conn);
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let count: Count = diesel::RunQueryDsl::get_result(
            diesel::sql_query("SELECT count(*) AS n FROM t"),
            &mut writer,
        )
        .unwrap();
        assert_eq!(count.n, 2001);
    }

    #[test]
    fn a_missing_database_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = format!("{}/none.db", dir.path().display());
        assert!(CheckpointConn::open(&path).is_err());
        assert!(!std::path::Path::new(&path).exists());
    }
}
