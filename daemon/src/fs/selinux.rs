//! guestfish's SELinux calls (cmds-misc): `getcon` and `setcon` read and write the daemon's
//! own security context through `/proc/thread-self/attr/current` (what libselinux does);
//! `selinux-relabel` is not available, as in libguestfs 1.48 on Debian (its appliance has
//! no `setfiles`); the library refuses it before the daemon sees it, this is the daemon's
//! answer to a client that calls anyway.

use std::io::{self, Read, Write};

const ATTR: &str = "/proc/thread-self/attr/current";

fn with_call(call: &str, e: io::Error) -> io::Error {
    let errno = guestwright_protocol::RemoteError::from(&e).errno;
    io::Error::from(guestwright_protocol::RemoteError::new(
        errno,
        format!("{call}: {call}: {}", strerror(&e)),
    ))
}

fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// `getcon`: the context as the kernel gives it, up to its first NUL (AppArmor's
/// `unconfined\n` keeps its newline, as libselinux keeps it).
pub fn getcon() -> io::Result<String> {
    let mut buf = Vec::new();
    std::fs::File::open(ATTR)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| with_call("getcon", e))?;
    if let Some(nul) = buf.iter().position(|&b| b == 0) {
        buf.truncate(nul);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `setcon`: asks the kernel to change the daemon's context (it refuses what its security
/// module does not know: EINVAL).
pub fn setcon(context: &str) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(ATTR)
        .and_then(|mut f| f.write_all(context.as_bytes()))
        .map_err(|e| with_call("setcon", e))
}

/// `selinux_relabel`: libguestfs 1.48's answer when its `selinuxrelabel` group is missing.
pub fn selinux_relabel() -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "selinux_relabel: feature 'selinuxrelabel' is not available in this appliance",
    ))
}
