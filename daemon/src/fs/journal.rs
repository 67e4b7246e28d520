//! guestfish's journal commands (cmds-libs) on the host's libsystemd (sd-journal): one open
//! journal for the daemon, as libguestfs keeps one (`journal-open` replaces it,
//! `journal-close` drops it). Errors are worded as libguestfs's daemon words them.
//!
//! The journal's lock is held for one library call at a time, never across calls.

// The guard is held on purpose while the journal is used: it keeps journal_close away.
#![allow(clippy::significant_drop_tightening)]

use crate::fs::clib::{self, cstring, error, perror, Binding, Library, Slot};
use crate::fs::guestfs;
use guestwright_protocol::{Errno, FishXAttr, GuestPath};
use std::ffi::{c_char, c_int, c_void};
use std::io;
use std::os::unix::ffi::OsStrExt;

/// libsystemd's `sd_journal`, opaque.
#[repr(C)]
struct Journal {
    _private: [u8; 0],
}

type OpenDirFn = unsafe extern "C" fn(*mut *mut Journal, *const c_char, c_int) -> c_int;
type CloseFn = unsafe extern "C" fn(*mut Journal);
type NextFn = unsafe extern "C" fn(*mut Journal) -> c_int;
type SkipFn = unsafe extern "C" fn(*mut Journal, u64) -> c_int;
type RestartFn = unsafe extern "C" fn(*mut Journal);
type EnumerateFn = unsafe extern "C" fn(*mut Journal, *mut *const c_void, *mut usize) -> c_int;
type GetThresholdFn = unsafe extern "C" fn(*mut Journal, *mut usize) -> c_int;
type SetThresholdFn = unsafe extern "C" fn(*mut Journal, usize) -> c_int;
type RealtimeFn = unsafe extern "C" fn(*mut Journal, *mut u64) -> c_int;

/// The functions of sd-journal the commands use.
struct Api {
    open_directory: OpenDirFn,
    close: CloseFn,
    next: NextFn,
    next_skip: SkipFn,
    previous_skip: SkipFn,
    restart_data: RestartFn,
    enumerate_data: EnumerateFn,
    get_data_threshold: GetThresholdFn,
    set_data_threshold: SetThresholdFn,
    get_realtime_usec: RealtimeFn,
    lib: Library,
}

/// Whether the daemon can use libsystemd. It cannot yet: libsystemd keeps its state in
/// dynamic TLS, which glibc's static `dlopen` does not set up (`__tls_get_addr` faults in
/// `sd_journal_open_directory`, which would kill the appliance). The commands fail with a
/// message instead, and `available` says the `journal` group is missing.
const SUPPORTED: bool = false;

fn load() -> Result<Api, clib::LoadError> {
    if !SUPPORTED {
        return Err(
            "the journal commands are not supported by guestwright's appliance yet: \
                    libsystemd cannot be loaded into its static daemon (it needs dynamic TLS); \
                    read the journal with `guestwright shell` `download` and `journalctl --file` \
                    on the host"
                .to_string(),
        );
    }
    let lib = Library::load("libsystemd.so.0")?;
    // SAFETY: each type is the prototype in systemd/sd-journal.h.
    unsafe {
        Ok(Api {
            open_directory: lib.sym(c"sd_journal_open_directory")?,
            close: lib.sym(c"sd_journal_close")?,
            next: lib.sym(c"sd_journal_next")?,
            next_skip: lib.sym(c"sd_journal_next_skip")?,
            previous_skip: lib.sym(c"sd_journal_previous_skip")?,
            restart_data: lib.sym(c"sd_journal_restart_data")?,
            enumerate_data: lib.sym(c"sd_journal_enumerate_data")?,
            get_data_threshold: lib.sym(c"sd_journal_get_data_threshold")?,
            set_data_threshold: lib.sym(c"sd_journal_set_data_threshold")?,
            get_realtime_usec: lib.sym(c"sd_journal_get_realtime_usec")?,
            lib,
        })
    }
}

impl clib::Functions for Api {
    fn library(&self) -> &Library {
        &self.lib
    }
}

static API: Binding<Api> = Binding::new(load);

/// The open journal.
static JOURNAL: Slot<Journal> = Slot::new("journal-open", "initialize the journal handle");

/// Whether the appliance can run the journal commands (the `journal` group).
pub fn available() -> bool {
    API.available()
}

/// Runs `f` on the open journal, or fails as libguestfs does when none is open.
fn with<T>(call: &str, f: impl FnOnce(&Api, *mut Journal) -> io::Result<T>) -> io::Result<T> {
    JOURNAL.with(&API, call, f)
}

