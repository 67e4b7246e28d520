//! Swap for the appliance itself (guestfish's `swapon-*` and `swapoff-*`): on a device, a
//! file of the guest, or the swap area with a given label or UUID.

use crate::block::devices::Disks;
use crate::block::names;
use crate::boot::modules::Modules;
use crate::fs::guestfs;
use guestwright_protocol::GuestPath;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn call(on: bool, path: &Path) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: swapon/swapoff read one NUL-terminated path.
    let r = unsafe {
        if on {
            libc::swapon(c.as_ptr(), 0)
        } else {
            libc::swapoff(c.as_ptr())
        }
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        let what = if on { "swapon" } else { "swapoff" };
        return Err(io::Error::new(
            e.kind(),
            format!("{what}: {}: {e}", path.display()),
        ));
    }
    Ok(())
}

/// Swapping on (`on`) or off a block device.
pub fn device(on: bool, node: &Path) -> io::Result<()> {
    call(on, node)
}

/// Swapping on or off a file of the guest.
pub fn file(on: bool, path: &GuestPath) -> io::Result<()> {
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    call(on, &guestfs::real_path(&fd)?)
}

/// Swapping on or off the swap area whose label (`what` = `LABEL`) or UUID (`UUID`) is
/// `value`.
pub fn by(disks: &Disks, modules: &Modules, on: bool, what: &str, value: &str) -> io::Result<()> {
    if what == "LABEL" && value.len() > 16 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{value}: swap labels are at most 16 bytes"),
        ));
    }
    let dev = names::findfs(disks, modules, what, value)?;
    call(on, &disks.to_kernel(&dev)?)
}
