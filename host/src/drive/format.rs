//! Disk image formats, told apart by their magic bytes on the host. QEMU is never asked to
//! probe: whatever this module decides is passed to QEMU as an explicit driver.
//!
//! The bytes come from an untrusted image: every offset and length is bounds-checked and
//! nothing is allocated from a size field.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::str::FromStr;

/// A disk image format QEMU can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// A plain byte-for-byte disk.
    Raw,
    /// QEMU copy-on-write v2/v3.
    Qcow2,
    /// VMware monolithic sparse (a single file; descriptor files with extents are refused).
    Vmdk,
    /// VirtualBox.
    Vdi,
    /// Hyper-V VHDX.
    Vhdx,
    /// Virtual PC / Hyper-V VHD.
    Vpc,
}

impl Format {
    /// QEMU's driver name.
    pub fn driver(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Qcow2 => "qcow2",
            Format::Vmdk => "vmdk",
            Format::Vdi => "vdi",
            Format::Vhdx => "vhdx",
            Format::Vpc => "vpc",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.driver())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "raw" | "img" => Format::Raw,
            "qcow2" => Format::Qcow2,
            "vmdk" => Format::Vmdk,
            "vdi" => Format::Vdi,
            "vhdx" => Format::Vhdx,
            "vpc" | "vhd" => Format::Vpc,
            other => {
                return Err(format!(
                    "unknown disk format '{other}': use raw, qcow2, vmdk, vdi, vhdx or vpc"
                ))
            }
        })
    }
}

/// What the magic bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Detected {
    /// Exactly one format matched (or none: raw).
    Format(Format),
    /// A VMDK text descriptor: it names other files as extents, which we refuse to follow.
    VmdkDescriptor,
    /// Several container formats match at once: a polyglot, refused.
    Ambiguous(Vec<&'static str>),
}

