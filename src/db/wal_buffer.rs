//! A SQLite VFS that gathers the writer's WAL writes into a few large `pwrite`s per commit.
//!
//! SQLite appends a frame to the WAL as two writes, its 24-byte header and its page, so a group
//! commit of ~100 pages made ~200 `pwrite` calls: 18 % of the writer thread's time, most of it
//! the syscall itself, not the copy (profile in the README, "SQLite on 2026-12-07"). This VFS is
//! the default one (`unix`) with one change: a WAL file's sequential writes collect in memory
//! and reach the file in writes of up to 124 KB when SQLite syncs, reads, sizes, truncates or
//! closes it, or when the next write does not follow on.
//!
//! Why nothing can read a frame before it is on the file: under `synchronous = FULL` SQLite
//! syncs the WAL at every commit before it publishes the new frames in the WAL index, and other
//! connections find frames only through that index; the writing connection's own reads of the
//! WAL (a page it spilled, a checkpoint) write the buffer first. So it is used only with FULL
//! (`Manager` opens the writer through it then, never with NORMAL, where SQLite publishes
//! frames without a sync), and only on the writer's connection. An acknowledged commit is on
//! the disk exactly as before: the sync that makes it durable writes the buffer first.

#![expect(
    unsafe_code,
    reason = "a SQLite VFS is C callbacks over raw pointers; see the module comment"
)]

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use libsqlite3_sys as ffi;

/// The VFS's registered name, for `file:PATH?vfs=…` URIs.
pub const NAME: &CStr = c"kameng-wal-buffered";
/// A buffer this large is written at once, so a huge transaction holds no more in memory.
const FLUSH_AT: usize = 4 << 20;
/// The most one write hands the `unix` VFS: it writes at most 0x1ffff bytes per `pwrite`
/// (`seekAndWriteFd` masks the length), and a longer write ends as SQLITE_FULL.
const WRITE_AT_MOST: usize = 31 * 4096;

/// The `unix` VFS this one forwards to.
static BASE: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(std::ptr::null_mut());
thread_local! {
    /// Writes this thread made to WAL files through this VFS (for tests).
    static WAL_WRITES: Cell<u64> = const { Cell::new(0) };
}

/// A WAL file: SQLite's `sqlite3_file` header (pointing at [`METHODS`]), the real file opened
/// by the base VFS (in the same allocation, after this struct), and the gathered writes.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    /// Bytes for the file from offset `start` on, not yet written.
    pending: Vec<u8>,
    start: i64,
}

/// Registers the VFS (once per process); false if SQLite has no `unix` VFS to wrap.
pub fn register() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| unsafe {
        let base = ffi::sqlite3_vfs_find(std::ptr::null());
        if base.is_null() || (*base).szOsFile <= 0 {
            return false;
        }
        BASE.store(base, Ordering::Release);
        let mut vfs: ffi::sqlite3_vfs = *base;
        vfs.szOsFile = std::mem::size_of::<WalFile>() as c_int + (*base).szOsFile;
        vfs.zName = NAME.as_ptr();
        vfs.pNext = std::ptr::null_mut();
        vfs.xOpen = Some(open);
        // SQLite keeps the pointer for the life of the process.
        let vfs = Box::leak(Box::new(vfs));
        ffi::sqlite3_vfs_register(vfs, 0) == ffi::SQLITE_OK
    })
}

/// The URI that opens `path` through this VFS (`?`, `#` and `%` escaped as a URI needs).
pub fn uri(path: &str) -> String {
    let mut escaped = String::with_capacity(path.len() + 8);
    for c in path.chars() {
        match c {
            '?' => escaped.push_str("%3f"),
            '#' => escaped.push_str("%23"),
            '%' => escaped.push_str("%25"),
            c => escaped.push(c),
        }
    }
    format!("file:{escaped}?vfs={}", NAME.to_str().unwrap_or_default())
}

