//! libguestfs's `inspect_get_*` answers, from what `inspect_os` found
//! (`guestwright::inspect`), in libguestfs 1.48's words and types: the values guestfish's
//! `inspect-*` commands print (`tools/src/shell/inspectcmds.rs`), as Python values.

use guestwright::inspect::libguestfs::Application2;
use guestwright::inspect::{self, OsInfo};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList};

/// The facts `fact` answers: the name after `inspect_` and the Python type of the answer.
/// `guestwright/__init__.py` makes a method `inspect_NAME(root)` of each.
pub const FACTS: &[(&str, &str)] = &[
    ("get_type", "str"),
    ("get_distro", "str"),
    ("get_arch", "str"),
    ("get_major_version", "int"),
    ("get_minor_version", "int"),
    ("get_product_name", "str"),
    ("get_product_variant", "str"),
    ("get_hostname", "str"),
    ("get_osinfo", "str"),
    ("get_package_format", "str"),
    ("get_package_management", "str"),
    ("get_format", "str"),
    ("get_mountpoints", "Hashtable"),
    ("get_filesystems", "list[str]"),
    ("get_drive_mappings", "Hashtable"),
    ("get_windows_systemroot", "str"),
    ("get_windows_current_control_set", "str"),
    ("get_windows_software_hive", "str"),
    ("get_windows_system_hive", "str"),
    ("is_live", "bool"),
    ("is_netinst", "bool"),
    ("is_multipart", "bool"),
];

/// `"unknown"` for what inspection could not tell, as libguestfs says it.
fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "unknown"
    } else {
        s
    }
}

/// A hashtable as libguestfs's Python binding returns it: a list of pairs, or a dict with
/// `python_return_dict=True`.
fn hashtable<'py>(
    py: Python<'py>,
    pairs: Vec<(String, String)>,
    as_dict: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if as_dict {
        let d = PyDict::new(py);
        for (k, v) in pairs {
            d.set_item(k, v)?;
        }
        Ok(d.into_any())
    } else {
        Ok(PyList::new(py, pairs)?.into_any())
    }
}

/// The answer of `inspect_<what>` for `os`, or libguestfs's message when there is none.
pub fn fact<'py>(
    py: Python<'py>,
    what: &str,
    os: &OsInfo,
    as_dict: bool,
) -> Result<Bound<'py, PyAny>, String> {
    let text = |s: &str| Ok(s.into_pyobject(py).map_err(|e| e.to_string())?.into_any());
    let windows = os.windows.as_ref();
    let windows_field =
        |missing: &str, get: &dyn Fn(&inspect::windows::WindowsInfo) -> String| match windows
            .map(get)
        {
            Some(v) if !v.is_empty() => text(&v),
            _ => Err(format!("inspect_{what}: not a Windows guest, or {missing}")),
        };
    let py_err = |e: PyErr| e.to_string();
    match what {
        "get_type" => text(or_unknown(&os.os_type)),
        "get_distro" => text(or_unknown(&os.distro)),
        "get_arch" => text(or_unknown(&os.arch)),
        "get_major_version" => Ok(PyInt::new(py, os.major_version).into_any()),
        "get_minor_version" => Ok(PyInt::new(py, os.minor_version).into_any()),
        "get_product_name" => text(or_unknown(&os.product_name)),
        "get_product_variant" => text(or_unknown(
            windows.map_or("", |w| w.product_variant.as_str()),
        )),
        "get_hostname" => text(or_unknown(&os.hostname)),
        "get_osinfo" => text(or_unknown(os.osinfo.as_deref().unwrap_or(""))),
        "get_package_format" => text(or_unknown(&os.package_format)),
        "get_package_management" => text(or_unknown(&os.package_management)),
        "get_format" => text("installed"),
        "is_live" | "is_netinst" | "is_multipart" => {
            Ok(PyBool::new(py, false).to_owned().into_any())
        }
        // libguestfs 1.48 lists the fstab's entries last first.
        "get_mountpoints" => hashtable(
            py,
            os.mountpoints
                .iter()
                .rev()
                .map(|m| (m.mountpoint.clone(), m.device.to_string()))
                .collect(),
            as_dict,
        )
        .map_err(py_err),
        "get_filesystems" => {
            let mut seen: Vec<String> = Vec::new();
            for m in os.mountpoints.iter().rev() {
                let d = m.device.to_string();
                if !seen.contains(&d) {
                    seen.push(d);
                }
            }
            Ok(PyList::new(py, seen).map_err(py_err)?.into_any())
        }
        "get_drive_mappings" => hashtable(
            py,
            windows
                .map(|w| {
                    w.drive_mappings
                        .iter()
                        .map(|(letter, dev)| (letter.to_string(), dev.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            as_dict,
        )
        .map_err(py_err),
        "get_windows_systemroot" => windows_field("systemroot could not be determined", &|w| {
            w.systemroot.clone()
        }),
        "get_windows_current_control_set" => {
            windows_field("CurrentControlSet could not be determined", &|w| {
                w.current_control_set.clone()
            })
        }
        "get_windows_software_hive" => windows_field("software hive not found", &|w| {
            format!("{}/System32/config/SOFTWARE", w.systemroot)
        }),
        "get_windows_system_hive" => windows_field("system hive not found", &|w| {
            format!("{}/System32/config/SYSTEM", w.systemroot)
        }),
        other => Err(format!("inspect_{other}: not an inspection call")),
    }
}

/// The applications as libguestfs's Python binding gives them: dicts with `app2_` (or
/// `app_`, without `arch`) keys.
pub fn applications_to_python<'py>(
    py: Python<'py>,
    apps: &[Application2],
    v2: bool,
) -> PyResult<Bound<'py, PyList>> {
    let prefix = if v2 { "app2_" } else { "app_" };
    let list = PyList::empty(py);
    for a in apps {
        let d = PyDict::new(py);
        let set = |k: &str, v: &str| d.set_item(format!("{prefix}{k}"), v);
        set("name", &a.name)?;
        set("display_name", &a.display_name)?;
        d.set_item(format!("{prefix}epoch"), a.epoch)?;
        let set = |k: &str, v: &str| d.set_item(format!("{prefix}{k}"), v);
        set("version", &a.version)?;
        set("release", &a.release)?;
        if v2 {
            set("arch", &a.arch)?;
        }
        set("install_path", &a.install_path)?;
        set("trans_path", &a.trans_path)?;
        set("publisher", &a.publisher)?;
        set("url", &a.url)?;
        set("source_package", &a.source_package)?;
        set("summary", &a.summary)?;
        set("description", &a.description)?;
        if v2 {
            for spare in ["spare1", "spare2", "spare3", "spare4"] {
                set(spare, "")?;
            }
        }
        list.append(d)?;
    }
    Ok(list)
}
