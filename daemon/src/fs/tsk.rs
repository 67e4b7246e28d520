//! guestfish's `filesystem-walk` and `find-inode` (cmds-misc): every entry of an unmounted
//! filesystem, deleted ones included, as `tsk_dirent` structs. The Sleuth Kit's tools do
//! the reading: `fls` lists the names (with their allocation state), `istat` gives each
//! inode's size, link count and times (with nanoseconds), `icat` a symbolic link's target.
//! Nothing here writes to the device.

use crate::boot::tools;
use guestwright_protocol::TskDirent;
use std::collections::HashMap;
use std::io;
use std::path::Path;

/// One line of `fls -r -p -a`.
#[derive(Debug, PartialEq, Eq)]
struct Named {
    name_type: char,
    allocated: bool,
    realloc: bool,
    inode: u64,
    name: String,
}

/// Parses `fls -r -p -a` output: `r/r * 14(realloc):\tdir/name`.
fn parse_fls(text: &str) -> Vec<Named> {
    text.lines()
        .filter_map(|line| {
            let (head, name) = line.split_once('\t')?;
            let head = head.strip_suffix(':')?;
            let mut words = head.split_whitespace();
            let types = words.next()?;
            let mut next = words.next()?;
            let allocated = next != "*";
            if !allocated {
                next = words.next()?;
            }
            let (inode, realloc) = match next.split_once('(') {
                Some((n, rest)) => (n, rest.starts_with("realloc")),
                None => (next, false),
            };
            // NTFS attributes show as `inode-type-id`: the inode is the first number.
            let inode = inode.split('-').next()?.parse().ok()?;
            Some(Named {
                name_type: types.chars().next()?,
                allocated,
                realloc,
                inode,
                name: name.to_string(),
            })
        })
        .collect()
}

/// The targets of the symbolic links, by inode, from `fls -m`'s body format
/// (`0|/link -> target|14|l/lrwxrwxrwx|...`); read once per walk.
fn links(dev: &std::ffi::OsStr) -> io::Result<HashMap<u64, String>> {
    let out = tools::run_status(
        "fls",
        &["-r".as_ref(), "-m".as_ref(), "/".as_ref(), dev],
        &[],
        None,
    )?;
    Ok(parse_body_links(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_body_links(text: &str) -> HashMap<u64, String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split('|');
            let name = f.nth(1)?;
            let inode = f.next()?.split('-').next()?.parse().ok()?;
            let (_, target) = name.split_once(" -> ")?;
            Some((inode, target.to_string()))
        })
        .collect()
}

/// libguestfs leaves out `.` and `..` entries, except the root directory's own `.`.
fn is_dot(e: &Named, root: u64) -> bool {
    let last = e.name.rsplit('/').next().unwrap_or("");
    (last == "." || last == "..") && !(e.name == "." && e.inode == root)
}

/// libguestfs's letter for an fls name type.
fn type_letter(t: char) -> char {
    match t {
        'p' => 'f',
        'c' | 'd' | 'b' | 'r' | 'l' | 's' | 'h' | 'w' => t,
        _ => 'u',
    }
}

/// What `istat` says of one inode.
#[derive(Debug, Default, PartialEq, Eq)]
struct Meta {
    size: i64,
    nlink: i64,
    allocated: bool,
    atime: (i64, i64),
    mtime: (i64, i64),
    ctime: (i64, i64),
    crtime: (i64, i64),
}

fn parse_istat(text: &str) -> Meta {
    let mut m = Meta::default();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line == "Allocated" {
            m.allocated = true;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        // NTFS lists the times twice ($STANDARD_INFORMATION first): keep the first.
        if !seen.insert(key.to_string()) {
            continue;
        }
        match key {
            "size" => m.size = value.parse().unwrap_or(0),
            "num of links" => m.nlink = value.parse().unwrap_or(0),
            "Accessed" => m.atime = parse_time(value),
            "File Modified" | "Written" => m.mtime = parse_time(value),
            "Inode Modified" | "MFT Modified" | "Changed" => m.ctime = parse_time(value),
            "File Created" | "Created" => m.crtime = parse_time(value),
            _ => {}
        }
    }
    m
}

