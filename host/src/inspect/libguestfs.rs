//! Inspection answers in libguestfs's shapes, for the front ends that speak its API (the
//! shell's `inspect-*` commands and the Python module): `application2` records whichever
//! package database they came from, and `inspect_get_icon`'s search.

use super::OsInfo;
use crate::error::Result;
use crate::handle::Handle;
use guestwright_protocol::{ByteSize, Client, GuestPath};

/// One installed application as libguestfs's `application2` struct holds it: Linux packages
/// fill the package fields, Windows programs the installer's fields, the others are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Application2 {
    /// The package's (or program's registry key's) name.
    pub name: String,
    /// The name shown to users (Windows).
    pub display_name: String,
    /// The package's epoch (0 when none).
    pub epoch: u32,
    /// Version.
    pub version: String,
    /// Release (rpm, the Debian revision).
    pub release: String,
    /// Architecture.
    pub arch: String,
    /// Where it is installed (Windows).
    pub install_path: String,
    /// Always empty, as in libguestfs.
    pub trans_path: String,
    /// Publisher (Windows).
    pub publisher: String,
    /// Home page.
    pub url: String,
    /// The source package.
    pub source_package: String,
    /// One-line summary.
    pub summary: String,
    /// Description.
    pub description: String,
}

/// The applications of `os`, whose filesystems the caller mounted, from its package
/// database or, on Windows, its registry.
pub fn applications2(h: &Handle, os: &OsInfo) -> Result<Vec<Application2>> {
    Ok(if os.windows.is_some() {
        super::windows::applications(h, os)?
            .into_iter()
            .map(|a| Application2 {
                name: a.name,
                display_name: a.display_name,
                version: a.version,
                install_path: a.install_path,
                publisher: a.publisher,
                url: a.url,
                description: a.description,
                ..Application2::default()
            })
            .collect()
    } else {
        super::applications(h, os)?
            .into_iter()
            .map(|a| Application2 {
                name: a.name,
                epoch: a.epoch,
                version: a.version,
                release: a.release,
                arch: a.arch,
                url: a.url,
                source_package: a.source_package,
                summary: a.summary,
                description: a.description,
                ..Application2::default()
            })
            .collect()
    })
}

/// The most of an icon file read (libguestfs's limit).
const ICON_MAX: u64 = 1 << 20;

/// `inspect_get_icon`: the guest's `/etc/favicon.png` (unless `favicon` is false), else its
/// distribution's logo where libguestfs looks for it; empty when there is none. The guest's
/// filesystems must be mounted.
pub fn icon(h: &Handle, os: &OsInfo, favicon: bool) -> Result<Vec<u8>> {
    let mut candidates = Vec::new();
    if favicon && os.os_type == "linux" {
        candidates.push("/etc/favicon.png");
    }
    candidates.extend(match os.distro.as_str() {
        "debian" => &["/usr/share/pixmaps/debian-logo.png"][..],
        "fedora" => &["/usr/share/icons/hicolor/96x96/apps/fedora-logo-icon.png"][..],
        "rhel" | "centos" | "rocky" | "redhat-based" => {
            &["/usr/share/pixmaps/redhat/shadowman-transparent.png"][..]
        }
        "archlinux" => &["/usr/share/pixmaps/archlinux-logo.png"][..],
        "opensuse" | "sles" | "suse-based" => {
            &["/usr/share/icons/hicolor/48x48/apps/distributor.png"][..]
        }
        "alpine" => &["/usr/share/icons/alpine-logo.png"][..],
        _ => &[][..],
    });
    for path in candidates {
        let p = GuestPath::from(path);
        if !h.is_file(p.clone()).unwrap_or(false) {
            continue;
        }
        match h.pread(p, ByteSize(ICON_MAX + 1), ByteSize(0)) {
            Ok(d) if d.0.len() as u64 <= ICON_MAX => return Ok(d.0),
            Ok(_) => continue,
            Err(e) if e.errno().is_some() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Vec::new())
}
