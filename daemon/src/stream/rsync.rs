//! guestfish's `rsync`, `rsync-in` and `rsync-out`: the host's rsync, carried into the
//! appliance, run as libguestfs's daemon runs it (daemon/rsync.c): between two guest
//! directories, or between one and an rsync daemon on the network (`rsync://...`).
//!
//! The guest paths are resolved beneath the guest root before rsync sees them, so a guest
//! symlink cannot point rsync at the appliance's own files; a trailing `/`, which means
//! "the directory's contents" to rsync, is kept.

use crate::boot::{network, tools};
use crate::fs::guestfs;
use guestwright_protocol::GuestPath;
use std::ffi::OsString;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;

/// rsync's options as guestfish's optional arguments choose them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub archive: bool,
    pub deletedest: bool,
}

/// Which end a guest path is: a destination whose last component is a symlink is followed
/// inside the guest (rsync would follow it wherever it points); a source is copied as
/// rsync copies it, the link itself, unless its name ends in `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Source,
    Destination,
}

/// The appliance path rsync is given for a guest path.
fn appliance_path(path: &GuestPath, end: End) -> io::Result<OsString> {
    let bytes = path.as_bytes();
    let slash = bytes.len() > 1 && bytes.ends_with(b"/");
    let whole = bytes.iter().all(|&b| b == b'/');
    let mut real = if whole {
        guestfs::real_path(&guestfs::root()?)?.into_os_string()
    } else {
        let (dir, name) = guestfs::parent(path)?;
        let is_link = crate::sys::fstatat(dir.as_fd(), &name, libc::AT_SYMLINK_NOFOLLOW)
            .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
            .unwrap_or(false);
        if is_link && (slash || end == End::Destination) {
            let fd = guestfs::open(path, libc::O_PATH, 0)?;
            guestfs::real_path(&fd)?.into_os_string()
        } else {
            let mut p = guestfs::real_path(&dir)?.into_os_string().into_vec();
            p.push(b'/');
            p.extend_from_slice(name.as_bytes());
            OsString::from_vec(p)
        }
    };
    if slash || whole {
        real.push("/");
    }
    Ok(real)
}

fn run(
    call: &str,
    src: OsString,
    dest: OsString,
    what: (&str, &str),
    opts: Options,
) -> io::Result<()> {
    let mut args: Vec<OsString> = Vec::new();
    if opts.archive {
        args.push("--archive".into());
    }
    if opts.deletedest {
        args.push("--delete".into());
    }
    args.push(src);
    args.push(dest);
    let out = tools::run_status_named("rsync", &args, &[])?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    Err(io::Error::other(format!(
        "{call}: '{}' to '{}': {}",
        what.0,
        what.1,
        said.trim_end()
    )))
}

/// `rsync SRC DEST`, both in the guest.
pub fn rsync(src: &GuestPath, dest: &GuestPath, opts: Options) -> io::Result<()> {
    tools::find("rsync")?;
    let (s, d) = (src.to_string(), dest.to_string());
    run(
        "rsync",
        appliance_path(src, End::Source)?,
        appliance_path(dest, End::Destination)?,
        (&s, &d),
        opts,
    )
}

/// The network, which `rsync_in` and `rsync_out` need; without it rsync would only say it
/// cannot resolve or reach the host.
fn need_network(call: &str) -> io::Result<()> {
    // The call's name first, so the shell shows the reason as it is.
    let up = network::wait().map_err(|e| io::Error::new(e.kind(), format!("{call}: {e}")))?;
    if up {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{call}: the appliance has no network: enable it (guestfish --network, \
                 set-network true before run)"
            ),
        ))
    }
}

/// `rsync REMOTE DEST`, DEST in the guest.
pub fn rsync_in(remote: &str, dest: &GuestPath, opts: Options) -> io::Result<()> {
    tools::find("rsync")?;
    need_network("rsync_in")?;
    let d = dest.to_string();
    run(
        "rsync_in",
        remote.into(),
        appliance_path(dest, End::Destination)?,
        (remote, &d),
        opts,
    )
}

/// `rsync SRC REMOTE`, SRC in the guest.
pub fn rsync_out(src: &GuestPath, remote: &str, opts: Options) -> io::Result<()> {
    tools::find("rsync")?;
    need_network("rsync_out")?;
    let s = src.to_string();
    run(
        "rsync_out",
        appliance_path(src, End::Source)?,
        remote.into(),
        (&s, remote),
        opts,
    )
}
