//! Shared test fixtures: running the image tools, asking blkid, and devices that end early or
//! carry a patched byte without touching the image file.

use super::super::{probe, Fs, Kind, Probe, TableType};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Debian package each tool comes from (all listed in scripts/apt-packages.txt).
const PACKAGES: &[(&str, &str)] = &[
    ("blkid", "util-linux"),
    ("mkswap", "util-linux"),
    ("sfdisk", "fdisk"),
    ("sgdisk", "gdisk"),
    ("mkfs.ext2", "e2fsprogs"),
    ("mkfs.ext3", "e2fsprogs"),
    ("mkfs.ext4", "e2fsprogs"),
    ("mkfs.xfs", "xfsprogs"),
    ("mkfs.btrfs", "btrfs-progs"),
    ("mkfs.vfat", "dosfstools"),
    ("mkfs.exfat", "exfatprogs"),
    ("mkntfs", "ntfs-3g"),
    ("xorriso", "xorriso"),
    ("cryptsetup", "cryptsetup-bin"),
    ("mksquashfs", "squashfs-tools"),
    ("mkudffs", "udftools"),
];

/// The full path of a tool, looked up in `PATH` and the sbin directories a non-root `PATH`
/// lacks. Panics with the package to install when it is missing.
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    let package = PACKAGES
        .iter()
        .find(|(t, _)| *t == name)
        .map_or("(unknown)", |(_, p)| p);
    panic!("`{name}` is not installed: install the Debian package `{package}` (apt-get install {package}; it is listed in scripts/apt-packages.txt)");
}

/// Runs a tool to completion, feeding it `stdin`; panics with its stderr when it fails.
pub fn run_with_input(name: &str, args: &[&OsStr], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool(name))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{name} {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs a tool with string arguments and an image path last.
pub fn run(name: &str, args: &[&str], image: &Path) {
    let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    all.push(image.as_os_str());
    run_with_input(name, &all, b"");
}

/// A sparse file of `size` bytes.
pub fn sparse(dir: &Path, name: &str, size: u64) -> PathBuf {
    let path = dir.join(name);
    File::create(&path).unwrap().set_len(size).unwrap();
    path
}

/// Overwrites bytes of an image file.
pub fn patch(path: &Path, offset: u64, bytes: &[u8]) {
    let mut f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(bytes).unwrap();
}

/// Reads bytes of an image file.
pub fn read_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut f = File::open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut buf = vec![0; len];
    f.read_exact(&mut buf).unwrap();
    buf
}

/// One tag as `blkid -p` (low-level probing, no cache) reports it for the image; `-o value`
/// prints the raw bytes, which are decoded the way the probe decodes labels.
pub fn blkid(path: &Path, tag: &str) -> Option<String> {
    let out = Command::new(tool("blkid"))
        .args(["-p", "-o", "value", "-s", tag])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run blkid: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let value = text.strip_suffix('\n').unwrap_or(&text);
    (!value.is_empty()).then(|| value.to_string())
}

/// Probes an image file.
pub fn probe_path(path: &Path) -> Option<Probe> {
    let mut f = File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    probe(&mut f, size).unwrap_or_else(|e| panic!("{}: I/O error {e}", path.display()))
}

/// Probes the image, checks that blkid reports the same type, label, UUID and (where blkid
/// has one) version, and that the probe survives every truncation of the image. Returns the
/// probe for format-specific checks.
pub fn agrees_with_blkid(path: &Path) -> Probe {
    let shown = path.display();
    let ours = probe_path(path).unwrap_or_else(|| {
        panic!(
            "{shown}: nothing recognised; blkid says TYPE={:?}",
            blkid(path, "TYPE")
        )
    });
    let table = matches!(ours.kind, Kind::PartitionTable(_));
    let (type_tag, uuid_tag) = if table {
        ("PTTYPE", "PTUUID")
    } else {
        ("TYPE", "UUID")
    };
    assert_eq!(
        blkid(path, type_tag).as_deref(),
        Some(ours.fstype),
        "{shown}: type ({ours:?})"
    );
    assert_eq!(blkid(path, uuid_tag), ours.uuid, "{shown}: UUID");
    if !table {
        assert_eq!(blkid(path, "LABEL"), ours.label, "{shown}: label");
    }
    if let Some(version) = blkid(path, "VERSION") {
        assert_eq!(Some(version), ours.version, "{shown}: version");
    }
    survives_truncation(path, &ours);
    ours
}

