//! What each FUSE request does, as calls on the handle: metadata from the node table when it
//! is fresh, round trips only for what it does not know, and every change recorded in the
//! table so the caches stay true. These functions run on the pool's workers (or, when they
//! need no round trip, on fuser's thread) and may run many at once.

use super::attr::{errno, file_attr, negative};
pub use super::dirs::Entry;
use super::dirs::{OpenDir, OpenDirs};
use super::io::{Generation, OpenFile};
use super::nodes::{Lookup, Table, ROOT};
use super::small::{self, SmallFiles};
use fuser::FileAttr;
use guestwright::prelude::*;
use guestwright_sync::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// FUSE file handles of files read by path count up from here, far above the daemon's
/// handle numbers (which count up from 1).
const BY_PATH_HANDLES: u64 = 1 << 62;

/// Entries `readdir_tree` lists per round trip when prefetching below a directory.
const PREFETCH_ENTRIES: u32 = 16384;
/// Entries per page when a directory is too large for `readdir_tree`.
const PAGE: u32 = 8192;
/// The longest name a Linux filesystem keeps, in bytes (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// A failed request: the errno for the kernel.
pub type Errno = i32;

/// Everything the request handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The appliance.
    pub h: Arc<Handle>,
    /// Nodes and caches.
    pub table: Mutex<Table>,
    /// Read-only mount.
    pub readonly: bool,
    /// The kernel's writeback cache is on (a read-write mount without
    /// `-o no_writeback_cache`).
    pub writeback: bool,
    /// How long the kernel may trust attributes.
    pub attr_ttl: Duration,
    /// How long the kernel may trust names (and absent names).
    pub entry_ttl: Duration,
    /// Open files by FUSE file handle: the daemon's handle number, or a number from
    /// `next_by_path` for a file read by path.
    pub files: Mutex<HashMap<u64, Arc<OpenFile>>>,
    /// The next FUSE file handle of a file read by path.
    next_by_path: AtomicU64,
    /// Open directories by FUSE file handle, and the removed ones kept reachable.
    pub dirs: OpenDirs,
    /// Bumped by every change of file data, to drop read-ahead.
    pub generation: Arc<Generation>,
    /// Small files fetched a batch at a time (read-only mounts only).
    small: Option<SmallFiles>,
    /// Some write was gathered (see [`super::writeback`]): until then no read or getattr
    /// looks for writes to push.
    gathered: AtomicBool,
    /// The first error of a push of gathered writes, by node, until an fsync or a close of
    /// the node reports it.
    write_errors: Mutex<HashMap<u64, Errno>>,
}

#[track_caller]
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock()
}

/// ENAMETOOLONG for a name longer than any Linux filesystem keeps, as a local filesystem
/// answers before it looks the name up.
pub fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        Err(libc::ENAMETOOLONG)
    } else {
        Ok(())
    }
}

/// open(2) flags passed on to the daemon.
const OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_APPEND
    | libc::O_TRUNC
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_NOATIME;

impl Shared {
    /// State for a mount of the appliance's guest tree; `root` is the lstat of `/`.
    pub fn new(
        h: Arc<Handle>,
        root: &Stat,
        readonly: bool,
        writeback: bool,
        attr_ttl: Duration,
        entry_ttl: Duration,
    ) -> Shared {
        Shared {
            h,
            table: Mutex::new(Table::new(root, attr_ttl)),
            readonly,
            writeback: writeback && !readonly,
            attr_ttl,
            entry_ttl,
            files: Mutex::new(HashMap::new()),
            next_by_path: AtomicU64::new(BY_PATH_HANDLES),
            dirs: OpenDirs::default(),
            generation: Arc::new(Generation::default()),
            small: readonly.then(SmallFiles::default),
            gathered: AtomicBool::new(false),
            write_errors: Mutex::new(HashMap::new()),
        }
    }

