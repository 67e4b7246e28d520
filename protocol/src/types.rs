//! Argument and result types of the operations. Each carries its meaning in its type: a guest
//! path is not a device, a size is always in bytes, a mode is a mode.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A path in the guest's filesystem tree, as raw bytes (guest names need not be UTF-8).
///
/// The daemon resolves it beneath the mounted guest root: `..` and symlinks never lead outside.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GuestPath(#[serde(with = "serde_bytes")] Vec<u8>);

impl GuestPath {
    /// Wraps raw bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        GuestPath(bytes.into())
    }
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Unwraps into the raw bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
    /// True for an absolute path.
    pub fn is_absolute(&self) -> bool {
        self.0.first() == Some(&b'/')
    }
    /// `self/name`, with exactly one slash between them.
    pub fn join(&self, name: impl AsRef<[u8]>) -> GuestPath {
        let mut v = self.0.clone();
        if v.last() != Some(&b'/') {
            v.push(b'/');
        }
        let name = name.as_ref();
        v.extend_from_slice(name.strip_prefix(b"/").unwrap_or(name));
        GuestPath(v)
    }
    /// The path with control characters and invalid UTF-8 escaped, safe to print.
    pub fn escaped(&self) -> String {
        escape_bytes(&self.0)
    }
}

impl fmt::Debug for GuestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.escaped())
    }
}

impl fmt::Display for GuestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.escaped())
    }
}

impl From<&str> for GuestPath {
    fn from(s: &str) -> Self {
        GuestPath(s.as_bytes().to_vec())
    }
}
impl From<String> for GuestPath {
    fn from(s: String) -> Self {
        GuestPath(s.into_bytes())
    }
}
impl From<&String> for GuestPath {
    fn from(s: &String) -> Self {
        GuestPath(s.as_bytes().to_vec())
    }
}
impl From<&[u8]> for GuestPath {
    fn from(s: &[u8]) -> Self {
        GuestPath(s.to_vec())
    }
}
impl From<Vec<u8>> for GuestPath {
    fn from(s: Vec<u8>) -> Self {
        GuestPath(s)
    }
}
impl From<&GuestPath> for GuestPath {
    fn from(p: &GuestPath) -> Self {
        p.clone()
    }
}

/// What a symbolic link holds: any bytes, relative or absolute, stored as given and never
/// resolved (`ln -s ../lib/x /usr/lib/y`).
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkTarget(#[serde(with = "serde_bytes")] Vec<u8>);

impl LinkTarget {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The target with control characters and invalid UTF-8 escaped, safe to print.
    pub fn escaped(&self) -> String {
        escape_bytes(&self.0)
    }
}

impl fmt::Debug for LinkTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.escaped())
    }
}

impl From<&str> for LinkTarget {
    fn from(s: &str) -> Self {
        LinkTarget(s.as_bytes().to_vec())
    }
}
impl From<&[u8]> for LinkTarget {
    fn from(s: &[u8]) -> Self {
        LinkTarget(s.to_vec())
    }
}
impl From<Vec<u8>> for LinkTarget {
    fn from(s: Vec<u8>) -> Self {
        LinkTarget(s)
    }
}
impl From<&LinkTarget> for LinkTarget {
    fn from(t: &LinkTarget) -> Self {
        t.clone()
    }
}