/// A device made of an image file that ends at `len` and has `patch` applied over it.
pub struct Overlay {
    file: File,
    pos: u64,
    len: u64,
    patch: Option<(u64, u8)>,
}

impl Overlay {
    pub fn new(path: &Path, len: u64, patch: Option<(u64, u8)>) -> Overlay {
        Overlay {
            file: File::open(path).unwrap(),
            pos: 0,
            len,
            patch,
        }
    }
}

impl Read for Overlay {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        self.file.seek(SeekFrom::Start(self.pos))?;
        let n = self.file.read(&mut buf[..want])?;
        if let Some((at, byte)) = self.patch {
            if (self.pos..self.pos + n as u64).contains(&at) {
                buf[(at - self.pos) as usize] = byte;
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Overlay {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(n) => n,
            SeekFrom::End(d) => self.len.checked_add_signed(d).unwrap(),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d).unwrap(),
        };
        Ok(self.pos)
    }
}

/// Cuts the image at offsets around every superblock the probes read, both telling the probe
/// the cut size and pretending the device is still full-size: the probe must not fail, and
/// whatever it still recognises must be the same thing (a label may go missing when the
/// directory holding it is cut off).
///
/// A table in the first sectors is the exception: once the rest is cut away, a hybrid ISO is
/// the MS-DOS table it carries, and a GPT disk its protective MBR.
pub fn survives_truncation(path: &Path, full: &Probe) {
    let len = fs::metadata(path).unwrap().len();
    let mut allowed = vec![full.kind];
    if full.kind == Kind::PartitionTable(TableType::Gpt) {
        allowed.push(Kind::PartitionTable(TableType::ProtectiveMbr));
    }
    if full.kind == Kind::Filesystem(Fs::Iso9660) && blkid(path, "PTTYPE").as_deref() == Some("dos")
    {
        allowed.push(Kind::PartitionTable(TableType::Mbr));
    }
    let cuts = [
        0u64,
        1,
        446,
        511,
        512,
        513,
        1023,
        1024,
        1080,
        1500,
        2047,
        2048,
        4095,
        4096,
        8192,
        16383,
        32768,
        32769,
        34816,
        40960,
        65535,
        65536,
        65600,
        69631,
        69632,
        131071,
        131072,
        1 << 20,
        len / 2,
        len.saturating_sub(1),
    ];
    for cut in cuts.into_iter().filter(|&c| c < len) {
        for claimed in [cut, len] {
            let got = probe(&mut Overlay::new(path, cut, None), claimed).unwrap_or_else(|e| {
                panic!(
                    "{}: cut at {cut} (claimed {claimed}): error {e}",
                    path.display()
                )
            });
            match got {
                Some(p) if p.kind == full.kind => {
                    assert_eq!(
                        p.uuid,
                        full.uuid,
                        "{}: cut at {cut}, claimed {claimed}",
                        path.display()
                    );
                    assert!(
                        p.label.is_none() || p.label == full.label,
                        "{}: cut at {cut}: label {:?}",
                        path.display(),
                        p.label
                    );
                }
                Some(p) => assert!(
                    allowed.contains(&p.kind),
                    "{}: cut at {cut}, claimed {claimed}: {p:?}",
                    path.display()
                ),
                None => {}
            }
        }
    }
}

/// Flips one bit of each byte in `range` (a different bit each time) and probes. The probe must
/// never fail. When `checksummed`, the range is covered by a checksum, so the result must be
/// nothing or the very same identity (a GPT falls back to its backup header).
pub fn survives_bit_flips(path: &Path, range: Range<u64>, checksummed: bool, full: &Probe) {
    let len = fs::metadata(path).unwrap().len();
    let original = read_at(path, range.start, (range.end - range.start) as usize);
    for (i, at) in range.enumerate() {
        let byte = original[i] ^ (1 << (i % 8));
        let got = probe(&mut Overlay::new(path, len, Some((at, byte))), len)
            .unwrap_or_else(|e| panic!("{}: bit flip at {at}: error {e}", path.display()));
        if let (true, Some(p)) = (checksummed, got) {
            assert_eq!(
                (p.kind, &p.uuid, &p.label),
                (full.kind, &full.uuid, &full.label),
                "{}: bit flip at {at} accepted with a different identity",
                path.display()
            );
        }
    }
}
