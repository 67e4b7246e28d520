//! guestfish's `inspect-*` commands, on top of guestwright's inspection
//! (`guestwright::inspect`): `inspect-os` (or `-i`) inspects and remembers what it found;
//! the `inspect-get-*` commands answer from that, in libguestfs 1.48's words and formats.

use super::output::Output;
use super::{fisherr, Shell, ShellError};
use guestwright::inspect::{self, OsInfo};
use guestwright::prelude::*;
use guestwright::protocol::value::Value;

/// The inspection commands, by name.
pub const NAMES: &[&str] = &[
    "inspect-os",
    "inspect-get-roots",
    "inspect-get-type",
    "inspect-get-distro",
    "inspect-get-arch",
    "inspect-get-major-version",
    "inspect-get-minor-version",
    "inspect-get-product-name",
    "inspect-get-product-variant",
    "inspect-get-hostname",
    "inspect-get-osinfo",
    "inspect-get-package-format",
    "inspect-get-package-management",
    "inspect-get-format",
    "inspect-get-mountpoints",
    "inspect-get-filesystems",
    "inspect-get-drive-mappings",
    "inspect-get-windows-systemroot",
    "inspect-get-windows-current-control-set",
    "inspect-get-windows-software-hive",
    "inspect-get-windows-system-hive",
    "inspect-is-live",
    "inspect-is-netinst",
    "inspect-is-multipart",
    "inspect-list-applications",
    "inspect-list-applications2",
    "inspect-get-icon",
];

use super::commands::print_text as print;

/// libguestfs's error of call `name` (`inspect_get_type: ...`).
fn lg_error(name: &str, message: impl std::fmt::Display) -> ShellError {
    ShellError::Libguestfs(format!("{}: {message}", name.replace('-', "_")))
}

/// `"unknown"` for what inspection could not tell.
fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "unknown"
    } else {
        s
    }
}

/// One line per root.
fn lines(roots: &[String]) -> String {
    roots.iter().map(|r| format!("{r}\n")).collect()
}

/// The trace's result line of a call that returns the roots.
fn trace_roots(shell: &Shell, call: &str, roots: &[String]) {
    let value = Value::List(
        roots
            .iter()
            .map(|r| Value::Text(r.clone().into_bytes()))
            .collect(),
    );
    shell.trace_bytes(&super::trace::result_value_line(
        call,
        "Vec<String>",
        &value,
        false,
    ));
}

