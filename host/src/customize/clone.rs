//! `clone`: a new qcow2 image backed by a template, for one VM. The new image records the
//! template's absolute path and format, so QEMU (and guestwright) open the chain without
//! probing; the template is only ever opened read-only.

use std::path::{Path, PathBuf};

use super::CustomizeError;
use crate::drive::{overlay, Drive, DriveOptions, Format};

/// Creates `new` as a qcow2 overlay of `base` and returns the template's format. `format`
/// is the template's format (detected from its header when `None`; only raw and qcow2
/// templates can back an overlay); `allowed` are the directories where the template's own
/// raw backing files may lie (see [`Drive::open_allowing`]).
pub fn create_overlay(
    base: &Path,
    new: &Path,
    format: Option<Format>,
    allowed: &[PathBuf],
) -> Result<Format, CustomizeError> {
    let drive = Drive::open_allowing(
        base,
        &DriveOptions {
            format,
            readonly: true,
            blocksize: None,
        },
        allowed,
    )
    .map_err(crate::Error::from)?;
    let backing_format = match drive.chain[0].format {
        Format::Raw => "raw",
        Format::Qcow2 => "qcow2",
        other => {
            return Err(CustomizeError::Refused(format!(
                "{} is a {other:?} image; a clone can only be backed by raw or qcow2 (convert it with `qemu-img convert -O qcow2`)",
                base.display()
            )))
        }
    };
    let base_abs: PathBuf =
        std::fs::canonicalize(base).map_err(|source| CustomizeError::HostRead {
            path: base.to_path_buf(),
            source,
        })?;
    use std::os::unix::ffi::OsStrExt;
    overlay::create_backed(new, drive.virtual_size, base_abs.as_os_str().as_bytes(), backing_format).map_err(
        |source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                CustomizeError::Refused(format!(
                    "{} already exists: clone never overwrites an image; remove it or pick another name",
                    new.display()
                ))
            } else {
                CustomizeError::HostWrite {
                    path: new.to_path_buf(),
                    source,
                }
            }
        },
    )?;
    // The new file's metadata must survive a crash like its contents.
    let _ = std::fs::File::open(new).and_then(|f| f.sync_all());
    Ok(drive.chain[0].format)
}

/// An LVM snapshot LV that [`create_snapshot_lv`] made: `vg/name`, and its device path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotLv {
    /// The volume group (the origin's).
    pub vg: String,
    /// The snapshot's name.
    pub name: String,
    /// `/dev/VG/NAME`.
    pub device: PathBuf,
}

/// `VG` and `LV` of a path written `/dev/VG/LV`, LVM's own spelling of an LV's device.
pub fn lv_path(path: &Path) -> Option<(String, String)> {
    let rest = path.strip_prefix("/dev").ok()?;
    let mut parts = rest.components();
    let (vg, lv) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (vg, lv) = (vg.as_os_str().to_str()?, lv.as_os_str().to_str()?);
    // LVM's names: letters, digits and `+_.-`, not starting with `-`; `/dev/mapper`,
    // `/dev/disk` and the like are not volume groups.
    let name_ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('-')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+_.-".contains(&b))
    };
    let not_vg = [
        "mapper", "disk", "block", "bus", "char", "input", "net", "pts", "shm",
    ];
    (name_ok(vg) && name_ok(lv) && !not_vg.contains(&vg)).then(|| (vg.to_string(), lv.to_string()))
}

/// An lvcreate size: a number with an optional unit (`2G`, `512m`, `1.5t`), as LVM takes it.
fn check_size(size: &str) -> Result<(), CustomizeError> {
    let digits = size.trim_end_matches(|c: char| "bBsSkKmMgGtTpPeE".contains(c));
    let unit = &size[digits.len()..];
    let number_ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if number_ok && unit.len() <= 1 {
        Ok(())
    } else {
        Err(CustomizeError::InvalidArgument {
            op: "snapshot-size".into(),
            reason: format!(
                "{size:?} is not a size: write a number with an optional unit, as lvcreate's -L \
                 takes it (2G, 512M)"
            ),
        })
    }
}

