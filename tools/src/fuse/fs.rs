//! The fuser `Filesystem`: answers from the caches on fuser's thread when no round trip is
//! needed, and hands everything else to the pool so that many requests are in flight on the
//! channel at once. No lock is held across a round trip.

use super::attr::utime;
use super::ops::Shared;
use super::pool::Pool;
use fuser::consts::{
    FOPEN_CACHE_DIR, FOPEN_KEEP_CACHE, FUSE_ATOMIC_O_TRUNC, FUSE_CACHE_SYMLINKS, FUSE_DONT_MASK,
    FUSE_DO_READDIRPLUS, FUSE_PARALLEL_DIROPS, FUSE_READDIRPLUS_AUTO, FUSE_WRITEBACK_CACHE,
};
use fuser::{
    FileAttr, Filesystem, KernelConfig, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr,
    Request, TimeOrNow,
};
use guestwright::protocol::XAttr;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

/// Largest read or write request the kernel sends (its limit is 256 pages).
const MAX_IO: u32 = 1 << 20;
/// Threads serving requests that need the appliance.
const WORKERS: usize = 16;

/// The filesystem fuser drives.
#[derive(Debug)]
pub struct GuestFs {
    shared: Arc<Shared>,
    pool: Pool,
}

impl GuestFs {
    /// Serves `shared` with a pool of workers.
    pub fn new(shared: Arc<Shared>) -> std::io::Result<GuestFs> {
        Ok(GuestFs {
            shared,
            pool: Pool::new(WORKERS, WORKERS * 4)?,
        })
    }

    /// Runs `f` on a worker with the shared state.
    fn spawn(&self, f: impl FnOnce(&Shared) + Send + 'static) {
        let s = self.shared.clone();
        self.pool.run(move || f(&s));
    }
}

fn xattr_reply(reply: ReplyXattr, bytes: &[u8], size: u32) {
    if size == 0 {
        reply.size(bytes.len() as u32);
    } else if bytes.len() > size as usize {
        reply.error(libc::ERANGE);
    } else {
        reply.data(bytes);
    }
}

fn getxattr_reply(reply: ReplyXattr, x: &[XAttr], name: &[u8], size: u32) {
    match x.iter().find(|a| a.name.as_bytes() == name) {
        Some(a) => xattr_reply(reply, &a.value.0, size),
        None => reply.error(libc::ENODATA),
    }
}

fn listxattr_reply(reply: ReplyXattr, x: &[XAttr], size: u32) {
    let mut list = Vec::new();
    for a in x {
        list.extend_from_slice(a.name.as_bytes());
        list.push(0);
    }
    xattr_reply(reply, &list, size);
}

fn entry(reply: ReplyEntry, s: &Shared, r: Result<FileAttr, i32>) {
    match r {
        Ok(a) => reply.entry(&s.entry_ttl, &a, 0),
        Err(e) => reply.error(e),
    }
}

fn attr(reply: ReplyAttr, s: &Shared, r: Result<FileAttr, i32>) {
    match r {
        Ok(a) => reply.attr(&s.attr_ttl, &a),
        Err(e) => reply.error(e),
    }
}

fn empty(reply: ReplyEmpty, r: Result<(), i32>) {
    match r {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(e),
    }
}

fn bytes(name: &OsStr) -> Vec<u8> {
    name.as_bytes().to_vec()
}

impl Filesystem for GuestFs {
    fn init(&mut self, _req: &Request<'_>, config: &mut KernelConfig) -> Result<(), libc::c_int> {
        // Each capability on its own: an old kernel lacking one still mounts.
        for cap in [
            FUSE_ATOMIC_O_TRUNC,
            FUSE_DO_READDIRPLUS,
            FUSE_READDIRPLUS_AUTO,
            FUSE_PARALLEL_DIROPS,
            FUSE_CACHE_SYMLINKS,
            // The mode of a new file unmasked, with the caller's umask beside it: in a
            // directory with a default ACL the ACL, not the umask, decides.
            FUSE_DONT_MASK,
        ] {
            let _ = config.add_capabilities(cap);
        }
        if self.shared.writeback {
            if let Err(e) = config.add_capabilities(FUSE_WRITEBACK_CACHE) {
                log::debug!("the kernel has no FUSE writeback cache ({e:#x}): writing through");
            }
        }
        let _ = config.set_max_write(MAX_IO);
        if let Err(most) = config.set_max_readahead(MAX_IO) {
            let _ = config.set_max_readahead(most);
        }
        let _ = config.set_max_background(64);
        let _ = config.set_congestion_threshold(48);
        Ok(())
    }

