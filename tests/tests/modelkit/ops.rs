//! The operations of the model test, their one-line text form (printed on a failure, read
//! back by replays and the regression sequences) and the seeded generator that picks them.
//!
//! Paths are relative to the model's root (`.` is the root itself) and built from a few
//! short names, so that operations collide often. Symlink targets only ever go down
//! (`a`, `d/b`: no `..`, nothing absolute), so whatever a symlink is renamed to, resolving it
//! never leaves the root, on the host as in the mount.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt;

/// Descriptors the test keeps open at once (per side).
pub const SLOTS: usize = 6;

/// A time given to utimensat(2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Time {
    /// UTIME_NOW.
    Now,
    /// UTIME_OMIT.
    Omit,
    /// Seconds and nanoseconds.
    At(i64, i64),
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Open {
        slot: usize,
        path: String,
        flags: i32,
        mode: u32,
    },
    Close {
        slot: usize,
    },
    Pwrite {
        slot: usize,
        offset: u64,
        len: usize,
        seed: u64,
    },
    /// write(2) at the descriptor's position (the end with O_APPEND).
    Append {
        slot: usize,
        len: usize,
        seed: u64,
    },
    Pread {
        slot: usize,
        offset: u64,
        len: usize,
    },
    /// open, read to the end, close.
    ReadAll {
        path: String,
    },
    Truncate {
        path: String,
        size: u64,
    },
    Ftruncate {
        slot: usize,
        size: u64,
    },
    Rename {
        from: String,
        to: String,
        flags: u32,
    },
    Link {
        from: String,
        to: String,
    },
    Symlink {
        target: String,
        path: String,
    },
    Readlink {
        path: String,
    },
    Mkdir {
        path: String,
        mode: u32,
    },
    Rmdir {
        path: String,
    },
    Unlink {
        path: String,
    },
    Chmod {
        path: String,
        mode: u32,
    },
    Fchmod {
        slot: usize,
        mode: u32,
    },
    Utimens {
        path: String,
        atime: Time,
        mtime: Time,
        follow: bool,
    },
    Futimens {
        slot: usize,
        atime: Time,
        mtime: Time,
    },
    SetXattr {
        path: String,
        name: String,
        len: usize,
        seed: u64,
        flags: i32,
        follow: bool,
    },
    GetXattr {
        path: String,
        name: String,
        size: usize,
        follow: bool,
    },
    ListXattr {
        path: String,
        size: usize,
        follow: bool,
    },
    RemoveXattr {
        path: String,
        name: String,
        follow: bool,
    },
    Readdir {
        path: String,
    },
    Stat {
        path: String,
        follow: bool,
    },
    Fstat {
        slot: usize,
    },
    Fsync {
        slot: usize,
        data_only: bool,
    },
    Access {
        path: String,
        mode: i32,
    },
    /// A pause past the mount's attribute and entry timeouts.
    Sleep {
        ms: u64,
    },
}

