//! Errors worded as guestfish 1.48 words them, so that scripts which grep stderr keep
//! working: `*stdin*:3: libguestfs: error: download: /x: No such file or directory`.
//!
//! Two kinds: a libguestfs error (what the library or its daemon reports for an operation,
//! named by libguestfs's operation name, e.g. `download` for `cat`, `ls0` for `ls`), which
//! the shell prefixes with the script's name and line; and guestfish's own messages (wrong
//! number of arguments, a bad boolean, an unknown command), printed as they are.
//!
//! This module only words messages; it never decides whether something fails.

use guestwright::protocol::shell::ArgKind;
use guestwright::protocol::{Errno, OpInfo, Stream};

/// The operation name libguestfs reports for one of ours, where libguestfs implements the
/// command through another call (guestfish's `cat` reads through `download`, `write`
/// through `internal_write`, `ls` through `ls0`).
pub fn lg_name(op: &OpInfo) -> &'static str {
    match op.name {
        "read_file" | "read_lines" => "download",
        "write_file" => "internal_write",
        "write_append" => "internal_write_append",
        "ls" => "ls0",
        "find" => "find0",
        // guestfish 1.48's stat and lstat call statns and lstatns.
        "stat" => "statns",
        "lstat" => "lstatns",
        "mount" => "mount_options",
        // cmds-libs: libguestfs reads the journal entry through an internal call.
        "journal_get" => "internal_journal_get",
        // cmds-misc: libguestfs runs these through internal calls.
        "filesystem_walk" => "internal_filesystem_walk",
        "find_inode" => "internal_find_inode",
        "yara_scan" => "internal_yara_scan",
        // cmds-last: libguestfs's mixed-case names.
        "sfdisk_n" => "sfdisk_N",
        "sfdiskm" => "sfdiskM",
        other => other,
    }
}

/// The system call libguestfs's daemon names before the path in an errno message
/// (`ls0: opendir: /x: ...`), for the operations that name one.
fn syscall(lg: &str) -> Option<&'static str> {
    // Only the wordings checked against guestfish 1.48 (golden cases); others name none.
    match lg {
        "ls0" => Some("opendir"),
        // cmds-files
        "base64_out" | "tgz_out" => Some("stat"),
        "internal_write" | "internal_write_append" => Some("open"),
        // tests/regressions/rhbz557655.sh
        "truncate_size" => Some("ftruncate"),
        // cmds-misc
        "isoinfo" => Some("open"),
        // cmds-last (tests/golden/cases/90-last-cmds.txt)
        "touch" => Some("open"),
        _ => None,
    }
}

/// The C library's text for an errno ("No such file or directory").
pub fn strerror(errno: Errno) -> String {
    let text = std::io::Error::from_raw_os_error(errno.raw()).to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The first argument that names a guest path or a device: libguestfs's daemon names it in
/// errno messages.
fn subject<'a>(op: &OpInfo, words: &'a [String]) -> Option<&'a str> {
    op.args
        .iter()
        .filter(|a| !a.optional)
        .zip(words)
        .find(|(a, _)| matches!(a.kind, ArgKind::GuestPath | ArgKind::Device))
        .map(|(_, w)| w.as_str())
}

/// A word for a message: control characters escaped, so a message stays one line.
fn shown(word: &str) -> String {
    guestwright::protocol::escape_bytes(word.as_bytes())
}

/// The libguestfs error for an operation that failed in the appliance with `errno`.
/// `message` is our daemon's own text, used where libguestfs's wording follows from it.
pub fn remote(op: &OpInfo, words: &[String], errno: Errno, message: &str) -> String {
    let text = libguestfs_words(op, words, errno, message);
    if errno == Errno::ENOSPC {
        // guestfish's line stays as it is (scripts grep it); the advice follows on its own.
        return format!(
            "{text}\nguestwright: the guest filesystem is full: free space in it (remove files) \
             or give it more (grow the image with `qemu-img resize`, then its partition and \
             filesystem), and try again"
        );
    }
    text
}

/// libguestfs calls that run in its library and word their errors without the call's name
/// (`/dev/sda1: device not found`): the daemon's message is theirs, as it is.
const UNPREFIXED: &[&str] = &["device_index", "mountable_subvolume"];