/// Creates `new` (`/dev/VG/NAME`) as an LVM snapshot of the LV `base` (`/dev/VG/LV`) with
/// room for `size` of changes, using the host's `lvcreate` (which needs root). The template
/// is not written: later writes to `new` go to the snapshot's own space.
pub fn create_snapshot_lv(
    base: &Path,
    new: &Path,
    size: &str,
) -> Result<SnapshotLv, CustomizeError> {
    check_size(size)?;
    let (vg, origin) = lv_path(base).ok_or_else(|| {
        CustomizeError::Refused(format!(
            "{} is not an LV: --snapshot-size makes NEW an LVM snapshot, so BASE must be \
             written /dev/VG/LV",
            base.display()
        ))
    })?;
    let (new_vg, name) = lv_path(new).ok_or_else(|| {
        CustomizeError::Refused(format!(
            "{} is not an LV path: write the snapshot as /dev/{vg}/NAME",
            new.display()
        ))
    })?;
    if new_vg != vg {
        return Err(CustomizeError::Refused(format!(
            "a snapshot lives in its origin's volume group: write /dev/{vg}/{name}, not {}",
            new.display()
        )));
    }
    if new.symlink_metadata().is_ok() {
        return Err(CustomizeError::Refused(format!(
            "{} already exists: clone never overwrites an image; remove it or pick another name",
            new.display()
        )));
    }
    let out = std::process::Command::new("lvcreate")
        .args(["--snapshot", "--size", size, "--name", &name])
        .arg(format!("{vg}/{origin}"))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            CustomizeError::Refused(format!(
                "cannot run lvcreate ({e}): install lvm2, or create the snapshot yourself and \
                 run `guestwright customize -a {}`",
                new.display()
            ))
        })?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let said = guestwright_protocol::escape_bytes(said.as_bytes());
        return Err(CustomizeError::Refused(format!(
            "lvcreate could not create the snapshot {}: {said}; creating an LV needs root \
             (run clone with sudo), or create it yourself (`sudo lvcreate -s -L {size} -n \
             {name} {vg}/{origin}`) and run `guestwright customize -a {}`",
            new.display(),
            new.display()
        )));
    }
    // udev makes the device node; wait for it a little.
    let started = std::time::Instant::now();
    while !new.exists() && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let lv = SnapshotLv {
        vg,
        name,
        device: new.to_path_buf(),
    };
    if !new.exists() {
        let _ = remove_snapshot_lv(&lv);
        return Err(CustomizeError::Refused(format!(
            "lvcreate made {}/{} but {} did not appear within 10 s: is udev running?",
            lv.vg,
            lv.name,
            new.display()
        )));
    }
    Ok(lv)
}

/// Removes a snapshot LV made by [`create_snapshot_lv`] (after a failed customize: half a VM
/// is worse than none). The error is lvremove's words.
pub fn remove_snapshot_lv(lv: &SnapshotLv) -> Result<(), String> {
    let out = std::process::Command::new("lvremove")
        .args(["--force", "--yes"])
        .arg(format!("{}/{}", lv.vg, lv.name))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run lvremove: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lv_paths_are_dev_vg_lv() {
        let lv = |s: &str| lv_path(Path::new(s));
        assert_eq!(
            lv("/dev/vg0/template"),
            Some(("vg0".into(), "template".into()))
        );
        assert_eq!(
            lv("/dev/vg_data/vm-01.img"),
            Some(("vg_data".into(), "vm-01.img".into()))
        );
        for no in [
            "/dev/mapper/vg0-template",
            "/dev/sda",
            "/dev/vg0/a/b",
            "vg0/template",
            "/dev/disk/by-id",
            "/dev/vg0/-x",
            "/dev/vg 0/x",
        ] {
            assert_eq!(lv(no), None, "{no}");
        }
    }

    #[test]
    fn sizes_are_lvcreates() {
        for ok in ["2G", "512m", "1.5t", "100", "4096s"] {
            assert!(check_size(ok).is_ok(), "{ok}");
        }
        for bad in ["", "G", "2GB", "-1G", "1..5G", "2 G", "2G;rm"] {
            assert!(check_size(bad).is_err(), "{bad}");
        }
    }
}