impl Op {
    /// The operation's name (the first word of its text form).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Open { .. } => "open",
            Op::Close { .. } => "close",
            Op::Pwrite { .. } => "pwrite",
            Op::Append { .. } => "append",
            Op::Pread { .. } => "pread",
            Op::ReadAll { .. } => "readall",
            Op::Truncate { .. } => "truncate",
            Op::Ftruncate { .. } => "ftruncate",
            Op::Rename { .. } => "rename",
            Op::Link { .. } => "link",
            Op::Symlink { .. } => "symlink",
            Op::Readlink { .. } => "readlink",
            Op::Mkdir { .. } => "mkdir",
            Op::Rmdir { .. } => "rmdir",
            Op::Unlink { .. } => "unlink",
            Op::Chmod { .. } => "chmod",
            Op::Fchmod { .. } => "fchmod",
            Op::Utimens { follow: true, .. } => "utimens",
            Op::Utimens { .. } => "lutimens",
            Op::Futimens { .. } => "futimens",
            Op::SetXattr { follow: true, .. } => "setxattr",
            Op::SetXattr { .. } => "lsetxattr",
            Op::GetXattr { follow: true, .. } => "getxattr",
            Op::GetXattr { .. } => "lgetxattr",
            Op::ListXattr { follow: true, .. } => "listxattr",
            Op::ListXattr { .. } => "llistxattr",
            Op::RemoveXattr { follow: true, .. } => "removexattr",
            Op::RemoveXattr { .. } => "lremovexattr",
            Op::Readdir { .. } => "readdir",
            Op::Stat { follow: true, .. } => "stat",
            Op::Stat { .. } => "lstat",
            Op::Fstat { .. } => "fstat",
            Op::Fsync {
                data_only: false, ..
            } => "fsync",
            Op::Fsync { .. } => "fdatasync",
            Op::Access { .. } => "access",
            Op::Sleep { .. } => "sleep",
        }
    }

    /// The paths (relative to the root) whose attributes are compared after the step.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            Op::Open { path, .. }
            | Op::ReadAll { path }
            | Op::Truncate { path, .. }
            | Op::Readlink { path }
            | Op::Mkdir { path, .. }
            | Op::Rmdir { path }
            | Op::Unlink { path }
            | Op::Chmod { path, .. }
            | Op::Utimens { path, .. }
            | Op::SetXattr { path, .. }
            | Op::GetXattr { path, .. }
            | Op::ListXattr { path, .. }
            | Op::RemoveXattr { path, .. }
            | Op::Readdir { path }
            | Op::Stat { path, .. }
            | Op::Access { path, .. }
            | Op::Symlink { path, .. } => vec![path],
            Op::Rename { from, to, .. } | Op::Link { from, to } => vec![from, to],
            _ => Vec::new(),
        }
    }

    /// The paths the operation names (not a symlink's target), to move a sequence into a
    /// subdirectory.
    fn paths_mut(&mut self) -> Vec<&mut String> {
        match self {
            Op::Open { path, .. }
            | Op::ReadAll { path }
            | Op::Truncate { path, .. }
            | Op::Readlink { path }
            | Op::Mkdir { path, .. }
            | Op::Rmdir { path }
            | Op::Unlink { path }
            | Op::Chmod { path, .. }
            | Op::Utimens { path, .. }
            | Op::SetXattr { path, .. }
            | Op::GetXattr { path, .. }
            | Op::ListXattr { path, .. }
            | Op::RemoveXattr { path, .. }
            | Op::Readdir { path }
            | Op::Stat { path, .. }
            | Op::Access { path, .. }
            | Op::Symlink { path, .. } => vec![path],
            Op::Rename { from, to, .. } | Op::Link { from, to } => vec![from, to],
            _ => Vec::new(),
        }
    }

    /// The descriptor slot the operation uses, if any.
    pub fn slot(&self) -> Option<usize> {
        match self {
            Op::Open { slot, .. }
            | Op::Close { slot }
            | Op::Pwrite { slot, .. }
            | Op::Append { slot, .. }
            | Op::Pread { slot, .. }
            | Op::Ftruncate { slot, .. }
            | Op::Fchmod { slot, .. }
            | Op::Futimens { slot, .. }
            | Op::Fstat { slot }
            | Op::Fsync { slot, .. } => Some(*slot),
            _ => None,
        }
    }
}

const OPEN_FLAGS: &[(&str, i32)] = &[
    ("CREAT", libc::O_CREAT),
    ("EXCL", libc::O_EXCL),
    ("TRUNC", libc::O_TRUNC),
    ("APPEND", libc::O_APPEND),
    ("NOFOLLOW", libc::O_NOFOLLOW),
    ("DIRECTORY", libc::O_DIRECTORY),
];

fn open_flags(flags: i32) -> String {
    let mut s = match flags & libc::O_ACCMODE {
        libc::O_WRONLY => "WRONLY",
        libc::O_RDWR => "RDWR",
        _ => "RDONLY",
    }
    .to_string();
    for (n, f) in OPEN_FLAGS {
        if flags & f != 0 {
            s.push('|');
            s.push_str(n);
        }
    }
    s
}

fn parse_open_flags(s: &str) -> Result<i32, String> {
    let mut flags = 0;
    for part in s.split('|') {
        flags |= match part {
            "RDONLY" => libc::O_RDONLY,
            "WRONLY" => libc::O_WRONLY,
            "RDWR" => libc::O_RDWR,
            _ => OPEN_FLAGS
                .iter()
                .find(|(n, _)| *n == part)
                .map(|(_, f)| *f)
                .ok_or_else(|| format!("unknown open flag {part}"))?,
        };
    }
    Ok(flags)
}

