//! Linux software RAID (md) through the carried `mdadm`: arrays on the attached disks are
//! assembled once, the first time something needs them (a filesystem listing that meets an
//! md member, a caller naming `/dev/mdN`), and named as the kernel numbers them
//! (`/dev/md127` first, as libguestfs's appliance names them).
//!
//! Complete arrays assemble as they are; a degraded one assembles read-only (nothing is
//! resynced onto the guest's disks) and the daemon says so. mdadm never sees udev here: it
//! makes its own device nodes.

use crate::boot::modules::Modules;
use crate::{block::lvm, boot::tools};
use guestwright_protocol::Device;
use guestwright_sync::Mutex;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::Path;

/// Whether arrays were assembled in this appliance.
static ASSEMBLED: Mutex<bool> = Mutex::new(false);

/// The configuration mdadm reads: every block device the kernel lists, any homehost.
const CONFIG: &str = "/run/guestwright-mdadm.conf";

const ENV: &[(&str, &str)] = &[("MDADM_NO_UDEV", "1"), ("MDADM_NO_SYSTEMCTL", "1")];

/// The RAID personalities; the ones the kernel has as modules are loaded, quietly skipping
/// any it lacks (an array of that level then does not assemble, and says why).
const PERSONALITIES: &[&str] = &["raid0", "raid1", "raid10", "raid456", "linear"];

fn prepare(modules: &Modules) -> io::Result<()> {
    tools::find("mdadm")?;
    modules.load("md_mod")?;
    for m in PERSONALITIES {
        if let Err(e) = modules.load(m) {
            debug!("{m}: {e}");
        }
    }
    fs::create_dir_all("/run/mdadm")?;
    fs::create_dir_all("/dev/md")?;
    fs::write(
        CONFIG,
        "DEVICE partitions containers\nHOMEHOST <ignore>\nAUTO +all\n",
    )
}

fn mdadm(args: &[&str]) -> io::Result<std::process::Output> {
    let mut all: Vec<OsString> = vec![format!("--config={CONFIG}").into()];
    // --config goes after the mode option.
    all.insert(0, args[0].into());
    all.extend(args[1..].iter().map(OsString::from));
    tools::run_status("mdadm", &all, ENV, None)
}

/// Assembles every array found on the disks, once per boot. Without a carried `mdadm`:
/// `EOPNOTSUPP` naming the package.
pub fn assemble_once(modules: &Modules) -> io::Result<()> {
    if *ASSEMBLED.lock() {
        return Ok(());
    }
    prepare(modules)?;
    // Complete arrays first; mdadm exits non-zero when there was nothing (more) to do.
    let out = mdadm(&["--assemble", "--scan", "--no-degraded"])?;
    debug!(
        "mdadm --assemble --scan: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let before = list();
    // What is left is degraded: start it read-only, so nothing rebuilds onto the disks.
    let out = mdadm(&["--assemble", "--scan", "--run", "--readonly"])?;
    for dev in list() {
        if !before.contains(&dev) {
            info!(
                "{dev} is a degraded md array: assembled read-only ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    for dev in list() {
        lvm::allow_device(dev.as_str());
    }
    *ASSEMBLED.lock() = true;
    Ok(())
}

/// Whether arrays were assembled.
pub fn assembled() -> bool {
    *ASSEMBLED.lock()
}

/// The running md arrays as `/dev/mdN`, in the kernel's order of numbers.
pub fn list() -> Vec<Device> {
    let mut numbers: Vec<u32> = fs::read_dir("/sys/block")
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let n: u32 = name.strip_prefix("md")?.parse().ok()?;
                    // An md node exists from the first open; an array has a level.
                    let level = fs::read_to_string(e.path().join("md/level")).ok()?;
                    (!level.trim().is_empty()).then_some(n)
                })
                .collect()
        })
        .unwrap_or_default();
    numbers.sort_unstable();
    numbers
        .into_iter()
        .map(|n| Device::from(format!("/dev/md{n}")))
        .collect()
}

