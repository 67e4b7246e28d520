//! The long listing virt-ls -lR and virt-diff share: a walk of a guest tree that gives every
//! entry with its full `lstat` (the directory itself first, then each entry in byte order of
//! its name, a directory's contents right after it), and the line format both print
//! (`d 0755       4096 /etc`, fields separated by a blank or, with --csv, a comma).

use crate::error::{stdout, Result};
use crate::format::human;
use clap::Args;
use guestwright::prelude::*;
use std::io::Write;

/// One entry of a walk.
pub struct Entry {
    /// Its full guest path (`/etc/hosts`; the directory walked as given).
    pub path: Vec<u8>,
    /// `lstat` of it.
    pub stat: Stat,
    /// The target of a symbolic link.
    pub link: Option<Vec<u8>>,
    /// Its extended attributes, in the order the filesystem lists them (when asked for).
    pub xattrs: Vec<XAttr>,
}

/// `dir` joined with `name` as libguestfs joins them: `/` + name at the root.
fn full_path(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if !p.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// Device numbers as guestfish shows them: `lstatns` numbers a file's `st_dev` as
/// libguestfs's appliance does (its disks are SCSI disks, 8:N), `lstat` and `readdir_plus`
/// give the kernel's own. One `lstatns` per filesystem met learns the mapping.
struct DevNumbers<'a> {
    h: &'a Handle,
    known: std::collections::HashMap<u64, u64>,
}

impl DevNumbers<'_> {
    fn fix(&mut self, path: &[u8], stat: &mut Stat) -> Result {
        let dev = match self.known.get(&stat.dev) {
            Some(d) => *d,
            None => {
                let ns = self.h.run(args::Lstatns::new(GuestPath::from(path)))?;
                self.known.insert(stat.dev, ns.st_dev as u64);
                ns.st_dev as u64
            }
        };
        stat.dev = dev;
        Ok(())
    }
}

/// The entries of `dir` without `.` and `..`, sorted by name (byte order, as libguestfs's
/// `ls` sorts them), each with its `lstat` and a symlink's target.
pub fn entries(h: &Handle, dir: &GuestPath) -> Result<Vec<DirEntryPlus>> {
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let page = h.run(args::ReaddirPlus::new(dir).offset(offset))?;
        all.extend(
            page.entries
                .into_iter()
                .filter(|e| e.name.as_bytes() != b"." && e.name.as_bytes() != b".."),
        );
        if !page.more {
            break;
        }
        offset = page.next;
    }
    all.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(all)
}

/// Walks `dir`: calls `f` with `dir` itself, then with everything below it, each directory's
/// entries sorted by name and a directory's tree right after its entry. With `xattrs`, each
/// entry carries its extended attributes (one call per directory). Device numbers are
/// guestfish's.
pub fn walk(h: &Handle, dir: &[u8], xattrs: bool, f: &mut dyn FnMut(Entry) -> Result) -> Result {
    let mut devs = DevNumbers {
        h,
        known: Default::default(),
    };
    let top = GuestPath::from(dir);
    let mut stat = h.run(args::Lstat::new(&top))?;
    devs.fix(dir, &mut stat)?;
    let link = if stat.kind() == FileKind::Symlink {
        Some(h.run(args::Readlink::new(&top))?.as_bytes().to_vec())
    } else {
        None
    };
    let attrs = if xattrs {
        h.run(args::Lgetxattrs::new(&top))?
    } else {
        Vec::new()
    };
    let is_dir = stat.kind() == FileKind::Directory;
    f(Entry {
        path: dir.to_vec(),
        stat,
        link,
        xattrs: attrs,
    })?;
    if is_dir {
        walk_below(&mut devs, dir, xattrs, f)?;
    }
    Ok(())
}

fn walk_below(
    devs: &mut DevNumbers<'_>,
    dir: &[u8],
    xattrs: bool,
    f: &mut dyn FnMut(Entry) -> Result,
) -> Result {
    let h = devs.h;
    let entries = entries(h, &GuestPath::from(dir))?;
    let mut attrs = if xattrs {
        entry_xattrs(h, dir, &entries)?
    } else {
        Vec::new()
    };
    attrs.resize_with(entries.len(), Vec::new);
    for (e, attrs) in entries.into_iter().zip(attrs) {
        let child = full_path(dir, e.name.as_bytes());
        let is_dir = e.stat.kind() == FileKind::Directory;
        let mut stat = e.stat;
        devs.fix(&child, &mut stat)?;
        f(Entry {
            path: child.clone(),
            stat,
            link: e.link.map(|l| l.as_bytes().to_vec()),
            xattrs: attrs,
        })?;
        if is_dir {
            walk_below(devs, &child, xattrs, f)?;
        }
    }
    Ok(())
}

