//! guestfish's FILES group that streams (cmds-files): base64 in and out, `ls0`, `cpio-out`,
//! `compress-out`, initrds (cpio archives, maybe compressed) read member by member, and
//! copies between files and devices by offset (`copy-file-to-file`, `copy-size`, `dd`).

use crate::call::Call;
use crate::fs::{dirs, files, guestfs, walk};
use guestwright_protocol::{FileName, GuestPath, RemoteError};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `data` as base64 (no line breaks).
pub fn base64_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63]);
        out.push(B64[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63]
        } else {
            b'='
        });
    }
    out
}

/// Decodes base64 text incrementally, skipping line breaks and spaces, as `base64 -d` does.
#[derive(Default)]
struct Base64Decoder {
    acc: u32,
    bits: u32,
    ended: bool,
}

impl Base64Decoder {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        for &c in input {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => {
                    self.ended = true;
                    continue;
                }
                b'\n' | b'\r' | b' ' | b'\t' => continue,
                _ => return Err(invalid("base64_in: invalid base64 input")),
            };
            if self.ended {
                return Err(invalid("base64_in: invalid base64 input (data after '=')"));
            }
            self.acc = (self.acc << 6) | u32::from(v);
            self.bits += 6;
            if self.bits >= 8 {
                self.bits -= 8;
                out.push((self.acc >> self.bits) as u8);
                self.acc &= (1 << self.bits) - 1;
            }
        }
        Ok(())
    }
}

/// `base64_in`: decodes the input stream into a file that replaces `path` (a symbolic link
/// there is replaced, not followed), on disk when the call returns.
pub fn base64_in(call: &mut Call, path: &GuestPath) -> io::Result<()> {
    // libguestfs's words for a file that cannot be made (its `base64 -d` could not write).
    let mut r = crate::fs::replace::Replacement::begin(path).map_err(|e| {
        io::Error::from(RemoteError::new(
            e.raw_os_error().map_or(
                guestwright_protocol::Errno::EIO,
                guestwright_protocol::Errno::from_raw,
            ),
            format!("base64_in: base64 subcommand failed on file: {path}"),
        ))
    })?;
    let mut dec = Base64Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    loop {
        call.check_cancel()?;
        let n = match call.input().read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.clear();
        dec.feed(&buf[..n], &mut out)?;
        r.file().write_all(&out)?;
    }
    r.file().sync_all()?;
    r.commit()
}

/// `base64_out`: the file as `base64` prints it, 76 characters a line.
pub fn base64_out(call: &mut Call, path: &GuestPath) -> io::Result<()> {
    let mut f = files::open_regular(path)?;
    let mut w = call.output();
    // 57 input bytes make one 76-character line.
    let mut buf = vec![0u8; 57 * 1024];
    loop {
        let n = crate::fs::text::read_full(&mut f, &mut buf)?;
        if n == 0 {
            break;
        }
        let mut text = Vec::with_capacity(n / 57 * 77 + 80);
        for line in buf[..n].chunks(57) {
            text.extend_from_slice(&base64_encode(line));
            text.push(b'\n');
        }
        w.write_all(&text)?;
        if n < buf.len() {
            break;
        }
    }
    w.flush()
}

/// A directory's entries as the kernel lists them (what readdir and `find` give).
fn kernel_order(dir: BorrowedFd<'_>) -> io::Result<Vec<walk::RawEntry>> {
    let mut r = walk::DirReader::new(walk::reopen_dir(dir)?);
    let mut out = Vec::new();
    while let Some(e) = r.next_entry()? {
        out.push(e);
    }
    Ok(out)
}

/// `ls0`: the names in a directory in the kernel's order, each ended by NUL.
pub fn ls0(call: &mut Call, path: &GuestPath) -> io::Result<()> {
    let dir = dirs::open_dir(path)?;
    let mut out = Vec::new();
    for e in kernel_order(dir.as_fd())? {
        if !e.is_dot() {
            out.extend_from_slice(&e.name);
            out.push(0);
        }
    }
    let mut w = call.output();
    w.write_all(&out)?;
    w.flush()
}

