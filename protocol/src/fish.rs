//! Result types of the operations added for guestfish's commands (issue 11), with the text
//! form guestfish prints for each: a struct as `field: value` lines, a hashtable as
//! `key: value` lines.

use crate::shell::ShellText;
use serde::{Deserialize, Serialize};

/// File metadata as guestfish's `statns` and `lstatns` return it: every field signed, times
/// as seconds and nanoseconds, and six spare fields that are always 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct StatNs {
    pub st_dev: i64,
    pub st_ino: i64,
    pub st_mode: i64,
    pub st_nlink: i64,
    pub st_uid: i64,
    pub st_gid: i64,
    pub st_rdev: i64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    pub st_atime_sec: i64,
    pub st_atime_nsec: i64,
    pub st_mtime_sec: i64,
    pub st_mtime_nsec: i64,
    pub st_ctime_sec: i64,
    pub st_ctime_nsec: i64,
    pub st_spare1: i64,
    pub st_spare2: i64,
    pub st_spare3: i64,
    pub st_spare4: i64,
    pub st_spare5: i64,
    pub st_spare6: i64,
}

impl StatNs {
    pub(crate) fn fields(&self) -> [(&'static str, i64); 22] {
        [
            ("st_dev", self.st_dev),
            ("st_ino", self.st_ino),
            ("st_mode", self.st_mode),
            ("st_nlink", self.st_nlink),
            ("st_uid", self.st_uid),
            ("st_gid", self.st_gid),
            ("st_rdev", self.st_rdev),
            ("st_size", self.st_size),
            ("st_blksize", self.st_blksize),
            ("st_blocks", self.st_blocks),
            ("st_atime_sec", self.st_atime_sec),
            ("st_atime_nsec", self.st_atime_nsec),
            ("st_mtime_sec", self.st_mtime_sec),
            ("st_mtime_nsec", self.st_mtime_nsec),
            ("st_ctime_sec", self.st_ctime_sec),
            ("st_ctime_nsec", self.st_ctime_nsec),
            ("st_spare1", self.st_spare1),
            ("st_spare2", self.st_spare2),
            ("st_spare3", self.st_spare3),
            ("st_spare4", self.st_spare4),
            ("st_spare5", self.st_spare5),
            ("st_spare6", self.st_spare6),
        ]
    }
}

impl ShellText for StatNs {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        for (name, value) in self.fields() {
            out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
        }
    }
}

/// One entry of a hashtable result (guestfish's `RHashtable`): `mountpoints`, `tune2fs-l`.
/// A list of them keeps the order the daemon produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl KeyValue {
    /// A pair.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// `key: value`, as guestfish prints a hashtable; guest-supplied text is escaped on a
/// terminal.
impl ShellText for KeyValue {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        let line = format!("{}: {}", self.key, self.value);
        if escape {
            out.extend_from_slice(crate::types::escape_bytes(line.as_bytes()).as_bytes());
        } else {
            out.extend_from_slice(line.as_bytes());
        }
        out.push(b'\n');
    }
}

// ==== files commands (cmds-files) ====

/// The appliance kernel's `uname` (guestfish's `utsname` struct).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Utsname {
    pub uts_sysname: String,
    pub uts_release: String,
    pub uts_version: String,
    pub uts_machine: String,
}

impl ShellText for Utsname {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        for (name, value) in [
            ("uts_sysname", &self.uts_sysname),
            ("uts_release", &self.uts_release),
            ("uts_version", &self.uts_version),
            ("uts_machine", &self.uts_machine),
        ] {
            out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
        }
    }
}

/// A file mode mask (`umask`, `get-umask`) in octal, as guestfish prints it (`022`, `0`).
impl ShellText for crate::types::Mode {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        let lead = if self.0 == 0 { "" } else { "0" };
        out.extend_from_slice(format!("{lead}{:o}\n", self.0).as_bytes());
    }
}
/// One inotify event (guestfish's `inotify_event` struct).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct InotifyEvent {
    pub in_wd: i64,
    pub in_mask: u32,
    pub in_cookie: u32,
    pub in_name: String,
}

