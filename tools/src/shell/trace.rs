//! libguestfs's call trace (`guestfish -x`, `set-trace true`, `LIBGUESTFS_TRACE=1`): a
//! `NAME ARGS` line as a call starts and a `NAME = RESULT` line as it ends, each printed
//! `libguestfs: trace: LINE` on standard error. The lines are built here from the table's
//! declaration of the operation (its argument kinds, its return type) and the reply's
//! libguestfs shape ([`Value`]), in the forms libguestfs 1.48's generated wrappers print:
//!
//! - arguments: strings in double quotes as they are (no escaping), booleans `true` /
//!   `false`, integers in decimal, a string list as one quoted word, a key as `"***"`, an
//!   optional argument as `"name:value"`;
//! - results: `0` for none, `1`/`0` for a boolean, numbers in decimal, a string quoted,
//!   bytes quoted with `\xNN` escapes (at most 256, then `<truncated, original size N
//!   bytes>`), a list or hashtable as `["a", "b"]`, a struct as
//!   `<struct guestfs_T = f: v, ..., >`, a struct list as
//!   `<struct guestfs_T_list(N) = [0]{f: v, ..., } ...>`; a failure as `-1 (error)` or
//!   `NULL (error)` as the C return type has it.
//!
//! A whole line is then escaped as libguestfs's default trace printer does: printable ASCII
//! as it is, `\n`, `\t`, ... and `\xN` for the rest, so text from the guest cannot forge a
//! line on the terminal.
//!
//! libguestfs also traces the calls it makes itself inside a call (`cat` reads through
//! `read_file` and `download`; `launch` asks `get_cachedir`, ...); guestwright makes no such
//! calls, so it prints only the calls the shell makes.

use guestwright::protocol::shell::ArgKind;
use guestwright::protocol::value::{GuestfsValue, Value};
use guestwright::protocol::{OpInfo, Reply, Stream};

/// libguestfs 1.48's calls that run in the library rather than the daemon (its generator's
/// `non_daemon_functions`) among those the shell traces: when they fail, libguestfs reports
/// the error before the trace's result line (a daemon call's `= -1 (error)` comes first).
const LIBRARY_CALLS: &[&str] = &[
    "add_drive",
    "add_drive_ro",
    "add_drive_scratch",
    "available",
    "canonical_device_name",
    "cat",
    "copy_in",
    "copy_out",
    "device_index",
    "disk_create",
    "disk_format",
    "disk_has_backing_file",
    "disk_virtual_size",
    "feature_available",
    "filesystem_walk",
    "find",
    "find_inode",
    "inspect_get_icon",
    "inspect_list_applications",
    "inspect_list_applications2",
    "journal_get",
    "launch",
    "ls",
    "lstat",
    "lstatlist",
    "lstatnslist",
    "lxattrlist",
    "mount_local",
    "mount_local_run",
    "mountable_device",
    "mountable_subvolume",
    "read_file",
    "read_lines",
    "readlinklist",
    "shutdown",
    "stat",
    "umount_local",
    "version",
    "write",
    "write_append",
    "yara_scan",
];

/// guestfish's other names for libguestfs calls (its generator's `fish_alias`) that the
/// table's commands answer to: the trace names the call.
const FISH_ALIASES: &[(&str, &str)] = &[
    ("unmount", "umount"),
    ("unmount_all", "umount_all"),
    ("get_uuid", "vfs_uuid"),
    ("btrfs_balance", "btrfs_filesystem_balance"),
];

/// The libguestfs call a command typed as `typed` makes: its name with underscores, an
/// `_opts` form as its base call (libguestfs traces `mkfs_opts` as `mkfs`), guestfish's
/// aliases as the call they name.
pub fn call_name(typed: &str) -> String {
    let name = typed.replace('-', "_");
    if let Some((_, call)) = FISH_ALIASES.iter().find(|(alias, _)| *alias == name) {
        return (*call).to_string();
    }
    match name.strip_suffix("_opts") {
        Some(base) if !base.is_empty() => base.to_string(),
        _ => name,
    }
}

/// Whether libguestfs runs `call` in the library (see [`LIBRARY_CALLS`]).
pub fn is_library_call(call: &str) -> bool {
    LIBRARY_CALLS.contains(&call)
}