/// Undoes the octal escapes of fstab and /proc/self/mountinfo (`\040` for a space, `\134`
/// for a backslash); a backslash not followed by three octal digits of one byte (`\000` to
/// `\377`) stays as it is.
pub fn unescape_octal(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && (b'0'..=b'3').contains(&b[i + 1])
            && b[i + 2..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Escapes bytes for a terminal: printable UTF-8 stays, control characters become `\n`, `\t`,
/// `\e`, `\xHH`; invalid UTF-8 bytes become `\xHH`; a backslash becomes `\\`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x1b' => out.push_str("\\e"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A block device or other mountable name as the caller sees it: `/dev/sda`, `/dev/sda1`,
/// `/dev/VG/LV`, `/dev/mapper/NAME`. The daemon translates these names to whatever its kernel
/// calls the devices.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Device(String);

impl Device {
    /// Wraps a device name. Names must start with `/dev/`.
    pub fn new(name: impl Into<String>) -> Result<Self, ArgError> {
        let name = name.into();
        if !name.starts_with("/dev/") || name.len() <= 5 || name.contains('\0') {
            return Err(ArgError(format!(
                "'{}' is not a device name such as /dev/sda1",
                escape_bytes(name.as_bytes())
            )));
        }
        Ok(Device(name))
    }
    /// The name, for example `/dev/sda1`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_bytes(self.0.as_bytes()))
    }
}
impl FromStr for Device {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        Device::new(s)
    }
}
impl From<&Device> for Device {
    fn from(d: &Device) -> Self {
        d.clone()
    }
}
/// Unchecked: the daemon refuses names that are not devices with `EINVAL`.
impl From<&str> for Device {
    fn from(s: &str) -> Self {
        Device(s.to_string())
    }
}
/// Unchecked: the daemon refuses names that are not devices with `EINVAL`.
impl From<String> for Device {
    fn from(s: String) -> Self {
        Device(s)
    }
}

/// A kind of device name with its own check in the daemon: a [`Device`] on the wire and in
/// the shell, converted from any device name.
macro_rules! device_kind {
    ($(#[doc = $doc:literal])* $Kind:ident) => {
        $(#[doc = $doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $Kind(pub Device);

        impl $Kind {
            /// The name, for example `/dev/sda`.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }
        impl fmt::Debug for $Kind {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
        impl fmt::Display for $Kind {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
        impl FromStr for $Kind {
            type Err = ArgError;
            fn from_str(s: &str) -> Result<Self, ArgError> {
                Device::new(s).map($Kind)
            }
        }
        impl From<Device> for $Kind {
            fn from(d: Device) -> Self {
                $Kind(d)
            }
        }
        impl From<&Device> for $Kind {
            fn from(d: &Device) -> Self {
                $Kind(d.clone())
            }
        }
        impl From<&$Kind> for $Kind {
            fn from(d: &$Kind) -> Self {
                d.clone()
            }
        }
        /// Unchecked, like [`Device`]'s.
        impl From<&str> for $Kind {
            fn from(s: &str) -> Self {
                $Kind(Device::from(s))
            }
        }
        /// Unchecked, like [`Device`]'s.
        impl From<String> for $Kind {
            fn from(s: String) -> Self {
                $Kind(Device::from(s))
            }
        }
    };
}

device_kind! {
    /// A whole disk (`/dev/sda`), where a partition table lives; the daemon refuses a
    /// partition or a logical volume with `EINVAL`.
    Disk
}

device_kind! {
    /// A volume named for the tool that manages it: an LVM logical volume (`/dev/VG/LV`,
    /// `/dev/mapper/VG-LV`) or an opened LUKS volume (`/dev/mapper/NAME`). It need not be
    /// active, so the daemon passes the name on as given instead of resolving it.
    VolumeName
}

/// guestfish's `Dev_or_Path`: a device when the name starts with `/dev/` (it need not have
/// a filesystem mounted anywhere), otherwise a guest path (which needs one on `/`). The
/// daemon resolves the device, or checks the root, before the operation runs.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DevOrPath {
    /// A device, read or written as a whole.
    Device(Device),
    /// A file in the guest tree.
    Path(GuestPath),
}

impl DevOrPath {
    /// Classifies a name as libguestfs does: `/dev/...` is a device.
    pub fn new(name: impl AsRef<[u8]>) -> Self {
        let name = name.as_ref();
        match std::str::from_utf8(name) {
            Ok(s) if s.starts_with("/dev/") => DevOrPath::Device(Device::from(s)),
            _ => DevOrPath::Path(GuestPath::from(name)),
        }
    }
}

impl fmt::Debug for DevOrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DevOrPath::Device(d) => fmt::Debug::fmt(d, f),
            DevOrPath::Path(p) => fmt::Debug::fmt(p, f),
        }
    }
}
impl fmt::Display for DevOrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DevOrPath::Device(d) => fmt::Display::fmt(d, f),
            DevOrPath::Path(p) => fmt::Display::fmt(p, f),
        }
    }
}
impl From<&DevOrPath> for DevOrPath {
    fn from(d: &DevOrPath) -> Self {
        d.clone()
    }
}
/// A guest path stays a path, even under `/dev/` (the library's callers say which they mean).
impl From<GuestPath> for DevOrPath {
    fn from(p: GuestPath) -> Self {
        DevOrPath::Path(p)
    }
}
impl From<&GuestPath> for DevOrPath {
    fn from(p: &GuestPath) -> Self {
        DevOrPath::Path(p.clone())
    }
}
impl From<Device> for DevOrPath {
    fn from(d: Device) -> Self {
        DevOrPath::Device(d)
    }
}
impl From<&Device> for DevOrPath {
    fn from(d: &Device) -> Self {
        DevOrPath::Device(d.clone())
    }
}
/// Classified by [`DevOrPath::new`].
impl From<&str> for DevOrPath {
    fn from(s: &str) -> Self {
        DevOrPath::new(s)
    }
}
/// Classified by [`DevOrPath::new`].
impl From<&String> for DevOrPath {
    fn from(s: &String) -> Self {
        DevOrPath::new(s)
    }
}
/// Classified by [`DevOrPath::new`].
impl From<String> for DevOrPath {
    fn from(s: String) -> Self {
        DevOrPath::new(s)
    }
}

