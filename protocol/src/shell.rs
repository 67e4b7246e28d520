//! How operation arguments are read from shell words and how results are printed as text.
//!
//! The shell (and any other textual front end) builds requests from words through
//! [`ShellArg`] and prints replies through [`ShellText`]; both are implemented here, once per
//! type, so every operation in the table gets them for free.

use crate::types::*;
use crate::value::{GuestfsValue, Value};

/// What kind of word an argument is; drives completion and help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A path in the guest.
    GuestPath,
    /// A device name.
    Device,
    /// A byte count with optional suffix.
    Size,
    /// An octal mode.
    Mode,
    /// Free text that becomes file contents.
    Data,
    /// `true`/`false`.
    Bool,
    /// An integer.
    Int,
    /// A word.
    String,
    /// A list of words, written as one space-separated word.
    StringList,
    /// A filesystem type.
    FsType,
    /// A word that must not be echoed, logged or kept in the history (a key).
    Secret,
}

/// A type an operation argument can have, parsed from one shell word.
pub trait ShellArg: Sized {
    /// The kind of word.
    const KIND: ArgKind;
    /// Parses the word.
    fn parse_word(word: &str) -> Result<Self, ArgError>;
}

impl ShellArg for GuestPath {
    const KIND: ArgKind = ArgKind::GuestPath;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        if !word.starts_with('/') {
            return Err(ArgError(format!(
                "'{}' is not an absolute guest path (guest paths start with /)",
                escape_bytes(word.as_bytes())
            )));
        }
        Ok(GuestPath::from(word))
    }
}
impl ShellArg for Vec<GuestPath> {
    const KIND: ArgKind = ArgKind::StringList;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        string_list(word)?
            .iter()
            .map(|w| GuestPath::parse_word(w))
            .collect()
    }
}
impl ShellArg for LinkTarget {
    const KIND: ArgKind = ArgKind::String;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        Ok(LinkTarget::from(word))
    }
}
impl ShellArg for Device {
    const KIND: ArgKind = ArgKind::Device;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        Device::new(word)
    }
}
impl ShellArg for DevOrPath {
    // Completed and checked as a guest path: devices are names under /dev/ too.
    const KIND: ArgKind = ArgKind::GuestPath;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        if word.starts_with("/dev/") {
            Device::new(word).map(DevOrPath::Device)
        } else {
            GuestPath::parse_word(word).map(DevOrPath::Path)
        }
    }
}
impl ShellArg for Disk {
    const KIND: ArgKind = ArgKind::Device;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        Device::new(word).map(Disk)
    }
}
impl ShellArg for VolumeName {
    const KIND: ArgKind = ArgKind::Device;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        Device::new(word).map(VolumeName)
    }
}
impl ShellArg for ByteSize {
    const KIND: ArgKind = ArgKind::Size;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        // guestfish reads its Int64 sizes with xstrtoll: `0x4d2` and `02322` are 1234, `09`
        // is refused. Our own suffixes (`10m`, `1GB` as 2^30) are read after it.
        match xstrtoll(word) {
            Ok(v) if v >= 0 => Ok(ByteSize(v as u64)),
            _ if word.trim_start().starts_with('0') => Err(ArgError(format!(
                "'{}' is not a size: use bytes or a suffix, as in 4096, 64K, 10M, 2G",
                escape_bytes(word.as_bytes())
            ))),
            _ => word.parse(),
        }
    }
}
impl ShellArg for Vec<ByteSize> {
    const KIND: ArgKind = ArgKind::StringList;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        string_list(word)?
            .iter()
            .map(|w| ByteSize::parse_word(w))
            .collect()
    }
}
impl ShellArg for Mode {
    const KIND: ArgKind = ArgKind::Mode;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        word.parse()
    }
}
impl ShellArg for Data {
    const KIND: ArgKind = ArgKind::Data;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        Ok(Data(word.as_bytes().to_vec()))
    }
}
impl ShellArg for FsType {
    const KIND: ArgKind = ArgKind::FsType;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        word.parse()
    }
}
impl ShellArg for String {
    const KIND: ArgKind = ArgKind::String;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        Ok(word.to_string())
    }
}
impl ShellArg for Vec<String> {
    const KIND: ArgKind = ArgKind::StringList;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        string_list(word)
    }
}

