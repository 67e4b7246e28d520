//! `guestwright._guestwright`: the native half of the `guestwright` Python module.
//!
//! It holds a [`guestwright::Handle`] and knows the table of operations only through
//! `guestwright_protocol::OPERATIONS`: [`operations`] gives the table to the Python half
//! (`guestwright/__init__.py`), which installs one method per operation on `GuestFS`, and
//! every such method comes back through [`Handle::call`], which builds the request with the
//! generated `Request::from_source`. Nothing here names a daemon operation. What is not a
//! daemon operation in libguestfs's API (drives, launch, settings, inspection) is written
//! here and in [`inspect`], as the shell writes it in `tools/src/shell`.
//!
//! Calls release the GIL while the appliance works, so other Python threads run meanwhile.

mod args;
mod inspect;
mod value;

use guestwright::inspect::OsInfo;
use guestwright::protocol::value::{GuestfsValue, Version};
use guestwright::protocol::{CallStream, Client, OpInfo, Reply, Request, Stream, OPERATIONS};
use guestwright::{DriveOptions, Format, LaunchConfig};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;

pyo3::create_exception!(
    guestwright,
    Error,
    PyRuntimeError,
    "An operation failed: libguestfs's `guestfs.GuestFSError`. `errno` is the errno \
     number (an int) when the appliance reported one, else None."
);

/// The Python exception for a library error, with its errno when there is one.
fn error(py: Python<'_>, e: &guestwright::Error) -> PyErr {
    let errno = e.errno().map(|n| n.raw());
    raise(py, guestwright::error::chain(e), errno)
}

/// A `guestwright.Error` with the message and the errno.
fn raise(py: Python<'_>, message: String, errno: Option<i32>) -> PyErr {
    let err = Error::new_err(message);
    if let Err(e) = err.value(py).setattr("errno", errno) {
        return e;
    }
    err
}

/// libguestfs's EINVAL for an argument that cannot be used.
const EINVAL: i32 = 22;

/// The native handle; `guestwright.GuestFS` adds the table's operations to it.
#[pyclass(module = "guestwright._guestwright", subclass)]
struct Handle {
    h: guestwright::Handle,
    /// What `inspect_os` found, for the `inspect_get_*` calls.
    inspection: Option<Vec<OsInfo>>,
    /// libguestfs's `python_return_dict`: hashtables as dicts instead of lists of pairs.
    return_dict: bool,
}

impl Handle {
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&guestwright::Handle) -> guestwright::Result<T> + Send,
    ) -> PyResult<T> {
        let h = &self.h;
        py.detach(|| f(h)).map_err(|e| error(py, &e))
    }
}

#[pymethods]
impl Handle {
    /// A handle, as `guestfs.GuestFS()`: settings from the `GUESTWRIGHT_*` environment
    /// unless `environment=False`.
    #[new]
    #[pyo3(signature = (python_return_dict = false, environment = true, close_on_exit = true))]
    fn new(
        py: Python<'_>,
        python_return_dict: bool,
        environment: bool,
        close_on_exit: bool,
    ) -> PyResult<Self> {
        // A handle always shuts its appliance down when it goes away.
        let _ = close_on_exit;
        let config = if environment {
            LaunchConfig::from_env().map_err(|e| raise(py, e.to_string(), Some(EINVAL)))?
        } else {
            LaunchConfig::default()
        };
        Ok(Handle {
            h: guestwright::Handle::with_config(config),
            inspection: None,
            return_dict: python_return_dict,
        })
    }