/// A size or offset in bytes. Written with an optional binary suffix in the shell:
/// `512`, `64K`, `1M`, `10G`, `1T` (K = 1024 bytes; `KiB`, `MiB` and friends too).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, suffix) = s.split_at(split);
        let bad = || {
            ArgError(format!(
                "'{s}' is not a size: use bytes or a suffix, as in 4096, 64K, 10M, 2G"
            ))
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let shift = match suffix {
            "" | "b" | "B" => 0,
            "k" | "K" | "KiB" | "KB" => 10,
            "m" | "M" | "MiB" | "MB" => 20,
            "g" | "G" | "GiB" | "GB" => 30,
            "t" | "T" | "TiB" | "TB" => 40,
            "p" | "P" | "PiB" | "PB" => 50,
            _ => return Err(bad()),
        };
        n.checked_mul(1u64 << shift).map(ByteSize).ok_or_else(bad)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u64> for ByteSize {
    fn from(n: u64) -> Self {
        ByteSize(n)
    }
}

/// File permission bits (and, where it applies, the file type bits). Octal in the shell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mode(pub u32);

impl FromStr for Mode {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        let digits = s.strip_prefix("0o").unwrap_or(s);
        u32::from_str_radix(digits, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .map(Mode)
            .ok_or_else(|| ArgError(format!("'{s}' is not an octal mode such as 0644")))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

impl From<u32> for Mode {
    fn from(m: u32) -> Self {
        Mode(m)
    }
}

/// Opaque bytes: file contents, xattr values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Data(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Data({} bytes)", self.0.len())
    }
}
impl From<Vec<u8>> for Data {
    fn from(v: Vec<u8>) -> Self {
        Data(v)
    }
}
impl From<&[u8]> for Data {
    fn from(v: &[u8]) -> Self {
        Data(v.to_vec())
    }
}
impl From<&str> for Data {
    fn from(v: &str) -> Self {
        Data(v.as_bytes().to_vec())
    }
}
impl From<String> for Data {
    fn from(v: String) -> Self {
        Data(v.into_bytes())
    }
}

/// A filesystem type name as the kernel knows it: `ext4`, `xfs`, `vfat`, ...
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FsType(pub String);

impl FromStr for FsType {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            return Err(ArgError(format!(
                "'{}' is not a filesystem type such as ext4",
                escape_bytes(s.as_bytes())
            )));
        }
        Ok(FsType(s.to_string()))
    }
}
impl From<&str> for FsType {
    fn from(s: &str) -> Self {
        FsType(s.to_string())
    }
}
impl fmt::Display for FsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An argument that does not parse or is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ArgError {}

/// The daemon's greeting, sent once when the channel opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`crate::PROTOCOL_VERSION`] of the daemon.
    pub protocol_version: u16,
    /// The daemon's crate version.
    pub daemon_version: String,
    /// `uname -r` of the appliance kernel.
    pub kernel_release: String,
    /// Milliseconds since the appliance kernel started, when the daemon said hello.
    pub uptime_ms: u64,
    /// Drives the daemon found, in the order they were added.
    pub drives: u32,
}

