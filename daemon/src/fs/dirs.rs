//! Directories: paged listings (`readdir`, `readdir_plus`), `ls`, `ll`, `find`, `glob`,
//! `du`, and creating and removing directories and trees.
//!
//! Listings resume from a `d_off` cookie, so a directory of any size is read in pages that
//! each fit in one reply. Removal of trees goes through [`walk`], which never follows a
//! symlink: `rm_rf` of a tree that holds `a -> /` removes the link, not the guest.

use crate::fs::glob::{fnmatch, has_magic};
use crate::fs::guestfs;
use crate::fs::walk::{self, DirReader, Visit, Visitor};
use crate::{call::Call, sys};
use guestwright_protocol::*;
use std::collections::HashSet;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Encoded bytes a listing reply may hold; the frame limit is 4 MiB plus an envelope.
pub const REPLY_BUDGET: usize = 3 * 1024 * 1024;
/// Entries per page when the caller does not say.
const DEFAULT_PAGE: u32 = 4096;
/// Most entries per page.
const MAX_PAGE: u32 = 65536;

fn too_big(path: &GuestPath, what: &str, instead: &str) -> io::Error {
    io::Error::other(format!(
        "{path}: {what} does not fit in one reply (4 MiB); use {instead}"
    ))
}

/// Opens a guest directory for reading.
pub fn open_dir(path: &GuestPath) -> io::Result<OwnedFd> {
    guestfs::open(path, libc::O_RDONLY | libc::O_DIRECTORY, 0)
}

/// One page of `path`'s entries (with `.` and `..`, like readdir(3)).
pub fn readdir(path: &GuestPath, offset: Option<u64>, count: Option<u32>) -> io::Result<DirPage> {
    let mut reader = DirReader::new(open_dir(path)?);
    let offset = offset.unwrap_or(0);
    if offset != 0 {
        reader.seek(offset)?;
    }
    let max = count.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
    let mut page = DirPage {
        entries: Vec::new(),
        next: offset,
        more: false,
    };
    let mut bytes = 0;
    while let Some(e) = reader.next_entry()? {
        if page.entries.len() >= max || bytes + e.name.len() + 16 > REPLY_BUDGET {
            page.more = true;
            break;
        }
        bytes += e.name.len() + 16;
        page.next = e.next;
        page.entries.push(DirEntry {
            name: FileName(e.name),
            kind: e.kind,
            ino: e.ino,
        });
    }
    Ok(page)
}

/// One page of `path`'s entries, each with its `lstat` and symlink target (without `.` and
/// `..`). One call replaces a lookup, a getattr and a readlink per entry.
pub fn readdir_plus(
    path: &GuestPath,
    offset: Option<u64>,
    count: Option<u32>,
) -> io::Result<DirPlusPage> {
    let mut reader = DirReader::new(open_dir(path)?);
    let offset = offset.unwrap_or(0);
    if offset != 0 {
        reader.seek(offset)?;
    }
    let max = count.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
    let mut page = DirPlusPage {
        entries: Vec::new(),
        next: offset,
        more: false,
    };
    let mut bytes = 0;
    while let Some(e) = reader.next_entry()? {
        if page.entries.len() >= max || bytes + e.name.len() + 160 > REPLY_BUDGET {
            page.more = true;
            break;
        }
        page.next = e.next;
        if e.is_dot() {
            continue;
        }
        let name = sys::cstring(&e.name)?;
        let st = match walk::lstat_at(reader.fd(), &name) {
            Ok(st) => st,
            // Removed since the directory was read.
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(err) => return Err(err),
        };
        let link = if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            Some(GuestPath::from(sys::readlinkat(reader.fd(), &name)?))
        } else {
            None
        };
        bytes += e.name.len() + 160 + link.as_ref().map_or(0, |l| l.as_bytes().len());
        page.entries.push(DirEntryPlus {
            name: FileName(e.name),
            stat: walk::to_stat(&st),
            link,
        });
    }
    Ok(page)
}