/// Splits a list argument as guestfish does: words separated by spaces and tabs, where
/// `'...'` quotes a part of a word (spaces included) and `\'` is a literal quote, inside
/// quotes or out (`'foo bar' baz` is two words, `it\'s` one).
pub fn string_list(word: &str) -> Result<Vec<String>, ArgError> {
    let bytes = word.as_bytes();
    let blank = |b: u8| b == b' ' || b == b'\t';
    let mut words = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && blank(bytes[i]) {
            i += 1;
        }
        let mut token: Option<Vec<u8>> = None;
        let mut quoted = false;
        while i < bytes.len() && (quoted || !blank(bytes[i])) {
            if bytes[i] == b'\'' {
                quoted = !quoted;
                i += 1;
            }
            let start = i;
            while i < bytes.len() && bytes[i] != b'\'' && (quoted || !blank(bytes[i])) {
                i += 1;
            }
            let t = token.get_or_insert_with(Vec::new);
            if i < bytes.len() && bytes[i] == b'\'' && i > start && bytes[i - 1] == b'\\' {
                // `\'`: the quote is a character of the word, and quoting goes on as it was.
                t.extend_from_slice(&bytes[start..i - 1]);
                t.push(b'\'');
                i += 1;
            } else {
                t.extend_from_slice(&bytes[start..i]);
            }
        }
        if quoted {
            return Err(ArgError(format!("Runaway quote in string \"{word}\"")));
        }
        if let Some(t) = token {
            words.push(String::from_utf8_lossy(&t).into_owned());
        }
    }
    Ok(words)
}
impl ShellArg for bool {
    const KIND: ArgKind = ArgKind::Bool;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        match word.to_ascii_lowercase().as_str() {
            // guestfish's spellings.
            "true" | "t" | "yes" | "on" | "1" | "y" => Ok(true),
            "false" | "f" | "no" | "off" | "0" | "n" => Ok(false),
            _ => Err(ArgError(format!("'{word}' is not true or false"))),
        }
    }
}
/// How guestfish reads an integer argument: gnulib's `xstrtoll` with base 0 (`0x1f` is hex,
/// `017` octal) and the size suffixes `k`/`K`, `M`, `G`, `T`, `P`, `E`, `Z`, `Y` (powers of
/// 1024; `KiB` the same, `KB` powers of 1000). `Err` holds xstrtoll's code, which guestfish
/// prints: 1 overflow, 2 a character after the number, 3 both, 4 no number.
pub fn xstrtoll(word: &str) -> Result<i64, u32> {
    const OVERFLOW: u32 = 1;
    const BAD_SUFFIX: u32 = 2;
    const INVALID: u32 = 4;
    let b = word.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let negative = b.get(i) == Some(&b'-');
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let (radix, start) = if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X'))
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, i + 2)
    } else if b.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut end = start;
    let mut value: i128 = 0;
    while let Some(d) = b.get(end).and_then(|&c| (c as char).to_digit(radix)) {
        value = (value * i128::from(radix) + i128::from(d)).min(i128::from(u64::MAX) + 1);
        end += 1;
    }
    let mut err = 0;
    let mut value = if end == start {
        // No digits: a lone suffix ("k") counts as 1 of it, anything else is no number.
        if b.get(end).is_some_and(|c| b"kKMGTPEZY".contains(c)) {
            1
        } else {
            return Err(INVALID);
        }
    } else if negative {
        -value
    } else {
        value
    };
    let clamp = |v: i128, err: &mut u32| -> i128 {
        if v > i128::from(i64::MAX) {
            *err |= OVERFLOW;
            i128::from(i64::MAX)
        } else if v < i128::from(i64::MIN) {
            *err |= OVERFLOW;
            i128::from(i64::MIN)
        } else {
            v
        }
    };
    value = clamp(value, &mut err);
    let Some(&suffix) = b.get(end) else {
        return if err == 0 { Ok(value as i64) } else { Err(err) };
    };
    let power = match suffix {
        b'k' | b'K' => 1,
        b'M' => 2,
        b'G' => 3,
        b'T' => 4,
        b'P' => 5,
        b'E' => 6,
        b'Z' => 7,
        b'Y' => 8,
        _ => return Err(err | BAD_SUFFIX),
    };
    let (base, len): (i128, usize) = match (b.get(end + 1), b.get(end + 2)) {
        (Some(b'i'), Some(b'B')) => (1024, 3),
        (Some(b'B' | b'D'), _) => (1000, 2),
        _ => (1024, 1),
    };
    for _ in 0..power {
        value = clamp(value * base, &mut err);
    }
    if end + len < b.len() {
        err |= BAD_SUFFIX;
    }
    if err == 0 {
        Ok(value as i64)
    } else {
        Err(err)
    }
}