/// The `NAME ARGS` line of a table operation typed as `typed` with guestfish's `words`
/// (the host file of a streaming operation among them, in its place).
pub fn call_line(op: &OpInfo, typed: &str, words: &[String]) -> Vec<u8> {
    let mut line = call_name(typed).into_bytes();
    let host = super::table::stream_word_index(op);
    let mut required = op.args.iter().filter(|a| !a.optional);
    for (i, word) in words.iter().enumerate() {
        line.push(b' ');
        if host == Some(i) {
            // guestfish passes `-` on as the process's own standard stream.
            let file = match (word.as_str(), op.stream) {
                ("-", Stream::Input) => "/dev/stdin",
                ("-", _) => "/dev/stdout",
                (w, _) => w,
            };
            quoted(&mut line, file);
            continue;
        }
        let optional = word.split_once(':').and_then(|(k, v)| {
            let k = k.replace('-', "_");
            let a = op.args.iter().find(|a| a.optional && a.name == k)?;
            Some((a, v))
        });
        if let Some((a, value)) = optional {
            let value = match a.kind {
                ArgKind::Secret => "***".to_string(),
                kind => plain(kind, value).unwrap_or_else(|| value.to_string()),
            };
            quoted(&mut line, &format!("{}:{value}", a.name));
            continue;
        }
        match required.next().map(|a| a.kind) {
            Some(ArgKind::Secret) => line.extend_from_slice(b"\"***\""),
            Some(kind) => match plain(kind, word) {
                Some(v) => line.extend_from_slice(v.as_bytes()),
                None => quoted(&mut line, word),
            },
            None => quoted(&mut line, word),
        }
    }
    line
}

/// A word libguestfs prints unquoted: a boolean or an integer, read as guestfish reads
/// them (integers with C's base prefixes: `0755` is octal, `0x10` hexadecimal).
fn plain(kind: ArgKind, word: &str) -> Option<String> {
    match kind {
        ArgKind::Bool => super::fisherr::fish_bool(word).map(|b| b.to_string()),
        ArgKind::Int | ArgKind::Mode | ArgKind::Size => c_integer(word).map(|n| n.to_string()),
        _ => None,
    }
}

/// An integer as `strtoll(word, NULL, 0)` reads a whole word.
fn c_integer(word: &str) -> Option<i64> {
    let (neg, digits) = match word.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, word.strip_prefix('+').unwrap_or(word)),
    };
    let n = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -n } else { n })
}

fn quoted(line: &mut Vec<u8>, s: &str) {
    line.push(b'"');
    line.extend_from_slice(s.as_bytes());
    line.push(b'"');
}

/// The `NAME = RESULT` line of a reply to a command typed as `typed`.
pub fn result_line(op: &OpInfo, typed: &str, reply: &Reply) -> Vec<u8> {
    let as_string = super::table::prints_as_string(typed);
    result_value_line(&call_name(typed), op.ret, &reply.guestfs_value(), as_string)
}

/// The `NAME = RESULT` line of a result `value` of the table's return type `ret`; bytes
/// are a string when guestfish's call returns one (`cat`).
pub fn result_value_line(call: &str, ret: &str, value: &Value, as_string: bool) -> Vec<u8> {
    let mut line = format!("{call} = ").into_bytes();
    match value {
        Value::None => line.push(b'0'),
        Value::Bool(b) => line.push(if *b { b'1' } else { b'0' }),
        Value::Int(n) => line.extend_from_slice(n.to_string().as_bytes()),
        Value::UInt(n) => line.extend_from_slice(n.to_string().as_bytes()),
        Value::Float(f) => line.extend_from_slice(f.to_string().as_bytes()),
        Value::Text(t) => {
            line.push(b'"');
            line.extend_from_slice(t);
            line.push(b'"');
        }
        Value::Bytes(b) if as_string => {
            let text = b.split(|&c| c == 0).next().unwrap_or_default();
            line.push(b'"');
            line.extend_from_slice(text);
            line.push(b'"');
        }
        Value::Bytes(b) => buffer(&mut line, b),
        Value::Hash(pairs) => {
            let items: Vec<&[u8]> = pairs.iter().flat_map(|(k, v)| [&k[..], &v[..]]).collect();
            string_list(&mut line, &items);
        }
        Value::List(items) if is_struct_type(ret) => {
            line.extend_from_slice(
                format!("<struct guestfs_{}_list({})", struct_name(ret), items.len()).as_bytes(),
            );
            if !items.is_empty() {
                line.extend_from_slice(b" = ");
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    line.push(b' ');
                }
                line.extend_from_slice(format!("[{i}]{{").as_bytes());
                fields(&mut line, item);
                line.push(b'}');
            }
            line.push(b'>');
        }
        Value::List(items) => {
            let texts: Vec<Vec<u8>> = items.iter().map(field_bytes).collect();
            let items: Vec<&[u8]> = texts.iter().map(Vec::as_slice).collect();
            string_list(&mut line, &items);
        }
        Value::Struct(_) => {
            line.extend_from_slice(format!("<struct guestfs_{} = ", struct_name(ret)).as_bytes());
            fields(&mut line, value);
            line.push(b'>');
        }
    }
    line
}