/// One cpio member header in `newc` (`070701`) or `crc` (`070702`) form.
fn cpio_header(
    out: &mut Vec<u8>,
    magic: &str,
    st: &libc::stat,
    size: u64,
    name: &[u8],
    check: u32,
) {
    let dev = st.st_dev;
    let rdev = st.st_rdev;
    let fields = [
        st.st_ino,
        u64::from(st.st_mode),
        u64::from(st.st_uid),
        u64::from(st.st_gid),
        st.st_nlink,
        st.st_mtime as u64,
        size,
        u64::from(libc::major(dev)),
        u64::from(libc::minor(dev)),
        u64::from(libc::major(rdev)),
        u64::from(libc::minor(rdev)),
        name.len() as u64 + 1,
        u64::from(check),
    ];
    out.extend_from_slice(magic.as_bytes());
    for f in fields {
        out.extend_from_slice(format!("{:08x}", f as u32).as_bytes());
    }
    out.extend_from_slice(name);
    out.push(0);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

struct CpioWriter<'a, W: Write> {
    w: &'a mut W,
    magic: &'static str,
    written: u64,
}

impl<W: Write> CpioWriter<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.w.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn member(&mut self, st: &libc::stat, name: &[u8], data: &[u8]) -> io::Result<()> {
        let check = if self.magic == "070702" {
            data.iter().fold(0u32, |a, &b| a.wrapping_add(u32::from(b)))
        } else {
            0
        };
        let mut head = Vec::new();
        // The header padding counts from the start of the archive.
        let start = self.written as usize;
        head.resize(start % 4, 0);
        cpio_header(&mut head, self.magic, st, data.len() as u64, name, check);
        self.put(&head[start % 4..])?;
        self.put(data)?;
        let pad = (4 - data.len() % 4) % 4;
        self.put(&[0u8; 3][..pad])
    }

    /// Walks `dir` (named `prefix` in the archive) depth first, in the kernel's order.
    fn tree(&mut self, call: &Call, dir: BorrowedFd<'_>, prefix: &[u8]) -> io::Result<()> {
        for e in kernel_order(dir)? {
            if e.is_dot() {
                continue;
            }
            call.check_cancel()?;
            let cname = CString::new(e.name.clone()).map_err(|_| invalid("NUL in a name"))?;
            let st = walk::lstat_at(dir, &cname)?;
            let mut name = prefix.to_vec();
            if !name.is_empty() {
                name.push(b'/');
            }
            name.extend_from_slice(&e.name);
            match st.st_mode & libc::S_IFMT {
                libc::S_IFREG => {
                    let fd = crate::sys::openat2(
                        dir,
                        &cname,
                        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
                        0,
                        crate::sys::RESOLVE_BENEATH | crate::sys::RESOLVE_NO_SYMLINKS,
                    )?;
                    let mut data = Vec::new();
                    File::from(fd).read_to_end(&mut data)?;
                    self.member(&st, &name, &data)?;
                }
                libc::S_IFLNK => {
                    let target = crate::sys::readlinkat(dir, &cname)?;
                    self.member(&st, &name, &target)?;
                }
                libc::S_IFDIR => {
                    self.member(&st, &name, &[])?;
                    let sub = walk::open_dir_at(dir, &cname)?;
                    self.tree(call, sub.as_fd(), &name)?;
                }
                _ => self.member(&st, &name, &[])?,
            }
        }
        Ok(())
    }
}

/// `cpio_out`: the directory as a cpio archive (`.` itself, then names relative to it, as
/// libguestfs's `find | cpio` stores them), padded to 512-byte blocks as cpio(1) writes it.
pub fn cpio_out(call: &mut Call, path: &GuestPath, format: Option<&str>) -> io::Result<()> {
    let magic = match format.unwrap_or("newc") {
        "newc" => "070701",
        "crc" => "070702",
        other => {
            return Err(invalid(format!(
                "cpio_out: {other}: format must be 'newc' or 'crc'"
            )))
        }
    };
    let dir = dirs::open_dir(path)?;
    let st = walk::fstat(dir.as_fd())?;
    let mut buf = Vec::new();
    {
        let mut cw = CpioWriter {
            w: &mut buf,
            magic,
            written: 0,
        };
        cw.member(&st, b".", &[])?;
        let c: &Call = call;
        cw.tree(c, dir.as_fd(), b"")?;
        // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
        let zero: libc::stat = unsafe { std::mem::zeroed() };
        let mut trailer = zero;
        trailer.st_nlink = 1;
        cw.member(&trailer, b"TRAILER!!!", &[])?;
    }
    buf.resize(buf.len().div_ceil(512) * 512, 0);
    let mut w = call.output();
    w.write_all(&buf)?;
    w.flush()
}