/// `2026-12-03 16:52:41.123456789 (UTC)` as seconds and nanoseconds (0 when unset).
fn parse_time(text: &str) -> (i64, i64) {
    let text = text.split(" (").next().unwrap_or("");
    let Some((date, time)) = text.split_once(' ') else {
        return (0, 0);
    };
    let d: Vec<i64> = date.split('-').filter_map(|x| x.parse().ok()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').filter_map(|x| x.parse().ok()).collect();
    if d.len() != 3 || t.len() != 3 || d[0] == 0 {
        return (0, 0);
    }
    let nsec = format!("{frac:0<9}")[..9].parse().unwrap_or(0);
    let days = crate::block::isoinfo::days_from_civil(d[0], d[1], d[2]);
    (days * 86400 + t[0] * 3600 + t[1] * 60 + t[2], nsec)
}

/// The root directory's inode: where `fls` starts (ext 2, NTFS 5, FAT 2, ...).
fn root_inode(entries: &[Named]) -> u64 {
    entries
        .iter()
        .find(|e| e.name == ".")
        .map_or(2, |e| e.inode)
}

/// The error libguestfs reports when the Sleuth Kit cannot read the filesystem.
fn tsk_error(call: &str, e: io::Error) -> io::Error {
    let text = e.to_string();
    let said = text.split_once(": ").map_or(text.as_str(), |(_, s)| s);
    io::Error::other(format!("{call}: tsk_fs_open_img: {said}"))
}

/// `filesystem_walk` (and `find_inode` with `only`): the entries of the filesystem on
/// `node`, in the order the Sleuth Kit walks them.
pub fn walk(node: &Path, only: Option<u64>, call: &str) -> io::Result<Vec<TskDirent>> {
    let dev = node.as_os_str();
    let fls = tools::run_status(
        "fls",
        &["-r".as_ref(), "-p".as_ref(), "-a".as_ref(), dev],
        &[],
        None,
    )?;
    if !fls.status.success() {
        return Err(tsk_error(call, tools::failed("fls", &[dev], &fls)));
    }
    let entries = parse_fls(&String::from_utf8_lossy(&fls.stdout));
    let root = root_inode(&entries);
    let mut metas: HashMap<u64, Option<Meta>> = HashMap::new();
    let mut link_cache: Option<HashMap<u64, String>> = None;
    let mut out = Vec::new();
    for e in entries {
        // The Sleuth Kit's virtual folder of orphan inodes: libguestfs lists it, not what
        // it holds.
        if e.name.starts_with("$OrphanFiles/") {
            continue;
        }
        if only.is_some_and(|i| i != e.inode) || is_dot(&e, root) {
            continue;
        }
        let meta = if e.inode == 0 {
            None
        } else {
            metas
                .entry(e.inode)
                .or_insert_with(|| {
                    let i = e.inode.to_string();
                    tools::run_status("istat", &[dev, i.as_ref()], &[("TZ", "UTC")], None)
                        .ok()
                        .filter(|o| o.status.success())
                        .map(|o| parse_istat(&String::from_utf8_lossy(&o.stdout)))
                })
                .as_ref()
        };
        let mut flags = if e.allocated { 1 } else { 0 };
        if !e.allocated && e.realloc {
            flags |= 2;
        }
        let kind = type_letter(e.name_type);
        let mut d = TskDirent {
            tsk_inode: e.inode,
            tsk_type: kind,
            tsk_size: -1,
            tsk_name: e.name,
            tsk_flags: flags,
            ..TskDirent::default()
        };
        if meta.is_none() && e.name_type == 'V' {
            // istat knows nothing of the virtual folder; libtsk makes it empty, one link.
            d.tsk_size = 0;
            d.tsk_nlink = 1;
        }
        if let Some(m) = meta {
            d.tsk_size = m.size;
            d.tsk_nlink = m.nlink;
            (d.tsk_atime_sec, d.tsk_atime_nsec) = m.atime;
            (d.tsk_mtime_sec, d.tsk_mtime_nsec) = m.mtime;
            (d.tsk_ctime_sec, d.tsk_ctime_nsec) = m.ctime;
            (d.tsk_crtime_sec, d.tsk_crtime_nsec) = m.crtime;
            if kind == 'l' {
                if link_cache.is_none() {
                    link_cache = Some(links(dev)?);
                }
                d.tsk_link = link_cache
                    .as_ref()
                    .and_then(|m| m.get(&e.inode).cloned())
                    .unwrap_or_default();
            }
        }
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fls_lines_give_type_state_inode_and_path() {
        let e = parse_fls("d/d 2:\t.\nr/r * 14(realloc):\tgone\nl/l 15:\tdir/link\n-/r * 0:\tx\n");
        assert_eq!(e.len(), 4);
        assert_eq!(
            (e[0].name_type, e[0].inode, e[0].name.as_str()),
            ('d', 2, ".")
        );
        assert!(!e[1].allocated && e[1].realloc && e[1].inode == 14);
        assert!(e[2].allocated && e[2].name == "dir/link");
        assert_eq!((e[3].inode, type_letter(e[3].name_type)), (0, 'u'));
        assert!(!is_dot(&e[0], 2));
    }

    #[test]
    fn link_targets_come_from_the_body_format() {
        let m = parse_body_links("0|/dir|12|d/drwxr-xr-x|0|0|1024|1|1|1|1\n0|/link -> dir/f|15|l/lrwxrwxrwx|0|0|5|1|1|1|1\n");
        assert_eq!(m.len(), 1);
        assert_eq!(m[&15], "dir/f");
    }

    #[test]
    fn dots_are_left_out_except_the_root() {
        let e = parse_fls("d/d 2:\t..\nd/d 11:\tlost+found/.\nd/d 2:\tlost+found/..\n");
        assert!(e.iter().all(|e| is_dot(e, 2)));
    }

    #[test]
    fn istat_times_keep_nanoseconds() {
        let m = parse_istat(
            "inode: 12\nAllocated\nsize: 1024\nnum of links: 2\n\nInode Times:\n\
             Accessed:\t2026-12-03 16:52:41.396000228 (UTC)\n\
             File Modified:\t2026-12-03 16:52:41.000000000 (UTC)\n\
             Inode Modified:\t2026-12-03 16:52:41.5 (UTC)\n\
             File Created:\t0000-00-00 00:00:00 (UTC)\n",
        );
        assert_eq!((m.size, m.nlink), (1024, 2));
        assert_eq!(m.atime, (1_796_316_761, 396_000_228));
        assert_eq!(m.ctime.1, 500_000_000);
        assert_eq!(m.crtime, (0, 0));
    }
}