/// What a restored appliance needs from the host before it probes its drives: everything
/// the saved one could not know (see `FrameKind::Resume`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// Drives attached to this launch (the first slots; the rest are empty).
    pub drives: u32,
    /// Print debug messages on the console.
    pub verbose: bool,
    /// Random bytes from the host, mixed into the kernel's pool before anything reads it:
    /// every restore of one saved state would otherwise produce the same random numbers.
    pub seed: Vec<u8>,
    /// The host's wall clock (seconds and nanoseconds since the Unix epoch): the saved
    /// clock stood still since the state was saved.
    pub unix_time: (i64, u32),
}

impl std::fmt::Debug for Resume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resume")
            .field("drives", &self.drives)
            .field("verbose", &self.verbose)
            .field("seed", &format_args!("<{} bytes>", self.seed.len()))
            .field("unix_time", &self.unix_time)
            .finish()
    }
}

/// How far a long request has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Units done so far (bytes for transfers).
    pub done: u64,
    /// Total units, or 0 when unknown.
    pub total: u64,
}

/// A whole disk attached to the appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDevice {
    /// `/dev/sda`, `/dev/sdb`, ... in the order the drives were added.
    pub device: Device,
    /// Size in bytes.
    pub size: u64,
    /// True when the appliance cannot write to it.
    pub read_only: bool,
}

/// A partition the appliance kernel found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionDevice {
    /// `/dev/sda1`, ...
    pub device: Device,
    /// The whole disk it is on.
    pub parent: Device,
    /// The partition number (1-based).
    pub number: u32,
    /// Offset from the start of the disk, in bytes.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
}

/// One mounted filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountEntry {
    /// What is mounted.
    pub device: Device,
    /// Where, inside the guest tree (`/`, `/boot`, ...).
    pub mountpoint: GuestPath,
    /// The filesystem type.
    pub fstype: String,
    /// Mount options as the kernel reports them.
    pub options: String,
}

// ==== file API types ====

/// One name inside a directory, as raw bytes: never contains `/` or NUL.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileName(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl FileName {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The name with control characters and invalid UTF-8 escaped, safe to print.
    pub fn escaped(&self) -> String {
        escape_bytes(&self.0)
    }
}
impl fmt::Debug for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.escaped())
    }
}
impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.escaped())
    }
}
impl From<&str> for FileName {
    fn from(s: &str) -> Self {
        FileName(s.as_bytes().to_vec())
    }
}
impl From<&[u8]> for FileName {
    fn from(s: &[u8]) -> Self {
        FileName(s.to_vec())
    }
}

/// What kind of file an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A block device node.
    BlockDevice,
    /// A character device node.
    CharDevice,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// The filesystem did not say (some filesystems leave `d_type` unknown).
    Unknown,
}

impl FileKind {
    /// The kind encoded in the `S_IFMT` bits of a mode.
    pub fn from_mode(mode: u32) -> FileKind {
        match mode & 0o170000 {
            0o100000 => FileKind::Regular,
            0o040000 => FileKind::Directory,
            0o120000 => FileKind::Symlink,
            0o060000 => FileKind::BlockDevice,
            0o020000 => FileKind::CharDevice,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            _ => FileKind::Unknown,
        }
    }
    /// The letter `ls -l` shows for the kind (`-` for a regular file).
    pub fn ls_char(self) -> char {
        match self {
            FileKind::Regular => '-',
            FileKind::Directory => 'd',
            FileKind::Symlink => 'l',
            FileKind::BlockDevice => 'b',
            FileKind::CharDevice => 'c',
            FileKind::Fifo => 'p',
            FileKind::Socket => 's',
            FileKind::Unknown => '?',
        }
    }
}