impl ShellText for InotifyEvent {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        out.extend_from_slice(
            format!(
                "in_wd: {}\nin_mask: {}\nin_cookie: {}\nin_name: {}\n",
                self.in_wd, self.in_mask, self.in_cookie, self.in_name
            )
            .as_bytes(),
        );
    }
}
/// File metadata as guestfish's deprecated `stat` struct (`lstatlist`): every field signed,
/// so a name that could not be lstat'd shows `ino: -1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct FishStat {
    pub dev: i64,
    pub ino: i64,
    pub mode: i64,
    pub nlink: i64,
    pub uid: i64,
    pub gid: i64,
    pub rdev: i64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
}

impl ShellText for FishStat {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        for (name, value) in [
            ("dev", self.dev),
            ("ino", self.ino),
            ("mode", self.mode),
            ("nlink", self.nlink),
            ("uid", self.uid),
            ("gid", self.gid),
            ("rdev", self.rdev),
            ("size", self.size),
            ("blksize", self.blksize),
            ("blocks", self.blocks),
            ("atime", self.atime),
            ("mtime", self.mtime),
            ("ctime", self.ctime),
        ] {
            out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
        }
    }
}

/// An extended attribute as guestfish's `xattr` struct prints it (`lxattrlist`): the value
/// with unprintable bytes as `\xNN`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FishXAttr {
    /// The name (empty for the per-file count entry).
    pub attrname: String,
    /// The value.
    #[serde(with = "serde_bytes")]
    pub attrval: Vec<u8>,
}

impl ShellText for FishXAttr {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        out.extend_from_slice(format!("attrname: {}\nattrval: ", self.attrname).as_bytes());
        for &b in &self.attrval {
            if (0x20..0x7f).contains(&b) {
                out.push(b);
            } else {
                out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
            }
        }
        out.push(b'\n');
    }
}
// ==== end of files commands (cmds-files) ====

// ==== btrfs and xfs (cmds-btrfs) ====

/// Appends `name: value` lines, as guestfish prints a struct's fields.
fn fields_text(out: &mut Vec<u8>, fields: &[(&str, &dyn std::fmt::Display)]) {
    for (name, value) in fields {
        out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
    }
}

/// One btrfs subvolume (guestfish's `btrfssubvolume` struct).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BtrfsSubvolume {
    pub btrfssubvolume_id: u64,
    pub btrfssubvolume_top_level_id: u64,
    pub btrfssubvolume_path: String,
}

impl ShellText for BtrfsSubvolume {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        fields_text(
            out,
            &[
                ("btrfssubvolume_id", &self.btrfssubvolume_id),
                (
                    "btrfssubvolume_top_level_id",
                    &self.btrfssubvolume_top_level_id,
                ),
                ("btrfssubvolume_path", &self.btrfssubvolume_path),
            ],
        );
    }
}

/// One btrfs quota group (guestfish's `btrfsqgroup` struct): sizes in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BtrfsQgroup {
    pub btrfsqgroup_id: String,
    pub btrfsqgroup_rfer: u64,
    pub btrfsqgroup_excl: u64,
}

impl ShellText for BtrfsQgroup {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        fields_text(
            out,
            &[
                ("btrfsqgroup_id", &self.btrfsqgroup_id),
                ("btrfsqgroup_rfer", &self.btrfsqgroup_rfer),
                ("btrfsqgroup_excl", &self.btrfsqgroup_excl),
            ],
        );
    }
}

/// The state of a btrfs balance (guestfish's `btrfsbalance` struct): `none`, `running` or
/// `paused`, and its chunk counts (`left` in percent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BtrfsBalance {
    pub btrfsbalance_status: String,
    pub btrfsbalance_total: u64,
    pub btrfsbalance_balanced: u64,
    pub btrfsbalance_considered: u64,
    pub btrfsbalance_left: u64,
}