/// The extended attributes of each entry of `dir`: one `lxattrlist` call when every name is
/// UTF-8 (what its argument carries), else one `lgetxattrs` per entry.
fn entry_xattrs(h: &Handle, dir: &[u8], entries: &[DirEntryPlus]) -> Result<Vec<Vec<XAttr>>> {
    let names: Option<Vec<String>> = entries
        .iter()
        .map(|e| {
            std::str::from_utf8(e.name.as_bytes())
                .ok()
                .map(str::to_owned)
        })
        .collect();
    let Some(names) = names else {
        return entries
            .iter()
            .map(|e| {
                let p = GuestPath::from(full_path(dir, e.name.as_bytes()).as_slice());
                Ok(h.run(args::Lgetxattrs::new(&p))?)
            })
            .collect();
    };
    let list = h.run(args::Lxattrlist::new(GuestPath::from(dir), names))?;
    // For each name: an entry with an empty name and the count as its value, then the
    // attributes.
    let mut out = Vec::with_capacity(entries.len());
    let mut it = list.into_iter();
    while let Some(head) = it.next() {
        let n: usize = std::str::from_utf8(&head.attrval)
            .ok()
            .and_then(|s| s.trim_end_matches('\0').parse().ok())
            .unwrap_or(0);
        out.push(
            it.by_ref()
                .take(n)
                .map(|x| XAttr {
                    name: x.attrname,
                    value: Data::from(x.attrval),
                })
                .collect(),
        );
    }
    Ok(out)
}

/// How times are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeStyle {
    /// `2024-01-31 12:00:00`, local time.
    Date,
    /// Seconds since the epoch.
    Epoch,
    /// Seconds before now.
    Relative,
    /// Days before now.
    Days,
}

/// The options virt-ls -lR and virt-diff share for their fields.
#[derive(Debug, Args, Clone)]
pub struct FieldArgs {
    /// Comma-separated values.
    #[arg(long)]
    pub csv: bool,
    /// Sizes like 1.5K instead of bytes.
    #[arg(short = 'h', long = "human-readable")]
    pub human: bool,
    /// Show the UID and GID.
    #[arg(long)]
    pub uids: bool,
    /// Show the times (access, modification, change).
    #[arg(long)]
    pub times: bool,
    /// Show times as days before now.
    #[arg(long = "time-days")]
    pub time_days: bool,
    /// Show times as seconds before now.
    #[arg(long = "time-relative")]
    pub time_relative: bool,
    /// Show times as seconds since the epoch.
    #[arg(long = "time-t")]
    pub time_t: bool,
    /// Show device, inode, links, device number and blocks.
    #[arg(long = "extra-stats")]
    pub extra_stats: bool,
    /// Show extended attributes.
    #[arg(long)]
    pub xattrs: bool,
}

impl FieldArgs {
    /// Which time style the options ask for; the last of --time-t, --time-relative and
    /// --time-days given wins in virt-ls, here the most specific.
    pub fn time_style(&self) -> TimeStyle {
        if self.time_days {
            TimeStyle::Days
        } else if self.time_relative {
            TimeStyle::Relative
        } else if self.time_t {
            TimeStyle::Epoch
        } else {
            TimeStyle::Date
        }
    }

    /// Whether any option that only a long listing shows was given.
    pub fn any(&self) -> bool {
        self.csv
            || self.human
            || self.uids
            || self.times
            || self.time_days
            || self.time_relative
            || self.time_t
            || self.extra_stats
    }
}

/// One output line, built field by field as virt-ls and virt-diff print them.
pub struct Line<'a, W: Write> {
    out: &'a mut W,
    csv: bool,
    human: bool,
    time: TimeStyle,
    now: i64,
    /// virt-diff pads UIDs only outside CSV; virt-ls always.
    pad_uid_in_csv: bool,
    field: usize,
    escape: bool,
}