/// `ls -l` permission text of a mode: `drwxr-xr-x`, with setuid, setgid and sticky bits.
pub fn mode_string(mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(FileKind::from_mode(mode).ls_char());
    let bit = |m: u32, c: char| if mode & m != 0 { c } else { '-' };
    let exec =
        |x: u32, special: u32, set: char, unset: char| match (mode & x != 0, mode & special != 0) {
            (true, true) => set,
            (false, true) => unset,
            (true, false) => 'x',
            (false, false) => '-',
        };
    s.push(bit(0o400, 'r'));
    s.push(bit(0o200, 'w'));
    s.push(exec(0o100, 0o4000, 's', 'S'));
    s.push(bit(0o040, 'r'));
    s.push(bit(0o020, 'w'));
    s.push(exec(0o010, 0o2000, 's', 'S'));
    s.push(bit(0o004, 'r'));
    s.push(bit(0o002, 'w'));
    s.push(exec(0o001, 0o1000, 't', 'T'));
    s
}

/// Everything `stat(2)` says about a file. Times are seconds and nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    /// Device of the filesystem that holds the file.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// File type and permission bits.
    pub mode: u32,
    /// Number of hard links.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number, for device nodes.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O block size in bytes.
    pub blksize: u64,
    /// Allocated 512-byte blocks.
    pub blocks: u64,
    /// Last access, seconds.
    pub atime: i64,
    /// Last access, nanoseconds.
    pub atime_nsec: i64,
    /// Last modification, seconds.
    pub mtime: i64,
    /// Last modification, nanoseconds.
    pub mtime_nsec: i64,
    /// Last status change, seconds.
    pub ctime: i64,
    /// Last status change, nanoseconds.
    pub ctime_nsec: i64,
}

impl Stat {
    /// The kind of file.
    pub fn kind(&self) -> FileKind {
        FileKind::from_mode(self.mode)
    }
    /// The permission bits (with setuid, setgid, sticky).
    pub fn perm(&self) -> Mode {
        Mode(self.mode & 0o7777)
    }
    /// Major number of a device node.
    pub fn rdev_major(&self) -> u32 {
        (((self.rdev >> 32) & 0xffff_f000) | ((self.rdev >> 8) & 0xfff)) as u32
    }
    /// Minor number of a device node.
    pub fn rdev_minor(&self) -> u32 {
        (((self.rdev >> 12) & 0xffff_ff00) | (self.rdev & 0xff)) as u32
    }
}

/// What `statvfs(2)` says about a filesystem. Block counts are in units of `frsize` bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatVfs {
    /// Filesystem block size.
    pub bsize: u64,
    /// Fragment size: the unit of `blocks`, `bfree` and `bavail`.
    pub frsize: u64,
    /// Size of the filesystem in `frsize` units.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks available to unprivileged users.
    pub bavail: u64,
    /// Inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Free inodes available to unprivileged users.
    pub favail: u64,
    /// Filesystem id.
    pub fsid: u64,
    /// Mount flags (`ST_RDONLY` = 1, `ST_NOSUID` = 2, ...).
    pub flag: u64,
    /// Longest file name.
    pub namemax: u64,
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirEntry {
    /// The name.
    pub name: FileName,
    /// The kind, as the directory says (without a stat).
    pub kind: FileKind,
    /// The inode number.
    pub ino: u64,
}

/// One page of a directory listing. Ask again with `offset: next` while `more` is true.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirPage {
    /// The entries of this page.
    pub entries: Vec<DirEntry>,
    /// The offset to pass to get the next page.
    pub next: u64,
    /// Whether entries remain after this page.
    pub more: bool,
}

/// A directory entry with its `lstat` and, for a symlink, its target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirEntryPlus {
    /// The name.
    pub name: FileName,
    /// `lstat` of the entry (a symlink is not followed).
    pub stat: Stat,
    /// The target of a symlink.
    pub link: Option<GuestPath>,
}

/// One page of a listing with per-entry metadata. Ask again with `offset: next` while
/// `more` is true.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirPlusPage {
    /// The entries of this page.
    pub entries: Vec<DirEntryPlus>,
    /// The offset to pass to get the next page.
    pub next: u64,
    /// Whether entries remain after this page.
    pub more: bool,
}

/// An extended attribute: name and value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XAttr {
    /// The name with its namespace: `user.comment`, `security.selinux`.
    pub name: String,
    /// The value, raw.
    pub value: Data,
}

/// One line of a text file, without its line ending; the bytes are kept as they are.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", escape_bytes(&self.0))
    }
}
impl From<&str> for Line {
    fn from(s: &str) -> Self {
        Line(s.as_bytes().to_vec())
    }
}

