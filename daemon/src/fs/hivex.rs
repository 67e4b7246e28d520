//! guestfish's hivex commands (cmds-libs) on the host's libhivex: one open Windows registry
//! hive for the daemon, as libguestfs keeps one (`hivex-open` replaces it, `hivex-close`
//! drops it). Node and value handles are hivex's own numbers (offsets in the hive). Errors
//! are worded as libguestfs's daemon words them.
//!
//! The hive's lock is held for one library call at a time, never across calls.

// The guard is held on purpose while the hive is used: it keeps hivex_close away.
#![allow(clippy::significant_drop_tightening)]

use crate::fs::clib::{self, cstring, error, perror, Binding, Library, Slot};
use crate::fs::guestfs;
use guestwright_protocol::{Errno, GuestPath, HivexNode, HivexValue};
use std::ffi::{c_char, c_int, c_void};
use std::io;
use std::os::unix::ffi::OsStrExt;

/// libhivex's `hive_h`, opaque.
#[repr(C)]
struct Hive {
    _private: [u8; 0],
}

/// hivex's node and value handles.
type Handle = usize;

const OPEN_VERBOSE: c_int = 1;
const OPEN_DEBUG: c_int = 2;
const OPEN_WRITE: c_int = 4;
const OPEN_UNSAFE: c_int = 8;

/// hivex's `hive_set_value`.
#[repr(C)]
struct SetValue {
    key: *const c_char,
    t: c_int,
    len: usize,
    value: *const c_char,
}

type OpenFn = unsafe extern "C" fn(*const c_char, c_int) -> *mut Hive;
type CloseFn = unsafe extern "C" fn(*mut Hive) -> c_int;
type RootFn = unsafe extern "C" fn(*mut Hive) -> Handle;
type NameFn = unsafe extern "C" fn(*mut Hive, Handle) -> *mut c_char;
type ListFn = unsafe extern "C" fn(*mut Hive, Handle) -> *mut Handle;
type ByNameFn = unsafe extern "C" fn(*mut Hive, Handle, *const c_char) -> Handle;
type ParentFn = unsafe extern "C" fn(*mut Hive, Handle) -> Handle;
type TypeFn = unsafe extern "C" fn(*mut Hive, Handle, *mut c_int, *mut usize) -> c_int;
type ValueFn = unsafe extern "C" fn(*mut Hive, Handle, *mut c_int, *mut usize) -> *mut c_char;
type CommitFn = unsafe extern "C" fn(*mut Hive, *const c_char, c_int) -> c_int;
type DeleteFn = unsafe extern "C" fn(*mut Hive, Handle) -> c_int;
type SetValueFn = unsafe extern "C" fn(*mut Hive, Handle, *const SetValue, c_int) -> c_int;

/// The functions of libhivex the commands use.
struct Api {
    lib: Library,
    open: OpenFn,
    close: CloseFn,
    root: RootFn,
    node_name: NameFn,
    node_children: ListFn,
    node_get_child: ByNameFn,
    node_parent: ParentFn,
    node_values: ListFn,
    node_get_value: ByNameFn,
    value_key: NameFn,
    value_type: TypeFn,
    value_value: ValueFn,
    value_string: NameFn,
    commit: CommitFn,
    node_add_child: ByNameFn,
    node_delete_child: DeleteFn,
    node_set_value: SetValueFn,
}

