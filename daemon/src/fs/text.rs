//! guestfish's commands that read a guest file as text or bytes and summarise it: `head`,
//! `tail`, `wc-*`, `strings`, `hexdump`, `is-zero`, `filesize`, `statns`, and those that
//! hand it to a carried tool, `grep` (GNU grep) and `file` (libmagic). Files are opened
//! beneath the guest root; a tool gets the open file as `/proc/PID/fd/N`, never a guest path,
//! so no symlink in the guest can point it at the appliance's files.

use crate::boot::tools;
use crate::fs::{fileops, files, guestfs};
use guestwright_protocol::{GuestPath, Line, StatNs};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

/// Most bytes a text result may hold: a reply must fit in one frame.
const RESULT_MAX: usize = 4 * 1024 * 1024;

fn too_big(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "{what}: the result is larger than {RESULT_MAX} bytes; use download and a host tool"
        ),
    )
}

/// Calls `each` with every line of the file (without its `\n`); stops when it returns false.
fn for_each_line(path: &GuestPath, mut each: impl FnMut(Vec<u8>) -> bool) -> io::Result<()> {
    let mut r = BufReader::new(files::open_regular(path)?);
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if !each(line) {
            return Ok(());
        }
    }
}

/// Lines kept, with their total size checked against [`RESULT_MAX`].
struct Kept {
    lines: VecDeque<Line>,
    bytes: usize,
}

impl Kept {
    fn new() -> Kept {
        Kept {
            lines: VecDeque::new(),
            bytes: 0,
        }
    }
    fn push(&mut self, line: Vec<u8>) {
        self.bytes += line.len() + 8;
        self.lines.push_back(Line(line));
    }
    fn pop_front(&mut self) {
        if let Some(l) = self.lines.pop_front() {
            self.bytes -= l.0.len() + 8;
        }
    }
    fn pop_back(&mut self) {
        if let Some(l) = self.lines.pop_back() {
            self.bytes -= l.0.len() + 8;
        }
    }
    fn done(self, what: &str) -> io::Result<Vec<Line>> {
        if self.bytes > RESULT_MAX {
            return Err(too_big(what));
        }
        Ok(self.lines.into())
    }
}

/// `head-n`: the first `n` lines; negative: all but the last `-n`.
pub fn head_n(n: i32, path: &GuestPath) -> io::Result<Vec<Line>> {
    let mut kept = Kept::new();
    match n {
        0 => {}
        n if n > 0 => for_each_line(path, |l| {
            kept.push(l);
            kept.lines.len() < n as usize && kept.bytes <= RESULT_MAX
        })?,
        n => {
            let cut = n.unsigned_abs() as usize;
            let mut held = 0;
            for_each_line(path, |l| {
                kept.push(l);
                held += 1;
                kept.bytes <= RESULT_MAX + cut * 8 || held <= cut
            })?;
            for _ in 0..cut {
                kept.pop_back();
            }
        }
    }
    kept.done("head")
}

/// `tail-n`: the last `n` lines; negative: from line `-n` (counted from 1) on.
pub fn tail_n(n: i32, path: &GuestPath) -> io::Result<Vec<Line>> {
    let mut kept = Kept::new();
    match n {
        0 => {}
        n if n > 0 => for_each_line(path, |l| {
            kept.push(l);
            if kept.lines.len() > n as usize {
                kept.pop_front();
            }
            true
        })?,
        n => {
            let skip = n.unsigned_abs() as usize - 1;
            let mut seen = 0;
            for_each_line(path, |l| {
                seen += 1;
                if seen > skip {
                    kept.push(l);
                }
                kept.bytes <= RESULT_MAX
            })?;
        }
    }
    kept.done("tail")
}

fn read_blocks(path: &GuestPath, mut each: impl FnMut(&[u8])) -> io::Result<()> {
    let mut f = files::open_regular(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        each(&buf[..n]);
    }
}

fn count_i32(n: u64) -> io::Result<i32> {
    i32::try_from(n).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))
}

/// `wc-l`: newline characters.
pub fn wc_l(path: &GuestPath) -> io::Result<i32> {
    let mut n = 0u64;
    read_blocks(path, |b| {
        n += b.iter().filter(|&&c| c == b'\n').count() as u64
    })?;
    count_i32(n)
}

/// `wc-w`: runs of bytes that are not C-locale whitespace.
pub fn wc_w(path: &GuestPath) -> io::Result<i32> {
    let (mut n, mut in_word) = (0u64, false);
    read_blocks(path, |b| {
        for &c in b {
            let space = matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
            if !space && !in_word {
                n += 1;
            }
            in_word = !space;
        }
    })?;
    count_i32(n)
}

/// `wc-c`: bytes.
pub fn wc_c(path: &GuestPath) -> io::Result<i32> {
    let mut n = 0u64;
    read_blocks(path, |b| n += b.len() as u64)?;
    count_i32(n)
}