/// The names in a directory, sorted, without `.` and `..`.
pub fn ls(path: &GuestPath) -> io::Result<Vec<FileName>> {
    let dir = open_dir(path)?;
    let entries = walk::names(dir.as_fd())?;
    let total: usize = entries.iter().map(|e| e.name.len() + 2).sum();
    if total > REPLY_BUDGET {
        return Err(too_big(path, "the list of names", "readdir with offset:"));
    }
    Ok(entries.into_iter().map(|e| FileName(e.name)).collect())
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A long listing as the appliance's `ls -la` prints it (what guestfish's `ll` shows): a
/// `total` line in 1K blocks, then one line per entry including `.` and `..`, columns as wide
/// as their widest value, numeric owners, dates as `Sep 13  2020` (`Sep 13 14:05` within the
/// last six months); names are escaped.
pub fn ll(path: &GuestPath) -> io::Result<String> {
    let dir = open_dir(path)?;
    let mut reader = DirReader::new(walk::reopen_dir(dir.as_fd())?);
    let mut names = Vec::new();
    while let Some(e) = reader.next_entry()? {
        names.push(e.name);
    }
    names.sort();
    let mut rows = Vec::new();
    let mut bytes = 0;
    for name in names {
        let c = sys::cstring(&name)?;
        // `..` of the guest root is the guest root itself, never the appliance's.
        let st = if name == b".." && guestfs::relative(path)?.as_bytes() == b"." {
            walk::fstat(dir.as_fd())?
        } else {
            match walk::lstat_at(dir.as_fd(), &c) {
                Ok(st) => st,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) => return Err(e),
            }
        };
        let s = walk::to_stat(&st);
        let link = if s.kind() == FileKind::Symlink {
            Some(sys::readlinkat(dir.as_fd(), &c)?)
        } else {
            None
        };
        bytes += name.len() + 64;
        if bytes > REPLY_BUDGET {
            return Err(too_big(path, "the listing", "readdir_plus with offset:"));
        }
        rows.push((name, s, link));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok(ls_la(&rows, now))
}

/// Formats `ls -la` lines (see [`ll`]); `now` decides which dates show the year.
/// One `ls -la` line's facts: the name, its stat, a symlink's target.
type LsRow = (Vec<u8>, Stat, Option<Vec<u8>>);

fn ls_la(rows: &[LsRow], now: i64) -> String {
    let size_of = |s: &Stat| match s.kind() {
        FileKind::BlockDevice | FileKind::CharDevice => {
            format!("{}, {}", s.rdev_major(), s.rdev_minor())
        }
        _ => s.size.to_string(),
    };
    let width =
        |f: &dyn Fn(&Stat) -> String| rows.iter().map(|(_, s, _)| f(s).len()).max().unwrap_or(0);
    let w_links = width(&|s| s.nlink.to_string());
    let w_uid = width(&|s| s.uid.to_string());
    let w_gid = width(&|s| s.gid.to_string());
    let w_size = width(&size_of);
    let total: u64 = rows
        .iter()
        .map(|(_, s, _)| s.blocks)
        .sum::<u64>()
        .div_ceil(2);
    let mut out = format!("total {total}\n");
    for (name, s, link) in rows {
        out.push_str(&format!(
            "{} {:>w_links$} {:>w_uid$} {:>w_gid$} {:>w_size$} {} {}",
            mode_string(s.mode),
            s.nlink,
            s.uid,
            s.gid,
            size_of(s),
            ls_time(s.mtime, now),
            escape_bytes(name)
        ));
        if let Some(target) = link {
            out.push_str(" -> ");
            out.push_str(&escape_bytes(target));
        }
        out.push('\n');
    }
    out
}

/// `ls`'s date in the C locale: `Sep 13  2020`, or `Sep 13 14:05` for the last six months.
fn ls_time(secs: i64, now: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Six months as GNU ls counts them: half of a Gregorian year.
    const SIX_MONTHS: i64 = 31_556_952 / 2;
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let month = MONTHS[(m as usize).saturating_sub(1) % 12];
    if secs > now - SIX_MONTHS && secs <= now {
        let rem = secs.rem_euclid(86_400);
        format!("{month} {d:>2} {:02}:{:02}", rem / 3600, rem % 3600 / 60)
    } else {
        format!("{month} {d:>2}  {y}")
    }
}