/// The result line of a failed call whose table return type is `ret`: `-1` for calls that
/// return an integer or nothing, `NULL` for the others, as libguestfs's C API returns them.
pub fn error_line(call: &str, ret: &str) -> Vec<u8> {
    let code = match ret {
        "()" | "bool" | "i32" | "i64" | "u32" | "u64" | "Mode" | "FileHandle" => "-1",
        _ => "NULL",
    };
    format!("{call} = {code} (error)").into_bytes()
}

/// `RBufferOut`: at most 256 bytes, unprintable ones as `\xNN`.
fn buffer(line: &mut Vec<u8>, bytes: &[u8]) {
    line.push(b'"');
    for &b in bytes.iter().take(256) {
        if is_print(b) {
            line.push(b);
        } else {
            line.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
    line.push(b'"');
    if bytes.len() > 256 {
        line.extend_from_slice(
            format!("<truncated, original size {} bytes>", bytes.len()).as_bytes(),
        );
    }
}

fn string_list(line: &mut Vec<u8>, items: &[&[u8]]) {
    line.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            line.extend_from_slice(b", ");
        }
        line.push(b'"');
        line.extend_from_slice(item);
        line.push(b'"');
    }
    line.push(b']');
}

/// A struct's fields as libguestfs's printer writes them with `", "` after each.
fn fields(line: &mut Vec<u8>, value: &Value) {
    let Value::Struct(fs) = value else {
        line.extend_from_slice(&field_bytes(value));
        return;
    };
    for (name, v) in fs {
        line.extend_from_slice(name.as_bytes());
        line.extend_from_slice(b": ");
        line.extend_from_slice(&field_bytes(v));
        line.extend_from_slice(b", ");
    }
}

/// One field's value: numbers in decimal, text as it is, bytes with `\xNN` escapes, a
/// percentage as `%g %`, an absent percentage as nothing.
fn field_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::None => Vec::new(),
        Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        Value::Int(n) => n.to_string().into_bytes(),
        Value::UInt(n) => n.to_string().into_bytes(),
        Value::Float(f) => format!("{f} %").into_bytes(),
        Value::Text(t) => t.clone(),
        Value::Bytes(b) => {
            let mut out = Vec::new();
            for &c in b {
                if is_print(c) {
                    out.push(c);
                } else {
                    out.extend_from_slice(format!("\\x{c:02x}").as_bytes());
                }
            }
            out
        }
        other => format!("{other:?}").into_bytes(),
    }
}

/// Whether the table's return type is a struct or a list of them (not text, a number or
/// a hashtable).
fn is_struct_type(ret: &str) -> bool {
    let inner = ret
        .strip_prefix("Vec<")
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(ret);
    !matches!(
        inner,
        "String"
            | "Line"
            | "Device"
            | "GuestPath"
            | "FileName"
            | "BlockDevice"
            | "PartitionDevice"
            | "MountEntry"
            | "KeyValue"
            | "Filesystem"
            | "u8"
            | "i64"
    )
}

/// libguestfs's name of the struct the table's return type `ret` (or its item) is.
fn struct_name(ret: &str) -> String {
    let inner = ret
        .strip_prefix("Vec<")
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(ret);
    let known = match inner {
        "Stat" | "FishStat" => "stat",
        "StatNs" => "statns",
        "StatVfs" => "statvfs",
        "XAttr" | "FishXAttr" => "xattr",
        "TskDirent" => "tsk_dirent",
        "PartitionEntry" => "partition",
        "LvmPv" => "lvm_pv",
        "LvmVg" => "lvm_vg",
        "LvmLv" => "lvm_lv",
        "IntBool" => "int_bool",
        "InotifyEvent" => "inotify_event",
        "HivexNode" => "hivex_node",
        "HivexValue" => "hivex_value",
        "YaraDetection" => "yara_detection",
        "BtrfsSubvolume" => "btrfssubvolume",
        "BtrfsQgroup" => "btrfsqgroup",
        "BtrfsBalance" => "btrfsbalance",
        "BtrfsScrub" => "btrfsscrub",
        other => return other.to_ascii_lowercase(),
    };
    known.to_string()
}