fn libguestfs_words(op: &OpInfo, words: &[String], errno: Errno, message: &str) -> String {
    let lg = lg_name(op);
    if UNPREFIXED.contains(&lg) {
        return message.to_string();
    }
    // libguestfs's chmod names the mode after the path, in octal (`/x: 0755: ...`).
    if matches!(lg, "chmod" | "lchmod") {
        if let [mode, path] = words {
            if let Ok(m) = mode.parse::<guestwright::protocol::Mode>() {
                return format!("{lg}: {}: 0{:o}: {}", shown(path), m.0, strerror(errno));
            }
        }
    }
    // The daemon already wrote libguestfs's wording (it starts with the call's name).
    if message
        .strip_prefix(lg)
        .is_some_and(|rest| rest.starts_with(": "))
    {
        return message.to_string();
    }
    if message.starts_with("no filesystem is mounted on /") {
        return format!(
            "{lg}: {lg}_stub: you must call 'mount' first to mount the root filesystem"
        );
    }
    // mount(8)'s own words, which libguestfs's mount calls pass on.
    if lg.starts_with("mount") && message.starts_with("mount: ") {
        return format!("{lg}: {message}");
    }
    let first_is_device = op
        .args
        .iter()
        .find(|a| !a.optional)
        .is_some_and(|a| a.kind == ArgKind::Device);
    // A device list (`lvm-set-filter`): the stub refuses the first device that does not
    // exist, as for a single device.
    let first_is_list = op
        .args
        .iter()
        .find(|a| !a.optional)
        .is_some_and(|a| a.kind == ArgKind::StringList);
    if first_is_list && errno == Errno::ENOENT {
        if let Some((dev, _)) = message
            .split_once(": ")
            .filter(|(d, _)| d.starts_with("/dev/"))
        {
            return format!("{lg}: {lg}_stub: {}: {}", shown(dev), strerror(errno));
        }
    }
    match subject(op, words) {
        // A device that does not exist is refused by libguestfs's stub before the call.
        Some(dev) if first_is_device && errno == Errno::ENOENT => {
            format!("{lg}: {lg}_stub: {}: {}", shown(dev), strerror(errno))
        }
        Some(path) => match syscall(lg) {
            Some(call) => format!("{lg}: {call}: {}: {}", shown(path), strerror(errno)),
            None => format!("{lg}: {}: {}", shown(path), strerror(errno)),
        },
        None => format!("{lg}: {message}"),
    }
}

/// What a word-count or word-kind mistake prints, checked before the request is built, in
/// guestfish's order: the count, then each argument. `Err(Fish)` is guestfish's own message,
/// `Err(Libguestfs)` one the library would report.
/// `typed` is the name the user typed (`cat`), for the usage lines.
pub fn check_words(op: &OpInfo, typed: &str, words: &[String]) -> Result<(), Refusal> {
    let required =
        op.args.iter().filter(|a| !a.optional).count() + usize::from(op.stream != Stream::None);
    let optional = op.args.iter().filter(|a| a.optional).count();
    if words.len() < required || words.len() > required + optional {
        return Err(Refusal::Fish(wrong_count(op, typed)));
    }
    let lg = lg_name(op);
    // The host file of a streaming operation is not one of the table's arguments.
    let host_word = super::table::stream_word_index(op);
    let required_words = words[..required]
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != host_word)
        .map(|(_, w)| w);
    for (a, w) in op.args.iter().filter(|a| !a.optional).zip(required_words) {
        if let Some(r) = check_word(op, lg, a.name, a.kind, w) {
            return Err(r);
        }
    }
    // guestfish refuses a word that names no optional argument, and one named twice, before
    // anything is sent.
    let mut seen: Vec<&str> = Vec::new();
    for w in &words[required..] {
        let optarg = w.split_once(':').and_then(|(k, v)| {
            let k = k.replace('-', "_");
            op.args
                .iter()
                .find(|a| a.optional && a.name == k)
                .map(|a| (a, v))
        });
        let Some((a, v)) = optarg else {
            return Err(Refusal::Fish(format!(
                "{typed}: unknown optional argument \"{w}\""
            )));
        };
        if seen.contains(&a.name) {
            return Err(Refusal::Fish(format!(
                "{typed}: optional argument \"{}\" given more than once",
                a.name
            )));
        }
        seen.push(a.name);
        if let Some(r) = check_word(op, lg, a.name, a.kind, v) {
            return Err(r);
        }
    }
    Ok(())
}

/// A refused command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// guestfish's own message, printed as it is.
    Fish(String),
    /// A libguestfs error (prefixed with the script's name and line).
    Libguestfs(String),
}