    fn destroy(&mut self) {
        // Normally every file was released (and pushed) before the unmount; a forced one
        // may leave gathered writes.
        self.shared.push_node(None);
    }

    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        if let Err(e) = super::ops::check_name(name.as_bytes()) {
            return reply.error(e);
        }
        if let Some(a) = self.shared.lookup_cached(parent, name.as_bytes()) {
            return reply.entry(&self.shared.entry_ttl, &a, 0);
        }
        let name = bytes(name);
        self.spawn(move |s| entry(reply, s, s.lookup(parent, &name)));
    }

    fn forget(&mut self, _req: &Request<'_>, ino: u64, nlookup: u64) {
        self.shared.forget(ino, nlookup);
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, fh: Option<u64>, reply: ReplyAttr) {
        if let Some(a) = self.shared.getattr_cached(ino) {
            return reply.attr(&self.shared.attr_ttl, &a);
        }
        self.spawn(move |s| attr(reply, s, s.getattr(ino, fh)));
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        let (at, mt) = (utime(atime), utime(mtime));
        self.spawn(move |s| {
            let r = s.setattr(ino, mode, uid, gid, size, at, mt, fh);
            attr(reply, s, r)
        });
    }

    fn readlink(&mut self, _req: &Request<'_>, ino: u64, reply: ReplyData) {
        self.spawn(move |s| match s.readlink(ino) {
            Ok(t) => reply.data(&t),
            Err(e) => reply.error(e),
        });
    }

    fn mknod(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let name = bytes(name);
        self.spawn(move |s| entry(reply, s, s.mknod(parent, &name, mode, umask, rdev)));
    }

    fn mkdir(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let name = bytes(name);
        self.spawn(move |s| entry(reply, s, s.mkdir(parent, &name, mode, umask)));
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let name = bytes(name);
        self.spawn(move |s| empty(reply, s.remove(parent, &name, false)));
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let name = bytes(name);
        self.spawn(move |s| empty(reply, s.remove(parent, &name, true)));
    }

    fn symlink(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let (name, target) = (bytes(link_name), bytes(target.as_os_str()));
        self.spawn(move |s| entry(reply, s, s.symlink(parent, &name, &target)));
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: u32,
        reply: ReplyEmpty,
    ) {
        let (name, newname) = (bytes(name), bytes(newname));
        self.spawn(move |s| empty(reply, s.rename(parent, &name, newparent, &newname, flags)));
    }

    fn link(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        newparent: u64,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let newname = bytes(newname);
        self.spawn(move |s| entry(reply, s, s.link(ino, newparent, &newname)));
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, flags: i32, reply: ReplyOpen) {
        self.spawn(move |s| match s.open(ino, flags) {
            Ok(fh) => reply.opened(fh, FOPEN_KEEP_CACHE),
            Err(e) => reply.error(e),
        });
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        if offset < 0 {
            return reply.error(libc::EINVAL);
        }
        if let Some(d) = self.shared.read_cached(fh, offset as u64, size) {
            return reply.data(&d);
        }
        self.spawn(move |s| match s.read(fh, offset as u64, size) {
            Ok(d) => reply.data(&d),
            Err(e) => reply.error(e),
        });
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        if offset < 0 {
            return reply.error(libc::EINVAL);
        }
        // fuser reuses its buffer for the next request.
        let data = data.to_vec();
        self.spawn(move |s| match s.write(fh, offset as u64, data) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        });
    }

    fn flush(&mut self, _req: &Request<'_>, _ino: u64, fh: u64, _lock: u64, reply: ReplyEmpty) {
        // The kernel writes its cached pages back before it sends a flush; what this mount
        // gathered of them goes now, so that close(2) reports a failed write.
        if !self.shared.flush_needed(fh) {
            return reply.ok();
        }
        self.spawn(move |s| empty(reply, s.flush(fh)));
    }

    fn release(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        // Nobody waits for a close: answer at once, close on a worker (before shutdown,
        // which waits for the pool).
        reply.ok();
        self.spawn(move |s| s.release(fh));
    }

    fn fsync(&mut self, _req: &Request<'_>, _ino: u64, fh: u64, datasync: bool, reply: ReplyEmpty) {
        self.spawn(move |s| empty(reply, s.fsync(fh, datasync)));
    }

    fn opendir(&mut self, _req: &Request<'_>, ino: u64, _flags: i32, reply: ReplyOpen) {
        reply.opened(self.shared.opendir(ino), FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR);
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        self.spawn(move |s| {
            let entries = match snapshot(s, ino, fh, offset) {
                Ok(e) => e,
                Err(e) => return reply.error(e),
            };
            for (i, (name, id, st)) in entries.iter().enumerate().skip(offset.max(0) as usize) {
                let kind = super::attr::file_type(st.mode);
                if reply.add(*id, i as i64 + 1, kind, OsStr::from_bytes(name)) {
                    break;
                }
            }
            reply.ok();
        });
    }

    fn readdirplus(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        fh: u64,
        offset: i64,
        mut reply: ReplyDirectoryPlus,
    ) {
        self.spawn(move |s| {
            let entries = match snapshot(s, ino, fh, offset) {
                Ok(e) => e,
                Err(e) => return reply.error(e),
            };
            let mut given = Vec::new();
            for (i, (name, id, st)) in entries.iter().enumerate().skip(offset.max(0) as usize) {
                let a = s.attr(*id, st);
                if reply.add(
                    *id,
                    i as i64 + 1,
                    OsStr::from_bytes(name),
                    &s.entry_ttl,
                    &a,
                    0,
                ) {
                    break;
                }
                // The kernel takes a reference on every entry but `.` and `..`.
                if i >= 2 {
                    given.push(*id);
                }
            }
            s.counted(&given);
            reply.ok();
        });
    }

    fn releasedir(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _flags: i32,
        reply: ReplyEmpty,
    ) {
        if let Some(pin) = self.shared.releasedir(fh) {
            self.spawn(move |s| s.close_pin(pin));
        }
        reply.ok();
    }

    fn fsyncdir(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        _fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        // Directory changes are synced with everything else at unmount; nothing to do per
        // directory that `sync` would not do better.
        reply.ok();
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: ReplyStatfs) {
        self.spawn(move |s| match s.statfs() {
            Ok(v) => reply.statfs(
                v.blocks,
                v.bfree,
                v.bavail,
                v.files,
                v.ffree,
                v.bsize as u32,
                v.namemax as u32,
                v.frsize as u32,
            ),
            Err(e) => reply.error(e),
        });
    }

    fn setxattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        let Some(name) = name.to_str().map(str::to_string) else {
            return reply.error(libc::EINVAL);
        };
        let value = value.to_vec();
        self.spawn(move |s| empty(reply, s.setxattr(ino, &name, &value, flags)));
    }

    fn getxattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        name: &OsStr,
        size: u32,
        reply: ReplyXattr,
    ) {
        if let Some(x) = self.shared.xattrs_cached(ino) {
            return getxattr_reply(reply, &x, name.as_bytes(), size);
        }
        let name = bytes(name);
        self.spawn(move |s| match s.xattrs(ino) {
            Ok(x) => getxattr_reply(reply, &x, &name, size),
            Err(e) => reply.error(e),
        });
    }

    fn listxattr(&mut self, _req: &Request<'_>, ino: u64, size: u32, reply: ReplyXattr) {
        if let Some(x) = self.shared.xattrs_cached(ino) {
            return listxattr_reply(reply, &x, size);
        }
        self.spawn(move |s| match s.xattrs(ino) {
            Ok(x) => listxattr_reply(reply, &x, size),
            Err(e) => reply.error(e),
        });
    }

    fn removexattr(&mut self, _req: &Request<'_>, ino: u64, name: &OsStr, reply: ReplyEmpty) {
        let Some(name) = name.to_str().map(str::to_string) else {
            return reply.error(libc::ENODATA);
        };
        self.spawn(move |s| empty(reply, s.removexattr(ino, &name)));
    }

    fn access(&mut self, _req: &Request<'_>, ino: u64, mask: i32, reply: ReplyEmpty) {
        self.spawn(move |s| empty(reply, s.access(ino, mask)));
    }

    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let name = bytes(name);
        self.spawn(move |s| match s.create(parent, &name, mode, umask, flags) {
            Ok((a, fh)) => reply.created(&s.entry_ttl, &a, 0, fh, FOPEN_KEEP_CACHE),
            Err(e) => reply.error(e),
        });
    }
}

type Entries = Arc<Vec<super::ops::Entry>>;

/// The entries of an open directory, fixed at its first read from offset 0 so that offsets
/// stay meaningful while the directory changes. Listing may take round trips and the node
/// table's lock, so it runs with the directory unlocked.
fn snapshot(s: &Shared, ino: u64, fh: u64, offset: i64) -> Result<Entries, i32> {
    let dir = s.dir(fh).ok_or(libc::EBADF)?;
    let cached = if offset == 0 {
        None
    } else {
        dir.lock().entries.clone()
    };
    if let Some(entries) = cached {
        return Ok(entries);
    }
    let fresh = Arc::new(s.entries(ino)?);
    let mut d = dir.lock();
    // A read past the start keeps what a concurrent read installed meanwhile: its offsets
    // may already have been handed out.
    let entries = match &d.entries {
        Some(e) if offset != 0 => e.clone(),
        _ => {
            d.entries = Some(fresh.clone());
            fresh
        }
    };
    drop(d);
    Ok(entries)
}