/// A checksum algorithm: `md5`, `sha1`, `sha224`, `sha256`, `sha384`, `sha512`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChecksumType {
    /// MD5 (128 bits).
    Md5,
    /// SHA-1 (160 bits).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// The POSIX `cksum` CRC (printed in decimal).
    Crc,
}

impl FromStr for ChecksumType {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "md5" => ChecksumType::Md5,
            "sha1" => ChecksumType::Sha1,
            "sha224" => ChecksumType::Sha224,
            "sha256" => ChecksumType::Sha256,
            "sha384" => ChecksumType::Sha384,
            "sha512" => ChecksumType::Sha512,
            "crc" => ChecksumType::Crc,
            _ => {
                return Err(ArgError(format!(
                "'{}' is not a checksum type: use crc, md5, sha1, sha224, sha256, sha384 or sha512",
                escape_bytes(s.as_bytes())
            )))
            }
        })
    }
}
impl fmt::Display for ChecksumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChecksumType::Md5 => "md5",
            ChecksumType::Sha1 => "sha1",
            ChecksumType::Sha224 => "sha224",
            ChecksumType::Sha256 => "sha256",
            ChecksumType::Sha384 => "sha384",
            ChecksumType::Sha512 => "sha512",
            ChecksumType::Crc => "crc",
        })
    }
}
impl From<&str> for ChecksumType {
    /// Unchecked convenience for callers with a literal: an unknown name becomes sha256.
    fn from(s: &str) -> Self {
        s.parse().unwrap_or(ChecksumType::Sha256)
    }
}

/// Compression of a tar stream: `none`, `gzip`, `xz`, `zstd`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Compression {
    /// Plain tar.
    #[default]
    None,
    /// gzip.
    Gzip,
    /// xz.
    Xz,
    /// Zstandard.
    Zstd,
}

impl FromStr for Compression {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "none" | "" => Compression::None,
            "gzip" | "gz" => Compression::Gzip,
            "xz" => Compression::Xz,
            "zstd" | "zst" => Compression::Zstd,
            _ => {
                return Err(ArgError(format!(
                    "'{}' is not a compression: use none, gzip, xz or zstd",
                    escape_bytes(s.as_bytes())
                )))
            }
        })
    }
}
impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        })
    }
}

/// A file the daemon holds open for the caller (FUSE); valid until closed or shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileHandle(pub u64);

impl fmt::Display for FileHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl From<u64> for FileHandle {
    fn from(n: u64) -> Self {
        FileHandle(n)
    }
}

/// Who owns a file: a uid or gid, or `-1` to leave it unchanged (as chown(2) takes).
pub const OWNER_UNCHANGED: i64 = -1;

/// A directory entry with everything a FUSE mount shows about it, as `readdir_tree` lists
/// it: `lstat`, the symlink target and the extended attributes (of the entry itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirEntryFull {
    /// The name.
    pub name: FileName,
    /// `lstat` of the entry (a symlink is not followed).
    pub stat: Stat,
    /// The target of a symlink.
    pub link: Option<GuestPath>,
    /// The extended attributes of the entry itself (empty where the filesystem has none).
    pub xattrs: Vec<XAttr>,
}

/// One directory of a `readdir_tree` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirListing {
    /// The directory, as an absolute guest path.
    pub path: GuestPath,
    /// Its entries in directory order, without `.` and `..`.
    pub entries: Vec<DirEntryFull>,
    /// True when `entries` is the whole directory; otherwise continue with `readdir_plus`
    /// from offset `next`.
    pub complete: bool,
    /// The cookie after the last entry listed.
    pub next: u64,
}

/// One file of a `read_files` answer: its whole contents, or why they were not read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContent {
    /// The path as asked.
    pub path: GuestPath,
    /// 0 when `data` is the whole file; otherwise the errno that stopped the read (EFBIG for
    /// a file over the size limit, EAGAIN once the answer is full, ELOOP for a symbolic
    /// link, EINVAL for something other than a regular file), and `data` is empty.
    pub errno: i32,
    /// The file's bytes.
    pub data: Data,
}

