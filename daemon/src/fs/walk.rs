//! Directory reading and tree walks on descriptors: `getdents64` records decoded by hand (so
//! names stay bytes and a listing can resume from a `d_off` cookie), and an iterative
//! depth-first walk that never follows a symlink and never re-resolves a path string.
//!
//! Every child is opened relative to its parent's descriptor with one name component and
//! `O_NOFOLLOW`, so a symlink or a rename in the guest cannot steer a walk outside the tree
//! it started in.

use crate::sys;
use guestwright_protocol::{FileKind, Stat};
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Once;

/// Bytes of `getdents64` records read per system call.
const DENTS_BUF: usize = 64 * 1024;

/// One raw directory entry.
#[derive(Debug, Clone)]
pub struct RawEntry {
    /// The name (never contains `/` or NUL).
    pub name: Vec<u8>,
    /// Inode number.
    pub ino: u64,
    /// Kind from `d_type` (may be `Unknown`).
    pub kind: FileKind,
    /// Cookie that resumes the listing after this entry.
    pub next: u64,
}

impl RawEntry {
    /// True for `.` and `..`.
    pub fn is_dot(&self) -> bool {
        self.name == b"." || self.name == b".."
    }
}

/// Reads a directory's entries in kernel order.
#[derive(Debug)]
pub struct DirReader {
    fd: OwnedFd,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
}

fn kind_of_dtype(d_type: u8) -> FileKind {
    match d_type {
        libc::DT_REG => FileKind::Regular,
        libc::DT_DIR => FileKind::Directory,
        libc::DT_LNK => FileKind::Symlink,
        libc::DT_BLK => FileKind::BlockDevice,
        libc::DT_CHR => FileKind::CharDevice,
        libc::DT_FIFO => FileKind::Fifo,
        libc::DT_SOCK => FileKind::Socket,
        _ => FileKind::Unknown,
    }
}

impl DirReader {
    /// Wraps a directory opened for reading.
    pub fn new(fd: OwnedFd) -> DirReader {
        DirReader {
            fd,
            buf: vec![0u8; DENTS_BUF],
            pos: 0,
            len: 0,
            eof: false,
        }
    }

    /// Continues after the entry whose `next` cookie this is (0 = from the start).
    pub fn seek(&mut self, cookie: u64) -> io::Result<()> {
        sys::seek_dir(self.fd.as_fd(), cookie)?;
        self.pos = 0;
        self.len = 0;
        self.eof = false;
        Ok(())
    }

    /// The directory's descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The next entry, or None at the end.
    pub fn next_entry(&mut self) -> io::Result<Option<RawEntry>> {
        loop {
            if self.pos < self.len {
                let rec = &self.buf[self.pos..self.len];
                // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                if rec.len() < 19 {
                    return Err(io::Error::from_raw_os_error(libc::EIO));
                }
                let ino = u64::from_ne_bytes(rec[0..8].try_into().expect("8 bytes"));
                let off = u64::from_ne_bytes(rec[8..16].try_into().expect("8 bytes"));
                let reclen = u16::from_ne_bytes([rec[16], rec[17]]) as usize;
                if reclen < 19 || reclen > rec.len() {
                    return Err(io::Error::from_raw_os_error(libc::EIO));
                }
                let name_bytes = &rec[19..reclen];
                let name_len = name_bytes
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(name_bytes.len());
                let entry = RawEntry {
                    name: name_bytes[..name_len].to_vec(),
                    ino,
                    kind: kind_of_dtype(rec[18]),
                    next: off,
                };
                self.pos += reclen;
                return Ok(Some(entry));
            }
            if self.eof {
                return Ok(None);
            }
            let n = sys::getdents64(self.fd.as_fd(), &mut self.buf)?;
            self.pos = 0;
            self.len = n;
            if n == 0 {
                self.eof = true;
            }
        }
    }
}

/// Opens `name` in `dir` as a directory for reading, without following a symlink.
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    sys::openat2(
        dir,
        name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        0,
        sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS,
    )
}

/// Reopens a directory descriptor (perhaps O_PATH) for reading.
pub fn reopen_dir(dir: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    open_dir_at(dir, c".")
}

/// The names in a directory, without `.` and `..`, sorted bytewise.
pub fn names(dir: BorrowedFd<'_>) -> io::Result<Vec<RawEntry>> {
    names_in(dir, Order::Bytewise)
}

/// The order a walk visits a directory's children in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Sorted by name, bytewise: the same on every filesystem.
    Bytewise,
    /// As the kernel lists them, which is what `find` (and so libguestfs's commands built
    /// on it, such as `checksums-out`) prints.
    Kernel,
}