struct Collect<'a> {
    out: Vec<Vec<u8>>,
    bytes: usize,
    call: &'a Call,
}

impl Visitor for Collect<'_> {
    fn enter(&mut self, v: &Visit<'_>) -> io::Result<bool> {
        self.call.check_cancel()?;
        self.bytes += v.rel.len() + 2;
        if self.bytes > REPLY_BUDGET {
            return Err(io::Error::other(
                "the list of paths does not fit in one reply (4 MiB); use find0",
            ));
        }
        self.out.push(v.rel.to_vec());
        Ok(true)
    }
}

/// Every path below `dir`, relative to it, sorted (like guestfish `find`, without `.`).
pub fn find(call: &Call, path: &GuestPath) -> io::Result<Vec<GuestPath>> {
    let dir = open_dir(path)?;
    let mut c = Collect {
        out: Vec::new(),
        bytes: 0,
        call,
    };
    walk::walk(dir.as_fd(), &mut c)?;
    let mut out = c.out;
    out.sort();
    Ok(out.into_iter().map(GuestPath::from).collect())
}

struct Stream<W: Write> {
    out: W,
}

impl<W: Write> Visitor for Stream<W> {
    fn enter(&mut self, v: &Visit<'_>) -> io::Result<bool> {
        self.out.write_all(v.rel)?;
        self.out.write_all(b"\0")?;
        Ok(true)
    }
}

/// Streams every path below `dir`, relative to it, each followed by a NUL, in walk order.
/// A cancel stops it at the next chunk.
pub fn find0(call: &mut Call, path: &GuestPath) -> io::Result<()> {
    let dir = open_dir(path)?;
    let mut out = call.output();
    walk::walk(dir.as_fd(), &mut Stream { out: &mut out })?;
    out.flush()
}