fn load() -> Result<Api, clib::LoadError> {
    let lib = Library::load("libhivex.so.0")?;
    // SAFETY: each type is the prototype in hivex.h (hivex 1.3).
    unsafe {
        Ok(Api {
            open: lib.sym(c"hivex_open")?,
            close: lib.sym(c"hivex_close")?,
            root: lib.sym(c"hivex_root")?,
            node_name: lib.sym(c"hivex_node_name")?,
            node_children: lib.sym(c"hivex_node_children")?,
            node_get_child: lib.sym(c"hivex_node_get_child")?,
            node_parent: lib.sym(c"hivex_node_parent")?,
            node_values: lib.sym(c"hivex_node_values")?,
            node_get_value: lib.sym(c"hivex_node_get_value")?,
            value_key: lib.sym(c"hivex_value_key")?,
            value_type: lib.sym(c"hivex_value_type")?,
            value_value: lib.sym(c"hivex_value_value")?,
            value_string: lib.sym(c"hivex_value_string")?,
            commit: lib.sym(c"hivex_commit")?,
            node_add_child: lib.sym(c"hivex_node_add_child")?,
            node_delete_child: lib.sym(c"hivex_node_delete_child")?,
            node_set_value: lib.sym(c"hivex_node_set_value")?,
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

/// The open hive.
static HIVE: Slot<Hive> = Slot::new("hivex-open", "initialize the hivex handle");

/// Whether the appliance can run the hivex commands (the `hivex` group).
pub fn available() -> bool {
    API.available()
}

/// Runs `f` on the open hive with the library's errno cleared, or fails as libguestfs does
/// when none is open.
fn with<T>(call: &str, f: impl FnOnce(&Api, *mut Hive) -> io::Result<T>) -> io::Result<T> {
    HIVE.with(&API, call, |api, h| {
        api.lib.set_errno(0);
        f(api, h)
    })
}

/// `call: failed: strerror(errno)`, libguestfs's answer to a failed hivex call.
fn failed(call: &str, api: &Api) -> io::Error {
    perror(call, api.lib.errno(), "failed")
}

/// `hivex_open`: opens the guest file `filename` (resolved beneath the guest root).
pub fn open(
    filename: &GuestPath,
    verbose: bool,
    debug: bool,
    write: bool,
    unsafe_: bool,
) -> io::Result<()> {
    const CALL: &str = "hivex_open";
    let api = API.get(CALL)?;
    let file = guestfs::open(filename, libc::O_PATH, 0).map_err(|e| {
        perror(
            CALL,
            e.raw_os_error().unwrap_or(libc::EIO),
            format_args!("hivex failed to open {filename}"),
        )
    })?;
    let real = guestfs::real_path(&file)?;
    let cpath = cstring(CALL, &String::from_utf8_lossy(real.as_os_str().as_bytes()))?;
    let flags = [
        (verbose, OPEN_VERBOSE),
        (debug, OPEN_DEBUG),
        (write, OPEN_WRITE),
        (unsafe_, OPEN_UNSAFE),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |acc, (_, bit)| acc | bit);
    HIVE.replace(
        |old| {
            // SAFETY: the old hive is live and dropped from the state.
            unsafe { (api.close)(old) };
        },
        || {
            api.lib.set_errno(0);
            // SAFETY: a valid C string.
            let h = unsafe { (api.open)(cpath.as_ptr(), flags) };
            if h.is_null() {
                return Err(perror(
                    CALL,
                    api.lib.errno(),
                    format_args!("hivex failed to open {filename}"),
                ));
            }
            Ok(h)
        },
    )
}

/// `hivex_close`: uncommitted changes are lost.
pub fn close() -> io::Result<()> {
    const CALL: &str = "hivex_close";
    let api = API.get(CALL)?;
    let old = HIVE.take(CALL)?;
    // SAFETY: the hive is live and no longer reachable from the state.
    unsafe { (api.close)(old) };
    Ok(())
}

/// Closes the hive if one is open (uncommitted changes are lost), before the appliance
/// unmounts the guest at power-off.
pub fn release() {
    let Some(old) = HIVE.take_any() else {
        return;
    };
    if let Ok(api) = API.get("hivex_close") {
        // SAFETY: the hive is live and no longer reachable from the state.
        unsafe { (api.close)(old) };
    }
}

/// `hivex_root`.
pub fn root() -> io::Result<i64> {
    const CALL: &str = "hivex_root";
    with(CALL, |api, h| {
        // SAFETY: live hive.
        match unsafe { (api.root)(h) } {
            0 => Err(failed(CALL, api)),
            n => Ok(n as i64),
        }
    })
}

/// A string hivex allocated for `handle` with `f`, or its error.
fn string(call: &'static str, handle: i64, pick: fn(&Api) -> NameFn) -> io::Result<String> {
    with(call, |api, h| {
        // SAFETY: live hive; hivex checks the handle and returns null on a bad one.
        let p = unsafe { pick(api)(h, handle as Handle) };
        // SAFETY: null or a string from the library's malloc, freed once.
        unsafe { api.lib.owned_string(p) }.ok_or_else(|| failed(call, api))
    })
}

/// `hivex_node_name`.
pub fn node_name(nodeh: i64) -> io::Result<String> {
    string("hivex_node_name", nodeh, |a| a.node_name)
}

/// `hivex_value_key`.
pub fn value_key(valueh: i64) -> io::Result<String> {
    string("hivex_value_key", valueh, |a| a.value_key)
}

/// `hivex_value_string` (also `hivex_value_utf8`, `call` naming which).
pub fn value_string(call: &'static str, valueh: i64) -> io::Result<String> {
    string(call, valueh, |a| a.value_string)
}

/// A zero-terminated handle list hivex allocated, or its error.
fn list(call: &'static str, nodeh: i64, pick: fn(&Api) -> ListFn) -> io::Result<Vec<i64>> {
    with(call, |api, h| {
        // SAFETY: live hive; hivex checks the handle.
        let p = unsafe { pick(api)(h, nodeh as Handle) };
        if p.is_null() {
            return Err(failed(call, api));
        }
        let mut out = Vec::new();
        // SAFETY: the array ends with a 0 handle; it is read up to there, then freed once.
        unsafe {
            let mut i = 0;
            while *p.add(i) != 0 {
                out.push(*p.add(i) as i64);
                i += 1;
            }
            api.lib.free(p.cast::<c_void>());
        }
        Ok(out)
    })
}

/// `hivex_node_children`.
pub fn node_children(nodeh: i64) -> io::Result<Vec<HivexNode>> {
    let l = list("hivex_node_children", nodeh, |a| a.node_children)?;
    Ok(l.into_iter()
        .map(|hivex_node_h| HivexNode { hivex_node_h })
        .collect())
}

/// `hivex_node_values`.
pub fn node_values(nodeh: i64) -> io::Result<Vec<HivexValue>> {
    let l = list("hivex_node_values", nodeh, |a| a.node_values)?;
    Ok(l.into_iter()
        .map(|hivex_value_h| HivexValue { hivex_value_h })
        .collect())
}

/// A handle looked up by name: 0 when there is none, an error only when hivex sets errno.
fn by_name(
    call: &'static str,
    nodeh: i64,
    name: &str,
    pick: fn(&Api) -> ByNameFn,
    zero_is_error: bool,
) -> io::Result<i64> {
    let cname = cstring(call, name)?;
    with(call, |api, h| {
        // SAFETY: live hive, valid C string.
        let r = unsafe { pick(api)(h, nodeh as Handle, cname.as_ptr()) };
        if r == 0 && (zero_is_error || api.lib.errno() != 0) {
            return Err(failed(call, api));
        }
        Ok(r as i64)
    })
}

/// `hivex_node_get_child`: 0 when there is no such child.
pub fn node_get_child(nodeh: i64, name: &str) -> io::Result<i64> {
    by_name(
        "hivex_node_get_child",
        nodeh,
        name,
        |a| a.node_get_child,
        false,
    )
}

/// `hivex_node_get_value`: 0 when there is no such value.
pub fn node_get_value(nodeh: i64, key: &str) -> io::Result<i64> {
    by_name(
        "hivex_node_get_value",
        nodeh,
        key,
        |a| a.node_get_value,
        false,
    )
}

/// `hivex_node_add_child`: the new node.
pub fn node_add_child(parent: i64, name: &str) -> io::Result<i64> {
    by_name(
        "hivex_node_add_child",
        parent,
        name,
        |a| a.node_add_child,
        true,
    )
}

/// `hivex_node_parent`.
pub fn node_parent(nodeh: i64) -> io::Result<i64> {
    const CALL: &str = "hivex_node_parent";
    with(CALL, |api, h| {
        // SAFETY: live hive; hivex checks the handle.
        match unsafe { (api.node_parent)(h, nodeh as Handle) } {
            0 => Err(failed(CALL, api)),
            n => Ok(n as i64),
        }
    })
}

/// `hivex_value_type`.
pub fn value_type(valueh: i64) -> io::Result<i64> {
    const CALL: &str = "hivex_value_type";
    with(CALL, |api, h| {
        let mut t: c_int = 0;
        // SAFETY: live hive, `t` outlives the call, a null length is allowed.
        if unsafe { (api.value_type)(h, valueh as Handle, &mut t, std::ptr::null_mut()) } == -1 {
            return Err(failed(CALL, api));
        }
        Ok(i64::from(t))
    })
}

/// `hivex_value_value`: the raw data.
pub fn value_value(valueh: i64) -> io::Result<Vec<u8>> {
    const CALL: &str = "hivex_value_value";
    with(CALL, |api, h| {
        let mut len: usize = 0;
        // SAFETY: live hive, `len` outlives the call, a null type is allowed.
        let p = unsafe { (api.value_value)(h, valueh as Handle, std::ptr::null_mut(), &mut len) };
        if p.is_null() {
            return Err(failed(CALL, api));
        }
        // SAFETY: `len` bytes from the library's malloc, copied, then freed once.
        unsafe {
            let data = std::slice::from_raw_parts(p.cast::<u8>(), len).to_vec();
            api.lib.free(p.cast::<c_void>());
            Ok(data)
        }
    })
}

/// `hivex_commit`: to the hive's own file, or to the guest file `filename`.
pub fn commit(filename: Option<&str>) -> io::Result<()> {
    const CALL: &str = "hivex_commit";
    let target = match filename {
        None => None,
        Some(name) => {
            if !name.starts_with('/') {
                return Err(error(
                    CALL,
                    Errno::EINVAL,
                    "path must start with a / character",
                ));
            }
            let path = GuestPath::from(name);
            // The directory resolved beneath the guest root; the file itself is (re)created.
            let (dir, last) = guestfs::parent(&path)?;
            let mut real = guestfs::real_path(&dir)?
                .into_os_string()
                .into_encoded_bytes();
            real.push(b'/');
            real.extend_from_slice(last.as_bytes());
            Some((name, cstring(CALL, &String::from_utf8_lossy(&real))?))
        }
    };
    with(CALL, |api, h| {
        let ptr = target
            .as_ref()
            .map_or(std::ptr::null(), |(_, c)| c.as_ptr());
        // SAFETY: live hive, a valid C string or null (the hive's own file).
        if unsafe { (api.commit)(h, ptr, 0) } == -1 {
            let errno = api.lib.errno();
            return Err(match &target {
                Some((name, _)) => perror(CALL, errno, format_args!("{name}: commit failed")),
                None => perror(CALL, errno, "commit failed"),
            });
        }
        Ok(())
    })
}

/// `hivex_node_delete_child`.
pub fn node_delete_child(nodeh: i64) -> io::Result<()> {
    const CALL: &str = "hivex_node_delete_child";
    with(CALL, |api, h| {
        // SAFETY: live hive; hivex checks the handle.
        if unsafe { (api.node_delete_child)(h, nodeh as Handle) } == -1 {
            return Err(failed(CALL, api));
        }
        Ok(())
    })
}

/// `hivex_node_set_value`: adds or replaces the value `key` (type `t`, data `val`).
pub fn node_set_value(nodeh: i64, key: &str, t: i64, val: &[u8]) -> io::Result<()> {
    const CALL: &str = "hivex_node_set_value";
    let ckey = cstring(CALL, key)?;
    with(CALL, |api, h| {
        let v = SetValue {
            key: ckey.as_ptr(),
            t: t as c_int,
            len: val.len(),
            value: val.as_ptr().cast::<c_char>(),
        };
        // SAFETY: live hive; `v` and what it points to outlive the call, which copies them.
        if unsafe { (api.node_set_value)(h, nodeh as Handle, &v, 0) } == -1 {
            return Err(failed(CALL, api));
        }
        Ok(())
    })
}
