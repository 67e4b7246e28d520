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