/// Reads a whole initrd, decompressed (gzip, xz, zstd or none, by magic).
fn initrd_bytes(path: &GuestPath) -> io::Result<Vec<u8>> {
    let f = files::open_regular(path)?;
    let mut r = BufReader::new(f);
    let mut head = [0u8; 6];
    let n = r.get_ref().read_at(&mut head, 0)?;
    let head = &head[..n];
    let mut out = Vec::new();
    if head.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(r).read_to_end(&mut out)?;
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        liblzma::read::XzDecoder::new_multi_decoder(r).read_to_end(&mut out)?;
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        ruzstd::decoding::StreamingDecoder::new(r)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}")))?
            .read_to_end(&mut out)?;
    } else {
        r.read_to_end(&mut out)?;
    }
    Ok(out)
}

/// The members of a cpio archive (newc or crc; a following archive too, as in initrds with
/// early microcode): (name, contents).
fn cpio_members(
    path: &GuestPath,
    data: &[u8],
) -> io::Result<Vec<(Vec<u8>, std::ops::Range<usize>)>> {
    let bad = || {
        io::Error::from(RemoteError::new(
            guestwright_protocol::Errno::EINVAL,
            format!("{path}: not a cpio archive (newc) or a compressed one"),
        ))
    };
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut seen_one = false;
    loop {
        // Archives are padded with zeros between them.
        while pos < data.len() && data[pos] == 0 {
            pos += 1;
        }
        if pos + 110 > data.len() {
            break;
        }
        let h = &data[pos..pos + 110];
        if &h[..6] != b"070701" && &h[..6] != b"070702" {
            break;
        }
        let field = |i: usize| -> io::Result<usize> {
            let s = std::str::from_utf8(&h[6 + i * 8..14 + i * 8]).map_err(|_| bad())?;
            usize::from_str_radix(s, 16).map_err(|_| bad())
        };
        let size = field(6)?;
        let namesize = field(11)?;
        let name_start = pos + 110;
        let name_end = name_start + namesize.saturating_sub(1);
        if name_end > data.len() {
            return Err(bad());
        }
        let name = data[name_start..name_end].to_vec();
        let data_start = (name_start + namesize).div_ceil(4) * 4;
        let data_end = data_start + size;
        if data_end > data.len() {
            return Err(bad());
        }
        pos = data_end.div_ceil(4) * 4;
        seen_one = true;
        if name == b"TRAILER!!!" {
            continue;
        }
        out.push((name, data_start..data_end));
    }
    if !seen_one {
        return Err(bad());
    }
    Ok(out)
}

/// `initrd_list`: the names in an initrd, in archive order.
pub fn initrd_list(path: &GuestPath) -> io::Result<Vec<FileName>> {
    let data = initrd_bytes(path)?;
    Ok(cpio_members(path, &data)?
        .into_iter()
        .map(|(n, _)| FileName(n.strip_prefix(b"./").map_or(n.clone(), <[u8]>::to_vec)))
        .collect())
}

/// `initrd_cat`: one member's contents (`./` prefixes ignored on both sides).
pub fn initrd_cat(path: &GuestPath, member: &str) -> io::Result<Vec<u8>> {
    let data = initrd_bytes(path)?;
    let want = member.trim_start_matches("./").trim_start_matches('/');
    let found = cpio_members(path, &data)?.into_iter().find(|(n, _)| {
        let n = n.strip_prefix(b"./").unwrap_or(n);
        n == want.as_bytes()
    });
    match found {
        Some((_, range)) => Ok(data[range].to_vec()),
        None => Err(io::Error::from(RemoteError::new(
            guestwright_protocol::Errno::ENOENT,
            format!("initrd_cat: open: {path}:{member}: No such file or directory"),
        ))),
    }
}

/// One end of a copy: a device of the appliance or a file in the guest.
#[derive(Debug)]
pub enum End {
    /// An opened device or file.
    Open(File, bool),
}