impl<'a, W: Write> Line<'a, W> {
    /// A new line on `out` (`now` for relative times; `escape` for names on a terminal).
    pub fn new(
        out: &'a mut W,
        fields: &FieldArgs,
        now: i64,
        pad_uid_in_csv: bool,
        escape: bool,
    ) -> Self {
        Line {
            out,
            csv: fields.csv,
            human: fields.human,
            time: fields.time_style(),
            now,
            pad_uid_in_csv,
            field: 0,
            escape,
        }
    }

    fn put(&mut self, b: &[u8]) -> Result {
        self.out.write_all(b).map_err(stdout)
    }

    fn next(&mut self) -> Result {
        self.field += 1;
        if self.field > 1 {
            let sep: &[u8] = if self.csv { b"," } else { b" " };
            self.put(sep)?;
        }
        Ok(())
    }

    /// A text field, quoted in CSV when it holds a blank, quote, newline or comma.
    pub fn string(&mut self, s: &[u8]) -> Result {
        self.next()?;
        let shown;
        let s = if self.escape {
            shown = guestwright::protocol::escape_bytes(s);
            shown.as_bytes()
        } else {
            s
        };
        if self.csv && s.iter().any(|c| b" \"\n,".contains(c)) {
            let mut q = vec![b'"'];
            for &c in s {
                if c == b'"' {
                    q.push(b'"');
                }
                q.push(c);
            }
            q.push(b'"');
            self.put(&q)
        } else {
            self.put(s)
        }
    }

    /// A symbolic link's target: `-> target`, or a plain field in CSV.
    pub fn link(&mut self, target: &[u8]) -> Result {
        if self.csv {
            return self.string(target);
        }
        self.next()?;
        self.put(b"-> ")?;
        if self.escape {
            let t = guestwright::protocol::escape_bytes(target);
            self.put(t.as_bytes())
        } else {
            self.put(target)
        }
    }

    /// A binary value (an extended attribute's): unprintable bytes as `\xNN`. In CSV a
    /// value that needs quoting is quoted, its unprintable bytes written as virt-diff
    /// writes them there (`\x%2x` of the byte as a signed char).
    pub fn binary(&mut self, v: &[u8]) -> Result {
        let printable = |c: u8| (0x20..0x7f).contains(&c);
        self.next()?;
        let quote = self.csv && v.iter().any(|&c| !printable(c) || b" \"\n,".contains(&c));
        let mut s = Vec::with_capacity(v.len() + 2);
        if quote {
            s.push(b'"');
        }
        for &c in v {
            if quote && c == b'"' {
                s.extend_from_slice(b"\"\"");
            } else if printable(c) {
                s.push(c);
            } else if quote {
                s.extend_from_slice(format!("\\x{:2x}", i32::from(c as i8) as u32).as_bytes());
            } else {
                s.extend_from_slice(format!("\\x{c:02x}").as_bytes());
            }
        }
        if quote {
            s.push(b'"');
        }
        self.put(&s)
    }

    /// A plain number.
    pub fn int(&mut self, n: i64) -> Result {
        self.next()?;
        self.put(n.to_string().as_bytes())
    }

    /// A size: right-aligned in 10 columns (not in CSV), or human-readable.
    pub fn size(&mut self, n: u64) -> Result {
        self.next()?;
        let s = if self.human { human(n) } else { n.to_string() };
        let s = if self.csv { s } else { format!("{s:>10}") };
        self.put(s.as_bytes())
    }

    /// Permission bits, four octal digits.
    pub fn perms(&mut self, mode: u32) -> Result {
        self.next()?;
        self.put(format!("{:04o}", mode & 0o7777).as_bytes())
    }

    /// A time, in the chosen style.
    pub fn time(&mut self, secs: i64) -> Result {
        self.next()?;
        let s = match self.time {
            TimeStyle::Epoch => format!("{secs:>10}"),
            TimeStyle::Relative => format!("{:>8}", self.now - secs),
            TimeStyle::Days => format!("{:>3}", (self.now - secs) / 86_400),
            TimeStyle::Date => local_time(secs),
        };
        self.put(s.as_bytes())
    }

    /// A UID or GID, right-aligned in 4 columns.
    pub fn uid(&mut self, id: u32) -> Result {
        self.next()?;
        let s = if self.csv && !self.pad_uid_in_csv {
            id.to_string()
        } else {
            format!("{id:>4}")
        };
        self.put(s.as_bytes())
    }

