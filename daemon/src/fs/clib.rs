//! Host C libraries the daemon loads at run time (cmds-libs): libaugeas and libhivex, which
//! guestfish's Augeas and hivex commands are built on, as in libguestfs's daemon. Writing
//! our own Augeas (a language of lenses) and registry hive writer would be large and would drift from the libraries guests
//! are edited with; loading the host's own copies keeps their behaviour exact.
//!
//! The daemon is a static executable, so it uses glibc's static `dlopen`: the library, its
//! dependencies and the shared C library they need come from the extras disk (carried by the
//! appliance builder like a tool, `appliance/src/carry.rs`) and live in their own namespace,
//! with their own `malloc` and `errno`. So memory a library returns is freed with that
//! namespace's `free`, and its `errno` is read through its own `__errno_location`, never
//! ours; each calling thread first sets up that namespace's character tables
//! ([`Library::enter_thread`]). A library is loaded once and never unloaded. Static `dlopen`
//! cannot serve a library that uses dynamic TLS (`__tls_get_addr`): libsystemd does, so the
//! journal commands run `journalctl` instead (`fs/journal.rs`).
//!
//! This module must never be used for anything but these libraries' documented C APIs.

use guestwright_protocol::{Errno, RemoteError};
use guestwright_sync::Mutex;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io;
use std::sync::OnceLock;

/// One loaded library.
#[derive(Debug)]
pub struct Library {
    handle: *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
    errno_location: unsafe extern "C" fn() -> *mut c_int,
    ctype_init: Option<unsafe extern "C" fn()>,
}

// SAFETY: the handle is only a token for dlsym, which is thread-safe; the library's own
// objects are guarded by the callers' locks.
unsafe impl Send for Library {}
// SAFETY: as above; nothing in `Library` is mutated after loading.
unsafe impl Sync for Library {}

/// Why a library is not usable: kept as text, so the answer can be given again.
pub type LoadError = String;

impl Library {
    /// Finds `soname` in the appliance (copying it and what it needs out of the extras disk)
    /// and loads it. The error names the Debian package to install on the host.
    pub fn load(soname: &str) -> Result<Library, LoadError> {
        let path = crate::boot::tools::find(soname).map_err(|e| e.to_string())?;
        let cpath = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("{}: the path holds a NUL byte", path.display()))?;
        // SAFETY: dlopen with a valid C string; the library's constructors run here, once.
        let handle = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(format!(
                "cannot load {} ({}): {}",
                soname,
                path.display(),
                dl_error()
            ));
        }
        // SAFETY: `handle` is live; the symbols have these C signatures in every glibc.
        unsafe {
            let free = sym_in(handle, c"free")?;
            let errno_location = sym_in(handle, c"__errno_location")?;
            let ctype_init = sym_in(handle, c"__ctype_init").ok();
            Ok(Library {
                handle,
                free,
                errno_location,
                ctype_init,
            })
        }
    }

    /// Prepares the calling thread for the library: the library's C library sets up its
    /// character-class tables per thread only for the thread that loaded it, and the
    /// daemon's other threads would find them null (isspace and friends then crash).
    pub fn enter_thread(&self) {
        if let Some(init) = self.ctype_init {
            // SAFETY: __ctype_init only sets this thread's table pointers in the library's
            // C library; calling it again is harmless.
            unsafe { init() }
        }
    }

    /// The function `name` of the library.
    ///
    /// # Safety
    /// `F` must be an `unsafe extern "C" fn` type matching the symbol's C prototype.
    pub unsafe fn sym<F: Copy>(&self, name: &CStr) -> Result<F, LoadError> {
        // SAFETY: the caller's promise on `F`; `handle` is live.
        unsafe { sym_in(self.handle, name) }
    }

    /// Frees memory the library allocated, with its own allocator.
    ///
    /// # Safety
    /// `ptr` is null or was returned by the library's `malloc` and is not used again.
    pub unsafe fn free(&self, ptr: *mut c_void) {
        // SAFETY: the caller's promise.
        unsafe { (self.free)(ptr) }
    }

    /// Sets the library's `errno` (to 0 before a call that reports errors only there).
    pub fn set_errno(&self, value: c_int) {
        // SAFETY: __errno_location returns this thread's errno in the library's namespace.
        unsafe { *(self.errno_location)() = value }
    }

    /// The library's `errno` now.
    pub fn errno(&self) -> c_int {
        // SAFETY: as in `set_errno`.
        unsafe { *(self.errno_location)() }
    }

    /// Copies a C string the library owns (it is not freed).
    ///
    /// # Safety
    /// `ptr` is null or a valid NUL-terminated string.
    pub unsafe fn borrowed_string(ptr: *const c_char) -> Option<String> {
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the caller's promise.
        Some(
            unsafe { CStr::from_ptr(ptr) }
                .to_string_lossy()
                .into_owned(),
        )
    }

    /// Copies a C string the library allocated for us, then frees it.
    ///
    /// # Safety
    /// `ptr` is null or a NUL-terminated string from the library's `malloc`.
    pub unsafe fn owned_string(&self, ptr: *mut c_char) -> Option<String> {
        // SAFETY: the caller's promise; the copy is made before the free.
        unsafe {
            let s = Self::borrowed_string(ptr);
            self.free(ptr.cast());
            s
        }
    }
}

/// A library's table of functions (the `Api` struct of `augeas.rs`, `hivex.rs`, ...).
pub trait Functions: Send + Sync + 'static {
    /// The library they were taken from.
    fn library(&self) -> &Library;
}