/// The message guestfish prints for an integer argument it cannot read (`head-n: nrlines:
/// invalid integer parameter (xstrtoll returned 4)`), or None when it reads it. `bits` is
/// 32 for guestfish's `Int` arguments (checked against the signed 32-bit range) and 64 for
/// `Int64`.
pub fn fish_int_error(command: &str, name: &str, word: &str, bits: u32) -> Option<String> {
    match xstrtoll(word) {
        Err(code) => Some(format!(
            "{command}: {name}: invalid integer parameter (xstrtoll returned {code})"
        )),
        Ok(v) if bits == 32 && i32::try_from(v).is_err() => {
            Some(format!("{command}: {name}: integer out of range"))
        }
        Ok(_) => None,
    }
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl ShellArg for $t {
            const KIND: ArgKind = ArgKind::Int;
            fn parse_word(word: &str) -> Result<Self, ArgError> {
                xstrtoll(word)
                    .ok()
                    .and_then(|v| <$t>::try_from(v).ok())
                    .ok_or_else(|| ArgError(format!("'{word}' is not a number in range")))
            }
        }
    )*};
}
int_arg!(i32, i64, u32, u64);

/// A short description of an argument value for error messages and traces: paths and
/// devices as written (escaped), data by its length.
pub trait Brief {
    /// The description.
    fn brief(&self) -> String;
}