impl ShellText for BtrfsBalance {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        fields_text(
            out,
            &[
                ("btrfsbalance_status", &self.btrfsbalance_status),
                ("btrfsbalance_total", &self.btrfsbalance_total),
                ("btrfsbalance_balanced", &self.btrfsbalance_balanced),
                ("btrfsbalance_considered", &self.btrfsbalance_considered),
                ("btrfsbalance_left", &self.btrfsbalance_left),
            ],
        );
    }
}

/// The counters of a btrfs scrub (guestfish's `btrfsscrub` struct), in `btrfs scrub
/// status -R`'s order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BtrfsScrub {
    /// (name without the `btrfsscrub_` prefix, value), in guestfish's order.
    pub counters: Vec<(String, u64)>,
}

/// The counters of [`BtrfsScrub`], in guestfish's order.
pub const BTRFS_SCRUB_FIELDS: [&str; 15] = [
    "data_extents_scrubbed",
    "tree_extents_scrubbed",
    "data_bytes_scrubbed",
    "tree_bytes_scrubbed",
    "read_errors",
    "csum_errors",
    "verify_errors",
    "no_csum",
    "csum_discards",
    "super_errors",
    "malloc_errors",
    "uncorrectable_errors",
    "unverified_errors",
    "corrected_errors",
    "last_physical",
];

impl ShellText for BtrfsScrub {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        for name in BTRFS_SCRUB_FIELDS {
            let value = self
                .counters
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0, |(_, v)| *v);
            out.extend_from_slice(format!("btrfsscrub_{name}: {value}\n").as_bytes());
        }
    }
}

/// The geometry of an XFS filesystem (guestfish's `xfsinfo` struct). A field xfs_info did
/// not report is `None`, which guestfish prints as -1 in the field's own unsigned width
/// (4294967295, 18446744073709551615) and as the empty string for names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XfsInfo {
    /// (field name without the `xfs_` prefix, value as xfs_info printed it), in
    /// guestfish's order; see [`XFS_INFO_FIELDS`].
    pub fields: Vec<(String, String)>,
}

/// The fields of [`XfsInfo`] in guestfish's order, with their kind: `s` a name, `u32`/`u64`
/// a number of that width.
pub const XFS_INFO_FIELDS: [(&str, &str); 25] = [
    ("mntpoint", "s"),
    ("inodesize", "u32"),
    ("agcount", "u32"),
    ("agsize", "u32"),
    ("sectsize", "u32"),
    ("attr", "u32"),
    ("blocksize", "u32"),
    ("datablocks", "u64"),
    ("imaxpct", "u32"),
    ("sunit", "u32"),
    ("swidth", "u32"),
    ("dirversion", "u32"),
    ("dirblocksize", "u32"),
    ("cimode", "u32"),
    ("logname", "s"),
    ("logblocksize", "u32"),
    ("logblocks", "u32"),
    ("logversion", "u32"),
    ("logsectsize", "u32"),
    ("logsunit", "u32"),
    ("lazycount", "u32"),
    ("rtname", "s"),
    ("rtextsize", "u32"),
    ("rtblocks", "u64"),
    ("rtextents", "u64"),
];

impl ShellText for XfsInfo {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        for (name, kind) in XFS_INFO_FIELDS {
            let value = self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            let text = match (value, kind) {
                (Some(v), _) => v.clone(),
                (None, "s") => String::new(),
                (None, "u32") => u32::MAX.to_string(),
                (None, _) => u64::MAX.to_string(),
            };
            out.extend_from_slice(format!("xfs_{name}: {text}\n").as_bytes());
        }
    }
}
// ==== end of btrfs and xfs (cmds-btrfs) ====

// ==== ISO, sleuthkit and yara structs (cmds-misc) ====