    /// Attaches a disk image (before `launch`); it becomes /dev/sda, /dev/sdb, ... in
    /// the order added. `format` is detected when not given; `readonly=True` never writes
    /// to the image. `protocol` (nbd, http, https, ssh, iscsi) with one `server` and
    /// `username` attaches a remote drive named `filename`, as the shell's `add` does;
    /// `blocksize` (512 or 4096) is the sector size the guest sees. `iface`, `name`,
    /// `cachemode`, `discard` and `copyonread` are accepted and change nothing (guestwright
    /// names drives /dev/sdX and picks QEMU's caching itself); `label` and `secret` are
    /// refused, naming the argument.
    #[pyo3(signature = (filename, readonly = None, format = None, iface = None, name = None,
        label = None, protocol = None, server = None, username = None, secret = None,
        cachemode = None, discard = None, copyonread = None, blocksize = None))]
    #[allow(clippy::too_many_arguments)]
    fn add_drive(
        &mut self,
        py: Python<'_>,
        filename: PathBuf,
        readonly: Option<&Bound<'_, PyAny>>,
        format: Option<&str>,
        iface: Option<&str>,
        name: Option<&str>,
        label: Option<&str>,
        protocol: Option<&str>,
        server: Option<Vec<String>>,
        username: Option<&str>,
        secret: Option<&str>,
        cachemode: Option<&str>,
        discard: Option<&str>,
        copyonread: Option<&Bound<'_, PyAny>>,
        blocksize: Option<i64>,
    ) -> PyResult<()> {
        let invalid = |message: String| raise(py, format!("add_drive: {message}"), Some(EINVAL));
        // What guestwright decides itself (device names, caching, discard).
        let _ = (iface, name, copyonread);
        if let Some(mode) = cachemode.filter(|m| !["writeback", "unsafe"].contains(m)) {
            return Err(invalid(format!(
                "cachemode '{mode}': use 'writeback' or 'unsafe'"
            )));
        }
        if let Some(d) = discard.filter(|d| !["disable", "enable", "besteffort"].contains(d)) {
            return Err(invalid(format!(
                "discard '{d}': use 'disable', 'enable' or 'besteffort'"
            )));
        }
        if label.is_some() {
            return Err(invalid(
                "the 'label' argument is not supported: guestwright names drives /dev/sdX in \
                 the order added"
                    .to_string(),
            ));
        }
        if secret.is_some() {
            return Err(invalid(
                "the 'secret' argument is not supported: the protocols guestwright attaches \
                 (nbd, http, https, ssh, iscsi) take no secret"
                    .to_string(),
            ));
        }
        let format = format
            .map(|f| f.parse::<Format>())
            .transpose()
            .map_err(|e| invalid(e.to_string()))?;
        let blocksize = blocksize
            .map(|b| match b {
                512 | 4096 => Ok(b as u32),
                _ => Err(invalid(format!("blocksize {b}: use 512 or 4096"))),
            })
            .transpose()?;
        let readonly = readonly
            .map(|r| r.is_truthy())
            .transpose()?
            .unwrap_or(false);
        let options = DriveOptions {
            format,
            readonly,
            blocksize,
        };
        let filename_text = filename.to_string_lossy().into_owned();
        match protocol.filter(|p| *p != "file") {
            Some(p) => {
                let servers = server.unwrap_or_default();
                if servers.len() > 1 {
                    return Err(invalid(format!(
                        "protocol '{p}' takes one server, not {}",
                        servers.len()
                    )));
                }
                // Read as libguestfs reads add_drive's parts; what guestwright cannot
                // open is refused now, the connection made at launch.
                let spec = guestwright::drive::uri::RemoteSpec {
                    servers,
                    username: username.map(String::from),
                    ..guestwright::drive::uri::RemoteSpec::new(p, &filename_text)
                };
                spec.check().map_err(|e| invalid(e.to_string()))?;
                guestwright::drive::Remote::from_spec(&spec).map_err(|e| invalid(e.to_string()))?;
                self.h
                    .add_remote_spec(spec, options)
                    .map_err(|e| error(py, &e))
            }
            None => {
                if server.is_some() || username.is_some() {
                    return Err(invalid(
                        "the 'server' and 'username' arguments need 'protocol'".to_string(),
                    ));
                }
                self.h
                    .add_drive(&filename, options)
                    .map_err(|e| error(py, &e))
            }
        }
    }

    /// Attaches a disk image read-only.
    fn add_drive_ro(&mut self, py: Python<'_>, filename: PathBuf) -> PyResult<()> {
        self.h
            .add_drive(&filename, DriveOptions::readonly())
            .map_err(|e| error(py, &e))
    }

    /// Boots the appliance with the drives attached.
    fn launch(&mut self, py: Python<'_>) -> PyResult<()> {
        let h = &mut self.h;
        py.detach(|| h.launch()).map_err(|e| error(py, &e))
    }

    /// Unmounts everything, flushes the disks and stops the appliance; the images hold
    /// every write once this returns.
    fn shutdown(&mut self, py: Python<'_>) -> PyResult<()> {
        self.inspection = None;
        if !self.h.is_launched() {
            return Ok(());
        }
        let h = &mut self.h;
        py.detach(|| h.shutdown()).map_err(|e| error(py, &e))
    }

    /// Shuts the appliance down if it runs, and forgets the drives: the handle cannot be
    /// used afterwards.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        let result = self.shutdown(py);
        self.h = guestwright::Handle::with_config(self.h.config().clone());
        result
    }

    /// Stops the appliance at once, without syncing (libguestfs's `kill_subprocess`).
    fn kill_subprocess(&mut self) {
        self.inspection = None;
        self.h.kill();
    }

    /// Echo the appliance's console to stderr.
    fn set_verbose(&mut self, verbose: bool) {
        self.h.config_mut().verbose = verbose;
    }

    fn get_verbose(&self) -> bool {
        self.h.config().verbose
    }

    /// The appliance's memory in MiB.
    fn set_memsize(&mut self, memsize: u32) {
        self.h.config_mut().memory_mib = memsize;
    }

    fn get_memsize(&self) -> u32 {
        self.h.config().memory_mib
    }

    /// The appliance's virtual CPUs.
    fn set_smp(&mut self, smp: u32) {
        self.h.config_mut().smp = smp.max(1);
    }

    fn get_smp(&self) -> u32 {
        self.h.config().smp
    }

    /// Give the appliance a network (before `launch`).
    fn set_network(&mut self, network: bool) {
        self.h.config_mut().network = network;
    }

    fn get_network(&self) -> bool {
        self.h.config().network
    }

    /// Whether `launch` has run and the appliance is up.
    fn is_ready(&self) -> bool {
        self.h.is_launched()
    }

    /// Runs operation `name` of the table with the arguments in `args` (by name), and
    /// `hostfile` as the host side of a streaming operation. `GuestFS`'s generated methods
    /// call this; their signatures say what each operation takes.
    #[pyo3(signature = (name, args, hostfile = None))]
    fn _call<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: &Bound<'py, PyDict>,
        hostfile: Option<PathBuf>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = Request::from_source(name, &mut args::DictArgs::new(args))
            .map_err(|e| raise(py, e.0, Some(EINVAL)))?;
        let stream = request.info().stream;
        let bytes = match (stream, hostfile) {
            (Stream::None, _) => self.run(py, |h| h.call(request.clone(), CallStream::None))?,
            (Stream::Input, Some(path)) => {
                let mut file = open(py, name, &path, false)?;
                self.run(py, |h| {
                    h.call(request.clone(), CallStream::Input(&mut file))
                })?
            }
            (Stream::Output, Some(path)) => {
                let mut file = open(py, name, &path, true)?;
                self.run(py, |h| {
                    h.call(request.clone(), CallStream::Output(&mut file))
                })?
            }
            (_, None) => {
                return Err(raise(
                    py,
                    format!("{name}: a streaming operation needs a host file"),
                    Some(EINVAL),
                ))
            }
        };
        let reply = Reply::decode(&request, &bytes)
            .map_err(|e| raise(py, format!("{name}: malformed reply: {e}"), None))?;
        value::to_python(py, &reply.guestfs_value(), self.return_dict)
    }

    /// libguestfs's `version` struct (`major`, `minor`, `release`, `extra`): the libguestfs
    /// API level this library implements (1.48.6), which callers test for features, as
    /// guestfish's `version` prints it; a library call, no appliance needed.
    /// `guestwright.__version__` is guestwright's own version.
    fn version<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let version = Version::libguestfs_api();
        value::to_python(py, &version.guestfs_value(), self.return_dict)
    }

    /// Whether hashtables come back as dicts (`python_return_dict`).
    #[getter]
    fn _return_dict(&self) -> bool {
        self.return_dict
    }

    /// Inspects the disks for operating systems; returns their root devices and remembers
    /// what it found for the `inspect_get_*` calls. Leaves nothing mounted.
    fn inspect_os(&mut self, py: Python<'_>) -> PyResult<Vec<String>> {
        let found = self.run(py, |h| {
            h.umount_all()?;
            guestwright::inspect::inspect(h)
        })?;
        let roots = found.iter().map(|os| os.root.to_string()).collect();
        self.inspection = Some(found);
        Ok(roots)
    }

    /// The roots `inspect_os` found.
    fn inspect_get_roots(&self) -> Vec<String> {
        self.inspection
            .iter()
            .flatten()
            .map(|os| os.root.to_string())
            .collect()
    }

    /// One fact `inspect_os` found about the guest whose root is `root`, named as the
    /// `inspect_get_*` and `inspect_is_*` calls name it (`type`, `distro`, ...).
    fn _inspect_get<'py>(
        &self,
        py: Python<'py>,
        what: &str,
        root: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let os = self.find_root(py, what, root)?;
        inspect::fact(py, what, os, self.return_dict)
            .map_err(|message| raise(py, message, Some(EINVAL)))
    }

    /// The applications installed in the guest whose root is `root` (its filesystems
    /// mounted by the caller), as libguestfs's `inspect_list_applications2` dicts.
    fn inspect_list_applications2<'py>(
        &self,
        py: Python<'py>,
        root: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let os = self.find_root(py, "list_applications2", root)?.clone();
        let apps = self.run(py, |h| {
            guestwright::inspect::libguestfs::applications2(h, &os)
        })?;
        inspect::applications_to_python(py, &apps, true)
    }

    /// The same as `inspect_list_applications2`, without `arch` (libguestfs's first form).
    fn inspect_list_applications<'py>(
        &self,
        py: Python<'py>,
        root: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let os = self.find_root(py, "list_applications", root)?.clone();
        let apps = self.run(py, |h| {
            guestwright::inspect::libguestfs::applications2(h, &os)
        })?;
        inspect::applications_to_python(py, &apps, false)
    }

    /// The guest's icon (PNG bytes), or empty bytes when it has none; its filesystems
    /// mounted by the caller.
    #[pyo3(signature = (root, favicon = true, highquality = false))]
    fn inspect_get_icon(
        &self,
        py: Python<'_>,
        root: &str,
        favicon: bool,
        highquality: bool,
    ) -> PyResult<Vec<u8>> {
        let _ = highquality;
        let os = self.find_root(py, "get_icon", root)?.clone();
        self.run(py, |h| {
            guestwright::inspect::libguestfs::icon(h, &os, favicon)
        })
    }
}

