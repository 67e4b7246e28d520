//! One side of the comparison (the host directory or the mount): applying an operation with
//! real system calls, and what is compared afterwards.
//!
//! Compared: the result or errno of every call, the data read, sorted directory listings
//! (names and types), sorted extended attribute names, and the attributes that both ext4
//! and tmpfs keep the same way: file type, permission bits (with setuid, setgid, sticky),
//! size (not of directories, whose size depends on the filesystem's block size and layout),
//! link count, and the modification time when it was set explicitly (every explicit time
//! lies before [`EXPLICIT_BEFORE`]; a later one is "recent", set by the filesystem).
//! Not compared: inode numbers, owners (the host directory belongs to the caller, the guest
//! files to the appliance's root), atime, ctime, block counts.

use super::ops::{Op, Time, EXPLICIT_BEFORE, SLOTS};
use super::sys::{self, errno_name, Errno, RawStat};
use crate::fusekit::bytes;
use std::fmt;
use std::path::{Path, PathBuf};

/// A modification time as compared.
#[derive(Clone, Copy, PartialEq)]
pub enum MTime {
    /// Set by the filesystem (after [`EXPLICIT_BEFORE`]).
    Recent,
    /// Set explicitly: seconds and nanoseconds.
    Set(i64, i64),
}

/// The attributes compared.
#[derive(Clone, PartialEq)]
pub struct Attr {
    pub kind: char,
    pub mode: u32,
    /// None for directories.
    pub size: Option<u64>,
    pub nlink: u64,
    pub mtime: MTime,
}

impl Attr {
    pub fn of(st: &RawStat) -> Attr {
        let kind = match st.mode & libc::S_IFMT {
            libc::S_IFREG => 'f',
            libc::S_IFDIR => 'd',
            libc::S_IFLNK => 'l',
            libc::S_IFIFO => 'p',
            libc::S_IFSOCK => 's',
            libc::S_IFCHR => 'c',
            libc::S_IFBLK => 'b',
            _ => '?',
        };
        Attr {
            kind,
            mode: st.mode & 0o7777,
            size: (kind != 'd').then_some(st.size),
            nlink: st.nlink,
            mtime: if st.mtime.0 < EXPLICIT_BEFORE {
                MTime::Set(st.mtime.0, st.mtime.1)
            } else {
                MTime::Recent
            },
        }
    }
}

impl fmt::Debug for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:04o} nlink={}", self.kind, self.mode, self.nlink)?;
        if let Some(s) = self.size {
            write!(f, " size={s}")?;
        }
        match self.mtime {
            MTime::Recent => write!(f, " mtime=recent"),
            MTime::Set(s, n) => write!(f, " mtime={s}.{n:09}"),
        }
    }
}

/// A successful result.
#[derive(Clone, PartialEq)]
pub enum Value {
    Done,
    /// The operation's descriptor slot was empty (or full, for an open) in a replay that
    /// left out the step that filled (or emptied) it: nothing was called.
    Skipped,
    Count(usize),
    Data(Vec<u8>),
    Attr(Attr),
    Names(Vec<String>),
}

/// FNV-1a, to name contents in messages.
pub fn digest(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ u64::from(*x)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Done => write!(f, "ok"),
            Value::Skipped => write!(f, "skipped"),
            Value::Count(n) => write!(f, "{n}"),
            Value::Data(d) if d.len() <= 48 => {
                write!(f, "{:?} ({} bytes)", String::from_utf8_lossy(d), d.len())
            }
            Value::Data(d) => write!(f, "{} bytes, digest {:016x}", d.len(), digest(d)),
            Value::Attr(a) => write!(f, "{a:?}"),
            Value::Names(n) => write!(f, "{n:?}"),
        }
    }
}

/// A result: a value or an errno.
#[derive(Clone, PartialEq)]
pub struct Res(pub Result<Value, Errno>);

impl fmt::Debug for Res {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Ok(v) => write!(f, "{v:?}"),
            Err(e) => write!(f, "{}", errno_name(*e)),
        }
    }
}

impl From<Result<(), Errno>> for Res {
    fn from(r: Result<(), Errno>) -> Res {
        Res(r.map(|()| Value::Done))
    }
}

/// Where the first difference between two results lies, when they carry data.
pub fn first_difference(a: &Res, b: &Res) -> Option<String> {
    match (&a.0, &b.0) {
        (Ok(Value::Data(x)), Ok(Value::Data(y))) => {
            let at = x
                .iter()
                .zip(y)
                .position(|(p, q)| p != q)
                .unwrap_or(x.len().min(y.len()));
            Some(format!("first difference at byte {at}"))
        }
        _ => None,
    }
}