/// A library's functions, loaded by the first call that needs them and kept for the
/// daemon's life; a library that cannot be loaded gives the same answer to every call.
#[derive(Debug)]
pub struct Binding<A> {
    loaded: OnceLock<Result<A, LoadError>>,
    load: fn() -> Result<A, LoadError>,
}

impl<A: Functions> Binding<A> {
    /// A binding that loads with `load` on first use.
    pub const fn new(load: fn() -> Result<A, LoadError>) -> Binding<A> {
        Binding {
            loaded: OnceLock::new(),
            load,
        }
    }

    /// The functions, with the calling thread prepared for the library
    /// ([`Library::enter_thread`]), or EOPNOTSUPP naming `call` and why the library is
    /// missing.
    pub fn get(&self, call: &str) -> io::Result<&A> {
        let api = self
            .loaded
            .get_or_init(self.load)
            .as_ref()
            .map_err(|e| error(call, Errno::EOPNOTSUPP, e))?;
        api.library().enter_thread();
        Ok(api)
    }

    /// Whether the appliance can run the library's commands (for `available`).
    pub fn available(&self) -> bool {
        self.get("available").is_ok()
    }
}

/// An object of a library's own (`augeas *`, `hive_h *`, `sd_journal *`).
#[derive(Debug)]
pub struct Object<T>(pub *mut T);
// SAFETY: an object is only used under its slot's lock, by one thread at a time.
unsafe impl<T> Send for Object<T> {}

/// The one object a family of commands keeps open, as libguestfs's daemon keeps one Augeas
/// handle, one hive and one journal: opening replaces it, closing drops it, and every
/// other call fails in libguestfs's words while none is open. The lock is held for one
/// call into the library at a time, never across calls.
#[derive(Debug)]
pub struct Slot<T> {
    open: Mutex<Option<Object<T>>>,
    /// The command that opens one (`aug-init`).
    opener: &'static str,
    /// What opening does, to end the message (`initialize Augeas`).
    purpose: &'static str,
}

impl<T> Slot<T> {
    /// An empty slot filled by the command `opener`, which does `purpose`.
    pub const fn new(opener: &'static str, purpose: &'static str) -> Slot<T> {
        Slot {
            open: Mutex::new(None),
            opener,
            purpose,
        }
    }

    fn missing(&self, call: &str) -> io::Error {
        error(
            call,
            Errno::EINVAL,
            format_args!(
                "do_{call}: you must call '{}' first to {}",
                self.opener, self.purpose
            ),
        )
    }

    /// Runs `f` on the open object under the slot's lock, or fails as libguestfs does when
    /// none is open.
    pub fn with<A: Functions, R>(
        &self,
        binding: &Binding<A>,
        call: &str,
        f: impl FnOnce(&A, *mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let api = binding.get(call)?;
        let guard = self.open.lock();
        let object = guard.as_ref().ok_or_else(|| self.missing(call))?.0;
        let result = f(api, object);
        drop(guard);
        result
    }

    /// Opens a new object with `open` under the slot's lock, after `close` has closed the
    /// one open before (its changes are lost, as in libguestfs).
    pub fn replace(
        &self,
        close: impl FnOnce(*mut T),
        open: impl FnOnce() -> io::Result<*mut T>,
    ) -> io::Result<()> {
        let mut guard = self.open.lock();
        if let Some(old) = guard.take() {
            close(old.0);
        }
        *guard = Some(Object(open()?));
        drop(guard);
        Ok(())
    }

    /// Takes the open object out of the slot for closing, or fails as libguestfs does when
    /// none is open.
    pub fn take(&self, call: &str) -> io::Result<*mut T> {
        let old = self.open.lock().take();
        old.map(|o| o.0).ok_or_else(|| self.missing(call))
    }

    /// Takes the open object out of the slot, if there is one.
    pub fn take_any(&self) -> Option<*mut T> {
        let old = self.open.lock().take();
        old.map(|o| o.0)
    }
}

/// # Safety
/// `handle` is a live dlopen handle and `F` matches the symbol's prototype.
unsafe fn sym_in<F: Copy>(handle: *mut c_void, name: &CStr) -> Result<F, LoadError> {
    assert_eq!(
        std::mem::size_of::<F>(),
        std::mem::size_of::<*mut c_void>(),
        "a C function pointer"
    );
    // SAFETY: dlsym on a live handle with a valid C string.
    let ptr = unsafe { libc::dlsym(handle, name.as_ptr()) };
    if ptr.is_null() {
        return Err(format!(
            "the library has no {}: {}",
            name.to_string_lossy(),
            dl_error()
        ));
    }
    // SAFETY: a non-null symbol address reinterpreted as the function type the caller named.
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&ptr) })
}

fn dl_error() -> String {
    // SAFETY: dlerror returns null or a string valid until the next dl* call on this thread.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".to_string()
    } else {
        // SAFETY: non-null, NUL-terminated, read before any other dl* call.
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

/// A C string argument, or EINVAL naming the call when it holds a NUL byte.
pub fn cstring(call: &str, s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| error(call, Errno::EINVAL, "the string holds a NUL byte"))
}

/// An error worded as libguestfs's daemon words it: `call: message`.
pub fn error(call: &str, errno: Errno, message: impl std::fmt::Display) -> io::Error {
    io::Error::from(RemoteError::new(errno, format!("{call}: {message}")))
}

/// `call: message: strerror(errno)`, as libguestfs's `reply_with_perror`.
pub fn perror(call: &str, errno: c_int, message: impl std::fmt::Display) -> io::Error {
    let text = io::Error::from_raw_os_error(errno).to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    io::Error::from(RemoteError::new(
        Errno::from_raw(errno),
        format!("{call}: {message}: {text}"),
    ))
}