macro_rules! brief_display {
    ($($t:ty),*) => {$(
        impl Brief for $t {
            fn brief(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
brief_display!(
    GuestPath, DevOrPath, Device, Disk, VolumeName, ByteSize, Mode, FsType, bool, i32, i64, u32,
    u64
);

impl Brief for String {
    fn brief(&self) -> String {
        escape_bytes(self.as_bytes())
    }
}
impl Brief for LinkTarget {
    fn brief(&self) -> String {
        self.escaped()
    }
}
impl Brief for Data {
    fn brief(&self) -> String {
        format!("<{} bytes>", self.0.len())
    }
}
impl Brief for Vec<GuestPath> {
    fn brief(&self) -> String {
        let paths: Vec<String> = self.iter().map(GuestPath::escaped).collect();
        paths.join(" ")
    }
}
impl Brief for Vec<ByteSize> {
    fn brief(&self) -> String {
        // A write-back batch has thousands: a trace line names how many.
        if self.len() > 8 {
            return format!("<{} sizes>", self.len());
        }
        let sizes: Vec<String> = self.iter().map(|b| b.0.to_string()).collect();
        sizes.join(" ")
    }
}
impl Brief for Vec<String> {
    fn brief(&self) -> String {
        escape_bytes(self.join(" ").as_bytes())
    }
}
impl<T: Brief> Brief for Option<T> {
    fn brief(&self) -> String {
        self.as_ref().map(Brief::brief).unwrap_or_default()
    }
}

/// Shell word parsing for the generated request builder: required words in order, then
/// optional `name:value` words.
#[doc(hidden)]
pub fn parse_required<T: ShellArg>(
    op: &str,
    name: &str,
    word: Option<&String>,
) -> Result<T, ArgError> {
    let word =
        word.ok_or_else(|| ArgError(format!("{op}: missing argument '{name}' (see 'help {op}')")))?;
    T::parse_word(word).map_err(|e| ArgError(format!("{op}: {name}: {e}")))
}

#[doc(hidden)]
pub fn parse_optional<T: ShellArg>(
    op: &str,
    name: &str,
    optional: &[(&str, &str)],
) -> Result<Option<T>, ArgError> {
    let mut found = None;
    for (key, value) in optional {
        if key.replace('-', "_") == name {
            found = Some(T::parse_word(value).map_err(|e| ArgError(format!("{op}: {name}: {e}")))?);
        }
    }
    Ok(found)
}

#[doc(hidden)]
pub fn split_optional<'a>(
    op: &str,
    words: &'a [String],
    known: &[&str],
) -> Result<Vec<(&'a str, &'a str)>, ArgError> {
    words
        .iter()
        .map(|w| {
            let (k, v) = w.split_once(':').ok_or_else(|| {
                ArgError(format!(
                    "{op}: too many arguments: '{w}' (optional arguments are written name:value)"
                ))
            })?;
            if !known.iter().any(|n| *n == k.replace('-', "_")) {
                let list = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                return Err(ArgError(format!(
                    "{op}: unknown optional argument '{k}' (known: {list})"
                )));
            }
            Ok((k, v))
        })
        .collect()
}

/// How a result prints in the shell. Guest-supplied names are escaped when `escape` is set
/// (the output is a terminal).
pub trait ShellText {
    /// Whether this is a struct: a list of them prints as guestfish prints a struct list,
    /// one `[N] = {` block per item with its `field: value` lines indented.
    const STRUCT: bool = false;
    /// Appends the text form, including a final newline where there is any output.
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool);
}

pub(crate) fn push_line(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(b'\n');
}

impl ShellText for () {
    fn shell_text(&self, _: &mut Vec<u8>, _: bool) {}
}
/// A string result prints as guestfish prints one: the text, then a newline, whether or not
/// the text ends with one (`ll` and `sh "echo x"` end with an empty line, as in guestfish).
impl ShellText for String {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        if escape {
            // Keep line breaks in multi-line text, escape everything else.
            let lines: Vec<String> = self
                .split('\n')
                .map(|l| escape_bytes(l.as_bytes()))
                .collect();
            out.extend_from_slice(lines.join("\n").as_bytes());
        } else {
            out.extend_from_slice(self.as_bytes());
        }
        out.push(b'\n');
    }
}
impl ShellText for bool {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        push_line(out, if *self { "true" } else { "false" });
    }
}
macro_rules! int_text {
    ($($t:ty),*) => {$(
        impl ShellText for $t {
            fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
                push_line(out, &self.to_string());
            }
        }
    )*};
}
int_text!(i32, i64, u32, u64);

impl ShellText for Data {
    /// File contents print raw: that is what `cat` is for.
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        out.extend_from_slice(&self.0);
    }
}
impl ShellText for GuestPath {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        if escape {
            push_line(out, &self.escaped());
        } else {
            out.extend_from_slice(self.as_bytes());
            out.push(b'\n');
        }
    }
}
impl ShellText for Device {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        push_line(out, &self.to_string());
    }
}
impl<T: ShellText> ShellText for Vec<T> {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        for (i, item) in self.iter().enumerate() {
            if !T::STRUCT {
                item.shell_text(out, escape);
                continue;
            }
            let mut fields = Vec::new();
            item.shell_text(&mut fields, escape);
            out.extend_from_slice(format!("[{i}] = {{\n").as_bytes());
            for line in fields.split_inclusive(|&b| b == b'\n') {
                out.extend_from_slice(b"  ");
                out.extend_from_slice(line);
            }
            out.extend_from_slice(b"}\n");
        }
    }
}
impl<T: ShellText> ShellText for Option<T> {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        if let Some(v) = self {
            v.shell_text(out, escape);
        }
    }
}