/// C's `isprint` in the C locale.
fn is_print(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// A trace line as libguestfs's default printer writes it: printable ASCII as it is, the
/// usual C escapes, `\xN` (lower-case hex, no padding) for other bytes.
pub fn escape_line(line: &[u8]) -> String {
    let mut out = String::with_capacity(line.len());
    for &b in line {
        match b {
            b if is_print(b) => out.push(char::from(b)),
            0 => out.push_str("\\0"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            b => out.push_str(&format!("\\x{b:x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use guestwright::protocol::value::Version;

    fn w(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    fn op(name: &str) -> &'static OpInfo {
        super::super::table::find(name).expect(name)
    }

    fn text(b: Vec<u8>) -> String {
        escape_line(&b)
    }

    #[test]
    fn arguments_print_as_libguestfs_traces_them() {
        assert_eq!(
            text(call_line(op("cat"), "cat", &w(&["/etc/hostname"]))),
            "cat \"/etc/hostname\""
        );
        // Integers in decimal (0755 is octal, as guestfish reads it), booleans bare.
        assert_eq!(
            text(call_line(op("chmod"), "chmod", &w(&["0755", "/x"]))),
            "chmod 493 \"/x\""
        );
        assert_eq!(
            text(call_line(
                op("pread"),
                "pread",
                &w(&["/etc/hostname", "5", "0"])
            )),
            "pread \"/etc/hostname\" 5 0"
        );
        // Optional arguments as "name:value", a boolean's value as true/false.
        assert_eq!(
            text(call_line(
                op("is-dir"),
                "is-dir",
                &w(&["/etc", "followsymlinks:yes"])
            )),
            "is_dir \"/etc\" \"followsymlinks:true\""
        );
        // A streaming command's `-` is the process's own stream.
        assert_eq!(
            text(call_line(op("download"), "download", &w(&["/x", "-"]))),
            "download \"/x\" \"/dev/stdout\""
        );
        // Keys never show.
        assert_eq!(
            text(call_line(
                op("luks-open"),
                "luks-open",
                &w(&["/dev/sda2", "hunter2", "cr"])
            )),
            "luks_open \"/dev/sda2\" \"***\" \"cr\""
        );
        // guestfish's aliases and _opts forms are traced as the call they make.
        assert_eq!(call_name("unmount-all"), "umount_all");
        assert_eq!(call_name("mkfs-opts"), "mkfs");
        assert_eq!(call_name("mke2fs-J"), "mke2fs_J");
    }

    #[test]
    fn results_print_as_libguestfs_traces_them() {
        let line = |ret: &str, v: Value, s: bool| text(result_value_line("f", ret, &v, s));
        assert_eq!(line("()", Value::None, false), "f = 0");
        assert_eq!(line("bool", Value::Bool(true), false), "f = 1");
        assert_eq!(line("i64", Value::Int(19), false), "f = 19");
        // A string's newline is escaped by the printer; a buffer's by its own form.
        let hostname = b"golden.example.org\n".to_vec();
        assert_eq!(
            line("Data", Value::Bytes(hostname.clone()), true),
            "f = \"golden.example.org\\n\""
        );
        assert_eq!(
            line("Data", Value::Bytes(hostname), false),
            "f = \"golden.example.org\\x0a\""
        );
        assert_eq!(
            line("Data", Value::Bytes(vec![b'a'; 300]), false),
            format!(
                "f = \"{}\"<truncated, original size 300 bytes>",
                "a".repeat(256)
            )
        );
        let list = Value::List(vec![Value::Text(b"a".to_vec()), Value::Text(b"b".to_vec())]);
        assert_eq!(line("Vec<String>", list, false), "f = [\"a\", \"b\"]");
        assert_eq!(line("Vec<String>", Value::List(vec![]), false), "f = []");
        let hash = Value::Hash(vec![(b"/dev/sda1".to_vec(), b"ext4".to_vec())]);
        assert_eq!(
            line("Vec<Filesystem>", hash, false),
            "f = [\"/dev/sda1\", \"ext4\"]"
        );
        let v = Version::parse("1.48.6").guestfs_value();
        assert_eq!(
            line("Version", v, false),
            "f = <struct guestfs_version = major: 1, minor: 48, release: 6, extra: , >"
        );
        let part = |n| {
            Value::Struct(vec![
                ("part_num".into(), Value::Int(n)),
                ("part_size".into(), Value::UInt(512)),
            ])
        };
        assert_eq!(
            line(
                "Vec<PartitionEntry>",
                Value::List(vec![part(1), part(2)]),
                false
            ),
            "f = <struct guestfs_partition_list(2) = [0]{part_num: 1, part_size: 512, } \
             [1]{part_num: 2, part_size: 512, }>"
        );
        assert_eq!(
            line("Vec<PartitionEntry>", Value::List(vec![]), false),
            "f = <struct guestfs_partition_list(0)>"
        );
        assert_eq!(text(error_line("mkdir", "()")), "mkdir = -1 (error)");
        assert_eq!(text(error_line("cat", "Data")), "cat = NULL (error)");
    }

    #[test]
    fn the_printer_escapes_what_is_not_printable_ascii() {
        assert_eq!(
            escape_line(b"a\tb\x1b]2;x\x07\xc3\xa9"),
            "a\\tb\\x1b]2;x\\a\\xc3\\xa9"
        );
    }
}
