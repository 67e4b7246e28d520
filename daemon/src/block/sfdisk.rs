//! guestfish's deprecated sfdisk family through the carried `sfdisk`: partitioning from
//! sfdisk's input lines, and sfdisk's listings for people. They run today's sfdisk as
//! libguestfs 1.48 does, so they fail where it fails (the `-C`/`-H`/`-S` geometry options
//! and the megabyte unit `-uM` are gone from sfdisk); answers name the caller's devices.

use crate::block::blockdev::{self, ResolvedDevice};
use crate::boot::tools;
use std::io;

/// The text with the appliance's node for the device replaced by the caller's name (a
/// disk's partitions follow, as their names extend the disk's).
fn user_names(text: &str, dev: &ResolvedDevice) -> String {
    let node = dev.node().to_string_lossy();
    text.replace(node.as_ref(), dev.name().as_str())
}

/// `sfdisk`, `sfdisk_N`, `sfdiskM`: runs sfdisk with `lines` on its input. `op` names the
/// call in errors.
pub fn partition(
    op: &str,
    dev: &ResolvedDevice,
    n: i32,
    geometry: [i32; 3],
    extra: Option<&str>,
    lines: &[String],
) -> io::Result<()> {
    let mut args: Vec<String> = Vec::new();
    if n > 0 {
        args.extend(["-N".to_string(), n.to_string()]);
    }
    for (flag, value) in ["-C", "-H", "-S"].iter().zip(geometry) {
        if value != 0 {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.map(str::to_string));
    let shown = format!(
        "sfdisk {}{}",
        args.iter().map(|a| format!("{a} ")).collect::<String>(),
        dev.name()
    );
    args.push(dev.node().to_string_lossy().into_owned());
    let mut input = Vec::new();
    for line in lines {
        input.extend_from_slice(line.as_bytes());
        input.push(b'\n');
    }
    let out = tools::run_status("sfdisk", &args, &[], Some(&input))?;
    if !out.status.success() {
        debug!(
            "{shown}: {}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
        return Err(io::Error::other(format!(
            "{op}: {shown}: external command failed"
        )));
    }
    // As libguestfs: sfdisk's own re-read can meet a busy device; read the table again.
    if let Err(e) = blockdev::reread(dev.node()) {
        debug!("{}: re-reading the partition table: {e}", dev.name());
    }
    Ok(())
}

/// `sfdisk_l`, `sfdisk_kernel_geometry`, `sfdisk_disk_geometry`: sfdisk's `flag` output.
pub fn show(op: &str, dev: &ResolvedDevice, flag: &str) -> io::Result<String> {
    let node = dev.node().to_string_lossy().into_owned();
    let out = tools::run_status("sfdisk", &[flag, node.as_str()], &[], None)?;
    let stderr = user_names(&String::from_utf8_lossy(&out.stderr), dev);
    if !out.status.success() {
        return Err(io::Error::other(format!("{op}: {}: {stderr}", dev.name())));
    }
    Ok(user_names(&String::from_utf8_lossy(&out.stdout), dev))
}