fn utime(t: Time) -> sys::Time {
    match t {
        Time::Now => (0, libc::UTIME_NOW),
        Time::Omit => (0, libc::UTIME_OMIT),
        Time::At(s, n) => (s, n),
    }
}

/// A directory the operations are applied to, with its open descriptors.
#[derive(Debug)]
pub struct Side {
    pub root: PathBuf,
    fds: [Option<i32>; SLOTS],
}

impl Side {
    pub fn new(root: PathBuf) -> Side {
        Side {
            root,
            fds: [None; SLOTS],
        }
    }

    /// The absolute path of `rel` (`.` is the root; a trailing slash is kept).
    pub fn path(&self, rel: &str) -> PathBuf {
        if rel == "." {
            self.root.clone()
        } else {
            let mut s = self.root.clone().into_os_string();
            s.push("/");
            s.push(rel);
            PathBuf::from(s)
        }
    }

    /// Applies one operation (a sleep is the caller's: it happens once for both sides).
    pub fn apply(&mut self, op: &Op) -> Res {
        if let Some(slot) = op.slot() {
            let open = self.fds[slot].is_some();
            if matches!(op, Op::Open { .. }) == open {
                return Res(Ok(Value::Skipped));
            }
        }
        let fd = |slot: usize| self.fds[slot].expect("slot checked above");
        match op {
            Op::Open {
                slot,
                path,
                flags,
                mode,
            } => Res(sys::open(&self.path(path), *flags, *mode).map(|fd| {
                self.fds[*slot] = Some(fd);
                Value::Done
            })),
            Op::Close { slot } => {
                let fd = self.fds[*slot].take().expect("slot checked above");
                sys::close(fd).into()
            }
            Op::Pwrite {
                slot,
                offset,
                len,
                seed,
            } => Res(sys::pwrite(fd(*slot), &bytes(*seed, *len), *offset).map(Value::Count)),
            Op::Append { slot, len, seed } => {
                Res(sys::write(fd(*slot), &bytes(*seed, *len)).map(Value::Count))
            }
            Op::Pread { slot, offset, len } => {
                Res(sys::pread(fd(*slot), *len, *offset).map(Value::Data))
            }
            Op::ReadAll { path } => Res(read_file(&self.path(path)).map(Value::Data)),
            Op::Truncate { path, size } => sys::truncate(&self.path(path), *size).into(),
            Op::Ftruncate { slot, size } => sys::ftruncate(fd(*slot), *size).into(),
            Op::Rename { from, to, flags } => {
                sys::rename(&self.path(from), &self.path(to), *flags).into()
            }
            Op::Link { from, to } => sys::link(&self.path(from), &self.path(to)).into(),
            Op::Symlink { target, path } => sys::symlink(target, &self.path(path)).into(),
            Op::Readlink { path } => Res(sys::readlink(&self.path(path)).map(Value::Data)),
            Op::Mkdir { path, mode } => sys::mkdir(&self.path(path), *mode).into(),
            Op::Rmdir { path } => sys::rmdir(&self.path(path)).into(),
            Op::Unlink { path } => sys::unlink(&self.path(path)).into(),
            Op::Chmod { path, mode } => sys::chmod(&self.path(path), *mode).into(),
            Op::Fchmod { slot, mode } => sys::fchmod(fd(*slot), *mode).into(),
            Op::Utimens {
                path,
                atime,
                mtime,
                follow,
            } => sys::utimens(&self.path(path), utime(*atime), utime(*mtime), *follow).into(),
            Op::Futimens { slot, atime, mtime } => {
                sys::futimens(fd(*slot), utime(*atime), utime(*mtime)).into()
            }
            Op::SetXattr {
                path,
                name,
                len,
                seed,
                flags,
                follow,
            } => sys::setxattr(&self.path(path), name, &bytes(*seed, *len), *flags, *follow).into(),
            Op::GetXattr {
                path,
                name,
                size,
                follow,
            } => Res(
                sys::getxattr(&self.path(path), name, *size, *follow).map(|(n, v)| {
                    if *size == 0 {
                        Value::Count(n)
                    } else {
                        Value::Data(v)
                    }
                }),
            ),
            Op::ListXattr { path, size, follow } => {
                Res(
                    sys::listxattr(&self.path(path), *size, *follow).map(|(n, list)| {
                        if *size == 0 {
                            Value::Count(n)
                        } else {
                            Value::Names(xattr_names(&list))
                        }
                    }),
                )
            }
            Op::RemoveXattr { path, name, follow } => {
                sys::removexattr(&self.path(path), name, *follow).into()
            }
            Op::Readdir { path } => Res(listing(&self.path(path)).map(Value::Names)),
            Op::Stat { path, follow } => {
                Res(sys::stat(&self.path(path), *follow).map(|st| Value::Attr(Attr::of(&st))))
            }
            Op::Fstat { slot } => Res(sys::fstat(fd(*slot)).map(|st| Value::Attr(Attr::of(&st)))),
            Op::Fsync { slot, data_only } => sys::fsync(fd(*slot), *data_only).into(),
            Op::Access { path, mode } => sys::access(&self.path(path), *mode).into(),
            Op::Sleep { .. } => Res(Ok(Value::Done)),
        }
    }