/// Expands a shell pattern against the guest tree: matches sorted, directories with a
/// trailing `/` unless `directoryslash:false`. Names starting with `.` only match a pattern
/// that starts with `.`.
pub fn glob_expand(
    pattern: &GuestPath,
    directoryslash: Option<bool>,
) -> io::Result<Vec<GuestPath>> {
    guestfs::relative(pattern)?;
    let mut current: Vec<Vec<u8>> = vec![b"/".to_vec()];
    for comp in pattern
        .as_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
    {
        let mut next = Vec::new();
        for base in &current {
            let join = |name: &[u8]| {
                let mut p = base.clone();
                if p.last() != Some(&b'/') {
                    p.push(b'/');
                }
                p.extend_from_slice(name);
                p
            };
            if !has_magic(comp) {
                let unescaped: Vec<u8> = comp.iter().copied().filter(|&b| b != b'\\').collect();
                next.push(join(&unescaped));
                continue;
            }
            let Ok(dir) = open_dir(&GuestPath::from(base.clone())) else {
                continue;
            };
            for e in walk::names(dir.as_fd())? {
                if e.name.starts_with(b".") && !comp.starts_with(b".") {
                    continue;
                }
                if fnmatch(comp, &e.name, true) {
                    next.push(join(&e.name));
                }
            }
            if next.len() > 1_000_000 {
                return Err(io::Error::other("the pattern matches too many paths"));
            }
        }
        current = next;
    }
    let slash = directoryslash.unwrap_or(true);
    let mut out = Vec::new();
    let mut bytes = 0;
    for p in current {
        let gp = GuestPath::from(p);
        // An entry that is there matches, a dangling or looping symlink too (as glob(3) and
        // `ls` give them): sysprep must find such a link to remove it.
        let Ok(st) = crate::fs::fileops::lstat_raw(&gp) else {
            continue;
        };
        let is_dir = walk::is_dir(&st)
            || (st.st_mode & libc::S_IFMT == libc::S_IFLNK
                && crate::fs::fileops::stat_raw(&gp).is_ok_and(|st| walk::is_dir(&st)));
        let mut bytes_p = gp.into_bytes();
        if slash && is_dir && bytes_p.last() != Some(&b'/') {
            bytes_p.push(b'/');
        }
        bytes += bytes_p.len() + 2;
        if bytes > REPLY_BUDGET {
            return Err(too_big(
                pattern,
                "the list of matches",
                "a narrower pattern",
            ));
        }
        out.push(GuestPath::from(bytes_p));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `glob_expand` (without directory slashes) of each pattern, and `lstat` of each path
/// without pattern characters: one answer per pattern, its errno instead of matches when it
/// fails, so one bad pattern does not hide the others' matches. Only the whole answer is
/// limited (to the reply budget).
pub fn glob_expand_list(patterns: Vec<GuestPath>) -> io::Result<Vec<GlobMatches>> {
    let mut out = Vec::with_capacity(patterns.len());
    let mut bytes = 0;
    for pattern in patterns {
        let literal = !pattern
            .as_bytes()
            .iter()
            .any(|b| matches!(b, b'*' | b'?' | b'['));
        let found = match literal {
            // What `lstat` says, as the caller would have asked it: only a path that is
            // not there (or not reachable as a directory) matches nothing without an
            // error, so a loop of links on the way is still reported.
            true => match crate::fs::fileops::lstat_raw(&pattern) {
                Ok(_) => Ok(vec![pattern.clone()]),
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                    Ok(Vec::new())
                }
                Err(e) => Err(e),
            },
            false => glob_expand(&pattern, Some(false)),
        };
        let (paths, errno) = match found {
            Ok(paths) => (paths, None),
            Err(e) => (Vec::new(), Some(RemoteError::from(&e).errno)),
        };
        bytes += pattern.as_bytes().len()
            + 16
            + paths.iter().map(|p| p.as_bytes().len() + 8).sum::<usize>();
        if bytes > REPLY_BUDGET {
            return Err(too_big(
                &pattern,
                "the lists of matches",
                "fewer or narrower patterns",
            ));
        }
        out.push(GlobMatches {
            pattern,
            paths,
            errno,
        });
    }
    Ok(out)
}

struct DiskUsage<'a> {
    bytes: u64,
    seen: HashSet<(u64, u64)>,
    call: &'a Call,
}

impl Visitor for DiskUsage<'_> {
    fn enter(&mut self, v: &Visit<'_>) -> io::Result<bool> {
        self.call.check_cancel()?;
        if v.stat.st_nlink <= 1 || self.seen.insert((v.stat.st_dev, v.stat.st_ino)) {
            self.bytes += v.stat.st_blocks as u64 * 512;
        }
        Ok(true)
    }
}