fn access_mode(mode: i32) -> String {
    if mode == libc::F_OK {
        return "F".into();
    }
    [(libc::R_OK, 'R'), (libc::W_OK, 'W'), (libc::X_OK, 'X')]
        .iter()
        .filter(|(b, _)| mode & b != 0)
        .map(|(_, c)| *c)
        .collect()
}

fn parse_access(s: &str) -> Result<i32, String> {
    let mut m = libc::F_OK;
    for c in s.chars() {
        m |= match c {
            'F' => libc::F_OK,
            'R' => libc::R_OK,
            'W' => libc::W_OK,
            'X' => libc::X_OK,
            _ => return Err(format!("unknown access mode {s}")),
        };
    }
    Ok(m)
}

fn rename_flags(f: u32) -> &'static str {
    match f {
        0 => "-",
        libc::RENAME_NOREPLACE => "noreplace",
        libc::RENAME_EXCHANGE => "exchange",
        _ => "?",
    }
}

fn xattr_flags(f: i32) -> &'static str {
    match f {
        0 => "-",
        libc::XATTR_CREATE => "create",
        libc::XATTR_REPLACE => "replace",
        _ => "?",
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Time::Now => write!(f, "now"),
            Time::Omit => write!(f, "omit"),
            Time::At(s, n) => write!(f, "{s}.{n:09}"),
        }
    }
}

fn parse_time(s: &str) -> Result<Time, String> {
    match s {
        "now" => Ok(Time::Now),
        "omit" => Ok(Time::Omit),
        _ => {
            let (sec, ns) = s.split_once('.').ok_or(format!("bad time {s}"))?;
            Ok(Time::At(
                sec.parse().map_err(|_| format!("bad time {s}"))?,
                ns.parse().map_err(|_| format!("bad time {s}"))?,
            ))
        }
    }
}

/// Empty strings (a symlink's empty target) are written `""`.
fn word(s: &str) -> &str {
    if s.is_empty() {
        "\"\""
    } else {
        s
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.name();
        match self {
            Op::Open {
                slot,
                path,
                flags,
                mode,
            } => write!(f, "{n} {slot} {path} {} {mode:o}", open_flags(*flags)),
            Op::Close { slot } | Op::Fstat { slot } | Op::Fsync { slot, .. } => {
                write!(f, "{n} {slot}")
            }
            Op::Pwrite {
                slot,
                offset,
                len,
                seed,
            } => write!(f, "{n} {slot} {offset} {len} {seed}"),
            Op::Append { slot, len, seed } => write!(f, "{n} {slot} {len} {seed}"),
            Op::Pread { slot, offset, len } => write!(f, "{n} {slot} {offset} {len}"),
            Op::ReadAll { path }
            | Op::Readlink { path }
            | Op::Rmdir { path }
            | Op::Unlink { path }
            | Op::Readdir { path }
            | Op::Stat { path, .. } => write!(f, "{n} {path}"),
            Op::Truncate { path, size } => write!(f, "{n} {path} {size}"),
            Op::Ftruncate { slot, size } => write!(f, "{n} {slot} {size}"),
            Op::Rename {
                from,
                to,
                flags: fl,
            } => write!(f, "{n} {from} {to} {}", rename_flags(*fl)),
            Op::Link { from, to } => write!(f, "{n} {from} {to}"),
            Op::Symlink { target, path } => write!(f, "{n} {} {path}", word(target)),
            Op::Mkdir { path, mode } | Op::Chmod { path, mode } => write!(f, "{n} {path} {mode:o}"),
            Op::Fchmod { slot, mode } => write!(f, "{n} {slot} {mode:o}"),
            Op::Utimens {
                path, atime, mtime, ..
            } => write!(f, "{n} {path} {atime} {mtime}"),
            Op::Futimens { slot, atime, mtime } => write!(f, "{n} {slot} {atime} {mtime}"),
            Op::SetXattr {
                path,
                name,
                len,
                seed,
                flags: fl,
                ..
            } => write!(f, "{n} {path} {name} {len} {seed} {}", xattr_flags(*fl)),
            Op::GetXattr {
                path, name, size, ..
            } => write!(f, "{n} {path} {name} {size}"),
            Op::ListXattr { path, size, .. } => write!(f, "{n} {path} {size}"),
            Op::RemoveXattr { path, name, .. } => write!(f, "{n} {path} {name}"),
            Op::Access { path, mode } => write!(f, "{n} {path} {}", access_mode(*mode)),
            Op::Sleep { ms } => write!(f, "{n} {ms}"),
        }
    }
}