/// Whether a kernel block device (`vda2`) is a member of a running array.
pub fn is_member(kernel_name: &str) -> bool {
    fs::read_dir(
        Path::new("/sys/class/block")
            .join(kernel_name)
            .join("holders"),
    )
    .map(|d| {
        d.flatten()
            .any(|h| h.file_name().to_string_lossy().starts_with("md"))
    })
    .unwrap_or(false)
}

/// Whether a caller's name could be an md array that is not assembled yet.
pub fn could_be_md(dev: &Device) -> bool {
    dev.as_str()
        .strip_prefix("/dev/md")
        .is_some_and(|rest| rest.starts_with('/') || rest.bytes().all(|b| b.is_ascii_digit()))
}

/// `mdadm --detail --export`: the array's facts as (key, value), keys lower case without
/// mdadm's `MD_` prefix (`level`, `uuid`, `devices`, `metadata`, `name`).
pub fn detail(modules: &Modules, node: &Path) -> io::Result<Vec<(String, String)>> {
    prepare(modules)?;
    let node = node.to_string_lossy().into_owned();
    let out = mdadm(&["--detail", "--export", &node])?;
    if !out.status.success() {
        return Err(tools::failed(
            "mdadm",
            &["--detail", "--export", &node],
            &out,
        ));
    }
    Ok(parse_export(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_export(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let k = k.trim().strip_prefix("MD_").unwrap_or(k.trim());
            Some((k.to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// Creates array `/dev/md/NAME` of `level` (`raid1` by default) from `devices` (kernel
/// paths); the kernel numbers it (`/dev/md127` for the first).
pub fn create(modules: &Modules, name: &str, level: &str, devices: &[String]) -> io::Result<()> {
    if name.is_empty()
        || name.len() > 32
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        || name.starts_with(['-', '.'])
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "'{}' is not a usable array name: use letters, digits and _ . -",
                guestwright_protocol::escape_bytes(name.as_bytes())
            ),
        ));
    }
    if !matches!(
        level,
        "raid0" | "raid1" | "raid4" | "raid5" | "raid6" | "raid10" | "linear"
    ) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "'{}' is not an md level: use raid0, raid1, raid4, raid5, raid6, raid10 or linear",
                guestwright_protocol::escape_bytes(level.as_bytes())
            ),
        ));
    }
    prepare(modules)?;
    let target = format!("/dev/md/{name}");
    let level_arg = format!("--level={level}");
    let count = format!("--raid-devices={}", devices.len());
    let mut args: Vec<&str> = vec![
        "--create",
        &target,
        "--run",
        "--metadata=1.2",
        &level_arg,
        &count,
    ];
    args.extend(devices.iter().map(String::as_str));
    let out = mdadm(&args)?;
    if !out.status.success() {
        return Err(tools::failed("mdadm", &args, &out));
    }
    for dev in list() {
        lvm::allow_device(dev.as_str());
    }
    *ASSEMBLED.lock() = true;
    Ok(())
}

/// Stops an array (`/dev/mdN`).
pub fn stop(modules: &Modules, node: &Path) -> io::Result<()> {
    prepare(modules)?;
    let node = node.to_string_lossy().into_owned();
    let out = mdadm(&["--stop", &node])?;
    if !out.status.success() {
        return Err(tools::failed("mdadm", &["--stop", &node], &out));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_output_becomes_lower_case_keys() {
        let text = "MD_LEVEL=raid1\nMD_DEVICES=2\nMD_METADATA=1.2\nMD_UUID=a:b:c:d\nMD_NAME=any:root\nMD_DEVICE_dev_vda1_ROLE=0\n";
        let kv = parse_export(text);
        assert_eq!(kv[0], ("level".into(), "raid1".into()));
        assert_eq!(kv[3], ("uuid".into(), "a:b:c:d".into()));
        assert_eq!(kv[5].0, "device_dev_vda1_role");
        assert!(could_be_md(&Device::from("/dev/md127")));
        assert!(could_be_md(&Device::from("/dev/md/root")));
        assert!(!could_be_md(&Device::from("/dev/mdx")));
        assert!(!could_be_md(&Device::from("/dev/sda")));
    }
}