/// The primary volume descriptor of an ISO 9660 filesystem (guestfish's `isoinfo` struct).
/// Times are Unix seconds, -1 when the descriptor leaves them unset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Isoinfo {
    pub iso_system_id: String,
    pub iso_volume_id: String,
    pub iso_volume_space_size: u32,
    pub iso_volume_set_size: u32,
    pub iso_volume_sequence_number: u32,
    pub iso_logical_block_size: u32,
    pub iso_volume_set_id: String,
    pub iso_publisher_id: String,
    pub iso_data_preparer_id: String,
    pub iso_application_id: String,
    pub iso_copyright_file_id: String,
    pub iso_abstract_file_id: String,
    pub iso_bibliographic_file_id: String,
    pub iso_volume_creation_t: i64,
    pub iso_volume_modification_t: i64,
    pub iso_volume_expiration_t: i64,
    pub iso_volume_effective_t: i64,
}

impl ShellText for Isoinfo {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        fields_text(
            out,
            &[
                ("iso_system_id", &self.iso_system_id),
                ("iso_volume_id", &self.iso_volume_id),
                ("iso_volume_space_size", &self.iso_volume_space_size),
                ("iso_volume_set_size", &self.iso_volume_set_size),
                (
                    "iso_volume_sequence_number",
                    &self.iso_volume_sequence_number,
                ),
                ("iso_logical_block_size", &self.iso_logical_block_size),
                ("iso_volume_set_id", &self.iso_volume_set_id),
                ("iso_publisher_id", &self.iso_publisher_id),
                ("iso_data_preparer_id", &self.iso_data_preparer_id),
                ("iso_application_id", &self.iso_application_id),
                ("iso_copyright_file_id", &self.iso_copyright_file_id),
                ("iso_abstract_file_id", &self.iso_abstract_file_id),
                ("iso_bibliographic_file_id", &self.iso_bibliographic_file_id),
                ("iso_volume_creation_t", &self.iso_volume_creation_t),
                ("iso_volume_modification_t", &self.iso_volume_modification_t),
                ("iso_volume_expiration_t", &self.iso_volume_expiration_t),
                ("iso_volume_effective_t", &self.iso_volume_effective_t),
            ],
        );
    }
}

/// One entry of a filesystem walk (guestfish's `tsk_dirent` struct). `tsk_type` is one of
/// `b c d f l r s h w u`; `tsk_flags` ORs 1 (allocated), 2 (name unallocated, metadata
/// reallocated), 4 (compressed); `tsk_size` is -1 when the metadata is gone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct TskDirent {
    pub tsk_inode: u64,
    pub tsk_type: char,
    pub tsk_size: i64,
    pub tsk_name: String,
    pub tsk_flags: u32,
    pub tsk_atime_sec: i64,
    pub tsk_atime_nsec: i64,
    pub tsk_mtime_sec: i64,
    pub tsk_mtime_nsec: i64,
    pub tsk_ctime_sec: i64,
    pub tsk_ctime_nsec: i64,
    pub tsk_crtime_sec: i64,
    pub tsk_crtime_nsec: i64,
    pub tsk_nlink: i64,
    pub tsk_link: String,
    pub tsk_spare1: i64,
}

impl ShellText for TskDirent {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        fields_text(
            out,
            &[
                ("tsk_inode", &self.tsk_inode),
                ("tsk_type", &self.tsk_type),
                ("tsk_size", &self.tsk_size),
                ("tsk_name", &self.tsk_name),
                ("tsk_flags", &self.tsk_flags),
                ("tsk_atime_sec", &self.tsk_atime_sec),
                ("tsk_atime_nsec", &self.tsk_atime_nsec),
                ("tsk_mtime_sec", &self.tsk_mtime_sec),
                ("tsk_mtime_nsec", &self.tsk_mtime_nsec),
                ("tsk_ctime_sec", &self.tsk_ctime_sec),
                ("tsk_ctime_nsec", &self.tsk_ctime_nsec),
                ("tsk_crtime_sec", &self.tsk_crtime_sec),
                ("tsk_crtime_nsec", &self.tsk_crtime_nsec),
                ("tsk_nlink", &self.tsk_nlink),
                ("tsk_link", &self.tsk_link),
                ("tsk_spare1", &self.tsk_spare1),
            ],
        );
    }
}