/// Prints a struct the way guestfish does: one `field: value` line per field; the same
/// fields are the struct's shape in libguestfs's API ([`GuestfsValue`]).
macro_rules! struct_text {
    ($($t:ty { $($field:ident),* $(,)? })*) => {$(
        impl GuestfsValue for $t {
            fn guestfs_value(&self) -> Value {
                Value::Struct(vec![
                    $((stringify!($field).to_string(), self.$field.guestfs_value()),)*
                ])
            }
        }
        impl ShellText for $t {
            const STRUCT: bool = true;
            fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
                $(
                    out.extend_from_slice(concat!(stringify!($field), ": ").as_bytes());
                    let mut value = Vec::new();
                    self.$field.shell_text(&mut value, escape);
                    if value.is_empty() { value.push(b'\n'); }
                    out.extend_from_slice(&value);
                )*
            }
        }
    )*};
}

/// A device's name: guestfish's `list-devices` prints names only (`blockdev-getsize64`
/// gives the size; JSON has both).
impl ShellText for BlockDevice {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        push_line(out, &self.device.to_string());
    }
}
/// A partition's name, as guestfish's `list-partitions` prints it.
impl ShellText for PartitionDevice {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        push_line(out, &self.device.to_string());
    }
}
/// The mounted device, as guestfish's `mounts` prints it.
impl ShellText for MountEntry {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        push_line(out, &self.device.to_string());
    }
}

// ==== file API shell forms ====

impl ShellArg for ChecksumType {
    const KIND: ArgKind = ArgKind::String;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        word.parse()
    }
}
impl ShellArg for Compression {
    const KIND: ArgKind = ArgKind::String;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        word.parse()
    }
}
impl ShellArg for FileHandle {
    const KIND: ArgKind = ArgKind::Int;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        u64::parse_word(word).map(FileHandle)
    }
}
impl Brief for ChecksumType {
    fn brief(&self) -> String {
        self.to_string()
    }
}
impl Brief for Compression {
    fn brief(&self) -> String {
        self.to_string()
    }
}
impl Brief for FileHandle {
    fn brief(&self) -> String {
        self.to_string()
    }
}

impl ShellText for FileName {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        if escape {
            push_line(out, &self.escaped());
        } else {
            out.extend_from_slice(&self.0);
            out.push(b'\n');
        }
    }
}
impl ShellText for Line {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        if escape {
            push_line(out, &escape_bytes(&self.0));
        } else {
            out.extend_from_slice(&self.0);
            out.push(b'\n');
        }
    }
}
impl ShellText for FileKind {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        push_line(out, &format!("{self:?}").to_ascii_lowercase());
    }
}
impl ShellText for FileHandle {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        push_line(out, &self.to_string());
    }
}
/// `kind inode name`, one line per entry (the kind as `ls -l` shows it).
impl ShellText for DirEntry {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        out.extend_from_slice(format!("{} {} ", self.kind.ls_char(), self.ino).as_bytes());
        self.name.shell_text(out, escape);
    }
}
/// Like one line of `ls -l`: mode, links, owner, group, size, mtime, name, link target.
impl ShellText for DirEntryPlus {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        let st = &self.stat;
        out.extend_from_slice(
            format!(
                "{} {:>3} {:>5} {:>5} {:>10} {} ",
                mode_string(st.mode),
                st.nlink,
                st.uid,
                st.gid,
                st.size,
                st.mtime
            )
            .as_bytes(),
        );
        let mut name = Vec::new();
        self.name.shell_text(&mut name, escape);
        name.pop();
        out.extend_from_slice(&name);
        if let Some(link) = &self.link {
            out.extend_from_slice(b" -> ");
            link.shell_text(out, escape);
        } else {
            out.push(b'\n');
        }
    }
}
fn page_trailer(out: &mut Vec<u8>, more: bool, next: u64) {
    if more {
        push_line(out, &format!("(more entries: offset:{next})"));
    }
}
impl ShellText for DirPage {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        self.entries.shell_text(out, escape);
        page_trailer(out, self.more, self.next);
    }
}
impl ShellText for DirPlusPage {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        self.entries.shell_text(out, escape);
        page_trailer(out, self.more, self.next);
    }
}
/// `name: value`, the value escaped on a terminal.
impl ShellText for XAttr {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        out.extend_from_slice(escape_bytes(self.name.as_bytes()).as_bytes());
        out.extend_from_slice(b": ");
        if escape {
            push_line(out, &escape_bytes(&self.value.0));
        } else {
            out.extend_from_slice(&self.value.0);
            out.push(b'\n');
        }
    }
}
/// A `path:` line, then one `ls -l` line per entry.
impl ShellText for DirListing {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        let mut path = Vec::new();
        self.path.shell_text(&mut path, escape);
        path.pop();
        out.extend_from_slice(&path);
        push_line(out, if self.complete { ":" } else { ": (incomplete)" });
        for e in &self.entries {
            DirEntryPlus {
                name: e.name.clone(),
                stat: e.stat,
                link: e.link.clone(),
            }
            .shell_text(out, escape);
        }
    }
}