fn names_in(dir: BorrowedFd<'_>, order: Order) -> io::Result<Vec<RawEntry>> {
    let mut r = DirReader::new(reopen_dir(dir)?);
    let mut out = Vec::new();
    while let Some(e) = r.next_entry()? {
        if !e.is_dot() {
            out.push(e);
        }
    }
    if order == Order::Bytewise {
        out.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(out)
}

/// `lstat` of `name` in `dir`.
pub fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<libc::stat> {
    sys::fstatat(dir, name, libc::AT_SYMLINK_NOFOLLOW)
}

/// `fstat` of a descriptor (O_PATH works).
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    sys::fstatat(fd, c"", libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW)
}

/// Converts the kernel's stat into the protocol's.
pub fn to_stat(st: &libc::stat) -> Stat {
    Stat {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
        nlink: st.st_nlink,
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: st.st_rdev,
        size: st.st_size as u64,
        blksize: st.st_blksize as u64,
        blocks: st.st_blocks as u64,
        atime: st.st_atime,
        atime_nsec: st.st_atime_nsec,
        mtime: st.st_mtime,
        mtime_nsec: st.st_mtime_nsec,
        ctime: st.st_ctime,
        ctime_nsec: st.st_ctime_nsec,
    }
}

/// True if the mode is a directory.
pub fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// What a walk sees at each entry.
#[derive(Debug)]
pub struct Visit<'a> {
    /// The directory that holds the entry.
    pub dir: BorrowedFd<'a>,
    /// The entry's name in it.
    pub name: &'a CStr,
    /// The path from the walk's root: `a/b/c`.
    pub rel: &'a [u8],
    /// `lstat` of the entry.
    pub stat: &'a libc::stat,
}

/// Callbacks of [`walk`].
pub trait Visitor {
    /// Called for every entry, parents before children. Return true to descend into a
    /// directory.
    fn enter(&mut self, v: &Visit<'_>) -> io::Result<bool>;
    /// Called after a directory's children, with the directory opened for reading.
    fn leave(&mut self, _v: &Visit<'_>, _dir: BorrowedFd<'_>) -> io::Result<()> {
        Ok(())
    }
}

struct Frame {
    fd: OwnedFd,
    entries: Vec<RawEntry>,
    index: usize,
    rel_len: usize,
    /// The entry this frame is, in its parent frame (None for the root).
    stat: Option<libc::stat>,
}

static RAISE_LIMIT: Once = Once::new();

/// Walks the tree below `root` (a directory; not itself visited), depth first, children in
/// bytewise order. Symlinks are reported, never followed.
pub fn walk(root: BorrowedFd<'_>, visitor: &mut dyn Visitor) -> io::Result<()> {
    walk_in(root, visitor, Order::Bytewise)
}

/// [`walk`] with the children of each directory in `order`.
pub fn walk_in(root: BorrowedFd<'_>, visitor: &mut dyn Visitor, order: Order) -> io::Result<()> {
    // One descriptor per level of depth.
    RAISE_LIMIT.call_once(|| sys::raise_nofile_limit(65536));
    let root_fd = reopen_dir(root)?;
    let entries = names_in(root_fd.as_fd(), order)?;
    let mut stack = vec![Frame {
        fd: root_fd,
        entries,
        index: 0,
        rel_len: 0,
        stat: None,
    }];
    let mut rel: Vec<u8> = Vec::new();
    while let Some(top) = stack.last_mut() {
        if top.index >= top.entries.len() {
            let done = stack.pop().expect("non-empty");
            if let (Some(st), Some(parent)) = (done.stat, stack.last()) {
                let entry = &parent.entries[parent.index - 1];
                let name = sys::cstring(&entry.name)?;
                rel.truncate(done.rel_len);
                visitor.leave(
                    &Visit {
                        dir: parent.fd.as_fd(),
                        name: &name,
                        rel: &rel,
                        stat: &st,
                    },
                    done.fd.as_fd(),
                )?;
                rel.truncate(parent.rel_len);
            }
            continue;
        }
        let entry = &top.entries[top.index];
        top.index += 1;
        let name = sys::cstring(&entry.name)?;
        rel.truncate(top.rel_len);
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(&entry.name);
        let st = match lstat_at(top.fd.as_fd(), &name) {
            Ok(st) => st,
            // Removed since the listing: nothing to visit.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        let descend = visitor.enter(&Visit {
            dir: top.fd.as_fd(),
            name: &name,
            rel: &rel,
            stat: &st,
        })?;
        if descend && is_dir(&st) {
            let fd = open_dir_at(top.fd.as_fd(), &name)?;
            let entries = names_in(fd.as_fd(), order)?;
            let rel_len = rel.len();
            stack.push(Frame {
                fd,
                entries,
                index: 0,
                rel_len,
                stat: Some(st),
            });
        }
    }
    Ok(())
}

/// A one-component name from bytes; refuses `/`, NUL, `.` and `..`.
pub fn component(name: &[u8]) -> io::Result<CString> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "'{}' is not a single file name",
                guestwright_protocol::escape_bytes(name)
            ),
        ));
    }
    sys::cstring(name)
}
