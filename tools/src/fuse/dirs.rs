//! Open directories: the entries each FUSE directory handle is being given, and the
//! daemon handles that keep a removed directory reachable while it is open.
//!
//! Opening a directory costs no round trip (`ls -lR` and `find` open thousands). A
//! directory that is open when the mount removes it (rmdir, or a rename over it) is first
//! opened in the appliance, by path, while a name still leads to it: fstat, fchmod and
//! futimens of a descriptor of a removed directory succeed on a local filesystem (with a
//! link count of 0), and the kernel sends them by node, with no handle, after the path is
//! gone. That daemon handle, the pin, is closed with the node's last open directory.
//!
//! Both locks here are leaves, never held together nor across a round trip; callers close
//! the handles these functions give back.

use guestwright::prelude::*;
use guestwright_sync::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A directory entry as the kernel gets it: name, node, attributes.
pub type Entry = (Vec<u8>, u64, Stat);

/// A directory the kernel has open: the entries it is being given, fixed at the first read.
#[derive(Debug, Default)]
pub struct OpenDir {
    /// (name, node, attributes) in order, `.` and `..` first.
    pub entries: Option<Arc<Vec<Entry>>>,
}

/// An open directory's node, and what its reads are given.
type Opened = (u64, Arc<Mutex<OpenDir>>);

/// The open directories of a mount, and the pins of the removed ones.
#[derive(Debug)]
pub struct OpenDirs {
    /// By FUSE directory handle: the node and what its reads are given.
    open: Mutex<HashMap<u64, Opened>>,
    /// By node: the daemon's handle of a directory removed while open.
    pins: Mutex<HashMap<u64, FileHandle>>,
    next: AtomicU64,
}

#[track_caller]
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock()
}

impl Default for OpenDirs {
    fn default() -> OpenDirs {
        OpenDirs {
            open: Mutex::new(HashMap::new()),
            pins: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }
}

impl OpenDirs {
    /// opendir(3) of node `ino`: a new handle.
    pub fn open(&self, ino: u64) -> u64 {
        let dh = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = Arc::new(Mutex::new(OpenDir::default()));
        lock(&self.open).insert(dh, (ino, dir));
        dh
    }

    /// The open directory behind a handle.
    pub fn get(&self, dh: u64) -> Option<Arc<Mutex<OpenDir>>> {
        lock(&self.open).get(&dh).map(|(_, d)| d.clone())
    }

    /// Whether the kernel holds node `ino` open as a directory.
    pub fn is_open(&self, ino: u64) -> bool {
        lock(&self.open).values().any(|(i, _)| *i == ino)
    }

    /// closedir(3): the pin to close if that was the node's last open directory.
    #[must_use]
    pub fn release(&self, dh: u64) -> Option<FileHandle> {
        let ino = lock(&self.open).remove(&dh).map(|(ino, _)| ino)?;
        self.unpin_if_closed(ino)
    }

    /// Keeps `handle` as the pin of node `ino` (just removed while open). Gives back the
    /// handles to close: one it replaced, or `handle` itself if the node was closed
    /// meanwhile.
    #[must_use]
    pub fn pin(&self, ino: u64, handle: FileHandle) -> Vec<FileHandle> {
        let old = lock(&self.pins).insert(ino, handle);
        // A releasedir that ran between the caller's check and this insert found no pin.
        old.into_iter().chain(self.unpin_if_closed(ino)).collect()
    }

    /// The pin of node `ino`, if it was removed while open.
    pub fn pinned(&self, ino: u64) -> Option<FileHandle> {
        lock(&self.pins).get(&ino).copied()
    }

    fn unpin_if_closed(&self, ino: u64) -> Option<FileHandle> {
        if self.is_open(ino) {
            return None;
        }
        lock(&self.pins).remove(&ino)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_lives_as_long_as_the_nodes_open_directories() {
        let d = OpenDirs::default();
        let (a, b) = (d.open(7), d.open(7));
        assert!(d.pin(7, FileHandle(40)).is_empty());
        assert_eq!(d.pinned(7), Some(FileHandle(40)));
        assert_eq!(d.release(a), None);
        assert_eq!(d.pinned(7), Some(FileHandle(40)));
        assert_eq!(d.release(b), Some(FileHandle(40)));
        assert_eq!(d.pinned(7), None);
        assert_eq!(d.release(b), None);
    }

    #[test]
    fn a_pin_of_a_node_closed_meanwhile_is_given_back() {
        let d = OpenDirs::default();
        let a = d.open(3);
        assert_eq!(d.release(a), None);
        assert_eq!(d.pin(3, FileHandle(9)), vec![FileHandle(9)]);
        assert_eq!(d.pinned(3), None);
        assert!(!d.is_open(3));
    }
}