/// Runs an inspection command.
pub fn run(
    shell: &mut Shell,
    name: &str,
    args: &[String],
    out: &mut Output,
) -> Result<(), ShellError> {
    let (required, optional): (usize, &[&str]) = match name {
        "inspect-os" | "inspect-get-roots" => (0, &[]),
        "inspect-get-icon" => (1, &["favicon", "highquality"]),
        _ => (1, &[]),
    };
    let usage = match (required, optional.is_empty()) {
        (0, _) => name.to_string(),
        (_, true) => format!("{name} root"),
        _ => format!("{name} root [favicon:true|false] [highquality:true|false]"),
    };
    if args.len() < required || args.len() > required + optional.len() {
        return Err(ShellError::Fish(fisherr::wrong_count_of(name, &usage)));
    }
    let mut opts = Vec::new();
    for w in &args[required..] {
        match w.split_once(':') {
            Some((k, v)) if optional.contains(&k) => {
                let b = fisherr::fish_bool(v).ok_or_else(|| {
                    ShellError::Fish(format!(
                        "guestfish: '{v}': invalid boolean value, use 'true' or 'false'"
                    ))
                })?;
                opts.push((k, b));
            }
            _ => {
                return Err(ShellError::Fish(format!(
                    "{name}: unknown optional argument \"{w}\""
                )))
            }
        }
    }
    shell.need_appliance(name)?;
    match name {
        "inspect-os" => {
            shell.trace_bytes(b"inspect_os");
            // libguestfs unmounts everything first, and leaves nothing mounted.
            let found = shell
                .h
                .umount_all()
                .and_then(|()| inspect::inspect(&shell.h))
                .map_err(|e| shell.traced_failure("inspect_os", "Vec<String>", e.into(), true))?;
            let roots: Vec<String> = found.iter().map(root_name).collect();
            trace_roots(shell, "inspect_os", &roots);
            shell.inspection = Some(found);
            return print(out, &lines(&roots));
        }
        "inspect-get-roots" => {
            shell.trace_bytes(b"inspect_get_roots");
            let roots: Vec<String> = shell.inspection.iter().flatten().map(root_name).collect();
            trace_roots(shell, "inspect_get_roots", &roots);
            return print(out, &lines(&roots));
        }
        _ => {}
    }
    let os = find_root(shell, name, &args[0])?.clone();
    let line = |s: &str| format!("{s}\n");
    let bool_line = |b: bool| line(if b { "true" } else { "false" });
    let windows = os.windows.as_ref();
    let text = match name {
        "inspect-get-type" => line(or_unknown(&os.os_type)),
        "inspect-get-distro" => line(or_unknown(&os.distro)),
        "inspect-get-arch" => line(or_unknown(&os.arch)),
        "inspect-get-major-version" => line(&os.major_version.to_string()),
        "inspect-get-minor-version" => line(&os.minor_version.to_string()),
        "inspect-get-product-name" => line(or_unknown(&os.product_name)),
        "inspect-get-product-variant" => line(or_unknown(
            windows.map_or("", |w| w.product_variant.as_str()),
        )),
        "inspect-get-hostname" => line(or_unknown(&os.hostname)),
        "inspect-get-osinfo" => line(or_unknown(os.osinfo.as_deref().unwrap_or(""))),
        "inspect-get-package-format" => line(or_unknown(&os.package_format)),
        "inspect-get-package-management" => line(or_unknown(&os.package_management)),
        "inspect-get-format" => line("installed"),
        "inspect-is-live" | "inspect-is-netinst" | "inspect-is-multipart" => bool_line(false),
        // libguestfs 1.48 lists the fstab's entries last first.
        "inspect-get-mountpoints" => os
            .mountpoints
            .iter()
            .rev()
            .map(|m| {
                format!(
                    "{}: {}\n",
                    m.mountpoint,
                    mountable(&m.device, m.options.as_deref())
                )
            })
            .collect(),
        "inspect-get-filesystems" => {
            let mut seen: Vec<String> = Vec::new();
            for m in os.mountpoints.iter().rev() {
                let d = mountable(&m.device, m.options.as_deref());
                if !seen.contains(&d) {
                    seen.push(d);
                }
            }
            seen.iter().map(|d| line(d)).collect()
        }
        "inspect-get-drive-mappings" => windows
            .map(|w| {
                w.drive_mappings
                    .iter()
                    .map(|(letter, dev)| format!("{letter}: {dev}\n"))
                    .collect()
            })
            .unwrap_or_default(),
        "inspect-get-windows-systemroot" => line(&windows_field(
            name,
            &os,
            "systemroot could not be determined",
            |w| w.systemroot.clone(),
        )?),
        "inspect-get-windows-current-control-set" => line(&windows_field(
            name,
            &os,
            "CurrentControlSet could not be determined",
            |w| w.current_control_set.clone(),
        )?),
        "inspect-get-windows-software-hive" => {
            line(&windows_field(name, &os, "software hive not found", |w| {
                format!("{}/System32/config/SOFTWARE", w.systemroot)
            })?)
        }
        "inspect-get-windows-system-hive" => {
            line(&windows_field(name, &os, "system hive not found", |w| {
                format!("{}/System32/config/SYSTEM", w.systemroot)
            })?)
        }
        "inspect-list-applications" | "inspect-list-applications2" => {
            applications(shell, &os, name == "inspect-list-applications2")?
        }
        "inspect-get-icon" => {
            let favicon = opts
                .iter()
                .find(|(k, _)| *k == "favicon")
                .is_none_or(|o| o.1);
            let icon = inspect::libguestfs::icon(&shell.h, &os, favicon)?;
            return out.write_all(&icon).map_err(ShellError::Output);
        }
        other => {
            return Err(ShellError::Usage(format!(
                "{other}: not an inspection command"
            )))
        }
    };
    print(out, &text)
}