/// `strings`: runs of at least 4 printable 7-bit characters (or tabs), as GNU strings finds
/// them with its default encoding.
pub fn strings(path: &GuestPath) -> io::Result<Vec<Line>> {
    let mut found = Kept::new();
    let mut run = Vec::new();
    let end_run = |run: &mut Vec<u8>, found: &mut Kept| {
        if run.len() >= 4 {
            found.push(std::mem::take(run));
        } else {
            run.clear();
        }
    };
    read_blocks(path, |b| {
        for &c in b {
            if c == b'\t' || (0x20..0x7f).contains(&c) {
                run.push(c);
            } else {
                end_run(&mut run, &mut found);
            }
        }
    })?;
    end_run(&mut run, &mut found);
    found.done("strings")
}

/// One line of `hexdump -C`: offset, 16 bytes in hex (two groups of 8), then the bytes
/// as ASCII between bars.
fn hex_line(out: &mut String, offset: u64, row: &[u8]) {
    use std::fmt::Write as _;
    let _ = write!(out, "{offset:08x} ");
    for i in 0..16 {
        if i == 8 {
            out.push(' ');
        }
        match row.get(i) {
            Some(b) => {
                let _ = write!(out, " {b:02x}");
            }
            None => out.push_str("   "),
        }
    }
    out.push_str("  |");
    out.extend(row.iter().map(|&b| {
        if (0x20..0x7f).contains(&b) {
            b as char
        } else {
            '.'
        }
    }));
    out.push_str("|\n");
}

/// Reads until `buf` is full or the input ends; returns how many bytes it holds.
pub fn read_full(f: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `hexdump`: the file as `hexdump -C` prints it, with repeated rows as `*`.
pub fn hexdump(path: &GuestPath) -> io::Result<String> {
    let mut f = files::open_regular(path)?;
    let mut out = String::new();
    let (mut offset, mut last, mut starred) = (0u64, None::<Vec<u8>>, false);
    let mut row = [0u8; 16];
    loop {
        let n = read_full(&mut f, &mut row)?;
        if n == 0 {
            break;
        }
        let row = &row[..n];
        if n == 16 && last.as_deref() == Some(row) {
            if !starred {
                out.push_str("*\n");
                starred = true;
            }
        } else {
            hex_line(&mut out, offset, row);
            starred = false;
            last = Some(row.to_vec());
        }
        offset += n as u64;
        if out.len() > RESULT_MAX {
            return Err(too_big("hexdump"));
        }
    }
    if offset > 0 {
        out.push_str(&format!("{offset:08x}\n"));
    }
    Ok(out)
}

/// `is-zero`: true when every byte is zero.
pub fn is_zero(path: &GuestPath) -> io::Result<bool> {
    let mut zero = true;
    read_blocks(path, |b| zero &= b.iter().all(|&c| c == 0))?;
    Ok(zero)
}

/// `is-zero-device`: true when every byte of the device is zero.
pub fn is_zero_device(mut dev: File) -> io::Result<bool> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match dev.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf[..n].iter().any(|&c| c != 0) {
            return Ok(false);
        }
    }
}

/// `filesize`: the size in bytes, symlinks followed.
pub fn filesize(path: &GuestPath) -> io::Result<i64> {
    Ok(fileops::stat_raw(path)?.st_size)
}

/// `statns` / `lstatns`.
pub fn statns(path: &GuestPath, follow: bool) -> io::Result<StatNs> {
    let s = if follow {
        fileops::stat_raw(path)?
    } else {
        fileops::lstat_raw(path)?
    };
    Ok(to_statns(&s))
}

/// The protocol's `statns` of a kernel stat.
pub fn to_statns(s: &libc::stat) -> StatNs {
    StatNs {
        st_dev: s.st_dev as i64,
        st_ino: s.st_ino as i64,
        st_mode: i64::from(s.st_mode),
        st_nlink: s.st_nlink as i64,
        st_uid: i64::from(s.st_uid),
        st_gid: i64::from(s.st_gid),
        st_rdev: s.st_rdev as i64,
        st_size: s.st_size,
        st_blksize: s.st_blksize,
        st_blocks: s.st_blocks,
        st_atime_sec: s.st_atime,
        st_atime_nsec: s.st_atime_nsec,
        st_mtime_sec: s.st_mtime,
        st_mtime_nsec: s.st_mtime_nsec,
        st_ctime_sec: s.st_ctime,
        st_ctime_nsec: s.st_ctime_nsec,
        ..StatNs::default()
    }
}

/// `fallocate`: a file of `len` zero bytes, allocated (an existing file is emptied first).
pub fn fallocate(path: &GuestPath, len: i64) -> io::Result<()> {
    if len < 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let fd = guestfs::open(
        path,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOCTTY | libc::O_NONBLOCK,
        0o666,
    )?;
    let f = File::from(fd);
    if len > 0 {
        crate::sys::fallocate(&f, len)?;
    }
    f.sync_all()
}

