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
    fn fields(&self) -> [(&'static str, i64); 22] {
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