fn check_word(op: &OpInfo, lg: &str, name: &str, kind: ArgKind, word: &str) -> Option<Refusal> {
    match kind {
        ArgKind::Int => {
            let command = op.name.replace('_', "-");
            // The type's own range is checked when the word is parsed.
            guestwright::protocol::shell::fish_int_error(&command, name, word, 64)
                .map(Refusal::Fish)
        }
        // guestfish's Int64 sizes: its xstrtoll errors.
        ArgKind::Size
            if <guestwright::protocol::ByteSize as guestwright::protocol::shell::ShellArg>::parse_word(word)
                .is_err() =>
        {
            let command = op.name.replace('_', "-");
            guestwright::protocol::shell::fish_int_error(&command, name, word, 64)
                .map(Refusal::Fish)
        }
        ArgKind::Bool if fish_bool(word).is_none() => Some(Refusal::Fish(format!(
            "guestfish: '{}': invalid boolean value, use 'true' or 'false'",
            shown(word)
        ))),
        // libguestfs checks these plain-string paths in the call itself, not its stub.
        ArgKind::GuestPath
            if !word.starts_with('/') && matches!(lg, "mkmountpoint" | "rmmountpoint") =>
        {
            Some(Refusal::Libguestfs(format!(
                "{lg}: do_{lg}: path must start with a / character"
            )))
        }
        ArgKind::GuestPath if !word.starts_with('/') => Some(Refusal::Libguestfs(format!(
            "{lg}: {lg}_stub: path must start with a / character"
        ))),
        ArgKind::Device if !word.starts_with("/dev/") => Some(Refusal::Libguestfs(format!(
            "{lg}: {lg}_stub: {}: {}",
            shown(word),
            strerror(Errno::ENOENT)
        ))),
        ArgKind::String
            if name == "csumtype"
                && !matches!(
                    word,
                    "crc" | "md5" | "sha1" | "sha224" | "sha256" | "sha384" | "sha512"
                ) =>
        {
            Some(Refusal::Libguestfs(format!(
                "{lg}: unknown checksum type, expecting crc|md5|sha1|sha224|sha256|sha384|sha512"
            )))
        }
        _ => None,
    }
}