/// Writes this thread has made to WAL files through this VFS so far.
pub fn wal_writes() -> u64 {
    WAL_WRITES.with(Cell::get)
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = BASE.load(Ordering::Acquire);
    let Some(base_open) = (*base).xOpen else {
        return ffi::SQLITE_IOERR;
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Every other file is the base VFS's own, in the start of the same allocation.
        return base_open(base, name, file, flags, out_flags);
    }
    let wal = file as *mut WalFile;
    let real = (file as *mut u8).add(std::mem::size_of::<WalFile>()) as *mut ffi::sqlite3_file;
    (*real).pMethods = std::ptr::null();
    let rc = base_open(base, name, real, flags, out_flags);
    if (*real).pMethods.is_null() {
        (*file).pMethods = std::ptr::null();
        return rc;
    }
    // Wrapped even when the open failed, so that SQLite's close reaches the real file.
    std::ptr::write(
        wal,
        WalFile {
            base: ffi::sqlite3_file { pMethods: &METHODS },
            real,
            pending: Vec::new(),
            start: 0,
        },
    );
    rc
}

/// The real file's methods.
unsafe fn real(
    file: *mut ffi::sqlite3_file,
) -> (*mut ffi::sqlite3_file, &'static ffi::sqlite3_io_methods) {
    let real = (*(file as *mut WalFile)).real;
    (real, &*(*real).pMethods)
}

/// Writes what was gathered.
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    let wal = &mut *(file as *mut WalFile);
    if wal.pending.is_empty() {
        return ffi::SQLITE_OK;
    }
    let (real, methods) = real(file);
    let Some(write) = methods.xWrite else {
        return ffi::SQLITE_IOERR;
    };
    let mut rc = ffi::SQLITE_OK;
    let mut offset = wal.start;
    for chunk in wal.pending.chunks(WRITE_AT_MOST) {
        WAL_WRITES.with(|n| n.set(n.get() + 1));
        rc = write(
            real,
            chunk.as_ptr() as *const c_void,
            chunk.len() as c_int,
            offset,
        );
        if rc != ffi::SQLITE_OK {
            break;
        }
        offset += chunk.len() as i64;
    }
    // Written or failed, it is not written again: a failed write fails the transaction, which
    // SQLite then rolls back.
    wal.pending.clear();
    rc
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let flushed = flush(file);
    let (real, methods) = real(file);
    let closed = methods.xClose.map_or(ffi::SQLITE_OK, |close| close(real));
    std::ptr::drop_in_place(file as *mut WalFile);
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amt: c_int,
    off: i64,
) -> c_int {
    let wal = &mut *(file as *mut WalFile);
    if !wal.pending.is_empty() && off != wal.start + wal.pending.len() as i64 {
        let rc = flush(file);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    let wal = &mut *(file as *mut WalFile);
    if wal.pending.is_empty() {
        wal.start = off;
    }
    let bytes = std::slice::from_raw_parts(buf as *const u8, amt.max(0) as usize);
    wal.pending.extend_from_slice(bytes);
    if wal.pending.len() >= FLUSH_AT {
        return flush(file);
    }
    ffi::SQLITE_OK
}

/// Methods that write the gathered bytes first, then do what the real file does.
macro_rules! flushing {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            let rc = flush(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            let (real, methods) = real(file);
            methods.$field.map_or(ffi::SQLITE_IOERR, |f| f(real, $($arg),*))
        }
    };
}

/// Methods the gathered bytes do not concern.
macro_rules! forwarded {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            let (real, methods) = real(file);
            methods.$field.map_or(ffi::SQLITE_IOERR, |f| f(real, $($arg),*))
        }
    };
}

flushing!(read, xRead, (buf: *mut c_void, amt: c_int, off: i64));
flushing!(truncate, xTruncate, (size: i64));
flushing!(sync, xSync, (flags: c_int));
flushing!(file_size, xFileSize, (size: *mut i64));
flushing!(file_control, xFileControl, (op: c_int, arg: *mut c_void));
flushing!(fetch, xFetch, (off: i64, amt: c_int, out: *mut *mut c_void));
forwarded!(lock, xLock, (level: c_int));
forwarded!(unlock, xUnlock, (level: c_int));
forwarded!(check_reserved_lock, xCheckReservedLock, (out: *mut c_int));
forwarded!(sector_size, xSectorSize, ());
forwarded!(device_characteristics, xDeviceCharacteristics, ());
forwarded!(shm_map, xShmMap, (page: c_int, size: c_int, extend: c_int, out: *mut *mut c_void));
forwarded!(shm_lock, xShmLock, (offset: c_int, n: c_int, flags: c_int));
forwarded!(shm_unmap, xShmUnmap, (delete: c_int));
forwarded!(unfetch, xUnfetch, (off: i64, page: *mut c_void));

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    let (real, methods) = real(file);
    if let Some(f) = methods.xShmBarrier {
        f(real)
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

#[cfg(test)]
mod tests;