/// A Yara rule that matched a file (guestfish's `yara_detection` struct).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct YaraDetection {
    pub yara_name: String,
    pub yara_rule: String,
}

impl ShellText for YaraDetection {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        fields_text(
            out,
            &[
                ("yara_name", &self.yara_name),
                ("yara_rule", &self.yara_rule),
            ],
        );
    }
}
// ==== end of cmds-misc ====

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statns_prints_every_field_in_guestfish_order() {
        let st = StatNs {
            st_dev: 2049,
            st_mode: 0o100644,
            ..StatNs::default()
        };
        let mut out = Vec::new();
        st.shell_text(&mut out, false);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 22);
        assert_eq!(lines[0], "st_dev: 2049");
        assert_eq!(lines[2], "st_mode: 33188");
        assert_eq!(lines[10], "st_atime_sec: 0");
        assert_eq!(lines[21], "st_spare6: 0");
    }

    #[test]
    fn hashtables_print_key_colon_value() {
        let mut out = Vec::new();
        vec![KeyValue::new("/dev/sda1", "/"), KeyValue::new("k", "")].shell_text(&mut out, false);
        assert_eq!(out, b"/dev/sda1: /\nk: \n");
    }
}

// ==== Augeas, hivex and journal commands (cmds-libs) ====

/// A string argument that may be absent (guestfish's `OptString`): an empty word is none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptString(pub Option<String>);

impl crate::shell::ShellArg for OptString {
    const KIND: crate::shell::ArgKind = crate::shell::ArgKind::String;
    fn parse_word(word: &str) -> Result<Self, crate::types::ArgError> {
        Ok(OptString((!word.is_empty()).then(|| word.to_string())))
    }
}

impl crate::shell::Brief for OptString {
    fn brief(&self) -> String {
        match &self.0 {
            Some(s) => crate::types::escape_bytes(s.as_bytes()),
            None => "NULL".to_string(),
        }
    }
}

/// guestfish's `int_bool` struct (`aug-defnode`): a count and a flag, both printed as
/// numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntBool {
    /// The number.
    pub i: i32,
    /// The flag, 0 or 1.
    pub b: i32,
}

impl ShellText for IntBool {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        out.extend_from_slice(format!("i: {}\nb: {}\n", self.i, self.b).as_bytes());
    }
}

/// A hive node handle (guestfish's `hivex_node` struct).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HivexNode {
    /// The node's handle.
    pub hivex_node_h: i64,
}

impl ShellText for HivexNode {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        out.extend_from_slice(format!("hivex_node_h: {}\n", self.hivex_node_h).as_bytes());
    }
}

/// A hive value handle (guestfish's `hivex_value` struct).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HivexValue {
    /// The value's handle.
    pub hivex_value_h: i64,
}

impl ShellText for HivexValue {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        out.extend_from_slice(format!("hivex_value_h: {}\n", self.hivex_value_h).as_bytes());
    }
}
// ==== end of Augeas, hivex and journal commands (cmds-libs) ====

// ==== the last guestfish commands (cmds-last) ====

/// One member of a software RAID array (guestfish's `mdstat` struct): its device, its
/// index in the array, and its flags (`W` write-mostly, `F` faulty, `S` spare, `R`
/// replacement).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct MdStat {
    pub mdstat_device: String,
    pub mdstat_index: i32,
    pub mdstat_flags: String,
}

impl ShellText for MdStat {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        fields_text(
            out,
            &[
                ("mdstat_device", &self.mdstat_device),
                ("mdstat_index", &self.mdstat_index),
                ("mdstat_flags", &self.mdstat_flags),
            ],
        );
    }
}
// ==== end of cmds-last ====