/// Bytes allocated to `path` and everything below it, hard links counted once (`du -s`,
/// in bytes).
pub fn du(call: &Call, path: &GuestPath) -> io::Result<u64> {
    let fd = guestfs::open(path, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
    let st = walk::fstat(fd.as_fd())?;
    let mut d = DiskUsage {
        bytes: st.st_blocks as u64 * 512,
        seen: HashSet::new(),
        call,
    };
    if walk::is_dir(&st) {
        walk::walk(fd.as_fd(), &mut d)?;
    }
    Ok(d.bytes)
}

/// `mkdir` with a mode (the daemon's umask applies, as with mkdir(2)).
pub fn mkdir(path: &GuestPath, mode: u32) -> io::Result<()> {
    let (dir, name) = guestfs::parent(path)?;
    sys::mkdirat(dir.as_fd(), &name, mode)
}

/// `mkdir -p`: creates missing parents; an existing directory is fine.
pub fn mkdir_p(path: &GuestPath) -> io::Result<()> {
    let bytes = path.as_bytes();
    guestfs::relative(path)?;
    let mut prefix = Vec::with_capacity(bytes.len());
    for comp in bytes.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        prefix.push(b'/');
        prefix.extend_from_slice(comp);
        if comp == b"." || comp == b".." {
            continue;
        }
        let p = GuestPath::from(prefix.clone());
        match guestfs::open(&p, libc::O_PATH | libc::O_DIRECTORY, 0) {
            Ok(_) => continue,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        match mkdir(&p, 0o755) {
            Ok(()) => {}
            // Created by someone else meanwhile, or a dangling symlink: check again.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                guestfs::open(&p, libc::O_PATH | libc::O_DIRECTORY, 0)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `rmdir`: removes an empty directory.
pub fn rmdir(path: &GuestPath) -> io::Result<()> {
    let (dir, name) = guestfs::parent(path)?;
    sys::unlinkat(dir.as_fd(), &name, libc::AT_REMOVEDIR)
}

/// `rm`: removes one file (not a directory); `force` ignores a missing one.
pub fn rm(path: &GuestPath, force: bool) -> io::Result<()> {
    let (dir, name) = guestfs::parent(path)?;
    match sys::unlinkat(dir.as_fd(), &name, 0) {
        Err(e) if force && e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

struct Remove<'a> {
    call: &'a Call,
}

impl Visitor for Remove<'_> {
    fn enter(&mut self, v: &Visit<'_>) -> io::Result<bool> {
        self.call.check_cancel()?;
        if walk::is_dir(v.stat) {
            return Ok(true);
        }
        ignore_enoent(sys::unlinkat(v.dir, v.name, 0))?;
        Ok(false)
    }
    fn leave(&mut self, v: &Visit<'_>, _: BorrowedFd<'_>) -> io::Result<()> {
        ignore_enoent(sys::unlinkat(v.dir, v.name, libc::AT_REMOVEDIR))
    }
}

fn ignore_enoent(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// `rm -rf`: removes a tree. Symlinks are removed, never followed; a missing path is fine.
pub fn rm_rf(call: &Call, path: &GuestPath) -> io::Result<()> {
    let (dir, name) = match guestfs::parent(path) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        other => other?,
    };
    let st = match walk::lstat_at(dir.as_fd(), &name) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        other => other?,
    };
    if walk::is_dir(&st) {
        let sub = walk::open_dir_at(dir.as_fd(), &name)?;
        walk::walk(sub.as_fd(), &mut Remove { call })?;
        ignore_enoent(sys::unlinkat(dir.as_fd(), &name, libc::AT_REMOVEDIR))
    } else {
        ignore_enoent(sys::unlinkat(dir.as_fd(), &name, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_dates_show_the_year_unless_recent() {
        let now = 1_700_000_000;
        assert_eq!(ls_time(1_600_000_000, now), "Sep 13  2020");
        assert_eq!(ls_time(951_782_400, now), "Feb 29  2000");
        assert_eq!(ls_time(now - 3600, now), "Nov 14 21:13");
        // In the future: the year, as ls prints it.
        assert_eq!(ls_time(now + 86_400 * 400, now), "Dec 18  2024");
    }

    #[test]
    fn ls_la_columns_line_up() {
        let st = |mode: u32, nlink: u64, size: u64, blocks: u64| Stat {
            mode,
            nlink,
            size,
            blocks,
            mtime: 1_600_000_000,
            ..Stat::default()
        };
        let rows = vec![
            (b".".to_vec(), st(0o40755, 2, 1024, 2), None),
            (b"..".to_vec(), st(0o40755, 8, 1024, 2), None),
            (b"fstab".to_vec(), st(0o100644, 1, 66, 2), None),
            (
                b"localtime".to_vec(),
                st(0o120777, 1, 23, 0),
                Some(b"/usr/share/zoneinfo/UTC".to_vec()),
            ),
        ];
        assert_eq!(
            ls_la(&rows, 1_700_000_000),
            "total 3\n\
             drwxr-xr-x 2 0 0 1024 Sep 13  2020 .\n\
             drwxr-xr-x 8 0 0 1024 Sep 13  2020 ..\n\
             -rw-r--r-- 1 0 0   66 Sep 13  2020 fstab\n\
             lrwxrwxrwx 1 0 0   23 Sep 13  2020 localtime -> /usr/share/zoneinfo/UTC\n"
        );
    }
}