/// A `pattern:` line, then one line per match, or the errno.
impl ShellText for GlobMatches {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        let mut pattern = Vec::new();
        self.pattern.shell_text(&mut pattern, escape);
        pattern.pop();
        out.extend_from_slice(&pattern);
        match self.errno {
            Some(e) => push_line(out, &format!(": {}", e.name())),
            None => push_line(out, ":"),
        }
        self.paths.shell_text(out, escape);
    }
}

struct_text! {
    // guestfish 1.48 prints stat and lstat without the nanoseconds (see statns for them).
    Stat { dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, atime, mtime, ctime }
    StatVfs { bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax }
    FileContent { path, errno, data }
}

// ==== end of file API shell forms ====

// ---- block devices, partitions, filesystems, LVM ----

impl ShellArg for PartTableType {
    const KIND: ArgKind = ArgKind::String;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        word.parse()
    }
}
impl ShellArg for PartKind {
    const KIND: ArgKind = ArgKind::String;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        word.parse()
    }
}
impl ShellArg for Secret {
    const KIND: ArgKind = ArgKind::Secret;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        Ok(Secret::from(word))
    }
}
impl ShellArg for Vec<Device> {
    const KIND: ArgKind = ArgKind::StringList;
    fn parse_word(word: &str) -> Result<Self, ArgError> {
        string_list(word)?.into_iter().map(Device::new).collect()
    }
}
brief_display!(PartTableType, PartKind);
impl Brief for Secret {
    fn brief(&self) -> String {
        "<secret>".to_string()
    }
}
impl Brief for Vec<Device> {
    fn brief(&self) -> String {
        let names: Vec<String> = self.iter().map(Device::to_string).collect();
        names.join(" ")
    }
}
impl ShellText for PartTableType {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        push_line(out, &self.to_string());
    }
}
/// Guest-supplied text (labels, names): escaped on a terminal.
fn push_guest(out: &mut Vec<u8>, s: &str, escape: bool) {
    if escape {
        push_line(out, &escape_bytes(s.as_bytes()));
    } else {
        push_line(out, s);
    }
}
/// `device: type`, as guestfish's list-filesystems prints it.
impl ShellText for Filesystem {
    fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
        push_guest(out, &format!("{}: {}", self.device, self.fstype), escape);
    }
}
/// guestfish's `partition` struct: number, start, end and size in bytes. The entry's other
/// fields (type, name, bootable flag, UUID) have their own `part-get-*` commands, and JSON.
impl ShellText for PartitionEntry {
    const STRUCT: bool = true;
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        out.extend_from_slice(format!("part_num: {}\n", self.partnum).as_bytes());
        out.extend_from_slice(format!("part_start: {}\n", self.start).as_bytes());
        out.extend_from_slice(format!("part_end: {}\n", self.end).as_bytes());
        out.extend_from_slice(format!("part_size: {}\n", self.size).as_bytes());
    }
}

/// guestfish's `%g %` for a percentage, nothing when LVM left it out.
impl ShellText for OptPercent {
    fn shell_text(&self, out: &mut Vec<u8>, _: bool) {
        if let Some(p) = self.0.filter(|p| *p >= 0.0) {
            // %g: at most six significant digits, no trailing zeros.
            let digits = 5usize.saturating_sub(p.abs().log10().floor().max(0.0) as usize);
            let text = format!("{p:.digits$}");
            let text = if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.')
            } else {
                &text
            };
            push_line(out, &format!("{text} %"));
        }
    }
}