/// `journal_open`: the journal files in the guest directory `directory`.
pub fn open(directory: &GuestPath) -> io::Result<()> {
    const CALL: &str = "journal_open";
    let api = API.get(CALL)?;
    let opened = |e: io::Error| {
        perror(
            CALL,
            e.raw_os_error().unwrap_or(libc::EIO),
            format_args!("sd_journal_open_directory: {directory}"),
        )
    };
    let dir = guestfs::open(directory, libc::O_PATH | libc::O_DIRECTORY, 0).map_err(opened)?;
    let real = guestfs::real_path(&dir)?;
    let cpath = cstring(CALL, &String::from_utf8_lossy(real.as_os_str().as_bytes()))?;
    JOURNAL.replace(
        |old| {
            // SAFETY: the old journal is live and dropped from the state.
            unsafe { (api.close)(old) };
        },
        || {
            let mut j: *mut Journal = std::ptr::null_mut();
            // SAFETY: `j` outlives the call; a valid C string.
            let r = unsafe { (api.open_directory)(&mut j, cpath.as_ptr(), 0) };
            if r < 0 {
                return Err(perror(
                    CALL,
                    -r,
                    format_args!("sd_journal_open_directory: {directory}"),
                ));
            }
            Ok(j)
        },
    )
}

/// `journal_close`.
pub fn close() -> io::Result<()> {
    const CALL: &str = "journal_close";
    let api = API.get(CALL)?;
    let old = JOURNAL.take(CALL)?;
    // SAFETY: the journal is live and no longer reachable from the state.
    unsafe { (api.close)(old) };
    Ok(())
}

/// `journal_next`: false at the end.
pub fn next() -> io::Result<bool> {
    const CALL: &str = "journal_next";
    with(CALL, |api, j| {
        // SAFETY: live journal.
        let r = unsafe { (api.next)(j) };
        if r < 0 {
            return Err(perror(CALL, -r, "sd_journal_next"));
        }
        Ok(r != 0)
    })
}

/// `journal_skip`: the number of entries skipped.
pub fn skip(skip: i64) -> io::Result<i64> {
    const CALL: &str = "journal_skip";
    with(CALL, |api, j| {
        if skip == 0 {
            return Ok(0);
        }
        // SAFETY: live journal.
        let r = unsafe {
            if skip > 0 {
                (api.next_skip)(j, skip as u64)
            } else {
                (api.previous_skip)(j, skip.unsigned_abs())
            }
        };
        if r < 0 {
            return Err(perror(
                CALL,
                -r,
                format_args!("failed to skip {skip} journal entries"),
            ));
        }
        Ok(i64::from(r))
    })
}

/// `journal_get`: every field of the current entry, split at the first `=`.
pub fn get() -> io::Result<Vec<FishXAttr>> {
    // libguestfs implements journal_get on the host over this daemon call, named in errors.
    const CALL: &str = "internal_journal_get";
    with(CALL, |api, j| {
        let mut out = Vec::new();
        // SAFETY: live journal.
        unsafe { (api.restart_data)(j) };
        loop {
            let mut data: *const c_void = std::ptr::null();
            let mut len: usize = 0;
            // SAFETY: live journal; `data` and `len` outlive the call.
            let r = unsafe { (api.enumerate_data)(j, &mut data, &mut len) };
            if r < 0 {
                return Err(perror(CALL, -r, "sd_journal_enumerate_data"));
            }
            if r == 0 {
                break;
            }
            // SAFETY: `len` bytes the journal owns until the next call; copied at once.
            let field = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
            let Some(eq) = field.iter().position(|&b| b == b'=') else {
                return Err(error(
                    CALL,
                    Errno::EINVAL,
                    "invalid data from the journal: no '=' found separating field name and data",
                ));
            };
            out.push(FishXAttr {
                attrname: String::from_utf8_lossy(&field[..eq]).into_owned(),
                attrval: field[eq + 1..].to_vec(),
            });
        }
        Ok(out)
    })
}

/// `journal_get_data_threshold`.
pub fn get_data_threshold() -> io::Result<i64> {
    const CALL: &str = "journal_get_data_threshold";
    with(CALL, |api, j| {
        let mut n: usize = 0;
        // SAFETY: live journal; `n` outlives the call.
        let r = unsafe { (api.get_data_threshold)(j, &mut n) };
        if r < 0 {
            return Err(perror(CALL, -r, "sd_journal_get_data_threshold"));
        }
        Ok(n as i64)
    })
}

/// `journal_set_data_threshold`.
pub fn set_data_threshold(threshold: i64) -> io::Result<()> {
    const CALL: &str = "journal_set_data_threshold";
    with(CALL, |api, j| {
        // SAFETY: live journal.
        let r = unsafe { (api.set_data_threshold)(j, threshold as usize) };
        if r < 0 {
            return Err(perror(CALL, -r, "sd_journal_set_data_threshold"));
        }
        Ok(())
    })
}

/// `journal_get_realtime_usec`.
pub fn get_realtime_usec() -> io::Result<i64> {
    const CALL: &str = "journal_get_realtime_usec";
    with(CALL, |api, j| {
        let mut usec: u64 = 0;
        // SAFETY: live journal; `usec` outlives the call.
        let r = unsafe { (api.get_realtime_usec)(j, &mut usec) };
        if r < 0 {
            return Err(perror(CALL, -r, "sd_journal_get_realtime_usec"));
        }
        Ok(usec as i64)
    })
}