impl std::str::FromStr for Op {
    type Err = String;

    fn from_str(line: &str) -> Result<Op, String> {
        let w: Vec<&str> = line.split_whitespace().collect();
        let bad = || format!("cannot read the operation `{line}`");
        let arg = |i: usize| -> Result<String, String> {
            let s = *w.get(i).ok_or_else(bad)?;
            Ok(if s == "\"\"" { String::new() } else { s.into() })
        };
        let num = |i: usize| -> Result<u64, String> { arg(i)?.parse().map_err(|_| bad()) };
        let oct = |i: usize| -> Result<u32, String> {
            u32::from_str_radix(&arg(i)?, 8).map_err(|_| bad())
        };
        let slot = || -> Result<usize, String> { Ok(num(1)? as usize) };
        let name = *w.first().ok_or_else(bad)?;
        let follow = !matches!(
            name,
            "lutimens" | "lsetxattr" | "lgetxattr" | "llistxattr" | "lremovexattr" | "lstat"
        );
        let op = match name {
            "open" => Op::Open {
                slot: slot()?,
                path: arg(2)?,
                flags: parse_open_flags(&arg(3)?)?,
                mode: oct(4)?,
            },
            "close" => Op::Close { slot: slot()? },
            "pwrite" => Op::Pwrite {
                slot: slot()?,
                offset: num(2)?,
                len: num(3)? as usize,
                seed: num(4)?,
            },
            "append" => Op::Append {
                slot: slot()?,
                len: num(2)? as usize,
                seed: num(3)?,
            },
            "pread" => Op::Pread {
                slot: slot()?,
                offset: num(2)?,
                len: num(3)? as usize,
            },
            "readall" => Op::ReadAll { path: arg(1)? },
            "truncate" => Op::Truncate {
                path: arg(1)?,
                size: num(2)?,
            },
            "ftruncate" => Op::Ftruncate {
                slot: slot()?,
                size: num(2)?,
            },
            "rename" => Op::Rename {
                from: arg(1)?,
                to: arg(2)?,
                flags: match arg(3)?.as_str() {
                    "-" => 0,
                    "noreplace" => libc::RENAME_NOREPLACE,
                    "exchange" => libc::RENAME_EXCHANGE,
                    _ => return Err(bad()),
                },
            },
            "link" => Op::Link {
                from: arg(1)?,
                to: arg(2)?,
            },
            "symlink" => Op::Symlink {
                target: arg(1)?,
                path: arg(2)?,
            },
            "readlink" => Op::Readlink { path: arg(1)? },
            "mkdir" => Op::Mkdir {
                path: arg(1)?,
                mode: oct(2)?,
            },
            "rmdir" => Op::Rmdir { path: arg(1)? },
            "unlink" => Op::Unlink { path: arg(1)? },
            "chmod" => Op::Chmod {
                path: arg(1)?,
                mode: oct(2)?,
            },
            "fchmod" => Op::Fchmod {
                slot: slot()?,
                mode: oct(2)?,
            },
            "utimens" | "lutimens" => Op::Utimens {
                path: arg(1)?,
                atime: parse_time(&arg(2)?)?,
                mtime: parse_time(&arg(3)?)?,
                follow,
            },
            "futimens" => Op::Futimens {
                slot: slot()?,
                atime: parse_time(&arg(2)?)?,
                mtime: parse_time(&arg(3)?)?,
            },
            "setxattr" | "lsetxattr" => Op::SetXattr {
                path: arg(1)?,
                name: arg(2)?,
                len: num(3)? as usize,
                seed: num(4)?,
                flags: match arg(5)?.as_str() {
                    "-" => 0,
                    "create" => libc::XATTR_CREATE,
                    "replace" => libc::XATTR_REPLACE,
                    _ => return Err(bad()),
                },
                follow,
            },
            "getxattr" | "lgetxattr" => Op::GetXattr {
                path: arg(1)?,
                name: arg(2)?,
                size: num(3)? as usize,
                follow,
            },
            "listxattr" | "llistxattr" => Op::ListXattr {
                path: arg(1)?,
                size: num(2)? as usize,
                follow,
            },
            "removexattr" | "lremovexattr" => Op::RemoveXattr {
                path: arg(1)?,
                name: arg(2)?,
                follow,
            },
            "readdir" => Op::Readdir { path: arg(1)? },
            "stat" | "lstat" => Op::Stat {
                path: arg(1)?,
                follow,
            },
            "fstat" => Op::Fstat { slot: slot()? },
            "fsync" | "fdatasync" => Op::Fsync {
                slot: slot()?,
                data_only: name == "fdatasync",
            },
            "access" => Op::Access {
                path: arg(1)?,
                mode: parse_access(&arg(2)?)?,
            },
            "sleep" => Op::Sleep { ms: num(1)? },
            _ => return Err(bad()),
        };
        if op.slot().is_some_and(|s| s >= SLOTS) {
            return Err(format!("{line}: slots are 0 to {}", SLOTS - 1));
        }
        Ok(op)
    }
}