/// Reads up to `buf.len()` bytes at `offset`; short files give short reads, not errors.
pub fn read_at(f: &mut File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    f.seek(SeekFrom::Start(offset))?;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Detects the format of an open image from its magic bytes.
pub fn detect(f: &mut File) -> io::Result<Detected> {
    let len = f.metadata()?.len();
    let mut head = [0u8; 512];
    let n = read_at(f, 0, &mut head)?;
    let head = &head[..n];
    let mut found: Vec<(&'static str, Format)> = Vec::new();
    if head.starts_with(b"QFI\xfb") {
        found.push(("qcow2", Format::Qcow2));
    }
    if head.starts_with(b"KDMV") {
        found.push(("vmdk", Format::Vmdk));
    }
    if head.starts_with(b"# Disk DescriptorFile") {
        return Ok(Detected::VmdkDescriptor);
    }
    if head.len() >= 0x44 && head[0x40..0x44] == [0x7f, 0x10, 0xda, 0xbe] {
        found.push(("vdi", Format::Vdi));
    }
    if head.starts_with(b"vhdxfile") {
        found.push(("vhdx", Format::Vhdx));
    }
    if head.starts_with(b"conectix") {
        found.push(("vpc", Format::Vpc));
    } else if len >= 512 {
        let mut footer = [0u8; 8];
        if read_at(f, len - 512, &mut footer)? == 8 && &footer == b"conectix" {
            found.push(("vpc", Format::Vpc));
        }
    }
    // An ISO 9660 image is raw; but a container header over an ISO is a polyglot.
    let mut iso = [0u8; 5];
    let is_iso = read_at(f, 0x8001, &mut iso)? == 5 && &iso == b"CD001";
    match (found.len(), is_iso) {
        (0, _) => Ok(Detected::Format(Format::Raw)),
        (1, false) => Ok(Detected::Format(found[0].1)),
        _ => {
            let mut names: Vec<&'static str> = found.iter().map(|f| f.0).collect();
            if is_iso {
                names.push("iso9660");
            }
            Ok(Detected::Ambiguous(names))
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// The size of the disk a guest sees in an image of the given format, from its header.
pub fn virtual_size(f: &mut File, format: Format) -> io::Result<u64> {
    let len = f.metadata()?.len();
    let mut h = [0u8; 512];
    let n = read_at(f, 0, &mut h)?;
    let need = |k: usize| {
        if n >= k {
            Ok(())
        } else {
            Err(bad("header is truncated"))
        }
    };
    match format {
        // A block device's metadata says 0: its size is where its end is.
        Format::Raw if len == 0 => f.seek(SeekFrom::End(0)),
        Format::Raw => Ok(len),
        Format::Qcow2 => {
            need(32)?;
            Ok(be64(&h, 24))
        }
        Format::Vmdk => {
            // SparseExtentHeader: capacity (u64, sectors) at offset 12.
            need(20)?;
            le64(&h, 12)
                .checked_mul(512)
                .ok_or_else(|| bad("vmdk capacity overflows"))
        }
        Format::Vdi => {
            // VDI 1.1 header: disk size (u64, bytes) at offset 0x170.
            let mut b = [0u8; 8];
            if read_at(f, 0x170, &mut b)? != 8 {
                return Err(bad("vdi header is truncated"));
            }
            Ok(u64::from_le_bytes(b))
        }
        Format::Vpc => {
            // The footer is at the start of dynamic disks (a copy) and at the end of all; its
            // "current size" (u64 BE) is at offset 48.
            let mut footer = [0u8; 512];
            let at = if h.starts_with(b"conectix") {
                0
            } else {
                len.saturating_sub(512)
            };
            if read_at(f, at, &mut footer)? < 56 {
                return Err(bad("vpc footer is truncated"));
            }
            Ok(be64(&footer, 48))
        }
        Format::Vhdx => vhdx_virtual_size(f),
    }
}

/// Whether a VMDK sparse header makes QEMU read an embedded descriptor and open the
/// extents it names (capacity 0 with a descriptor offset: QEMU then treats the file as a
/// descriptor file), which can be any host file.
pub fn vmdk_names_extents(f: &mut File) -> io::Result<bool> {
    let mut h = [0u8; 36];
    if read_at(f, 0, &mut h)? < 36 {
        return Err(bad("vmdk header is truncated"));
    }
    if &h[0..4] != b"KDMV" {
        // Not a sparse header: QEMU parses the whole file as a descriptor.
        return Ok(true);
    }
    Ok(le64(&h, 12) == 0 && le64(&h, 28) != 0)
}

/// VHDX: region table at 192 KiB → metadata region → "Virtual Disk Size" item.
fn vhdx_virtual_size(f: &mut File) -> io::Result<u64> {
    const METADATA_REGION: [u8; 16] = guid(
        0x8B7CA206,
        0x4790,
        0x4B9A,
        [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E],
    );
    const VIRTUAL_DISK_SIZE: [u8; 16] = guid(
        0x2FA54224,
        0xCD1B,
        0x4876,
        [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8],
    );
    let mut rt = [0u8; 4096];
    if read_at(f, 192 * 1024, &mut rt)? < 16 || &rt[0..4] != b"regi" {
        return Err(bad("vhdx region table is missing"));
    }
    let entries = (le32(&rt, 8) as usize).min((rt.len() - 16) / 32);
    let metadata_offset = (0..entries)
        .map(|i| 16 + i * 32)
        .find(|&e| rt[e..e + 16] == METADATA_REGION)
        .map(|e| le64(&rt, e + 16))
        .ok_or_else(|| bad("vhdx has no metadata region"))?;
    let mut mt = [0u8; 4096];
    if read_at(f, metadata_offset, &mut mt)? < 32 || &mt[0..8] != b"metadata" {
        return Err(bad("vhdx metadata table is missing"));
    }
    let count = (u16::from_le_bytes([mt[10], mt[11]]) as usize).min((mt.len() - 32) / 32);
    let item = (0..count)
        .map(|i| 32 + i * 32)
        .find(|&e| mt[e..e + 16] == VIRTUAL_DISK_SIZE)
        .ok_or_else(|| bad("vhdx has no virtual disk size"))?;
    let offset = metadata_offset
        .checked_add(u64::from(le32(&mt, item + 16)))
        .ok_or_else(|| bad("vhdx offset overflows"))?;
    let mut size = [0u8; 8];
    if read_at(f, offset, &mut size)? != 8 {
        return Err(bad("vhdx virtual disk size is truncated"));
    }
    Ok(u64::from_le_bytes(size))
}

/// A GUID in its on-disk (mixed-endian) byte order.
const fn guid(a: u32, b: u16, c: u16, d: [u8; 8]) -> [u8; 16] {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6],
        d[7],
    ]
}

/// What a qcow2 header refers to outside itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Qcow2Refs {
    /// The backing file name as stored.
    pub backing_file: Option<Vec<u8>>,
    /// The backing format recorded in the header extension.
    pub backing_format: Option<String>,
    /// An external data file (refused by the caller).
    pub data_file: bool,
    /// Encrypted images are not supported.
    pub encrypted: bool,
}

/// Reads the references of a qcow2 header.
pub fn qcow2_refs(f: &mut File) -> io::Result<Qcow2Refs> {
    const EXT_BACKING_FORMAT: u32 = 0xe279_2aca;
    const EXT_DATA_FILE: u32 = 0x4441_5441;
    const INCOMPAT_DATA_FILE: u64 = 1 << 2;
    let mut h = [0u8; 104];
    let n = read_at(f, 0, &mut h)?;
    if n < 72 || &h[0..4] != b"QFI\xfb" {
        return Err(bad("qcow2 header is truncated"));
    }
    let version = be32(&h, 4);
    if version != 2 && version != 3 {
        return Err(bad(format!("qcow2 version {version} is not supported")));
    }
    let mut refs = Qcow2Refs {
        encrypted: be32(&h, 32) != 0,
        ..Qcow2Refs::default()
    };
    let (incompatible, header_len) = if version == 3 {
        if n < 104 {
            return Err(bad("qcow2 v3 header is truncated"));
        }
        (be64(&h, 72), u64::from(be32(&h, 100)))
    } else {
        (0, 72)
    };
    refs.data_file = incompatible & INCOMPAT_DATA_FILE != 0;

    let backing_offset = be64(&h, 8);
    let backing_len = be32(&h, 16);
    if backing_offset != 0 && backing_len != 0 {
        if backing_len > 1023 {
            return Err(bad(format!(
                "qcow2 backing file name of {backing_len} bytes is longer than QEMU allows"
            )));
        }
        let mut name = vec![0u8; backing_len as usize];
        if read_at(f, backing_offset, &mut name)? != name.len() {
            return Err(bad(
                "qcow2 backing file name lies beyond the end of the file",
            ));
        }
        refs.backing_file = Some(name);
    }

    // Header extensions: (type u32, length u32, data padded to 8), up to the first cluster.
    let cluster_bits = be32(&h, 20);
    if !(9..=21).contains(&cluster_bits) {
        return Err(bad(format!(
            "qcow2 cluster_bits {cluster_bits} is out of range"
        )));
    }
    let end = 1u64 << cluster_bits;
    let mut at = header_len;
    let mut seen = 0;
    while at + 8 <= end && seen < 64 {
        seen += 1;
        let mut eh = [0u8; 8];
        if read_at(f, at, &mut eh)? < 8 {
            break;
        }
        let (kind, len) = (be32(&eh, 0), be32(&eh, 4));
        if kind == 0 {
            break;
        }
        if at + 8 + u64::from(len) > end {
            return Err(bad("qcow2 header extension runs past the first cluster"));
        }
        match kind {
            EXT_BACKING_FORMAT if len <= 64 => {
                let mut v = vec![0u8; len as usize];
                read_at(f, at + 8, &mut v)?;
                refs.backing_format = Some(
                    String::from_utf8_lossy(&v)
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
            EXT_DATA_FILE => refs.data_file = true,
            _ => {}
        }
        at += 8 + u64::from(len).div_ceil(8) * 8;
    }
    Ok(refs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::Command;

    fn file_with(bytes: &[u8], len: u64) -> (tempfile::NamedTempFile, File) {
        let mut t = tempfile::NamedTempFile::new().unwrap();
        t.write_all(bytes).unwrap();
        t.as_file().set_len(len.max(bytes.len() as u64)).unwrap();
        let f = File::open(t.path()).unwrap();
        (t, f)
    }

    #[test]
    fn each_magic_is_recognised() {
        let cases: &[(&[u8], usize, Detected)] = &[
            (b"QFI\xfb\0\0\0\x03", 0, Detected::Format(Format::Qcow2)),
            (b"KDMV", 0, Detected::Format(Format::Vmdk)),
            (b"vhdxfile", 0, Detected::Format(Format::Vhdx)),
            (b"conectix", 0, Detected::Format(Format::Vpc)),
            (
                &[0x7f, 0x10, 0xda, 0xbe],
                0x40,
                Detected::Format(Format::Vdi),
            ),
            (b"# Disk DescriptorFile\n", 0, Detected::VmdkDescriptor),
            (b"\0\0\0\0", 0, Detected::Format(Format::Raw)),
        ];
        for (magic, at, want) in cases {
            let mut bytes = vec![0u8; 4096];
            bytes[*at..at + magic.len()].copy_from_slice(magic);
            let (_t, mut f) = file_with(&bytes, 1 << 20);
            assert_eq!(&detect(&mut f).unwrap(), want, "magic {magic:?}");
        }
        // A fixed VHD has its footer only at the end.
        let (t, _) = file_with(&[], 1 << 20);
        let mut w = File::options().write(true).open(t.path()).unwrap();
        w.seek(SeekFrom::Start((1 << 20) - 512)).unwrap();
        w.write_all(b"conectix").unwrap();
        assert_eq!(
            detect(&mut File::open(t.path()).unwrap()).unwrap(),
            Detected::Format(Format::Vpc)
        );
        // An empty file is a (tiny) raw disk.
        let (_t, mut f) = file_with(&[], 0);
        assert_eq!(detect(&mut f).unwrap(), Detected::Format(Format::Raw));
    }

    #[test]
    fn qcow2_over_iso_is_ambiguous() {
        let mut bytes = vec![0u8; 0x9000];
        bytes[0..4].copy_from_slice(b"QFI\xfb");
        bytes[0x8001..0x8006].copy_from_slice(b"CD001");
        let (_t, mut f) = file_with(&bytes, 0x9000);
        assert_eq!(
            detect(&mut f).unwrap(),
            Detected::Ambiguous(vec!["qcow2", "iso9660"])
        );
        let mut bytes = vec![0u8; 0x9000];
        bytes[0x8001..0x8006].copy_from_slice(b"CD001");
        let (_t, mut f) = file_with(&bytes, 0x9000);
        assert_eq!(detect(&mut f).unwrap(), Detected::Format(Format::Raw));
    }

    fn qemu_img(args: &[&str]) {
        let out = Command::new("qemu-img")
            .args(args)
            .output()
            .expect("qemu-img is needed: apt-get install qemu-utils");
        assert!(
            out.status.success(),
            "qemu-img {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn real_images_from_qemu_img() {
        let dir = tempfile::tempdir().unwrap();
        for (fmt, want) in [
            ("qcow2", Format::Qcow2),
            ("vmdk", Format::Vmdk),
            ("vdi", Format::Vdi),
            ("vhdx", Format::Vhdx),
            ("vpc", Format::Vpc),
            ("raw", Format::Raw),
        ] {
            let path = dir.path().join(format!("disk.{fmt}"));
            qemu_img(&["create", "-q", "-f", fmt, path.to_str().unwrap(), "64M"]);
            let mut f = File::open(&path).unwrap();
            assert_eq!(detect(&mut f).unwrap(), Detected::Format(want), "{fmt}");
            let size = virtual_size(&mut f, want).unwrap();
            // vpc rounds to its CHS geometry, like QEMU reports it.
            if want == Format::Vpc {
                assert!(size.abs_diff(64 << 20) < 1 << 20, "{fmt}: {size}");
            } else {
                assert_eq!(size, 64 << 20, "{fmt}");
            }
        }
    }

    #[test]
    fn qcow2_references_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.raw");
        let top = dir.path().join("top.qcow2");
        qemu_img(&["create", "-q", "-f", "raw", base.to_str().unwrap(), "1M"]);
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "raw",
            "-b",
            base.to_str().unwrap(),
            top.to_str().unwrap(),
        ]);
        let refs = qcow2_refs(&mut File::open(&top).unwrap()).unwrap();
        assert_eq!(
            refs.backing_file.as_deref(),
            Some(base.to_str().unwrap().as_bytes())
        );
        assert_eq!(refs.backing_format.as_deref(), Some("raw"));
        assert!(!refs.data_file);

        let data = dir.path().join("data.qcow2");
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            &format!("data_file={}", base.display()),
            data.to_str().unwrap(),
            "1M",
        ]);
        assert!(
            qcow2_refs(&mut File::open(&data).unwrap())
                .unwrap()
                .data_file
        );
    }

    #[test]
    fn truncated_and_hostile_qcow2_headers_fail_cleanly() {
        for cut in [4, 20, 71, 100] {
            let mut h = vec![0u8; cut];
            h[0..4].copy_from_slice(b"QFI\xfb");
            if cut > 8 {
                h[7] = 3;
            }
            let (_t, mut f) = file_with(&h, cut as u64);
            assert!(qcow2_refs(&mut f).is_err(), "cut {cut}");
            assert!(virtual_size(&mut f, Format::Qcow2).is_err() || cut >= 32);
        }
        // A backing name pointing far past the end of a small file.
        let mut h = vec![0u8; 512];
        h[0..4].copy_from_slice(b"QFI\xfb");
        h[7] = 2;
        h[8..16].copy_from_slice(&(1u64 << 40).to_be_bytes());
        h[16..20].copy_from_slice(&100u32.to_be_bytes());
        h[23] = 16;
        let (_t, mut f) = file_with(&h, 512);
        assert!(qcow2_refs(&mut f).is_err());
    }
}