/// The path a carried tool opens to read `file`: the daemon's own descriptor, through /proc.
fn fd_path(file: &File) -> String {
    format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd())
}

/// How `grep` matches.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrepHow {
    /// `-E`.
    pub extended: bool,
    /// `-F`.
    pub fixed: bool,
    /// `-i`.
    pub insensitive: bool,
    /// Look inside a gzip-compressed file.
    pub compressed: bool,
}

/// An unnamed file in the appliance's /tmp holding the file's bytes, decompressed when it
/// starts with the gzip magic (as zgrep does; other files are read as they are).
fn decompressed(path: &GuestPath) -> io::Result<File> {
    let mut src = BufReader::new(files::open_regular(path)?);
    let gzip = src.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut tmp = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o600)
        .open("/tmp")?;
    if gzip {
        io::copy(&mut flate2::bufread::MultiGzDecoder::new(src), &mut tmp)?;
    } else {
        io::copy(&mut src, &mut tmp)?;
    }
    tmp.flush()?;
    Ok(tmp)
}

/// `grep` and its family: the matching lines, none when nothing matches.
pub fn grep(regex: &str, path: &GuestPath, how: GrepHow) -> io::Result<Vec<Line>> {
    let file = if how.compressed {
        decompressed(path)?
    } else {
        files::open_regular(path)?
    };
    let mut args = Vec::new();
    if how.extended {
        args.push("-E".to_string());
    }
    if how.fixed {
        args.push("-F".to_string());
    }
    if how.insensitive {
        args.push("-i".to_string());
    }
    args.extend(["-e".to_string(), regex.to_string(), fd_path(&file)]);
    let out = tools::run_status("grep", &args, &[], None)?;
    drop(file);
    match out.status.code() {
        Some(0) => {}
        Some(1) => return Ok(Vec::new()),
        _ => return Err(tools::failed("grep", &args, &out)),
    }
    Ok(split_lines(out.stdout))
}

/// A program's output as lines, as guestfish splits it: a final newline ends the last line.
fn split_lines(mut out: Vec<u8>) -> Vec<Line> {
    if out.is_empty() {
        return Vec::new();
    }
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    out.split(|&b| b == b'\n')
        .map(|l| Line(l.to_vec()))
        .collect()
}

/// Where the carried `file` finds its compiled magic.
const MAGIC: &str = "/usr/lib/file/magic.mgc";

/// `file`: the kind of a special file by its mode, of a regular one as `file -z` says.
pub fn file(path: &GuestPath) -> io::Result<String> {
    let st = fileops::lstat_raw(path)?;
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => "directory",
        libc::S_IFCHR => "character device",
        libc::S_IFBLK => "block device",
        libc::S_IFIFO => "FIFO",
        libc::S_IFLNK => "symbolic link",
        libc::S_IFSOCK => "socket",
        _ => "",
    };
    if !kind.is_empty() {
        return Ok(kind.to_string());
    }
    let f = files::open_regular(path)?;
    // -L: the /proc path is a link to the file; -S: no seccomp sandbox in the appliance.
    let args = ["-m", MAGIC, "-zbLS", "--", &fd_path(&f)];
    let out = tools::run_status("file", &args, &[], None)?;
    drop(f);
    if !out.status.success() {
        return Err(tools::failed("file", &args, &out));
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

/// `file` of a device: what its content is, as `file -s` says (`DOS/MBR boot sector ...`,
/// `Linux rev 1.0 ext4 filesystem data ...`).
pub fn file_of_device(node: &std::path::Path) -> io::Result<String> {
    let node = node.to_string_lossy();
    // -s: read the block device's content rather than naming its kind; -S as in `file`.
    let args: [&str; 5] = ["-m", MAGIC, "-zbsLS", "--", &node];
    let out = tools::run_status("file", &args, &[], None)?;
    if !out.status.success() {
        return Err(tools::failed("file", &args, &out));
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexdump_rows_look_like_hexdump_c() {
        let mut out = String::new();
        hex_line(&mut out, 0x20, b"xt here.\n");
        assert_eq!(
            out,
            "00000020  78 74 20 68 65 72 65 2e  0a                       |xt here..|\n"
        );
        let mut out = String::new();
        hex_line(&mut out, 0, b"line 1\nline 2\nli");
        assert_eq!(
            out,
            "00000000  6c 69 6e 65 20 31 0a 6c  69 6e 65 20 32 0a 6c 69  |line 1.line 2.li|\n"
        );
    }

    #[test]
    fn program_output_splits_like_guestfish() {
        assert_eq!(
            split_lines(b"a\nb\n".to_vec()),
            [Line::from("a"), Line::from("b")]
        );
        assert_eq!(
            split_lines(b"a\n\n".to_vec()),
            [Line::from("a"), Line::from("")]
        );
        assert!(split_lines(Vec::new()).is_empty());
    }
}