    /// lstat of a path, as compared after each step.
    pub fn lstat(&self, rel: &str) -> Res {
        Res(sys::stat(&self.path(rel), false).map(|st| Value::Attr(Attr::of(&st))))
    }

    /// The host's view of an open descriptor: (file size, unlinked, a directory).
    pub fn fd_state(&self, slot: usize) -> Option<(u64, bool, bool)> {
        let st = sys::fstat(self.fds[slot]?).ok()?;
        Some((
            st.size,
            st.nlink == 0,
            st.mode & libc::S_IFMT == libc::S_IFDIR,
        ))
    }

    /// Closes every open descriptor; the results in slot order.
    pub fn close_all(&mut self) -> Vec<(usize, Res)> {
        (0..SLOTS)
            .filter_map(|s| self.fds[s].take().map(|fd| (s, sys::close(fd).into())))
            .collect()
    }

    /// The whole tree, one line per entry in name order: path, attributes, symlink target,
    /// contents (length and digest) and extended attributes (names and value digests).
    pub fn tree(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, ".", &mut out);
        out
    }
}

fn read_file(p: &Path) -> Result<Vec<u8>, Errno> {
    let fd = sys::open(p, libc::O_RDONLY, 0)?;
    let r = sys::read_to_end(fd);
    let c = sys::close(fd);
    let data = r?;
    c?;
    Ok(data)
}

fn xattr_names(list: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = list
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    v.sort();
    v
}

/// Sorted `name` (files), `name/` (directories), `name@` (symlinks) of a directory.
fn listing(p: &Path) -> Result<Vec<String>, Errno> {
    let io = |e: std::io::Error| e.raw_os_error().unwrap_or(libc::EIO);
    let mut v = Vec::new();
    for e in std::fs::read_dir(p).map_err(io)? {
        let e = e.map_err(io)?;
        let t = e.file_type().map_err(io)?;
        let mark = if t.is_dir() {
            "/"
        } else if t.is_symlink() {
            "@"
        } else if t.is_file() {
            ""
        } else {
            "?"
        };
        v.push(format!("{}{mark}", e.file_name().to_string_lossy()));
    }
    v.sort();
    Ok(v)
}

fn walk(root: &Path, rel: &str, out: &mut Vec<String>) {
    let p = if rel == "." {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let st = match sys::stat(&p, false) {
        Ok(st) => st,
        Err(e) => {
            out.push(format!("{rel}: lstat: {}", errno_name(e)));
            return;
        }
    };
    let a = Attr::of(&st);
    let mut line = format!("{rel}: {a:?}");
    match a.kind {
        'l' => match sys::readlink(&p) {
            Ok(t) => line.push_str(&format!(" -> {:?}", String::from_utf8_lossy(&t))),
            Err(e) => line.push_str(&format!(" readlink: {}", errno_name(e))),
        },
        'f' => match read_file(&p) {
            Ok(d) => line.push_str(&format!(" data={}:{:016x}", d.len(), digest(&d))),
            Err(e) => line.push_str(&format!(" read: {}", errno_name(e))),
        },
        _ => {}
    }
    match sys::listxattr(&p, 65536, false) {
        Ok((_, list)) => {
            for name in xattr_names(&list) {
                match sys::getxattr(&p, &name, 65536, false) {
                    Ok((_, v)) => {
                        line.push_str(&format!(" {name}={}:{:016x}", v.len(), digest(&v)))
                    }
                    Err(e) => line.push_str(&format!(" {name}: {}", errno_name(e))),
                }
            }
        }
        Err(e) => line.push_str(&format!(" listxattr: {}", errno_name(e))),
    }
    out.push(line);
    if a.kind == 'd' {
        match listing(&p) {
            Ok(names) => {
                for n in names {
                    let name = n.trim_end_matches(['/', '@']);
                    let child = if rel == "." {
                        name.to_string()
                    } else {
                        format!("{rel}/{name}")
                    };
                    walk(root, &child, out);
                }
            }
            Err(e) => out.push(format!("{rel}/: readdir: {}", errno_name(e))),
        }
    }
}