struct_text! {
    LvmPv { pv_name, pv_uuid, pv_fmt, pv_size, dev_size, pv_free, pv_used, pv_attr,
            pv_pe_count, pv_pe_alloc_count, pv_tags, pe_start, pv_mda_count, pv_mda_free }
    LvmVg { vg_name, vg_uuid, vg_fmt, vg_attr, vg_size, vg_free, vg_sysid, vg_extent_size,
            vg_extent_count, vg_free_count, max_lv, max_pv, pv_count, lv_count, snap_count,
            vg_seqno, vg_tags, vg_mda_count, vg_mda_free }
    LvmLv { lv_name, lv_uuid, lv_attr, lv_major, lv_minor, lv_kernel_major, lv_kernel_minor,
            lv_size, seg_count, origin, snap_percent, copy_percent, move_pv, lv_tags,
            mirror_log, modules }
    PhysicalVolume { device, uuid, size, free, vg }
    VolumeGroup { name, uuid, size, free, extent_size, pv_count, lv_count }
    LogicalVolume { device, name, vg, uuid, size, active }
    crate::value::Version { major, minor, release, extra }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_as_guestfish_splits_them() {
        // libguestfs's fish/test-stringlist.sh: each word is one echo-daemon argument,
        // whose words the daemon joins with a space.
        for (word, joined) in [
            ("' '", " "),
            ("\\'", "'"),
            ("'\\''", "'"),
            ("'\\' '", "' "),
            ("'\\'foo\\''", "'foo'"),
            ("foo' 'bar", "foo bar"),
            ("foo'  'bar", "foo  bar"),
            ("'foo' 'bar'", "foo bar"),
            ("'foo' ", "foo"),
            (" 'foo'", "foo"),
            ("a\tb  c", "a b c"),
            ("''", ""),
        ] {
            assert_eq!(string_list(word).unwrap().join(" "), joined, "{word:?}");
        }
        assert_eq!(string_list("").unwrap(), Vec::<String>::new());
        assert_eq!(string_list("  ").unwrap(), Vec::<String>::new());
        assert_eq!(string_list("'a b' c").unwrap(), ["a b", "c"]);
        assert!(string_list("'open").is_err());
    }

    #[test]
    fn integers_read_as_guestfish_reads_them() {
        assert_eq!(xstrtoll("42"), Ok(42));
        assert_eq!(xstrtoll("-3"), Ok(-3));
        assert_eq!(xstrtoll("0x1f"), Ok(31));
        assert_eq!(xstrtoll("010"), Ok(8));
        assert_eq!(xstrtoll("1k"), Ok(1024));
        assert_eq!(xstrtoll("2M"), Ok(2 << 20));
        assert_eq!(xstrtoll("1KiB"), Ok(1024));
        assert_eq!(xstrtoll("1KB"), Ok(1000));
        assert_eq!(xstrtoll("k"), Ok(1024));
        assert_eq!(xstrtoll("abc"), Err(4));
        assert_eq!(xstrtoll(""), Err(4));
        assert_eq!(xstrtoll("12x"), Err(2));
        assert_eq!(xstrtoll("1m"), Err(2));
        assert_eq!(xstrtoll("99999999999999999999"), Err(1));
        assert_eq!(xstrtoll("99999999999999999999x"), Err(3));
        assert_eq!(
            fish_int_error("head-n", "nrlines", "abc", 32).as_deref(),
            Some("head-n: nrlines: invalid integer parameter (xstrtoll returned 4)")
        );
        assert_eq!(
            fish_int_error("head-n", "nrlines", "4294967296", 32).as_deref(),
            Some("head-n: nrlines: integer out of range")
        );
        assert_eq!(fish_int_error("head-n", "nrlines", "10", 32), None);
        assert_eq!(u32::parse_word("7").unwrap(), 7);
        assert!(u32::parse_word("-1").is_err());
    }

    #[test]
    fn percentages_print_as_guestfish_prints_them() {
        let text = |p: Option<f32>| {
            let mut out = Vec::new();
            OptPercent(p).shell_text(&mut out, false);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(Some(50.0)), "50 %\n");
        assert_eq!(text(Some(12.5)), "12.5 %\n");
        assert_eq!(text(Some(100.0)), "100 %\n");
        assert_eq!(text(Some(0.0)), "0 %\n");
        assert_eq!(text(None), "");
        assert_eq!(text(Some(-1.0)), "");
    }

    #[test]
    fn sizes_mean_bytes() {
        assert_eq!(ByteSize::parse_word("512").unwrap().0, 512);
        assert_eq!(ByteSize::parse_word("64K").unwrap().0, 65536);
        assert_eq!(ByteSize::parse_word("1M").unwrap().0, 1 << 20);
        assert_eq!(ByteSize::parse_word("10G").unwrap().0, 10 << 30);
        assert_eq!(ByteSize::parse_word("2MiB").unwrap().0, 2 << 20);
        assert!(ByteSize::parse_word("12Q").is_err());
        assert!(ByteSize::parse_word("-1").is_err());
        assert!(ByteSize::parse_word("99999999999P").is_err());
    }

    #[test]
    fn modes_are_octal() {
        assert_eq!(Mode::parse_word("0644").unwrap().0, 0o644);
        assert_eq!(Mode::parse_word("755").unwrap().0, 0o755);
        assert!(Mode::parse_word("0999").is_err());
        assert!(Mode::parse_word("77777").is_err());
    }

    #[test]
    fn dev_or_path_words_under_dev_are_devices() {
        assert_eq!(
            DevOrPath::parse_word("/dev/sda").unwrap(),
            DevOrPath::Device(Device::from("/dev/sda"))
        );
        assert_eq!(
            DevOrPath::parse_word("/etc/hostname").unwrap(),
            DevOrPath::Path(GuestPath::from("/etc/hostname"))
        );
        assert!(DevOrPath::parse_word("etc").is_err());
        assert!(DevOrPath::parse_word("/dev/").is_err());
    }

    #[test]
    fn sizes_take_guestfish_integer_syntax() {
        assert_eq!(ByteSize::parse_word("0x4d2").unwrap(), ByteSize(1234));
        assert_eq!(ByteSize::parse_word("02322").unwrap(), ByteSize(1234));
        assert_eq!(ByteSize::parse_word("1234").unwrap(), ByteSize(1234));
        assert_eq!(ByteSize::parse_word("1M").unwrap(), ByteSize(1 << 20));
        assert!(ByteSize::parse_word("09").is_err());
        assert!(ByteSize::parse_word("123L").is_err());
        assert!(ByteSize::parse_word("ABC").is_err());
    }

    #[test]
    fn guest_paths_must_be_absolute() {
        assert!(GuestPath::parse_word("etc/passwd").is_err());
        assert_eq!(GuestPath::parse_word("/etc").unwrap().as_bytes(), b"/etc");
    }

    #[test]
    fn a_string_result_always_ends_with_its_own_newline() {
        for (text, printed) in [
            ("no newline", &b"no newline\n"[..]),
            ("line\n", b"line\n\n"),
            ("", b"\n"),
        ] {
            let mut out = Vec::new();
            text.to_string().shell_text(&mut out, false);
            assert_eq!(out, printed, "{text:?}");
        }
    }

    #[test]
    fn escaping_of_guest_names() {
        assert_eq!(escape_bytes(b"a\x1b]2;pwned\x07\r"), "a\\e]2;pwned\\x07\\r");
        assert_eq!(escape_bytes(b"caf\xc3\xa9 \xff"), "caf\u{e9} \\xff");
        assert_eq!(escape_bytes(b"back\\slash"), "back\\\\slash");
        let mut out = Vec::new();
        GuestPath::from(&b"/tmp/\x1bx"[..]).shell_text(&mut out, true);
        assert_eq!(out, b"/tmp/\\ex\n");
        let mut out = Vec::new();
        GuestPath::from(&b"/tmp/\x1bx"[..]).shell_text(&mut out, false);
        assert_eq!(out, b"/tmp/\x1bx\n");
    }
}
