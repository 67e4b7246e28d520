//! guestfish's Augeas commands (cmds-libs) on the host's libaugeas: one Augeas handle for the
//! daemon, rooted in the guest tree, as libguestfs keeps one (`aug-init` replaces it,
//! `aug-close` drops it). Errors are worded as libguestfs's daemon words them.
//!
//! The handle's lock is held for one library call at a time (Augeas is not thread-safe),
//! never across calls.

// The guard is held on purpose while the handle is used: it keeps aug_close away.
#![allow(clippy::significant_drop_tightening)]

use crate::fs::clib::{self, cstring, error, Binding, Library, Slot};
use crate::fs::guestfs;
use guestwright_protocol::{Errno, GuestPath, IntBool};
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::io;

/// libaugeas's `augeas` handle, opaque.
#[repr(C)]
struct Augeas {
    _private: [u8; 0],
}

/// Don't close the handle when `aug_init` fails, so its error can be read.
const AUG_NO_ERR_CLOSE: c_uint = 1 << 8;
const AUG_NOERROR: c_int = 0;
const AUG_ENOMEM: c_int = 1;

type InitFn = unsafe extern "C" fn(*const c_char, *const c_char, c_uint) -> *mut Augeas;
type CloseFn = unsafe extern "C" fn(*mut Augeas);
type ErrorFn = unsafe extern "C" fn(*mut Augeas) -> c_int;
type ErrorTextFn = unsafe extern "C" fn(*mut Augeas) -> *const c_char;
type PathFn = unsafe extern "C" fn(*mut Augeas, *const c_char) -> c_int;
type TwoFn = unsafe extern "C" fn(*mut Augeas, *const c_char, *const c_char) -> c_int;
type ThreeFn =
    unsafe extern "C" fn(*mut Augeas, *const c_char, *const c_char, *const c_char) -> c_int;
type GetFn = unsafe extern "C" fn(*mut Augeas, *const c_char, *mut *const c_char) -> c_int;
type DefnodeFn = unsafe extern "C" fn(
    *mut Augeas,
    *const c_char,
    *const c_char,
    *const c_char,
    *mut c_int,
) -> c_int;
type InsertFn = unsafe extern "C" fn(*mut Augeas, *const c_char, *const c_char, c_int) -> c_int;
type MatchFn = unsafe extern "C" fn(*mut Augeas, *const c_char, *mut *mut *mut c_char) -> c_int;
type HandleFn = unsafe extern "C" fn(*mut Augeas) -> c_int;
type TransformFn = unsafe extern "C" fn(*mut Augeas, *const c_char, *const c_char, c_int) -> c_int;

/// The functions of libaugeas the commands use.
struct Api {
    lib: Library,
    init: InitFn,
    close: CloseFn,
    error: ErrorFn,
    error_message: ErrorTextFn,
    error_minor_message: ErrorTextFn,
    error_details: ErrorTextFn,
    defvar: TwoFn,
    defnode: DefnodeFn,
    get: GetFn,
    label: GetFn,
    set: TwoFn,
    setm: ThreeFn,
    insert: InsertFn,
    rm: PathFn,
    mv: TwoFn,
    match_: MatchFn,
    save: HandleFn,
    load: HandleFn,
    transform: TransformFn,
}