impl Handle {
    /// The inspected guest whose root is `root`, or libguestfs's error.
    fn find_root(&self, py: Python<'_>, what: &str, root: &str) -> PyResult<&OsInfo> {
        let call = format!("inspect_{what}");
        let found = match &self.inspection {
            Some(f) if !f.is_empty() => f,
            _ => {
                return Err(raise(
                    py,
                    format!("{call}: no inspection data: call inspect_os first"),
                    Some(EINVAL),
                ))
            }
        };
        found
            .iter()
            .find(|os| os.root.to_string() == root)
            .ok_or_else(|| {
                raise(
                    py,
                    format!(
                        "{call}: {root}: root device not found: only call this function with \
                         a root device previously returned by inspect_os"
                    ),
                    Some(EINVAL),
                )
            })
    }
}

/// The host file of a streaming operation.
fn open(py: Python<'_>, op: &str, path: &PathBuf, create: bool) -> PyResult<std::fs::File> {
    let file = if create {
        std::fs::File::create(path)
    } else {
        std::fs::File::open(path)
    };
    file.map_err(|e| {
        raise(
            py,
            format!("{op}: {}: {e}", path.display()),
            e.raw_os_error(),
        )
    })
}

/// The table of operations, for the Python half: one dict per operation with `name`,
/// `doc`, `group`, `access` (`read`/`write`), `stream` (`none`/`input`/`output`), `ret` (the
/// table's return type), `needs_root` and `args` (dicts with `name`, `kind`, `optional`).
/// Operations of the `internal` group (the library's own, as `poweroff`) are left out, as
/// in the shell, unless `include_internal`.
#[pyfunction]
#[pyo3(signature = (include_internal = false))]
fn operations(py: Python<'_>, include_internal: bool) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for op in OPERATIONS
        .iter()
        .filter(|op| include_internal || op.group != "internal")
    {
        list.append(op_dict(py, op)?)?;
    }
    Ok(list)
}

