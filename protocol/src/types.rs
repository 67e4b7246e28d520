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