    #[track_caller]
    fn table(&self) -> MutexGuard<'_, Table> {
        lock(&self.table)
    }

    fn path(&self, id: u64) -> Result<GuestPath, Errno> {
        self.table().path(id).ok_or(libc::ENOENT)
    }

    fn child_path(&self, parent: u64, name: &[u8]) -> Result<GuestPath, Errno> {
        if name.is_empty() || name.contains(&b'/') || name == b"." || name == b".." {
            return Err(libc::EINVAL);
        }
        check_name(name)?;
        self.table().child_path(parent, name).ok_or(libc::ENOENT)
    }

    /// Whether node `id` is known to be a regular file (a node's kind never changes).
    fn is_regular(&self, id: u64) -> bool {
        self.table()
            .last_stat(id)
            .is_some_and(|st| st.kind() == FileKind::Regular)
    }

    fn writable(&self) -> Result<(), Errno> {
        if self.readonly {
            Err(libc::EROFS)
        } else {
            Ok(())
        }
    }

    /// The attributes the kernel gets for a node.
    pub fn attr(&self, id: u64, st: &Stat) -> FileAttr {
        file_attr(id, st)
    }

    // ---- names and attributes ----

    /// Answers a lookup from the cache: Some(entry) for a hit (the kernel's reference is
    /// counted), Some(negative) for a name known to be absent, None when a round trip is
    /// needed.
    pub fn lookup_cached(&self, parent: u64, name: &[u8]) -> Option<FileAttr> {
        let mut t = self.table();
        match t.lookup(parent, name) {
            Lookup::Found(id, st) => {
                t.add_lookup(id);
                drop(t);
                Some(file_attr(id, &st))
            }
            Lookup::Missing => Some(negative()),
            Lookup::Unknown => None,
        }
    }

    /// Looks a name up with round trips: lists the directory (and prefetches below it) when
    /// its listing is not known, otherwise asks for the one entry.
    pub fn lookup(&self, parent: u64, name: &[u8]) -> Result<FileAttr, Errno> {
        let listed = self.table().listing_known(parent);
        if !listed {
            // The parent alone: a lookup (`cat /big`, an open by path) must not wait for a
            // listing of everything below the root. A readdir prefetches the tree.
            self.load_dir(parent, false)?;
            if let Some(a) = self.lookup_cached(parent, name) {
                return Ok(a);
            }
        }
        let path = self.child_path(parent, name)?;
        match self.h.lstat(&path) {
            Ok(st) => {
                let mut t = self.table();
                let id = t.remember(parent, name, &st, None, None);
                t.add_lookup(id);
                drop(t);
                Ok(file_attr(id, &st))
            }
            Err(e) if errno(&e) == libc::ENOENT => Ok(negative()),
            Err(e) => Err(errno(&e)),
        }
    }

    /// Lists directory `dir` with `readdir_tree`, which with `prefetch` also lists the
    /// directories below it; a directory too large for one answer is completed page by page.
    pub fn load_dir(&self, dir: u64, prefetch: bool) -> Result<(), Errno> {
        let path = self.path(dir)?;
        let below = if prefetch { PREFETCH_ENTRIES } else { 1 };
        let listings = self
            .h
            .run(args::ReaddirTree::new(&path).maxentries(below))
            .map_err(|e| errno(&e))?;
        let partial = listings.first().filter(|l| !l.complete).map(|l| {
            (
                l.next,
                l.entries
                    .iter()
                    .map(|e| e.name.0.clone())
                    .collect::<Vec<_>>(),
            )
        });
        self.table().load(dir, listings);
        if let Some((mut next, mut names)) = partial {
            loop {
                let page = self
                    .h
                    .run(args::ReaddirPlus::new(&path).offset(next).count(PAGE))
                    .map_err(|e| errno(&e))?;
                // Locked for this page only, never across the next round trip.
                let mut t = self.table();
                for e in page.entries {
                    let link = e.link.map(GuestPath::into_bytes);
                    t.remember(dir, &e.name.0, &e.stat, link, None);
                    names.push(e.name.0);
                }
                if !page.more {
                    t.set_listing(dir, names);
                    drop(t);
                    break;
                }
                drop(t);
                next = page.next;
            }
        }
        Ok(())
    }

    /// Attributes from the cache, if fresh.
    pub fn getattr_cached(&self, id: u64) -> Option<FileAttr> {
        self.table().stat(id).map(|st| file_attr(id, &st))
    }

    /// Attributes with a round trip (see `stat_now`).
    pub fn getattr(&self, id: u64, fh: Option<u64>) -> Result<FileAttr, Errno> {
        self.push_node(Some(id));
        let st = self.stat_now(id, fh)?;
        Ok(file_attr(id, &st))
    }

    /// The attributes of node `id` with a round trip, stored in the table: through the open
    /// file `fh` when there is one (fstat reaches the file whatever became of its names),
    /// else by path, else through any open file of the node (unlinked or renamed over while
    /// open: the kernel's fstat sends no handle).
    fn stat_now(&self, id: u64, fh: Option<u64>) -> Result<Stat, Errno> {
        // A file read by path is stat'ed by its path, as it has a name.
        let mut file = fh
            .and_then(|fh| self.file(fh))
            .filter(|f| f.handle().is_some());
        let path = match file {
            Some(_) => None,
            None => self.table().path(id),
        };
        if file.is_none() && path.is_none() {
            file = self.open_file_of(id);
        }
        let st = match (file.and_then(|f| f.handle()), path) {
            (Some(handle), _) => self.h.fh_stat(handle),
            (None, Some(p)) => self.h.lstat(&p),
            (None, None) => match self.dirs.pinned(id) {
                // A directory removed while open.
                Some(pin) => self.h.fh_stat(pin),
                None => return Err(libc::ENOENT),
            },
        }
        .map_err(|e| errno(&e))?;
        self.table().set_stat(id, &st);
        Ok(st)
    }

    /// truncate, chown, chmod and utimens, then the new attributes: one round trip
    /// (`lsetattr`) for a path, plus one for a truncate through an open file.
    #[allow(clippy::too_many_arguments)]
    pub fn setattr(
        &self,
        id: u64,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: (i64, i64),
        mtime: (i64, i64),
        fh: Option<u64>,
    ) -> Result<FileAttr, Errno> {
        self.writable()?;
        // A truncate must land after the writes before it; the new attributes include them.
        self.push_node(Some(id));
        let file = fh.and_then(|fh| self.file(fh));
        let path = self.table().path(id);
        let mut size = size;
        if size.is_some() {
            self.generation.bump();
        }
        // An open file is truncated through its handle: it may be unlinked.
        if let (Some(f), Some(n)) = (&file, size) {
            let handle = self.handle_of(f)?;
            let r = self.h.fh_truncate(handle, ByteSize(n));
            self.table().changed(id);
            r.map_err(|e| errno(&e))?;
            size = None;
        }
        let others =
            mode.is_some() || uid.is_some() || gid.is_some() || atime.1 != -2 || mtime.1 != -2;
        if !others && size.is_none() {
            return self.getattr(id, fh);
        }
        let times = |t: (i64, i64)| (t.1 != -2).then_some(t);
        let (at, mt) = (times(atime), times(mtime));
        let (size, uid, gid) = (size.map(ByteSize), uid.map(i64::from), gid.map(i64::from));
        let mode = mode.map(|m| Mode(m & 0o7777));
        let (ats, atn, mts, mtn) = (
            at.map(|t| t.0),
            at.map(|t| t.1),
            mt.map(|t| t.0),
            mt.map(|t| t.1),
        );
        // The same optional arguments for both operations.
        macro_rules! setattr {
            ($op:expr) => {{
                let mut op = $op;
                (op.size, op.owner, op.group, op.mode) = (size, uid, gid, mode);
                (op.atsecs, op.atnsecs, op.mtsecs, op.mtnsecs) = (ats, atn, mts, mtn);
                op
            }};
        }
        let result = match path {
            Some(p) => self.h.run(setattr!(args::Lsetattr::new(&p))),
            // No name leads to it (fchmod, fchown or futimens of a file unlinked or renamed
            // over while open; the kernel sends no handle for those): through an open file.
            None => match file
                .and_then(|f| f.handle())
                .or_else(|| self.open_file_of(id).and_then(|f| f.handle()))
                .or_else(|| self.dirs.pinned(id))
            {
                Some(handle) => self.h.run(setattr!(args::FhSetattr::new(handle))),
                None => return Err(libc::ENOENT),
            },
        };
        let mut t = self.table();
        t.changed(id);
        let st = result.map_err(|e| errno(&e))?;
        t.set_stat(id, &st);
        drop(t);
        Ok(file_attr(id, &st))
    }

    /// The target of a symlink.
    pub fn readlink(&self, id: u64) -> Result<Vec<u8>, Errno> {
        let cached = self.table().link(id);
        if let Some(l) = cached {
            return Ok(l);
        }
        let path = self.path(id)?;
        let target = self.h.readlink(&path).map_err(|e| errno(&e))?.into_bytes();
        self.table().set_link(id, target.clone());
        Ok(target)
    }

    /// Answers access(2) from the attributes: the appliance acts as root, so only a write
    /// to a read-only mount and executing a file without any execute bit are refused.
    pub fn access(&self, id: u64, mask: i32) -> Result<(), Errno> {
        // The table's guard ends with this statement: the round trip below locks it again.
        let cached = self.table().stat(id);
        let st = match cached {
            Some(st) => st,
            None => self.stat_now(id, None)?,
        };
        if mask & libc::W_OK != 0 && self.readonly {
            return Err(libc::EROFS);
        }
        if mask & libc::X_OK != 0 && st.kind() != FileKind::Directory && st.mode & 0o111 == 0 {
            return Err(libc::EACCES);
        }
        Ok(())
    }

    // ---- creating and removing names ----

    /// After creating `name` in `parent`: its attributes, with the permission bits the
    /// caller asked for (the daemon's own umask may have cleared some), counted as a lookup.
    fn created(
        &self,
        parent: u64,
        name: &[u8],
        path: &GuestPath,
        perm: Option<u32>,
    ) -> Result<(u64, Stat), Errno> {
        let mut st = self.h.lstat(path).map_err(|e| errno(&e))?;
        if let Some(perm) = perm {
            if st.mode & 0o777 != perm & 0o777 {
                self.h
                    .chmod(Mode((perm & 0o7777) | (st.mode & 0o7000)), path)
                    .map_err(|e| errno(&e))?;
                st = self.h.lstat(path).map_err(|e| errno(&e))?;
            }
        }
        let link = if st.kind() == FileKind::Symlink {
            self.h.readlink(path).ok().map(GuestPath::into_bytes)
        } else {
            None
        };
        let mut t = self.table();
        let id = t.remember(parent, name, &st, link, None);
        t.add_lookup(id);
        t.invalidate_stat(parent);
        t.created_without_xattrs(parent, id);
        drop(t);
        Ok((id, st))
    }

    /// The mode to create a node of `mode` with in `parent` for a caller whose umask is
    /// `umask`, and the permission bits it must end with, if they are known. In a directory
    /// with a default ACL the guest's kernel sets them from the ACL and ignores the umask, as
    /// on a local filesystem; elsewhere they are `mode` less the umask (the daemon's own umask
    /// may clear more, which [`Shared::created`] puts back).
    fn creation_mode(&self, parent: u64, mode: u32, umask: u32) -> (u32, Option<u32>) {
        let acl = self
            .xattrs(parent)
            .is_ok_and(|x| super::nodes::has_default_acl(&x));
        if acl {
            (mode, None)
        } else {
            let masked = mode & !(umask & 0o777);
            (masked, Some(masked))
        }
    }

    /// mkdir(2).
    pub fn mkdir(
        &self,
        parent: u64,
        name: &[u8],
        mode: u32,
        umask: u32,
    ) -> Result<FileAttr, Errno> {
        self.writable()?;
        let path = self.child_path(parent, name)?;
        let (mode, perm) = self.creation_mode(parent, mode, umask);
        self.h
            .mkdir_mode(&path, Mode(mode & 0o7777))
            .map_err(|e| errno(&e))?;
        let (id, st) = self.created(parent, name, &path, perm)?;
        Ok(file_attr(id, &st))
    }

    /// mknod(2): device nodes, FIFOs, sockets and empty regular files.
    pub fn mknod(
        &self,
        parent: u64,
        name: &[u8],
        mode: u32,
        umask: u32,
        rdev: u32,
    ) -> Result<FileAttr, Errno> {
        self.writable()?;
        let path = self.child_path(parent, name)?;
        let (mode, perm) = self.creation_mode(parent, mode, umask);
        if mode & libc::S_IFMT == libc::S_IFREG || mode & libc::S_IFMT == 0 {
            let fh = self
                .h
                .fh_create(&path, Mode(mode & 0o7777), libc::O_WRONLY)
                .map_err(|e| errno(&e))?;
            let _ = self.h.fh_close(fh);
        } else {
            let (major, minor) = super::attr::decode_dev(rdev);
            self.h
                .mknod(mode, major, minor, &path)
                .map_err(|e| errno(&e))?;
        }
        let (id, st) = self.created(parent, name, &path, perm)?;
        Ok(file_attr(id, &st))
    }

    /// symlink(2).
    pub fn symlink(&self, parent: u64, name: &[u8], target: &[u8]) -> Result<FileAttr, Errno> {
        self.writable()?;
        let path = self.child_path(parent, name)?;
        self.h
            .ln_s(LinkTarget::from(target), &path)
            .map_err(|e| errno(&e))?;
        let (id, st) = self.created(parent, name, &path, None)?;
        Ok(file_attr(id, &st))
    }

    /// link(2): a new name for node `id`.
    pub fn link(&self, id: u64, newparent: u64, newname: &[u8]) -> Result<FileAttr, Errno> {
        self.writable()?;
        let target = self.path(id)?;
        let path = self.child_path(newparent, newname)?;
        self.h.ln(&target, &path).map_err(|e| errno(&e))?;
        let (id, st) = self.created(newparent, newname, &path, None)?;
        Ok(file_attr(id, &st))
    }

    /// unlink(2) or rmdir(2).
    pub fn remove(&self, parent: u64, name: &[u8], dir: bool) -> Result<(), Errno> {
        self.writable()?;
        let path = self.child_path(parent, name)?;
        let pin = if dir {
            self.pin_if_open(parent, name, &path)
        } else {
            self.keep_open(parent, name);
            None
        };
        let r = if dir {
            self.h.rmdir(&path)
        } else {
            self.h.rm(&path)
        };
        self.pinned(pin, r.is_ok());
        r.map_err(|e| errno(&e))?;
        self.table().removed(parent, name);
        Ok(())
    }

    /// Before `name` in `parent` (at `path`) may be removed: if it is a directory the
    /// kernel holds open, a daemon handle of it (see `dirs`), with its node.
    fn pin_if_open(&self, parent: u64, name: &[u8], path: &GuestPath) -> Option<(u64, FileHandle)> {
        let id = self.table().child(parent, name)?;
        if !self.dirs.is_open(id) {
            return None;
        }
        match self.h.fh_open(path, libc::O_RDONLY | libc::O_DIRECTORY) {
            Ok(handle) => Some((id, handle)),
            // Not a directory, or gone: the removal answers for itself.
            Err(e) => {
                log::debug!("keeping {path} open: {}", guestwright::error::chain(&e));
                None
            }
        }
    }

    /// After a removal: keeps the pin if the directory is gone, else closes it.
    fn pinned(&self, pin: Option<(u64, FileHandle)>, removed: bool) {
        let Some((id, handle)) = pin else { return };
        let close = if removed {
            self.dirs.pin(id, handle)
        } else {
            vec![handle]
        };
        for h in close {
            self.close_pin(h);
        }
    }

    /// Closes a directory's pin.
    pub fn close_pin(&self, handle: FileHandle) {
        if let Err(e) = self.h.fh_close(handle) {
            log::debug!(
                "closing directory handle {}: {}",
                handle.0,
                guestwright::error::chain(&e)
            );
        }
    }

    /// rename(2) with renameat2's RENAME_NOREPLACE and RENAME_EXCHANGE.
    pub fn rename(
        &self,
        parent: u64,
        name: &[u8],
        newparent: u64,
        newname: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        self.writable()?;
        let noreplace = flags & libc::RENAME_NOREPLACE != 0;
        let exchange = flags & libc::RENAME_EXCHANGE != 0;
        if flags & !(libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE) != 0 {
            return Err(libc::EINVAL);
        }
        let from = self.child_path(parent, name)?;
        let to = self.child_path(newparent, newname)?;
        // A directory renamed over is removed like rmdir's, and a file renamed over loses
        // the name its open files are read by.
        let pin = if exchange || noreplace {
            None
        } else {
            self.keep_open(newparent, newname);
            self.pin_if_open(newparent, newname, &to)
        };
        let r = self.h.run(
            args::Rename::new(&from, &to)
                .noreplace(noreplace)
                .exchange(exchange),
        );
        self.pinned(pin, r.is_ok());
        r.map_err(|e| errno(&e))?;
        self.table()
            .renamed(parent, name, newparent, newname, exchange);
        Ok(())
    }

    // ---- files ----

    /// The open file behind a FUSE file handle.
    pub fn file(&self, fh: u64) -> Option<Arc<OpenFile>> {
        lock(&self.files).get(&fh).cloned()
    }

    /// One open file of node `id` with a daemon handle (the oldest), if any.
    fn open_file_of(&self, id: u64) -> Option<Arc<OpenFile>> {
        lock(&self.files)
            .values()
            .filter_map(|f| Some((f.handle()?, f)))
            .filter(|(_, f)| f.ino == id)
            .min_by_key(|(handle, _)| handle.0)
            .map(|(_, f)| f.clone())
    }

    fn register(&self, handle: FileHandle, id: u64, flags: i32) -> u64 {
        lock(&self.files).insert(handle.0, Arc::new(OpenFile::new(handle, id, flags)));
        handle.0
    }

    /// The daemon's handle of an open file, opening one by the file's path if it is read by
    /// path.
    fn handle_of(&self, file: &OpenFile) -> Result<FileHandle, Errno> {
        if let Some(handle) = file.handle() {
            return Ok(handle);
        }
        let path = self.path(file.ino)?;
        let opened = self.h.fh_open(&path, file.flags).map_err(|e| errno(&e))?;
        let (handle, extra) = file.set_handle(opened);
        if let Some(extra) = extra {
            let _ = self.h.fh_close(extra);
        }
        Ok(handle)
    }

    /// Before `name` in `parent` may stop naming its file (unlink, or rename over it): the
    /// files the kernel holds open by that name get daemon handles, which keep reaching the
    /// file afterwards, as open files do.
    fn keep_open(&self, parent: u64, name: &[u8]) {
        let Some(id) = self.table().child(parent, name) else {
            return;
        };
        let by_path: Vec<Arc<OpenFile>> = lock(&self.files)
            .values()
            .filter(|f| f.ino == id && f.handle().is_none())
            .cloned()
            .collect();
        for f in by_path {
            if let Err(e) = self.handle_of(&f) {
                log::debug!("keeping node {id} open: errno {e}");
            }
        }
    }

    /// The open(2) flags the daemon opens with. With the writeback cache the kernel reads
    /// pages of files opened write-only (to fill a page before a partial write) and places
    /// O_APPEND writes itself, at the end it knows.
    fn daemon_flags(&self, flags: i32) -> i32 {
        let flags = flags & OPEN_FLAGS;
        if !self.writeback {
            return flags;
        }
        let flags = flags & !libc::O_APPEND;
        if flags & libc::O_ACCMODE == libc::O_WRONLY {
            (flags & !libc::O_ACCMODE) | libc::O_RDWR
        } else {
            flags
        }
    }

    /// open(2) of an existing file.
    pub fn open(&self, id: u64, flags: i32) -> Result<u64, Errno> {
        if flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0 {
            self.writable()?;
        }
        let path = self.path(id)?;
        let flags = self.daemon_flags(flags);
        if flags & (libc::O_ACCMODE | libc::O_TRUNC) == libc::O_RDONLY && self.is_regular(id) {
            // Read by path: no round trip now, none at the close.
            let fh = self.next_by_path.fetch_add(1, Ordering::Relaxed);
            lock(&self.files).insert(fh, Arc::new(OpenFile::by_path(id, flags)));
            return Ok(fh);
        }
        if flags & libc::O_TRUNC != 0 {
            // Writes gathered through another open must not land after the truncate.
            self.push_node(Some(id));
        }
        let handle = self.h.fh_open(&path, flags).map_err(|e| errno(&e))?;
        if flags & libc::O_TRUNC != 0 {
            self.generation.bump();
            self.table().invalidate_stat(id);
        }
        Ok(self.register(handle, id, flags))
    }

    /// open(2) with O_CREAT of a name the kernel saw absent.
    pub fn create(
        &self,
        parent: u64,
        name: &[u8],
        mode: u32,
        umask: u32,
        flags: i32,
    ) -> Result<(FileAttr, u64), Errno> {
        self.writable()?;
        let path = self.child_path(parent, name)?;
        let (mode, perm) = self.creation_mode(parent, mode, umask);
        let excl = flags & libc::O_EXCL != 0;
        let flags = self.daemon_flags(flags);
        let handle = match self.h.fh_create(&path, Mode(mode & 0o7777), flags) {
            Ok(h) => h,
            // Created meanwhile: without O_EXCL, open(2) opens it.
            Err(e) if errno(&e) == libc::EEXIST && !excl => {
                self.h.fh_open(&path, flags).map_err(|e| errno(&e))?
            }
            Err(e) => return Err(errno(&e)),
        };
        match self.created(parent, name, &path, perm) {
            Ok((id, st)) => Ok((file_attr(id, &st), self.register(handle, id, flags))),
            Err(e) => {
                let _ = self.h.fh_close(handle);
                Err(e)
            }
        }
    }

    /// read(2) from the small files already fetched, if it can be answered without a
    /// round trip or a wait.
    pub fn read_cached(&self, fh: u64, offset: u64, size: u32) -> Option<Vec<u8>> {
        let small = self.small.as_ref()?;
        small.cached(self.file(fh)?.ino, offset, size)
    }

    /// read(2) at an offset: a small file of a read-only mount in a batch with its
    /// neighbours, others through read-ahead.
    pub fn read(&self, fh: u64, offset: u64, size: u32) -> Result<Vec<u8>, Errno> {
        let file = self.file(fh).ok_or(libc::EBADF)?;
        self.push_node(Some(file.ino));
        let (size_hint, path) = {
            let t = self.table();
            let size = t.last_stat(file.ino).map_or(u64::MAX, |s| s.size);
            (size, t.path(file.ino))
        };
        if let Some(small) = self.small.as_ref().filter(|_| size_hint <= small::MAX_FILE) {
            if let Some(data) = small.read(&self.h, &self.table, file.ino, size_hint, offset, size)
            {
                return Ok(data);
            }
        }
        super::io::read(
            &self.h,
            &file,
            &self.generation,
            offset,
            size,
            size_hint,
            path,
        )
    }

    /// write(2) at an offset: gathered for a later push when the kernel's writeback cache
    /// is on and the file was not opened for synchronous writes, else sent at once.
    pub fn write(&self, fh: u64, offset: u64, data: Vec<u8>) -> Result<u32, Errno> {
        self.writable()?;
        let file = self.file(fh).ok_or(libc::EBADF)?;
        self.generation.bump();
        let n = data.len() as u32;
        if self.writeback && file.flags & (libc::O_SYNC | libc::O_DSYNC) == 0 {
            let handle = self.handle_of(&file)?;
            self.gathered.store(true, Ordering::Release);
            while !file.pending.gather(offset, &data) {
                // Full: this write waits for the push, as the kernel's writer is throttled.
                if let Err(e) = self.push(&file, handle) {
                    self.table().invalidate_stat(file.ino);
                    return Err(e);
                }
            }
            self.table().changed(file.ino);
            return Ok(n);
        }
        let handle = self.handle_of(&file)?;
        let r = self.h.fh_write(handle, ByteSize(offset), Data(data));
        self.table().changed(file.ino);
        r.map(|n| n as u32).map_err(|e| errno(&e))
    }

    /// Sends what `file` has gathered, in as many calls as it takes, and waits for a push
    /// already in flight. An error is also kept for the node's next fsync or close.
    fn push(&self, file: &OpenFile, handle: FileHandle) -> Result<(), Errno> {
        let mut result = Ok(());
        while let Some(ranges) = file.pending.take() {
            let (offsets, lengths, data) = ranges.into_call();
            let r = self.h.fh_write_ranges(
                handle,
                offsets.into_iter().map(ByteSize).collect::<Vec<_>>(),
                lengths.into_iter().map(ByteSize).collect::<Vec<_>>(),
                Data(data),
            );
            file.pending.sent();
            // Read-ahead fetched while the data was on its way may predate it.
            self.generation.bump();
            if let Err(e) = r {
                let e = errno(&e);
                lock(&self.write_errors).entry(file.ino).or_insert(e);
                result = result.and(Err(e));
            }
        }
        result
    }

    /// Sends the gathered writes of every open file of node `id` (None: of every node)
    /// before something reads its data or size another way. Errors are kept for the
    /// node's next fsync or close (see [`Shared::take_write_error`]).
    pub fn push_node(&self, id: Option<u64>) {
        if !self.gathered.load(Ordering::Acquire) {
            return;
        }
        for f in self.files_of(id) {
            if let Some(handle) = f.handle().filter(|_| f.pending.busy()) {
                let _ = self.push(&f, handle);
            }
        }
    }

    /// The first error of a push of node `id`'s writes since the last report, reported once.
    fn take_write_error(&self, id: u64) -> Result<(), Errno> {
        let error = lock(&self.write_errors).remove(&id);
        error.map_or(Ok(()), Err)
    }

    /// Whether a close of `fh` has anything to push or report, so needs a worker.
    pub fn flush_needed(&self, fh: u64) -> bool {
        let Some(file) = self.file(fh) else {
            return false;
        };
        (self.gathered.load(Ordering::Acquire) && self.node_busy(file.ino))
            || lock(&self.write_errors).contains_key(&file.ino)
    }

    fn node_busy(&self, id: u64) -> bool {
        self.files_of(Some(id)).iter().any(|f| f.pending.busy())
    }

    /// The open files of node `id` (None: all), taken out of the table's lock (which is a
    /// leaf: a file's gathered writes are not looked at under it).
    fn files_of(&self, id: Option<u64>) -> Vec<Arc<OpenFile>> {
        lock(&self.files)
            .values()
            .filter(|f| id.is_none_or(|id| f.ino == id))
            .cloned()
            .collect()
    }

    /// close(2) of one descriptor (FUSE flush): pushes the node's gathered writes and
    /// reports the first error of any push of them, as close(2) reports writeback errors.
    pub fn flush(&self, fh: u64) -> Result<(), Errno> {
        let file = self.file(fh).ok_or(libc::EBADF)?;
        self.push_node(Some(file.ino));
        self.take_write_error(file.ino)
    }

    /// fsync(2) / fdatasync(2): the node's gathered writes first, then the guest's fsync.
    pub fn fsync(&self, fh: u64, datasync: bool) -> Result<(), Errno> {
        let file = self.file(fh).ok_or(libc::EBADF)?;
        self.push_node(Some(file.ino));
        let handle = self.handle_of(&file)?;
        let r = self
            .h
            .run(args::FhFsync::new(handle).datasync(datasync))
            .map_err(|e| errno(&e));
        // An earlier push's error counts even when the guest's fsync succeeds (the data
        // it lost is not on disk).
        self.take_write_error(file.ino).and(r)
    }

    /// The last close of an open file: its gathered writes are sent first (an error goes
    /// to the node's next fsync or close, or is lost with the last descriptor, as for a
    /// local filesystem's writeback).
    pub fn release(&self, fh: u64) {
        if let Some(file) = self.file(fh) {
            if let Some(handle) = file.handle() {
                if let Err(e) = self.push(&file, handle) {
                    log::warn!("writing back node {} at its close: errno {e}", file.ino);
                }
            }
        }
        // Out of the table first: the open-files lock must not be held across the round trip
        // (every read, write and fstat takes it).
        let mut files = lock(&self.files);
        let file = files.remove(&fh);
        let last = file
            .as_ref()
            .filter(|f| !files.values().any(|o| o.ino == f.ino))
            .map(|f| f.ino);
        drop(files);
        if let Some(id) = last {
            // Nobody is left to report it to: a later open starts afresh, as with errseq.
            lock(&self.write_errors).remove(&id);
        }
        if let Some(handle) = file.and_then(|f| f.handle()) {
            if let Err(e) = self.h.fh_close(handle) {
                log::debug!("closing {fh}: {}", guestwright::error::chain(&e));
            }
        }
    }

    // ---- directories ----

    /// opendir(3) of node `id`: a handle whose entries are fixed at the first read.
    pub fn opendir(&self, id: u64) -> u64 {
        self.dirs.open(id)
    }

    /// closedir(3): the pin to close (`close_pin`, a round trip) if the directory was
    /// removed while open and this was its last open handle.
    #[must_use]
    pub fn releasedir(&self, dh: u64) -> Option<FileHandle> {
        self.dirs.release(dh)
    }

    /// The open directory behind a handle.
    pub fn dir(&self, dh: u64) -> Option<Arc<Mutex<OpenDir>>> {
        self.dirs.get(dh)
    }

    /// The entries of directory `id` for a new read from the start: `.`, `..` and the
    /// listing, listing the directory first when the cache does not know it.
    pub fn entries(&self, id: u64) -> Result<Vec<Entry>, Errno> {
        let (cached, known) = {
            let t = self.table();
            (t.listing(id), t.listing_known(id))
        };
        let listing = match cached {
            Some(l) => l,
            None => {
                // Known but with changed entries (the mount wrote to them): this directory
                // alone; never listed: with what lies below.
                self.load_dir(id, !known)?;
                self.table().listing(id).ok_or(libc::EIO)?
            }
        };
        let (me, parent, up) = {
            let t = self.table();
            let me = t.last_stat(id).unwrap_or_default();
            let parent = t.parent(id).unwrap_or(ROOT);
            (me, parent, t.last_stat(parent).unwrap_or(me))
        };
        let mut out = Vec::with_capacity(listing.len() + 2);
        out.push((b".".to_vec(), id, me));
        out.push((b"..".to_vec(), parent, up));
        out.extend(listing);
        Ok(out)
    }

    /// Counts readdirplus entries the kernel was given as lookups.
    pub fn counted(&self, ids: &[u64]) {
        let mut t = self.table();
        for id in ids {
            t.add_lookup(*id);
        }
    }

    /// Forgets kernel references.
    pub fn forget(&self, id: u64, n: u64) {
        let mut t = self.table();
        t.forget(id, n);
        t.trim();
    }

    // ---- filesystem ----

    /// statfs(2) of the guest root.
    pub fn statfs(&self) -> Result<StatVfs, Errno> {
        // The free space counts what was written.
        self.push_node(None);
        self.h.statvfs(GuestPath::from("/")).map_err(|e| errno(&e))
    }

    // ---- extended attributes ----

    /// Every extended attribute of a node, from the cache or with one round trip.
    pub fn xattrs(&self, id: u64) -> Result<Vec<XAttr>, Errno> {
        let cached = self.table().xattrs(id);
        if let Some(x) = cached {
            return Ok(x);
        }
        let path = self.path(id)?;
        let x = match self.h.lgetxattrs(&path) {
            Ok(x) => x,
            Err(e) if errno(&e) == libc::EOPNOTSUPP => Vec::new(),
            Err(e) => return Err(errno(&e)),
        };
        self.table().set_xattrs(id, x.clone());
        Ok(x)
    }

    /// The cached extended attributes of a node, if fresh.
    pub fn xattrs_cached(&self, id: u64) -> Option<Vec<XAttr>> {
        self.table().xattrs(id)
    }

    /// setxattr(2) with XATTR_CREATE / XATTR_REPLACE.
    pub fn setxattr(&self, id: u64, name: &str, value: &[u8], flags: i32) -> Result<(), Errno> {
        self.writable()?;
        if flags & (libc::XATTR_CREATE | libc::XATTR_REPLACE) != 0 {
            let exists = self.xattrs(id)?.iter().any(|x| x.name == name);
            if flags & libc::XATTR_CREATE != 0 && exists {
                return Err(libc::EEXIST);
            }
            if flags & libc::XATTR_REPLACE != 0 && !exists {
                return Err(libc::ENODATA);
            }
        }
        // An xattr value is at most 64 KiB; the kernel has already refused longer ones.
        let vallen = i32::try_from(value.len()).map_err(|_| libc::E2BIG)?;
        let path = self.path(id)?;
        let r = self.h.lsetxattr(name, Data(value.to_vec()), vallen, &path);
        let mut t = self.table();
        t.invalidate_xattrs(id);
        t.invalidate_stat(id);
        drop(t);
        r.map_err(|e| errno(&e))
    }

    /// removexattr(2).
    pub fn removexattr(&self, id: u64, name: &str) -> Result<(), Errno> {
        self.writable()?;
        let path = self.path(id)?;
        let r = self.h.lremovexattr(name, &path);
        let mut t = self.table();
        t.invalidate_xattrs(id);
        t.invalidate_stat(id);
        drop(t);
        r.map_err(|e| errno(&e))
    }
}