fn op_dict<'py>(py: Python<'py>, op: &OpInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", op.name)?;
    d.set_item("doc", op.doc)?;
    d.set_item("group", op.group)?;
    d.set_item(
        "access",
        match op.access {
            guestwright::protocol::Access::Read => "read",
            guestwright::protocol::Access::Write => "write",
        },
    )?;
    d.set_item(
        "stream",
        match op.stream {
            Stream::None => "none",
            Stream::Input => "input",
            Stream::Output => "output",
        },
    )?;
    d.set_item("ret", op.ret)?;
    d.set_item("needs_root", op.needs_root)?;
    let args = PyList::empty(py);
    for a in op.args {
        let ad = PyDict::new(py);
        ad.set_item("name", a.name)?;
        ad.set_item("kind", format!("{:?}", a.kind))?;
        ad.set_item("optional", a.optional)?;
        args.append(ad)?;
    }
    d.set_item("args", args)?;
    Ok(d)
}

/// libguestfs's names for operations the table names otherwise (`cat` for `read_file`),
/// as (alias, operation) pairs, and the aliases whose bytes come back as a string.
#[pyfunction]
fn aliases() -> (Vec<(&'static str, &'static str)>, Vec<&'static str>) {
    (
        guestwright::protocol::names::GUESTFISH_NAMES.to_vec(),
        guestwright::protocol::names::STRING_RESULTS.to_vec(),
    )
}

/// The inspection facts `_inspect_get` answers, each with its Python type, for the stubs
/// and the generated `inspect_get_*` methods.
#[pyfunction]
fn inspect_facts() -> Vec<(&'static str, &'static str)> {
    inspect::FACTS.to_vec()
}

#[pymodule]
fn _guestwright(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Handle>()?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add_function(wrap_pyfunction!(operations, m)?)?;
    m.add_function(wrap_pyfunction!(aliases, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_facts, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