/// One pattern of a `glob_expand_list` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobMatches {
    /// The pattern, as asked.
    pub pattern: GuestPath,
    /// Its matches, sorted, as `glob_expand` with `directoryslash:false` gives them.
    pub paths: Vec<GuestPath>,
    /// Why the pattern could not be expanded (its `paths` are then empty).
    pub errno: Option<crate::Errno>,
}

// ==== end of file API types ====
// ---- block devices, partitions, filesystems, LVM ----

/// A partition table type: `gpt`, or `mbr` (also written `msdos` or `dos`, as parted and
/// blkid call it). Printed as libguestfs prints it: `gpt` or `msdos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartTableType {
    /// A GUID partition table.
    Gpt,
    /// An MS-DOS (MBR) partition table.
    Mbr,
}

impl FromStr for PartTableType {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        match s.to_ascii_lowercase().as_str() {
            "gpt" | "efi" => Ok(PartTableType::Gpt),
            "mbr" | "msdos" | "dos" => Ok(PartTableType::Mbr),
            _ => Err(ArgError(format!(
                "'{}' is not a partition table type: use gpt or mbr (msdos)",
                escape_bytes(s.as_bytes())
            ))),
        }
    }
}
impl fmt::Display for PartTableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartTableType::Gpt => "gpt",
            PartTableType::Mbr => "msdos",
        })
    }
}

/// What kind of partition `part_add` makes on an MBR disk: `primary` (`p`), `extended`
/// (`e`) or `logical` (`l`). GPT has only primary partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartKind {
    /// A primary partition (the only kind on GPT).
    Primary,
    /// An MBR extended partition, the container of logical partitions.
    Extended,
    /// An MBR logical partition, inside the extended one.
    Logical,
}

impl FromStr for PartKind {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        match s.to_ascii_lowercase().as_str() {
            "p" | "primary" => Ok(PartKind::Primary),
            "e" | "extended" => Ok(PartKind::Extended),
            "l" | "logical" => Ok(PartKind::Logical),
            _ => Err(ArgError(format!(
                "'{}' is not a partition kind: use primary, extended or logical",
                escape_bytes(s.as_bytes())
            ))),
        }
    }
}
impl fmt::Display for PartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartKind::Primary => "primary",
            PartKind::Extended => "extended",
            PartKind::Logical => "logical",
        })
    }
}

/// A passphrase or key. It never prints: `Debug` and the shell's traces show `<secret>`, and
/// its bytes are wiped when it is dropped.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret(#[serde(with = "serde_bytes")] Vec<u8>);

impl Secret {
    /// Wraps key bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }
    /// The key bytes, for the one place that hands them to the tool that needs them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}
impl Drop for Secret {
    fn drop(&mut self) {
        self.0.fill(0);
        // Keeps the stores from being optimised away as dead.
        std::hint::black_box(&self.0);
    }
}
impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.as_bytes().to_vec())
    }
}
impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s.into_bytes())
    }
}
impl From<&[u8]> for Secret {
    fn from(s: &[u8]) -> Self {
        Secret(s.to_vec())
    }
}

/// One filesystem (or other content) found on a disk, partition, logical volume or opened
/// LUKS volume, as `list_filesystems` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filesystem {
    /// The device, in the caller's names (`/dev/sda1`, `/dev/VG/LV`, `/dev/mapper/NAME`).
    pub device: Device,
    /// `ext4`, `xfs`, `vfat`, `swap`, `crypto_LUKS`, ... or `unknown`.
    pub fstype: String,
    /// The label, when the filesystem has one.
    pub label: Option<String>,
    /// The UUID as blkid prints it, when the filesystem has one.
    pub uuid: Option<String>,
}

/// One partition of a partition table, as `part_list` reports it. Offsets and sizes are in
/// bytes; `end` is the last byte of the partition (inclusive, like libguestfs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionEntry {
    /// The partition number: `/dev/sda{partnum}`.
    pub partnum: u32,
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive): `start + size - 1`.
    pub end: u64,
    /// Size in bytes.
    pub size: u64,
    /// GPT: the partition type GUID (upper case, as sgdisk prints it).
    pub gpt_type: Option<String>,
    /// MBR: the partition type byte (`0x83`, `0x8e`, ...).
    pub mbr_id: Option<u32>,
    /// GPT: the partition name.
    pub name: Option<String>,
    /// MBR: the active flag. GPT: the legacy BIOS bootable attribute (bit 2).
    pub bootable: bool,
    /// GPT: the unique partition GUID (PARTUUID).
    pub uuid: Option<String>,
}