impl End {
    fn file(&self) -> &File {
        let End::Open(f, _) = self;
        f
    }
    fn is_device(&self) -> bool {
        let End::Open(_, d) = self;
        *d
    }
    fn len(&self) -> io::Result<u64> {
        let f = self.file();
        if self.is_device() {
            let mut size = 0u64;
            // BLKGETSIZE64
            let r =
                // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
                unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(f), 0x8008_1272, &mut size) };
            if r == 0 {
                return Ok(size);
            }
        }
        Ok(f.metadata()?.len())
    }
}

/// Opens a guest file as the source of a copy.
pub fn source_file(path: &GuestPath) -> io::Result<End> {
    Ok(End::Open(files::open_regular(path)?, false))
}

/// Opens (creating it if needed) a guest file as the destination of a copy, truncated
/// unless the copy appends, as libguestfs does; a symbolic link at the end of the path is
/// refused, never followed.
pub fn dest_file(path: &GuestPath, append: bool) -> io::Result<End> {
    let trunc = if append { 0 } else { libc::O_TRUNC };
    let fd = guestfs::open_last(
        path,
        libc::O_WRONLY | libc::O_CREAT | libc::O_NOCTTY | libc::O_CLOEXEC | trunc,
        0o666,
        "copy into",
    )?;
    let f = File::from(fd);
    if !f.metadata()?.is_file() {
        return Err(invalid(format!("{path}: not a regular file")));
    }
    Ok(End::Open(f, false))
}

/// Opens a device node of the appliance as one end of a copy.
pub fn device(node: &std::path::Path, write: bool) -> io::Result<End> {
    let f = File::options().read(!write).write(write).open(node)?;
    Ok(End::Open(f, true))
}

/// How a copy goes.
#[derive(Debug, Default, Clone, Copy)]
pub struct CopyHow {
    /// Where reading starts.
    pub srcoffset: u64,
    /// Where writing starts.
    pub destoffset: u64,
    /// How many bytes; `None` to the end of the source.
    pub size: Option<u64>,
    /// Zero blocks become holes.
    pub sparse: bool,
    /// Write at the end of the destination.
    pub append: bool,
    /// A source shorter than `size` is an error.
    pub exact: bool,
}

/// Copies between two ends (`copy_file_to_file`, `copy_size`, `dd`); `src_name` names the
/// source in errors.
pub fn copy(
    call: &mut Call,
    (src_name, src): (&str, &End),
    dest: &End,
    how: CopyHow,
) -> io::Result<()> {
    let total = match how.size {
        Some(n) => n,
        None => src.len()?.saturating_sub(how.srcoffset),
    };
    let mut at_dest = if how.append {
        dest.file().metadata()?.len()
    } else {
        how.destoffset
    };
    let mut done = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    while done < total {
        call.check_cancel()?;
        let want = (total - done).min(buf.len() as u64) as usize;
        let n = match src.file().read_at(&mut buf[..want], how.srcoffset + done) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            if how.exact || how.size.is_some() {
                return Err(io::Error::from(RemoteError::new(
                    guestwright_protocol::Errno::EIO,
                    format!("{src_name}: input file too short"),
                )));
            }
            break;
        }
        let block = &buf[..n];
        if how.sparse && block.iter().all(|&b| b == 0) && !dest.is_device() {
            let end = at_dest + n as u64;
            if dest.file().metadata()?.len() < end {
                dest.file().set_len(end)?;
            }
        } else {
            dest.file().write_all_at(block, at_dest)?;
        }
        at_dest += n as u64;
        done += n as u64;
        call.progress(done, total);
    }
    dest.file().sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for data in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"hello base64\n",
            &[0, 255, 1, 254],
        ] {
            let text = base64_encode(data);
            let mut back = Vec::new();
            let mut d = Base64Decoder::default();
            d.feed(&text, &mut back).unwrap();
            assert_eq!(back, data);
        }
        assert_eq!(base64_encode(b"hello base64\n"), b"aGVsbG8gYmFzZTY0Cg==");
        let mut d = Base64Decoder::default();
        assert!(d.feed(b"a*b", &mut Vec::new()).is_err());
    }
}
