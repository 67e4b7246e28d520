//! What the appliance tells the host about a LUKS header so that the host can derive the
//! volume key itself (issue 12): typed, bounded values, never the header's bytes. Only the
//! daemon parses the guest's header; the host checks these numbers against its own limits
//! before it spends any time or memory on them.

use crate::shell::{push_line, ShellText};
use crate::types::Data;
use serde::{Deserialize, Serialize};

/// At most this many bytes of key slot areas in one answer (all slots together).
pub const LUKS_MAX_AREA_BYTES: usize = 3 << 20;

/// The answer of `luks_keyslots`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LuksUnlockInfo {
    /// A header the host can unlock itself.
    Supported(LuksVolume),
    /// Something the fast path does not handle (tokens only, integrity, several segments,
    /// reencryption, an unknown cipher or KDF, ...): the host opens the volume with
    /// `luks_open` as before. The reason is for the debug log.
    Unsupported(String),
}

/// A LUKS volume's key slots, digest and data segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LuksVolume {
    /// 1 or 2.
    pub version: u16,
    /// The active key slots with a raw area, in slot order.
    pub keyslots: Vec<LuksKeyslot>,
    /// The digests that check a volume key.
    pub digests: Vec<LuksDigest>,
    /// The one crypt segment.
    pub segment: LuksSegment,
}

/// One key slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LuksKeyslot {
    /// Its number.
    pub slot: u32,
    /// The size of the volume key it holds, in bytes.
    pub key_size: u32,
    /// How the passphrase becomes the area's key.
    pub kdf: LuksKdf,
    /// The anti-forensic splitter's stripes (its type is always `luks1`).
    pub af_stripes: u32,
    /// The splitter's hash (`sha256`, ...).
    pub af_hash: String,
    /// The area's cipher (`aes-xts-plain64`).
    pub area_cipher: String,
    /// The area's key size in bytes.
    pub area_key_size: u32,
    /// The encrypted area: `key_size * af_stripes` bytes rounded up to 512.
    pub area: Data,
}

/// A key derivation function with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LuksKdf {
    /// PBKDF2 with HMAC of `hash`.
    Pbkdf2 {
        /// `sha1`, `sha256`, `sha512`, ...
        hash: String,
        /// Iterations.
        iterations: u32,
        /// The salt.
        salt: Data,
    },
    /// Argon2i (`id` false) or Argon2id (`id` true).
    Argon2 {
        /// Argon2id rather than Argon2i.
        id: bool,
        /// Passes.
        time: u32,
        /// Memory in KiB.
        memory_kib: u32,
        /// Lanes.
        cpus: u32,
        /// The salt.
        salt: Data,
    },
}

/// A PBKDF2 digest of the volume key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LuksDigest {
    /// The key slots whose key it checks.
    pub keyslots: Vec<u32>,
    /// The segments it covers.
    pub segments: Vec<u32>,
    /// HMAC's hash.
    pub hash: String,
    /// Iterations.
    pub iterations: u32,
    /// The salt.
    pub salt: Data,
    /// The expected PBKDF2 output.
    pub digest: Data,
}

/// The data segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LuksSegment {
    /// Where the data starts, in bytes.
    pub offset: u64,
    /// Its size in bytes, or `None` for the rest of the device.
    pub size: Option<u64>,
    /// The IV's offset, in 512-byte sectors.
    pub iv_tweak: u64,
    /// `aes-xts-plain64`, ...
    pub cipher: String,
    /// The encryption sector size in bytes.
    pub sector_size: u32,
}

/// One line: the version and slots, or why not (this is an internal operation).
impl ShellText for LuksUnlockInfo {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        match self {
            LuksUnlockInfo::Supported(v) => {
                let slots: Vec<String> = v.keyslots.iter().map(|k| k.slot.to_string()).collect();
                push_line(out, &format!("LUKS{} slots {}", v.version, slots.join(",")));
            }
            LuksUnlockInfo::Unsupported(why) => push_line(out, &format!("unsupported: {why}")),
        }
    }
}

/// No libguestfs shape (an internal operation): the line the shell would print, as text.
impl crate::value::GuestfsValue for LuksUnlockInfo {
    fn guestfs_value(&self) -> crate::value::Value {
        let mut out = Vec::new();
        self.shell_text(&mut out, false);
        out.pop();
        crate::value::Value::Text(out)
    }
}
