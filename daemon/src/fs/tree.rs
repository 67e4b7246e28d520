//! `readdir_tree`: the FUSE mount's directory prefetch. One call lists a directory and,
//! breadth first, the directories below it, each entry with its lstat, symlink target and
//! extended attributes, so that `ls -lR` or `find` over thousands of entries costs a few
//! round trips instead of one per entry and attribute.
//!
//! Directories are opened through `guestfs` beneath the guest root, and only those that
//! lstat showed as directories: a symlink is listed, never followed into. The answer is
//! bounded by an entry count and a byte budget that keep it inside one reply.

use crate::fs::dirs::{open_dir, REPLY_BUDGET};
use crate::fs::walk::{self, DirReader};
use crate::{fs::attrs, sys};
use guestwright_protocol::*;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

/// Entries listed when the caller does not say.
const DEFAULT_ENTRIES: u32 = 16384;
/// Most entries a caller may ask for.
const MAX_ENTRIES: u32 = 65536;
/// Encoded bytes of an entry besides its name, link and xattrs (a generous estimate).
const ENTRY_OVERHEAD: usize = 160;

/// Lists `root` and the directories below it until `max` entries or the reply budget.
pub fn readdir_tree(root: &GuestPath, max: Option<u32>) -> io::Result<Vec<DirListing>> {
    let max = max.unwrap_or(DEFAULT_ENTRIES).clamp(1, MAX_ENTRIES) as usize;
    // Extended attributes are read relative to each directory as this thread's own working
    // directory (see `attrs::xattrs_in_cwd`); without that, through /proc/self/fd.
    let cwd = sys::unshare_fs().is_ok();
    let listed = list_tree(root, max, cwd);
    if cwd {
        // The thread lives until its reply is sent: it must not hold a guest directory busy
        // for an unmount that follows.
        let _ = std::env::set_current_dir("/");
    }
    listed
}

/// The walk itself, breadth first; with `cwd`, each directory in turn becomes this
/// thread's working directory.
fn list_tree(root: &GuestPath, max: usize, cwd: bool) -> io::Result<Vec<DirListing>> {
    // Paths, not descriptors, wait in the queue: a wide tree would otherwise hold thousands
    // of directories open.
    let mut queue: VecDeque<GuestPath> = VecDeque::new();
    queue.push_back(root.clone());
    let mut out = Vec::new();
    let mut entries = 0;
    let mut bytes = 0;
    let mut first = true;
    while let Some(path) = queue.pop_front() {
        if !first && entries >= max {
            break;
        }
        let fd = match open_dir(&path) {
            Ok(fd) => fd,
            Err(e) if first => return Err(e),
            // Gone or unreadable: the caller gets the error when it asks for this directory.
            Err(_) => continue,
        };
        // The first directory may stop part way; later ones are listed whole or not at all.
        let limit = Limit {
            entries: if first {
                MAX_ENTRIES as usize
            } else {
                max - entries.min(max)
            },
            bytes: REPLY_BUDGET.saturating_sub(bytes),
            partial_ok: first,
        };
        let (listing, subdirs, used) = match list_one(&path, fd, limit, cwd) {
            Ok(Some(found)) => found,
            Ok(None) => break,
            // A directory that vanished or cannot be read after the first is left for the
            // caller to ask about (and get the error) when it needs it.
            Err(e) if !first => {
                debug!("readdir_tree: {path}: {e}");
                continue;
            }
            Err(e) => return Err(e),
        };
        first = false;
        entries += listing.entries.len();
        bytes += used;
        let complete = listing.complete;
        out.push(listing);
        if !complete {
            break;
        }
        queue.extend(subdirs);
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
struct Limit {
    entries: usize,
    bytes: usize,
    partial_ok: bool,
}

type Listed = (DirListing, Vec<GuestPath>, usize);

/// Lists one directory. `None` when it does not fit and must not be returned in part.
fn list_one(path: &GuestPath, fd: OwnedFd, limit: Limit, cwd: bool) -> io::Result<Option<Listed>> {
    let cwd = cwd && sys::fchdir(fd.as_fd()).is_ok();
    let mut reader = DirReader::new(fd);
    let mut listing = DirListing {
        path: path.clone(),
        entries: Vec::new(),
        complete: true,
        next: 0,
    };
    let mut subdirs = Vec::new();
    let mut bytes = path.as_bytes().len() + 32;
    while let Some(e) = reader.next_entry()? {
        if e.is_dot() {
            listing.next = e.next;
            continue;
        }
        let name = sys::cstring(&e.name)?;
        let st = match walk::lstat_at(reader.fd(), &name) {
            Ok(st) => st,
            // Removed since the directory was read.
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {
                listing.next = e.next;
                continue;
            }
            Err(err) => return Err(err),
        };
        let link = if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            Some(GuestPath::from(sys::readlinkat(reader.fd(), &name)?))
        } else {
            None
        };
        let xattrs = if cwd {
            attrs::xattrs_in_cwd(&name)
        } else {
            attrs::xattrs_at(reader.fd(), &name)
        };
        let xattrs = match xattrs {
            Ok(x) => x,
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {
                listing.next = e.next;
                continue;
            }
            Err(err) => return Err(err),
        };
        let cost = e.name.len()
            + ENTRY_OVERHEAD
            + link.as_ref().map_or(0, |l| l.as_bytes().len())
            + xattrs
                .iter()
                .map(|x| x.name.len() + x.value.0.len() + 16)
                .sum::<usize>();
        if listing.entries.len() >= limit.entries || bytes + cost > limit.bytes {
            if !limit.partial_ok {
                return Ok(None);
            }
            listing.complete = false;
            break;
        }
        bytes += cost;
        listing.next = e.next;
        if walk::is_dir(&st) {
            subdirs.push(path.join(&e.name));
        }
        listing.entries.push(DirEntryFull {
            name: FileName(e.name),
            stat: walk::to_stat(&st),
            link,
            xattrs,
        });
    }
    Ok(Some((listing, subdirs, bytes)))
}