    /// A device number, `major:minor`.
    pub fn dev(&mut self, dev: u64) -> Result {
        self.next()?;
        let (major, minor) = (libc::major(dev), libc::minor(dev));
        self.put(format!("{major}:{minor}").as_bytes())
    }

    /// Ends the line.
    pub fn end(self) -> Result {
        self.out.write_all(b"\n").map_err(stdout)
    }
}

/// What virt-ls -lR and virt-diff print of one entry after their own first fields: type,
/// permissions, size, then what `fields` asks for (times with the access time only when
/// `atime`), the `checksum` when given (`Some("")` leaves an empty CSV field), the path,
/// a symlink's target, and with `xattrs` each extended attribute's name and value.
pub fn entry_fields<W: Write>(
    l: &mut Line<'_, W>,
    fields: &FieldArgs,
    e: &Entry,
    checksum: Option<&str>,
    atime: bool,
    xattrs: bool,
) -> Result {
    let st = &e.stat;
    l.string(type_letter(st))?;
    l.perms(st.mode)?;
    l.size(st.size)?;
    if fields.uids {
        l.uid(st.uid)?;
        l.uid(st.gid)?;
    }
    if fields.times || fields.time_days || fields.time_relative || fields.time_t {
        if atime {
            l.time(st.atime)?;
        }
        l.time(st.mtime)?;
        l.time(st.ctime)?;
    }
    if fields.extra_stats {
        l.dev(st.dev)?;
        l.int(st.ino as i64)?;
        l.int(st.nlink as i64)?;
        l.dev(st.rdev)?;
        l.int(st.blocks as i64)?;
    }
    if let Some(c) = checksum {
        l.string(c.as_bytes())?;
    }
    l.string(&e.path)?;
    if let Some(t) = &e.link {
        l.link(t)?;
    }
    if xattrs {
        for x in &e.xattrs {
            l.string(x.name.as_bytes())?;
            l.binary(&x.value.0)?;
        }
    }
    Ok(())
}

/// The one-letter file type virt-ls -lR and virt-diff print.
pub fn type_letter(stat: &Stat) -> &'static [u8] {
    match stat.kind() {
        FileKind::Regular => b"-",
        FileKind::Directory => b"d",
        FileKind::CharDevice => b"c",
        FileKind::BlockDevice => b"b",
        FileKind::Fifo => b"p",
        FileKind::Symlink => b"l",
        FileKind::Socket => b"s",
        _ => b"u",
    }
}

/// `YYYY-MM-DD HH:MM:SS` in the local time zone (`%F %T`).
fn local_time(secs: i64) -> String {
    let Some(tm) = crate::sys::local_time(secs) else {
        return secs.to_string();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(csv: bool) -> FieldArgs {
        FieldArgs {
            csv,
            human: false,
            uids: false,
            times: false,
            time_days: false,
            time_relative: false,
            time_t: false,
            extra_stats: false,
            xattrs: false,
        }
    }

    #[test]
    fn lines_as_virt_ls_prints_them() {
        let mut out = Vec::new();
        let mut l = Line::new(&mut out, &fields(false), 0, true, false);
        l.string(b"l").unwrap();
        l.perms(0o120777).unwrap();
        l.size(19).unwrap();
        l.string(b"/data/dangling").unwrap();
        l.link(b"/nonexistent/target").unwrap();
        l.end().unwrap();
        assert_eq!(
            out,
            b"l 0777         19 /data/dangling -> /nonexistent/target\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let mut out = Vec::new();
        let mut l = Line::new(&mut out, &fields(true), 0, false, false);
        l.string(b"-").unwrap();
        l.size(20).unwrap();
        l.uid(7).unwrap();
        l.string(b"/data/with space \"x\",y").unwrap();
        l.binary(b"a\x01").unwrap();
        l.end().unwrap();
        assert_eq!(out, b"-,20,7,\"/data/with space \"\"x\"\",y\",\"a\\x 1\"\n");
    }

    #[test]
    fn paths_join_as_libguestfs_joins_them() {
        assert_eq!(full_path(b"/", b"etc"), b"/etc");
        assert_eq!(full_path(b"/etc", b"hosts"), b"/etc/hosts");
    }
}