/// Reads a sequence: one operation a line; blank lines and `#` comments are skipped.
pub fn parse_sequence(text: &str) -> Result<Vec<Op>, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::parse)
        .collect()
}

/// `ops` moved into a new subdirectory `dir` of the root (made first), with every
/// descriptor closed at the end: several sequences can then run one after the other in one
/// mount.
pub fn in_subdirectory(ops: &[Op], dir: &str) -> Vec<Op> {
    let mut out = vec![Op::Mkdir {
        path: dir.into(),
        mode: 0o755,
    }];
    for op in ops {
        let mut op = op.clone();
        for p in op.paths_mut() {
            *p = if p == "." { dir.into() } else { join(dir, p) };
        }
        out.push(op);
    }
    out.extend((0..SLOTS).map(|slot| Op::Close { slot }));
    out
}

/// What an entry of the host tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

/// An open descriptor pair, as the generator sees it.
#[derive(Debug, Clone, Copy)]
pub struct FdView {
    /// Its file has no name left (nlink 0 on the host).
    pub unlinked: bool,
    /// It is a directory.
    pub dir: bool,
    /// The file's size on the host.
    pub size: u64,
}

/// What the generator knows of the host side before each step: its entries (the root
/// excluded) and its open descriptors.
#[derive(Debug, Default)]
pub struct View {
    pub entries: Vec<(String, Kind, u64)>,
    pub fds: [Option<FdView>; SLOTS],
}

/// Names below the root: few, so that operations meet.
const NAMES: &[&str] = &["a", "b", "c", "d", "e", "f"];
/// Extended attribute names (the user namespace, the only one ext4 lets anyone use).
const XATTRS: &[&str] = &["user.a", "user.b", "user.c", "user.long.name.x"];
/// Modes worth trying beside random ones.
const MODES: &[u32] = &[
    0o644, 0o600, 0o755, 0o700, 0o640, 0o777, 0o000, 0o4755, 0o2755, 0o1777, 0o444,
];
/// Explicit times are all before this (2017): a later mtime is one the filesystem set.
pub const EXPLICIT_BEFORE: i64 = 1_500_000_000;

/// Which known bugs the generator steers around (see `KNOWN_BUGS` in the test).
#[derive(Debug, Clone, Copy, Default)]
pub struct Exclusions {
    /// fstat, fchmod and futimens of a descriptor of a directory that was removed (the
    /// mount answers ENOENT: issue 10, item 5).
    pub removed_dir_fd_attrs: bool,
    /// Names longer than 255 bytes (the mount answers ENOENT, not ENAMETOOLONG: issue 10,
    /// item 5).
    pub long_names: bool,
}

/// The seeded generator.
#[derive(Debug)]
pub struct Gen {
    rng: StdRng,
    excluded: Exclusions,
}

impl Gen {
    /// A generator whose choices depend only on `seed` and the views it is shown.
    pub fn new(seed: u64, excluded: Exclusions) -> Gen {
        Gen {
            rng: StdRng::seed_from_u64(seed),
            excluded,
        }
    }