/// guestfish's booleans (case does not matter).
pub fn fish_bool(word: &str) -> Option<bool> {
    match word.to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// guestfish's three lines for a wrong number of arguments.
pub fn wrong_count(op: &OpInfo, typed: &str) -> String {
    let name = typed.replace('_', "-");
    format!(
        "error: incorrect number of arguments\nusage: {}\ntype 'help {name}' for more help on {name}",
        synopsis(op, &name)
    )
}

/// `name arg... [opt:type]...`, as guestfish prints a command's synopsis.
pub fn synopsis(op: &OpInfo, name: &str) -> String {
    let mut s = name.to_string();
    let stream_word = if op.stream == Stream::None {
        None
    } else {
        Some("filename")
    };
    if op.stream == Stream::Input {
        s.push_str(" filename");
    }
    for a in op.args.iter().filter(|a| !a.optional) {
        s.push(' ');
        s.push_str(a.name);
    }
    if op.stream == Stream::Output {
        s.push(' ');
        s.push_str(stream_word.unwrap_or_default());
    }
    for a in op.args.iter().filter(|a| a.optional) {
        let ty = match a.kind {
            ArgKind::Bool => "true|false",
            ArgKind::Int | ArgKind::Size | ArgKind::Mode => "N",
            _ => "..",
        };
        s.push_str(&format!(" [{}:{ty}]", a.name));
    }
    s
}

/// guestfish's message for a command it does not know; the hint lines follow only when it
/// was the first command (someone who typed `guestfish disk.img`).
pub fn unknown_command(name: &str, first: bool) -> String {
    let mut s = format!("{name}: unknown command");
    if first {
        s.push_str(
            "\nDid you mean to open a disk image?  guestfish -a disk.img\n\
             For a list of commands:             guestfish -h\n\
             For complete documentation:         man guestfish",
        );
    }
    s
}

/// guestfish's message for `help CMD` of a command it does not know.
pub fn help_unknown(name: &str, interactive: bool) -> String {
    if interactive {
        format!("{name}: command not known: use 'help --list' to list all commands")
    } else {
        format!("{name}: command not known: use -h to list all commands")
    }
}

/// What guestfish and the virt tools (`prog`) print when `-i` finds no operating system.
pub fn no_os(prog: &str) -> String {
    format!(
        "{prog}: no operating system was found on this disk\n\
         \n\
         If using guestfish \u{2018}-i\u{2019} option, remove this option and instead\n\
         use the commands \u{2018}run\u{2019} followed by \u{2018}list-filesystems\u{2019}.\n\
         You can then mount filesystems you want by hand using the\n\
         \u{2018}mount\u{2019} or \u{2018}mount-ro\u{2019} command.\n\
         \n\
         If using guestmount \u{2018}-i\u{2019}, remove this option and choose the\n\
         filesystem(s) you want to see by manually adding \u{2018}-m\u{2019} option(s).\n\
         Use \u{2018}virt-filesystems\u{2019} to see what filesystems are available.\n\
         \n\
         If using other virt tools, this disk image won\u{2019}t work\n\
         with these tools.  Use the guestfish equivalent commands\n\
         (see the virt tool manual page)."
    )
}

/// Whether an error is inspection finding no operating system.
pub fn is_no_os(e: &guestwright::Error) -> bool {
    matches!(e, guestwright::Error::Inspection { detail } if detail.starts_with("no operating system was found"))
}

/// guestfish's three lines for a wrong number of arguments to a command that is not in the
/// table of operations, given its synopsis (`disk-create filename format size [...]`).
pub fn wrong_count_of(typed: &str, usage: &str) -> String {
    let name = typed.replace('_', "-");
    format!(
        "error: incorrect number of arguments\nusage: {usage}\ntype 'help {name}' for more help on {name}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str) -> &'static OpInfo {
        OpInfo::find(name).unwrap()
    }

    fn w(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn errno_messages_use_libguestfs_names_and_wording() {
        let e = remote(op("read_file"), &w(&["/x"]), Errno::ENOENT, "read_file /x");
        assert_eq!(e, "download: /x: No such file or directory");
        let e = remote(op("ls"), &w(&["/x"]), Errno::ENOENT, "");
        assert_eq!(e, "ls0: opendir: /x: No such file or directory");
        let e = remote(op("write_file"), &w(&["/n", "x"]), Errno::EROFS, "");
        assert_eq!(e, "internal_write: open: /n: Read-only file system");
        let e = remote(op("mkdir"), &w(&["/etc"]), Errno::EEXIST, "");
        assert_eq!(e, "mkdir: /etc: File exists");
        let e = remote(op("vfs_type"), &w(&["/dev/sdz"]), Errno::ENOENT, "");
        assert_eq!(
            e,
            "vfs_type: vfs_type_stub: /dev/sdz: No such file or directory"
        );
        let e = remote(
            op("read_file"),
            &w(&["/x"]),
            Errno::EINVAL,
            "no filesystem is mounted on /: mount one first",
        );
        assert_eq!(
            e,
            "download: download_stub: you must call 'mount' first to mount the root filesystem"
        );
    }

    #[test]
    fn word_checks_follow_guestfish() {
        assert_eq!(
            check_words(op("read_file"), "cat", &[]),
            Err(Refusal::Fish(
                "error: incorrect number of arguments\nusage: cat path\n\
                 type 'help cat' for more help on cat"
                    .into()
            ))
        );
        assert_eq!(
            check_words(
                op("is_file"),
                "is_file",
                &w(&["/etc", "followsymlinks:maybe"])
            ),
            Err(Refusal::Fish(
                "guestfish: 'maybe': invalid boolean value, use 'true' or 'false'".into()
            ))
        );
        assert_eq!(
            check_words(op("read_file"), "read_file", &w(&["etc/hostname"])),
            Err(Refusal::Libguestfs(
                "download: download_stub: path must start with a / character".into()
            ))
        );
        assert!(check_words(op("is_file"), "is_file", &w(&["/etc", "followsymlinks:t"])).is_ok());
        assert!(check_words(op("download"), "download", &w(&["/etc/hostname", "-"])).is_ok());
        // The host word of download-offset sits between its arguments.
        assert!(check_words(
            op("download_offset"),
            "download-offset",
            &w(&["/dev/sda", "-", "0x3e8", "6"])
        )
        .is_ok());
        assert!(matches!(
            check_words(op("download"), "download", &w(&["/etc/hostname"])),
            Err(Refusal::Fish(_))
        ));
    }

    #[test]
    fn unknown_commands_get_hints_only_first() {
        assert_eq!(unknown_command("x", false), "x: unknown command");
        assert!(unknown_command("x", true).ends_with("man guestfish"));
    }
}