fn load() -> Result<Api, clib::LoadError> {
    let lib = Library::load("libaugeas.so.0")?;
    // SAFETY: each type is the prototype in augeas.h (libaugeas 1.x).
    unsafe {
        Ok(Api {
            init: lib.sym(c"aug_init")?,
            close: lib.sym(c"aug_close")?,
            error: lib.sym(c"aug_error")?,
            error_message: lib.sym(c"aug_error_message")?,
            error_minor_message: lib.sym(c"aug_error_minor_message")?,
            error_details: lib.sym(c"aug_error_details")?,
            defvar: lib.sym(c"aug_defvar")?,
            defnode: lib.sym(c"aug_defnode")?,
            get: lib.sym(c"aug_get")?,
            label: lib.sym(c"aug_label")?,
            set: lib.sym(c"aug_set")?,
            setm: lib.sym(c"aug_setm")?,
            insert: lib.sym(c"aug_insert")?,
            rm: lib.sym(c"aug_rm")?,
            mv: lib.sym(c"aug_mv")?,
            match_: lib.sym(c"aug_match")?,
            save: lib.sym(c"aug_save")?,
            load: lib.sym(c"aug_load")?,
            transform: lib.sym(c"aug_transform")?,
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

/// The open handle.
static HANDLE: Slot<Augeas> = Slot::new("aug-init", "initialize Augeas");

/// Whether the appliance can run the Augeas commands (the `augeas` group).
pub fn available() -> bool {
    API.available()
}

/// Runs `f` on the open handle, or fails as libguestfs does when there is none.
fn with<T>(call: &str, f: impl FnOnce(&Api, *mut Augeas) -> io::Result<T>) -> io::Result<T> {
    HANDLE.with(&API, call, f)
}

/// The handle's error, as libguestfs's `AUGEAS_ERROR`: `what: message: minor: details`.
fn aug_error(call: &str, api: &Api, aug: *mut Augeas, what: &str) -> io::Error {
    // SAFETY: `aug` is live; the texts are owned by the handle and copied at once.
    let (code, message, minor, details) = unsafe {
        (
            (api.error)(aug),
            Library::borrowed_string((api.error_message)(aug)),
            Library::borrowed_string((api.error_minor_message)(aug)),
            Library::borrowed_string((api.error_details)(aug)),
        )
    };
    if code == AUG_ENOMEM {
        return error(
            call,
            Errno::ENOMEM,
            format_args!("{what}: augeas out of memory"),
        );
    }
    let mut text = format!("{what}: {}", message.unwrap_or_default());
    for part in [minor, details].into_iter().flatten() {
        text.push_str(": ");
        text.push_str(&part);
    }
    error(call, Errno::EINVAL, text)
}

/// `aug_init`: a new handle on the guest directory `root` with Augeas's `flags`.
pub fn init(root: &GuestPath, flags: i32) -> io::Result<()> {
    const CALL: &str = "aug_init";
    let api = API.get(CALL)?;
    // The root resolved beneath the guest root, as the appliance sees it. Augeas accepts a
    // root that does not exist (it then finds no files), as in libguestfs.
    let real = match guestfs::open(root, libc::O_PATH | libc::O_DIRECTORY, 0) {
        Ok(dir) => guestfs::real_path(&dir)?,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            let rel = guestfs::relative(root)?;
            std::path::Path::new(guestfs::SYSROOT).join(rel.to_string_lossy().as_ref())
        }
        Err(e) => return Err(e),
    };
    let croot = cstring(CALL, &real.to_string_lossy())?;
    HANDLE.replace(
        |old| {
            // SAFETY: the old handle is live and dropped from the state.
            unsafe { (api.close)(old) };
        },
        || {
            // SAFETY: valid C strings; a null load path means Augeas's default lens
            // directories.
            let aug = unsafe {
                (api.init)(
                    croot.as_ptr(),
                    std::ptr::null(),
                    flags as c_uint | AUG_NO_ERR_CLOSE,
                )
            };
            if aug.is_null() {
                return Err(error(CALL, Errno::ENOMEM, "augeas initialization failed"));
            }
            // SAFETY: `aug` is live.
            if unsafe { (api.error)(aug) } != AUG_NOERROR {
                let e = aug_error(CALL, api, aug, &format!("aug_init: {root} (flags {flags})"));
                // SAFETY: closing the failed handle, which nothing else holds.
                unsafe { (api.close)(aug) };
                return Err(e);
            }
            Ok(aug)
        },
    )
}

/// Closes the Augeas handle if one is open (unsaved changes are lost), between two jobs of
/// one appliance.
pub fn release() {
    let Some(old) = HANDLE.take_any() else {
        return;
    };
    if let Ok(api) = API.get("aug_close") {
        // SAFETY: the handle is live and no longer reachable from the state.
        unsafe { (api.close)(old) };
    }
}

/// `aug_close`.
pub fn close() -> io::Result<()> {
    const CALL: &str = "aug_close";
    let api = API.get(CALL)?;
    let old = HANDLE.take(CALL)?;
    // SAFETY: the handle is live and no longer reachable from the state.
    unsafe { (api.close)(old) };
    Ok(())
}

/// `aug_defvar`: the number of nodes in the variable's node-set.
pub fn defvar(name: &str, expr: Option<&str>) -> io::Result<i32> {
    const CALL: &str = "aug_defvar";
    let cname = cstring(CALL, name)?;
    let cexpr = expr.map(|e| cstring(CALL, e)).transpose()?;
    with(CALL, |api, aug| {
        let eptr = cexpr.as_ref().map_or(std::ptr::null(), |e| e.as_ptr());
        // SAFETY: live handle, valid C strings or null (undefine).
        let r = unsafe { (api.defvar)(aug, cname.as_ptr(), eptr) };
        if r == -1 {
            let what = format!("aug_defvar: {name}: {}", expr.unwrap_or("(null)"));
            return Err(aug_error(CALL, api, aug, &what));
        }
        Ok(r)
    })
}

/// `aug_defnode`: the number of nodes and whether one was created.
pub fn defnode(name: &str, expr: &str, val: &str) -> io::Result<IntBool> {
    const CALL: &str = "aug_defnode";
    let (cname, cexpr, cval) = (
        cstring(CALL, name)?,
        cstring(CALL, expr)?,
        cstring(CALL, val)?,
    );
    with(CALL, |api, aug| {
        let mut created: c_int = 0;
        // SAFETY: live handle, valid C strings, `created` outlives the call.
        let r = unsafe {
            (api.defnode)(
                aug,
                cname.as_ptr(),
                cexpr.as_ptr(),
                cval.as_ptr(),
                &mut created,
            )
        };
        if r == -1 {
            let what = format!("aug_defnode: {name}: {expr}: {val}");
            return Err(aug_error(CALL, api, aug, &what));
        }
        Ok(IntBool { i: r, b: created })
    })
}

/// `aug_get` and `aug_label`: a string the handle owns, copied.
fn get_like(call: &'static str, path: &str, label: bool) -> io::Result<String> {
    let cpath = cstring(call, path)?;
    with(call, |api, aug| {
        let mut value: *const c_char = std::ptr::null();
        let f = if label { api.label } else { api.get };
        // SAFETY: live handle, valid C string, `value` outlives the call.
        let r = unsafe { f(aug, cpath.as_ptr(), &mut value) };
        if label {
            if r == -1 {
                return Err(aug_error(call, api, aug, &format!("aug_label: {path}")));
            }
            if r == 0 {
                return Err(error(call, Errno::EINVAL, "no matching nodes found"));
            }
        } else {
            if r == 0 {
                return Err(error(call, Errno::EINVAL, "no matching node"));
            }
            if r != 1 {
                return Err(aug_error(call, api, aug, &format!("aug_get: {path}")));
            }
        }
        // SAFETY: null or a string the handle owns, copied before the next call.
        match unsafe { Library::borrowed_string(value) } {
            Some(v) => Ok(v),
            None if label => Err(error(
                call,
                Errno::EINVAL,
                format_args!("internal error: expected label != NULL (r = {r})"),
            )),
            None => Err(error(call, Errno::EINVAL, "Augeas returned NULL match")),
        }
    })
}

/// `aug_get`.
pub fn get(path: &str) -> io::Result<String> {
    get_like("aug_get", path, false)
}

/// `aug_label`.
pub fn label(path: &str) -> io::Result<String> {
    get_like("aug_label", path, true)
}

/// `aug_set` (`val` given) and `aug_clear` (none).
fn set_value(call: &'static str, path: &str, val: Option<&str>) -> io::Result<()> {
    let cpath = cstring(call, path)?;
    let cval = val.map(|v| cstring(call, v)).transpose()?;
    with(call, |api, aug| {
        let vptr = cval.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
        // SAFETY: live handle, valid C strings or null.
        if unsafe { (api.set)(aug, cpath.as_ptr(), vptr) } == -1 {
            let what = match val {
                Some(v) => format!("aug_set: {path}: {v}"),
                None => format!("aug_clear: {path}"),
            };
            return Err(aug_error(call, api, aug, &what));
        }
        Ok(())
    })
}

/// `aug_set`.
pub fn set(path: &str, val: &str) -> io::Result<()> {
    set_value("aug_set", path, Some(val))
}

/// `aug_clear`.
pub fn clear(path: &str) -> io::Result<()> {
    set_value("aug_clear", path, None)
}

/// `aug_setm`: the number of nodes set.
pub fn setm(base: &str, sub: Option<&str>, val: &str) -> io::Result<i32> {
    const CALL: &str = "aug_setm";
    let cbase = cstring(CALL, base)?;
    let csub = sub.map(|s| cstring(CALL, s)).transpose()?;
    let cval = cstring(CALL, val)?;
    with(CALL, |api, aug| {
        let sptr = csub.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        // SAFETY: live handle, valid C strings or null.
        let r = unsafe { (api.setm)(aug, cbase.as_ptr(), sptr, cval.as_ptr()) };
        if r == -1 {
            let what = format!("aug_setm: {base}: {}: {val}", sub.unwrap_or("(null)"));
            return Err(aug_error(CALL, api, aug, &what));
        }
        Ok(r)
    })
}

/// `aug_insert`.
pub fn insert(path: &str, label: &str, before: bool) -> io::Result<()> {
    const CALL: &str = "aug_insert";
    let (cpath, clabel) = (cstring(CALL, path)?, cstring(CALL, label)?);
    with(CALL, |api, aug| {
        // SAFETY: live handle, valid C strings.
        let r = unsafe { (api.insert)(aug, cpath.as_ptr(), clabel.as_ptr(), c_int::from(before)) };
        if r == -1 {
            let what = format!("aug_insert: {path}: {label} [before={}]", i32::from(before));
            return Err(aug_error(CALL, api, aug, &what));
        }
        Ok(())
    })
}

/// `aug_rm`: the number of nodes removed.
pub fn rm(path: &str) -> io::Result<i32> {
    const CALL: &str = "aug_rm";
    let cpath = cstring(CALL, path)?;
    with(CALL, |api, aug| {
        // SAFETY: live handle, valid C string.
        let r = unsafe { (api.rm)(aug, cpath.as_ptr()) };
        if r == -1 {
            return Err(aug_error(CALL, api, aug, &format!("aug_rm: {path}")));
        }
        Ok(r)
    })
}

/// `aug_mv`.
pub fn mv(src: &str, dest: &str) -> io::Result<()> {
    const CALL: &str = "aug_mv";
    let (csrc, cdest) = (cstring(CALL, src)?, cstring(CALL, dest)?);
    with(CALL, |api, aug| {
        // SAFETY: live handle, valid C strings.
        if unsafe { (api.mv)(aug, csrc.as_ptr(), cdest.as_ptr()) } == -1 {
            return Err(aug_error(CALL, api, aug, &format!("aug_mv: {src}: {dest}")));
        }
        Ok(())
    })
}

/// The paths `path` matches, in Augeas's order (the caller holds the handle).
fn matches(call: &str, api: &Api, aug: *mut Augeas, path: &str) -> io::Result<Vec<String>> {
    let cpath = cstring(call, path)?;
    let mut list: *mut *mut c_char = std::ptr::null_mut();
    // SAFETY: live handle, valid C string, `list` outlives the call.
    let n = unsafe { (api.match_)(aug, cpath.as_ptr(), &mut list) };
    if n == -1 {
        return Err(aug_error(call, api, aug, &format!("aug_match: {path}")));
    }
    let mut out = Vec::with_capacity(n.max(0) as usize);
    for i in 0..n.max(0) as usize {
        // SAFETY: Augeas returned `n` strings from its malloc, each freed once here.
        unsafe {
            let s = *list.add(i);
            out.push(api.lib.owned_string(s).unwrap_or_default());
        }
    }
    // SAFETY: the array itself, from the library's malloc (null when n is 0 is fine).
    unsafe { api.lib.free(list.cast::<c_void>()) };
    Ok(out)
}

/// `aug_match`.
pub fn match_(path: &str) -> io::Result<Vec<String>> {
    const CALL: &str = "aug_match";
    with(CALL, |api, aug| matches(CALL, api, aug, path))
}

/// `aug_ls`: the children of `path`, sorted.
pub fn ls(path: &str) -> io::Result<Vec<String>> {
    const CALL: &str = "aug_ls";
    with(CALL, |api, aug| {
        if path.len() > 1 && (path.ends_with('/') || path.ends_with(']') || path.ends_with('*')) {
            return Err(error(
                CALL,
                Errno::EINVAL,
                "don't use aug-ls with a path that ends with / ] *",
            ));
        }
        let pattern = if path == "/" {
            "/*".to_string()
        } else {
            format!("{path}/*")
        };
        let mut list = matches(CALL, api, aug, &pattern)?;
        list.sort();
        Ok(list)
    })
}

/// `aug_save` and `aug_load`.
fn whole(call: &'static str, save: bool) -> io::Result<()> {
    with(call, |api, aug| {
        let f = if save { api.save } else { api.load };
        // SAFETY: live handle.
        if unsafe { f(aug) } == -1 {
            return Err(aug_error(call, api, aug, call));
        }
        Ok(())
    })
}

/// `aug_save`.
pub fn save() -> io::Result<()> {
    whole("aug_save", true)
}

/// `aug_load`.
pub fn load_files() -> io::Result<()> {
    whole("aug_load", false)
}

/// `aug_transform`: `remove` excludes `file` from the lens instead of adding it.
pub fn transform(lens: &str, file: &str, remove: bool) -> io::Result<()> {
    const CALL: &str = "aug_transform";
    let (clens, cfile) = (cstring(CALL, lens)?, cstring(CALL, file)?);
    with(CALL, |api, aug| {
        // SAFETY: live handle, valid C strings.
        let r =
            unsafe { (api.transform)(aug, clens.as_ptr(), cfile.as_ptr(), c_int::from(remove)) };
        if r == -1 {
            let what = format!(
                "aug_transform: {lens}: {file}: {}",
                if remove { "excl" } else { "incl" }
            );
            return Err(aug_error(CALL, api, aug, &what));
        }
        Ok(())
    })
}