    fn pct(&mut self, p: u32) -> bool {
        self.rng.random_range(0..100) < p
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.rng.random_range(0..v.len())]
    }

    fn name(&mut self) -> String {
        match self.rng.random_range(0..100) {
            0..=2 => "é-ü".into(),
            3..=4 => "L".repeat(255),
            5 if !self.excluded.long_names => "M".repeat(256),
            _ => (*self.pick(NAMES)).into(),
        }
    }

    fn dirs<'a>(&self, v: &'a View) -> Vec<&'a str> {
        std::iter::once(".")
            .chain(
                v.entries
                    .iter()
                    .filter(|e| e.1 == Kind::Dir)
                    .map(|e| e.0.as_str()),
            )
            .collect()
    }

    /// A name in an existing directory (it may exist too).
    fn new_path(&mut self, v: &View) -> String {
        let dirs = self.dirs(v);
        let d = self.pick(&dirs).to_string();
        join(&d, &self.name())
    }

    fn existing(&mut self, v: &View, kind: Option<Kind>) -> Option<String> {
        let e: Vec<&String> = v
            .entries
            .iter()
            .filter(|e| kind.is_none_or(|k| e.1 == k))
            .map(|e| &e.0)
            .collect();
        (!e.is_empty()).then(|| self.pick(&e).to_string())
    }

    /// Any path: mostly existing entries and new names in existing directories, some random
    /// paths (missing parents, files as parents, symlinks as parents) and trailing slashes.
    fn path(&mut self, v: &View) -> String {
        let r = self.rng.random_range(0..100);
        let mut p = match r {
            0..=54 => self.existing(v, None).unwrap_or_else(|| self.new_path(v)),
            55..=84 => self.new_path(v),
            _ => {
                let depth = self.rng.random_range(1..=3);
                let parts: Vec<String> = (0..depth).map(|_| self.pick(NAMES).to_string()).collect();
                parts.join("/")
            }
        };
        if self.pct(3) {
            p.push('/');
        }
        p
    }

    fn path_of(&mut self, v: &View, kind: Kind, pct: u32) -> String {
        if self.pct(pct) {
            if let Some(p) = self.existing(v, Some(kind)) {
                return p;
            }
        }
        self.path(v)
    }

    fn mode(&mut self) -> u32 {
        if self.pct(50) {
            *self.pick(MODES)
        } else {
            self.rng.random_range(0..0o10000)
        }
    }

    fn time(&mut self) -> Time {
        match self.rng.random_range(0..10) {
            0..=5 => Time::At(
                self.rng.random_range(-2_000_000_000..1_400_000_000),
                self.rng.random_range(0..1_000_000_000),
            ),
            6..=7 => Time::Now,
            _ => Time::Omit,
        }
    }

    fn size(&mut self, current: u64) -> u64 {
        match self.rng.random_range(0..100) {
            0..=19 => 0,
            20..=49 => self.rng.random_range(0..=current),
            50..=79 => current + self.rng.random_range(0..10_000),
            80..=94 => self.rng.random_range(0..200_000),
            _ => self.rng.random_range(1_000_000..2_500_000),
        }
    }

    fn offset(&mut self, size: u64) -> u64 {
        match self.rng.random_range(0..100) {
            0..=39 => size,
            40..=69 => self.rng.random_range(0..=size),
            70..=94 => self.rng.random_range(0..100_000),
            _ => self.rng.random_range(1_000_000..1_600_000),
        }
    }

    fn len(&mut self) -> usize {
        match self.rng.random_range(0..100) {
            0..=1 => 0,
            2..=69 => self.rng.random_range(1..4096),
            70..=89 => self.rng.random_range(4096..65536),
            90..=97 => self.rng.random_range(65536..300_000),
            _ => self.rng.random_range(1_000_000..1_500_000),
        }
    }

    fn open_slot(&mut self, v: &View) -> Option<(usize, FdView)> {
        let open: Vec<(usize, FdView)> = v
            .fds
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.map(|f| (i, f)))
            .collect();
        (!open.is_empty()).then(|| *self.pick(&open))
    }

    fn open(&mut self, v: &View) -> Op {
        let Some(slot) = v.fds.iter().position(Option::is_none) else {
            let (slot, _) = self.open_slot(v).expect("all slots are open");
            return Op::Close { slot };
        };
        let acc = match self.rng.random_range(0..100) {
            0..=34 => libc::O_RDONLY,
            35..=54 => libc::O_WRONLY,
            _ => libc::O_RDWR,
        };
        let existing = self.pct(60);
        let path = if existing {
            self.path_of(v, Kind::File, 85)
        } else {
            self.path(v)
        };
        let mut flags = acc;
        if self.pct(if existing { 25 } else { 85 }) {
            flags |= libc::O_CREAT;
            if self.pct(15) {
                flags |= libc::O_EXCL;
            }
        }
        for (p, f) in [
            (10, libc::O_TRUNC),
            (8, libc::O_APPEND),
            (4, libc::O_NOFOLLOW),
            (3, libc::O_DIRECTORY),
        ] {
            if self.pct(p) {
                flags |= f;
            }
        }
        Op::Open {
            slot,
            path,
            flags,
            mode: self.mode(),
        }
    }

    /// An operation on an open descriptor, or an open when none is.
    fn fd_op(&mut self, v: &View) -> Op {
        let Some((slot, fd)) = self.open_slot(v) else {
            return self.open(v);
        };
        let attrs_excluded = fd.unlinked && fd.dir && self.excluded.removed_dir_fd_attrs;
        loop {
            let op = match self.rng.random_range(0..100) {
                0..=29 => Op::Pwrite {
                    slot,
                    offset: self.offset(fd.size),
                    len: self.len(),
                    seed: self.rng.random(),
                },
                30..=34 => Op::Append {
                    slot,
                    len: self.len(),
                    seed: self.rng.random(),
                },
                35..=59 => Op::Pread {
                    slot,
                    offset: self
                        .offset(fd.size)
                        .saturating_sub(self.rng.random_range(0..5000)),
                    len: if self.pct(5) {
                        2 << 20
                    } else {
                        self.rng.random_range(0..20_000)
                    },
                },
                60..=66 => Op::Ftruncate {
                    slot,
                    size: self.size(fd.size),
                },
                67..=76 => Op::Fstat { slot },
                77..=81 => Op::Fsync {
                    slot,
                    data_only: self.pct(50),
                },
                82..=84 => Op::Fchmod {
                    slot,
                    mode: self.mode(),
                },
                85..=87 => Op::Futimens {
                    slot,
                    atime: self.time(),
                    mtime: self.time(),
                },
                _ => Op::Close { slot },
            };
            let attrs = matches!(
                op,
                Op::Fstat { .. } | Op::Fchmod { .. } | Op::Futimens { .. }
            );
            if !(attrs && attrs_excluded) {
                return op;
            }
        }
    }

    /// The next operation for a host tree that looks like `v`.
    pub fn next(&mut self, v: &View) -> Op {
        // A crowded tree: remove more than is added.
        if v.entries.len() > 60 && self.pct(30) {
            return if self.pct(70) {
                Op::Unlink {
                    path: self.path_of(v, Kind::File, 90),
                }
            } else {
                Op::Rmdir {
                    path: self.path_of(v, Kind::Dir, 90),
                }
            };
        }
        match self.rng.random_range(0..1000) {
            0..=99 => self.open(v),
            100..=349 => self.fd_op(v),
            350..=379 => Op::ReadAll {
                path: self.path_of(v, Kind::File, 85),
            },
            380..=409 => {
                let path = self.path_of(v, Kind::File, 85);
                let current = v.entries.iter().find(|e| e.0 == path).map_or(0, |e| e.2);
                Op::Truncate {
                    path,
                    size: self.size(current),
                }
            }
            410..=469 => {
                let from = if self.pct(85) {
                    self.existing(v, None).unwrap_or_else(|| self.path(v))
                } else {
                    self.path(v)
                };
                let to = match self.rng.random_range(0..100) {
                    0..=34 => self.existing(v, None).unwrap_or_else(|| self.path(v)),
                    35..=69 => self.new_path(v),
                    70..=79 => join(&from, &self.name()),
                    80..=84 => from.clone(),
                    _ => self.path(v),
                };
                let flags = match self.rng.random_range(0..10) {
                    0 => libc::RENAME_NOREPLACE,
                    1 => libc::RENAME_EXCHANGE,
                    _ => 0,
                };
                Op::Rename { from, to, flags }
            }
            470..=499 => {
                let from = self.existing(v, None).unwrap_or_else(|| self.path(v));
                let to = if self.pct(70) {
                    self.new_path(v)
                } else {
                    self.path(v)
                };
                Op::Link { from, to }
            }
            500..=529 => {
                let path = if self.pct(80) {
                    self.new_path(v)
                } else {
                    self.path(v)
                };
                let target = match self.rng.random_range(0..20) {
                    0 => String::new(),
                    1 => path.rsplit('/').next().unwrap_or("").to_string(),
                    2..=9 => self.pick(NAMES).to_string(),
                    _ => format!("{}/{}", self.pick(NAMES), self.pick(NAMES)),
                };
                Op::Symlink { target, path }
            }
            530..=549 => Op::Readlink {
                path: self.path_of(v, Kind::Symlink, 70),
            },
            550..=599 => Op::Mkdir {
                path: if self.pct(75) {
                    self.new_path(v)
                } else {
                    self.path(v)
                },
                mode: if self.pct(70) {
                    *self.pick(&[0o755, 0o700, 0o777, 0o2775])
                } else {
                    self.mode()
                },
            },
            600..=629 => Op::Rmdir {
                path: self.path_of(v, Kind::Dir, 75),
            },
            630..=679 => Op::Unlink {
                path: if self.pct(75) {
                    self.existing(v, Some(Kind::File))
                        .or_else(|| self.existing(v, Some(Kind::Symlink)))
                        .unwrap_or_else(|| self.path(v))
                } else {
                    self.path(v)
                },
            },
            680..=709 => Op::Chmod {
                path: self.path(v),
                mode: self.mode(),
            },
            710..=739 => Op::Utimens {
                path: self.path(v),
                atime: self.time(),
                mtime: self.time(),
                follow: self.pct(60),
            },
            740..=779 => Op::SetXattr {
                path: self.path(v),
                name: self.pick(XATTRS).to_string(),
                len: if self.pct(4) {
                    self.rng.random_range(1000..1500)
                } else {
                    self.rng.random_range(0..64)
                },
                seed: self.rng.random(),
                flags: match self.rng.random_range(0..20) {
                    0..=2 => libc::XATTR_CREATE,
                    3..=5 => libc::XATTR_REPLACE,
                    _ => 0,
                },
                follow: self.pct(50),
            },
            780..=809 => Op::GetXattr {
                path: self.path(v),
                name: self.pick(XATTRS).to_string(),
                size: match self.rng.random_range(0..10) {
                    0 => 0,
                    1 => self.rng.random_range(1..8),
                    _ => 4096,
                },
                follow: self.pct(50),
            },
            810..=829 => Op::ListXattr {
                path: self.path(v),
                size: match self.rng.random_range(0..10) {
                    0 => 0,
                    1 => self.rng.random_range(1..10),
                    _ => 4096,
                },
                follow: self.pct(50),
            },
            830..=849 => Op::RemoveXattr {
                path: self.path(v),
                name: self.pick(XATTRS).to_string(),
                follow: self.pct(50),
            },
            850..=889 => Op::Readdir {
                path: if self.pct(15) {
                    ".".into()
                } else {
                    self.path_of(v, Kind::Dir, 80)
                },
            },
            890..=949 => Op::Stat {
                path: if self.pct(5) {
                    ".".into()
                } else {
                    self.path(v)
                },
                follow: self.pct(40),
            },
            950..=984 => Op::Access {
                path: self.path(v),
                mode: *self.pick(&[
                    libc::F_OK,
                    libc::R_OK,
                    libc::W_OK,
                    libc::X_OK,
                    libc::R_OK | libc::W_OK | libc::X_OK,
                ]),
            },
            _ => Op::Sleep {
                ms: self.rng.random_range(550..800),
            },
        }
    }
}

/// `dir/name` (`name` alone in the root).
pub fn join(dir: &str, name: &str) -> String {
    let dir = dir.trim_end_matches('/');
    if dir == "." || dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_reads_back() {
        let mut g = Gen::new(7, Exclusions::default());
        let mut v = View::default();
        v.entries.push(("a".into(), Kind::File, 10));
        v.entries.push(("d".into(), Kind::Dir, 0));
        v.fds[0] = Some(FdView {
            unlinked: false,
            dir: false,
            size: 10,
        });
        for _ in 0..5000 {
            let op = g.next(&v);
            let text = op.to_string();
            assert_eq!(text.parse::<Op>().as_ref(), Ok(&op), "{text}");
        }
    }
}