/// The operating system whose root is `word`, or libguestfs's error.
/// libguestfs's name of a mountable: the device, or `btrfsvol:DEVICE/SUBVOLUME` for a
/// btrfs subvolume (the `subvol=` option inspection found in the guest's fstab).
pub(super) fn mountable(device: &Device, options: Option<&str>) -> String {
    let subvol = options
        .into_iter()
        .flat_map(|o| o.split(','))
        .find_map(|o| o.strip_prefix("subvol="));
    match subvol {
        Some(v) => format!("btrfsvol:{device}/{}", v.trim_start_matches('/')),
        None => device.to_string(),
    }
}

/// The name of an operating system's root, as inspect-os prints it and the inspect-get-*
/// commands take it.
pub(super) fn root_name(os: &OsInfo) -> String {
    mountable(&os.root, os.root_options.as_deref())
}

fn find_root<'a>(shell: &'a Shell, name: &str, word: &str) -> Result<&'a OsInfo, ShellError> {
    // The daemon's stub checks the device first.
    let exists = shell
        .h
        .list_devices()?
        .iter()
        .any(|d| d.device.to_string() == word)
        || shell
            .h
            .list_partitions()?
            .iter()
            .any(|p| p.device.to_string() == word)
        || shell
            .inspection
            .iter()
            .flatten()
            .any(|os| root_name(os) == word);
    if !exists {
        let call = name.replace('-', "_");
        return Err(lg_error(
            name,
            format!("{call}_stub: {word}: No such file or directory"),
        ));
    }
    let found = match &shell.inspection {
        Some(f) if !f.is_empty() => f,
        _ => {
            return Err(lg_error(
                name,
                "no inspection data: call guestfs_inspect_os first",
            ))
        }
    };
    found
        .iter()
        .find(|os| root_name(os) == word)
        .ok_or_else(|| {
            lg_error(
                name,
                format!(
                    "{word}: root device not found: only call this function with a root \
                     device previously returned by guestfs_inspect_os"
                ),
            )
        })
}

fn windows_field(
    name: &str,
    os: &OsInfo,
    what: &str,
    get: impl Fn(&inspect::windows::WindowsInfo) -> String,
) -> Result<String, ShellError> {
    match os.windows.as_ref().map(get) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(lg_error(name, format!("not a Windows guest, or {what}"))),
    }
}

/// `inspect-list-applications(2)`: the packages of a guest whose filesystems the caller
/// mounted, as guestfish prints the struct list.
fn applications(shell: &Shell, os: &OsInfo, v2: bool) -> Result<String, ShellError> {
    let apps = inspect::libguestfs::applications2(&shell.h, os)?;
    let p = if v2 { "app2_" } else { "app_" };
    let mut text = String::new();
    for (i, a) in apps.iter().enumerate() {
        let mut fields: Vec<(&str, String)> = vec![
            ("name", a.name.clone()),
            ("display_name", a.display_name.clone()),
            ("epoch", a.epoch.to_string()),
            ("version", a.version.clone()),
            ("release", a.release.clone()),
        ];
        if v2 {
            fields.push(("arch", a.arch.clone()));
        }
        fields.extend([
            ("install_path", a.install_path.clone()),
            ("trans_path", String::new()),
            ("publisher", a.publisher.clone()),
            ("url", a.url.clone()),
            ("source_package", a.source_package.clone()),
            ("summary", a.summary.clone()),
            ("description", a.description.clone()),
        ]);
        if v2 {
            for spare in ["spare1", "spare2", "spare3", "spare4"] {
                fields.push((spare, String::new()));
            }
        }
        text.push_str(&format!("[{i}] = {{\n"));
        for (k, v) in fields {
            text.push_str(&format!("  {p}{k}: {v}\n"));
        }
        text.push_str("}\n");
    }
    Ok(text)
}

#[cfg(test)]
mod mountable_tests {
    use super::*;

    #[test]
    fn a_btrfs_subvolume_is_named_as_libguestfs_names_it() {
        let dev = Device::from("/dev/sda2");
        assert_eq!(mountable(&dev, None), "/dev/sda2");
        assert_eq!(
            mountable(&dev, Some("subvol=root")),
            "btrfsvol:/dev/sda2/root"
        );
        assert_eq!(
            mountable(&dev, Some("compress=zstd,subvol=/home")),
            "btrfsvol:/dev/sda2/home"
        );
        assert_eq!(mountable(&dev, Some("subvolid=5")), "/dev/sda2");
    }
}
