//! Checksums of files, devices and trees: md5, sha1 and the SHA-2 family, computed in the
//! daemon so only the digest crosses the channel. `checksums_out` prints lines in the
//! format of `sha256sum` (`HASH  ./path`, with its backslash escape for odd names).

use crate::call::{Call, CancelFlag};
use crate::fs::walk::{self, Visit, Visitor};
use crate::{fs::dirs, fs::files, sys};
use guestwright_protocol::{ChecksumType, GuestPath};
use sha2::digest::DynDigest;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;

/// Bytes hashed per read.
const BLOCK: usize = 1024 * 1024;

/// A running checksum of one of the kinds `checksum` offers.
enum Hasher {
    Digest(Box<dyn DynDigest>),
    Crc(Cksum),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Digest(d) => d.update(data),
            Hasher::Crc(c) => c.update(data),
        }
    }

    /// Lowercase hex for the digests; the CRC in decimal, as `cksum` prints it.
    fn finish(self) -> String {
        match self {
            Hasher::Digest(d) => d.finalize().iter().map(|b| format!("{b:02x}")).collect(),
            Hasher::Crc(c) => c.finish().to_string(),
        }
    }
}

fn hasher(t: ChecksumType) -> Hasher {
    Hasher::Digest(match t {
        ChecksumType::Md5 => Box::new(md5::Md5::default()),
        ChecksumType::Sha1 => Box::new(sha1::Sha1::default()),
        ChecksumType::Sha224 => Box::new(sha2::Sha224::default()),
        ChecksumType::Sha256 => Box::new(sha2::Sha256::default()),
        ChecksumType::Sha384 => Box::new(sha2::Sha384::default()),
        ChecksumType::Sha512 => Box::new(sha2::Sha512::default()),
        ChecksumType::Crc => return Hasher::Crc(Cksum::default()),
    })
}

/// The CRC of POSIX `cksum`: CRC-32 with polynomial 0x04C11DB7, most significant bit
/// first, over the data and then its length (least significant byte first, without
/// trailing zero bytes), complemented.
#[derive(Default)]
struct Cksum {
    crc: u32,
    len: u64,
}

impl Cksum {
    fn step(crc: u32, byte: u8) -> u32 {
        let mut crc = crc ^ (u32::from(byte) << 24);
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
        crc
    }

    fn update(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        self.crc = data.iter().fold(self.crc, |crc, &b| Self::step(crc, b));
    }

    fn finish(self) -> u32 {
        let mut crc = self.crc;
        let mut len = self.len;
        while len != 0 {
            crc = Self::step(crc, len as u8);
            len >>= 8;
        }
        !crc
    }
}

/// Hashes everything `r` yields, checking for a cancel between blocks; lowercase hex.
pub fn digest(t: ChecksumType, call: &Call, r: &mut dyn Read) -> io::Result<String> {
    let mut h = hasher(t);
    let mut buf = vec![0u8; BLOCK];
    loop {
        call.check_cancel()?;
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// The checksum of a regular file.
pub fn checksum(call: &Call, t: ChecksumType, path: &GuestPath) -> io::Result<String> {
    let mut f = files::open_regular(path)?;
    digest(t, call, &mut f)
}

/// The checksum of a whole block device (the kernel path of a guest device name).
pub fn checksum_device(call: &Call, t: ChecksumType, dev: &Path) -> io::Result<String> {
    let mut f = File::open(dev)?;
    digest(t, call, &mut f)
}

/// `./path` as sha256sum prints it: names holding `\n` or `\` get a leading `\` and those
/// characters escaped.
fn sum_line(hash: &str, rel: &[u8]) -> Vec<u8> {
    let odd = rel.iter().any(|&b| b == b'\n' || b == b'\\');
    let mut line = Vec::with_capacity(hash.len() + rel.len() + 6);
    if odd {
        line.push(b'\\');
    }
    line.extend_from_slice(hash.as_bytes());
    line.extend_from_slice(b"  ./");
    for &b in rel {
        match b {
            b'\n' if odd => line.extend_from_slice(b"\\n"),
            b'\\' if odd => line.extend_from_slice(b"\\\\"),
            b => line.push(b),
        }
    }
    line.push(b'\n');
    line
}

/// `CRC SIZE ./path` as cksum prints it (no escaping).
fn cksum_line(crc: u32, size: u64, rel: &[u8]) -> Vec<u8> {
    let mut line = format!("{crc} {size} ./").into_bytes();
    line.extend_from_slice(rel);
    line.push(b'\n');
    line
}

struct Sums<W: Write> {
    t: ChecksumType,
    out: W,
    cancel: CancelFlag,
}

impl<W: Write> Visitor for Sums<W> {
    fn enter(&mut self, v: &Visit<'_>) -> io::Result<bool> {
        self.cancel.check()?;
        if v.stat.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Ok(true);
        }
        let fd = sys::openat2(
            v.dir,
            v.name,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
            0,
            sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS,
        )?;
        let mut f = File::from(fd);
        let mut h = hasher(self.t);
        let mut buf = vec![0u8; BLOCK];
        let mut size = 0u64;
        loop {
            self.cancel.check()?;
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            h.update(&buf[..n]);
        }
        let line = match h {
            // libguestfs runs cksum for crc: `CRC SIZE ./path`, the name as it is.
            Hasher::Crc(c) => cksum_line(c.finish(), size, v.rel),
            h => sum_line(&h.finish(), v.rel),
        };
        self.out.write_all(&line)?;
        Ok(true)
    }
}

/// Streams `HASH  ./path` lines (`CRC SIZE ./path` for crc) for every regular file below
/// `dir`, in walk order.
pub fn checksums_out(call: &mut Call, t: ChecksumType, dir: &GuestPath) -> io::Result<()> {
    let root = dirs::open_dir(dir)?;
    let cancel = call.cancel_flag();
    let mut out = call.output();
    {
        let mut sums = Sums {
            t,
            out: &mut out,
            cancel,
        };
        // In find's order, as libguestfs's checksums-out (find | xargs sha1sum) prints.
        walk::walk_in(root.as_fd(), &mut sums, walk::Order::Kernel)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc_is_cksums() {
        // `printf 'hello\n' | cksum` and `cksum </dev/null`.
        let mut c = super::Cksum::default();
        c.update(b"hello\n");
        assert_eq!(c.finish(), 3015617425);
        assert_eq!(super::Cksum::default().finish(), 4294967295);
    }

    #[test]
    fn crc_lines_are_cksums() {
        // `cksum ./subdir/file2` of "abc" (libguestfs's rhbz895904 regression test).
        let mut c = super::Cksum::default();
        c.update(b"abc");
        assert_eq!(
            super::cksum_line(c.finish(), 3, b"subdir/file2"),
            b"1219131554 3 ./subdir/file2\n"
        );
        let empty = super::Cksum::default().finish();
        assert_eq!(
            super::cksum_line(empty, 0, b"file1"),
            b"4294967295 0 ./file1\n"
        );
    }

    #[test]
    fn lines_escape_like_sha256sum() {
        assert_eq!(super::sum_line("ab", b"x/y"), b"ab  ./x/y\n");
        assert_eq!(super::sum_line("ab", b"a\nb"), b"\\ab  ./a\\nb\n");
    }
}