/// A percentage LVM may leave out (`snap_percent`): guestfish prints `50 %` or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptPercent(pub Option<f32>);

/// guestfish's `lvm_pv` struct (`pvs-full`): LVM's own report fields, sizes in bytes, the
/// UUID without its dashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct LvmPv {
    pub pv_name: String,
    pub pv_uuid: String,
    pub pv_fmt: String,
    pub pv_size: u64,
    pub dev_size: u64,
    pub pv_free: u64,
    pub pv_used: u64,
    pub pv_attr: String,
    pub pv_pe_count: i64,
    pub pv_pe_alloc_count: i64,
    pub pv_tags: String,
    pub pe_start: u64,
    pub pv_mda_count: i64,
    pub pv_mda_free: u64,
}

/// guestfish's `lvm_vg` struct (`vgs-full`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct LvmVg {
    pub vg_name: String,
    pub vg_uuid: String,
    pub vg_fmt: String,
    pub vg_attr: String,
    pub vg_size: u64,
    pub vg_free: u64,
    pub vg_sysid: String,
    pub vg_extent_size: u64,
    pub vg_extent_count: i64,
    pub vg_free_count: i64,
    pub max_lv: i64,
    pub max_pv: i64,
    pub pv_count: i64,
    pub lv_count: i64,
    pub snap_count: i64,
    pub vg_seqno: i64,
    pub vg_tags: String,
    pub vg_mda_count: i64,
    pub vg_mda_free: u64,
}

/// guestfish's `lvm_lv` struct (`lvs-full`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct LvmLv {
    pub lv_name: String,
    pub lv_uuid: String,
    pub lv_attr: String,
    pub lv_major: i64,
    pub lv_minor: i64,
    pub lv_kernel_major: i64,
    pub lv_kernel_minor: i64,
    pub lv_size: u64,
    pub seg_count: i64,
    pub origin: String,
    pub snap_percent: OptPercent,
    pub copy_percent: OptPercent,
    pub move_pv: String,
    pub lv_tags: String,
    pub mirror_log: String,
    pub modules: String,
}

/// An LVM physical volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysicalVolume {
    /// The device, in the caller's names (`/dev/sda2`).
    pub device: Device,
    /// The PV UUID (`6-4-4-4-4-4-6`).
    pub uuid: String,
    /// Size in bytes.
    pub size: u64,
    /// Unallocated bytes.
    pub free: u64,
    /// The volume group it belongs to, if any.
    pub vg: Option<String>,
}

/// An LVM volume group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeGroup {
    /// Its name.
    pub name: String,
    /// The VG UUID.
    pub uuid: String,
    /// Size in bytes.
    pub size: u64,
    /// Unallocated bytes.
    pub free: u64,
    /// The extent size in bytes; LV sizes are rounded up to it.
    pub extent_size: u64,
    /// Number of physical volumes.
    pub pv_count: u32,
    /// Number of logical volumes.
    pub lv_count: u32,
}

/// An LVM logical volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogicalVolume {
    /// `/dev/VG/LV`.
    pub device: Device,
    /// The LV's name.
    pub name: String,
    /// The volume group it is in.
    pub vg: String,
    /// The LV UUID.
    pub uuid: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether it is active (its device exists).
    pub active: bool,
}

#[cfg(test)]
mod octal_tests {
    use super::unescape_octal;

    #[test]
    fn only_escapes_of_one_byte_are_undone() {
        assert_eq!(unescape_octal("/srv\\040data\\134"), b"/srv data\\");
        assert_eq!(unescape_octal("\\377"), [0xff]);
        // `\400` and above are not a byte: a hostile fstab used to overflow here.
        assert_eq!(unescape_octal("/a\\440b"), b"/a\\440b");
        assert_eq!(unescape_octal("\\777"), b"\\777");
    }
}
