//! Tab completion at the prompt: command names, then each word by what the command takes
//! there (from the table's argument kinds, or a host command's slots): guest paths (listed
//! by the appliance, cached for two seconds), devices, host files, `true`/`false`, and the
//! names of optional `name:value` arguments.

use super::commands::{self, Slot};
use super::parse::{self, Word};
use super::{help, table, Shell};
use guestwright::protocol::shell::ArgKind;
use guestwright::protocol::{escape_bytes, CallStream, Client, FileKind, OpInfo, Request};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long a directory listing or the device list is reused.
const CACHE_FOR: Duration = Duration::from_secs(2);

/// Filesystem types for `fstype:` values.
const FSTYPES: &[&str] = &[
    "btrfs", "exfat", "ext2", "ext3", "ext4", "iso9660", "ntfs", "squashfs", "vfat", "xfs",
];

/// One entry of a guest directory.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its name (not UTF-8 names cannot be typed as words and are left out).
    pub name: String,
    /// Whether it is a directory (completion then goes on inside it).
    pub is_dir: bool,
}

/// What a word position takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Command,
    GuestPath,
    Device,
    HostFile,
    HostOrGuest,
    Words(&'static [&'static str]),
    /// `name:` of the optional arguments not given yet.
    Options,
    Nothing,
}

/// A listing and when it was made.
type Cached<T> = (Instant, Rc<T>);

/// The rustyline helper.
pub struct ShellHelper {
    shell: Rc<RefCell<Shell>>,
    files: FilenameCompleter,
    dirs: RefCell<HashMap<String, Cached<Vec<Entry>>>>,
    devices: RefCell<Option<Cached<Vec<String>>>>,
}

impl std::fmt::Debug for ShellHelper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShellHelper").finish_non_exhaustive()
    }
}

impl ShellHelper {
    /// A helper completing against `shell`.
    pub fn new(shell: Rc<RefCell<Shell>>) -> ShellHelper {
        ShellHelper {
            shell,
            files: FilenameCompleter::new(),
            dirs: RefCell::new(HashMap::new()),
            devices: RefCell::new(None),
        }
    }

    fn guest_dir(&self, dir: &str) -> Rc<Vec<Entry>> {
        if let Some((at, entries)) = self.dirs.borrow().get(dir) {
            if at.elapsed() < CACHE_FOR {
                return entries.clone();
            }
        }
        // The shell is busy (a here-document is being typed): no completion.
        let Ok(mut shell) = self.shell.try_borrow_mut() else {
            return Rc::default();
        };
        let entries = Rc::new(list_dir(&mut shell, dir).unwrap_or_default());
        self.dirs
            .borrow_mut()
            .insert(dir.to_string(), (Instant::now(), entries.clone()));
        entries
    }

    fn device_names(&self) -> Rc<Vec<String>> {
        if let Some((at, names)) = &*self.devices.borrow() {
            if at.elapsed() < CACHE_FOR {
                return names.clone();
            }
        }
        let Ok(mut shell) = self.shell.try_borrow_mut() else {
            return Rc::default();
        };
        let names = Rc::new(list_devices(&mut shell));
        *self.devices.borrow_mut() = Some((Instant::now(), names.clone()));
        names
    }

    fn complete_words(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let before = &line[..pos];
        let body = before.trim_start().trim_start_matches('-');
        if body.starts_with('!') || body.starts_with("<!") {
            return self.files.complete_path(line, pos).unwrap_or_default();
        }
        let Ok(tokens) = parse::tokenize(before, true) else {
            return (pos, Vec::new());
        };
        if tokens.pipe.is_some() {
            return self.files.complete_path(line, pos).unwrap_or_default();
        }
        let mut words = tokens.words;
        let new_word = tokens.open_quote.is_none()
            && (words.is_empty() || before.ends_with(char::is_whitespace));
        let current = if new_word {
            Word {
                start: pos,
                text: String::new(),
                quoted: false,
            }
        } else {
            words.pop().unwrap_or(Word {
                start: pos,
                text: String::new(),
                quoted: false,
            })
        };
        let texts: Vec<String> = words.into_iter().map(|w| w.text).collect();
        let want = want_at(&texts, &current.text);
        let candidates = match want {
            Want::Command => {
                let (dash, typed) = match current.text.strip_prefix('-') {
                    Some(t) if texts.is_empty() => ("-", t),
                    _ => ("", current.text.as_str()),
                };
                let typed = typed.replace('_', "-");
                help::all_names()
                    .into_iter()
                    .filter(|n| n.starts_with(&typed))
                    .map(|n| Pair {
                        replacement: format!("{dash}{n} "),
                        display: n,
                    })
                    .collect()
            }
            Want::GuestPath => self.guest_candidates(&current.text),
            Want::HostOrGuest if current.text.starts_with('/') && !texts.is_empty() => {
                let mut c = self.guest_candidates(&current.text);
                c.extend(self.host_candidates(line, pos));
                c
            }
            Want::HostFile | Want::HostOrGuest => {
                return self.files.complete_path(line, pos).unwrap_or_default()
            }
            Want::Device => {
                let (prefix, typed) = split_option(&current.text);
                self.device_names()
                    .iter()
                    .filter(|d| d.starts_with(typed))
                    .map(|d| Pair {
                        display: d.clone(),
                        replacement: format!("{prefix}{d} "),
                    })
                    .collect()
            }
            Want::Words(words) => {
                let (prefix, typed) = split_option(&current.text);
                words
                    .iter()
                    .filter(|w| w.starts_with(typed))
                    .map(|w| Pair {
                        display: w.to_string(),
                        replacement: format!("{prefix}{w} "),
                    })
                    .collect()
            }
            Want::Options => option_names(&texts)
                .into_iter()
                .filter(|o| o.starts_with(&current.text))
                .map(|o| Pair {
                    display: o.clone(),
                    replacement: o,
                })
                .collect(),
            Want::Nothing => Vec::new(),
        };
        (current.start, candidates)
    }

    fn host_candidates(&self, line: &str, pos: usize) -> Vec<Pair> {
        self.files
            .complete_path(line, pos)
            .map(|(_, c)| c)
            .unwrap_or_default()
    }

    /// Candidates for a partly typed guest path.
    fn guest_candidates(&self, typed: &str) -> Vec<Pair> {
        let (option, typed) = split_option(typed);
        if typed.is_empty() {
            return vec![Pair {
                display: "/".into(),
                replacement: format!("{option}/"),
            }];
        }
        if !typed.starts_with('/') {
            return Vec::new();
        }
        let cut = typed.rfind('/').map_or(0, |i| i + 1);
        let (dir, prefix) = typed.split_at(cut);
        self.guest_dir(dir)
            .iter()
            .filter(|e| e.name.starts_with(prefix))
            .map(|e| {
                let path = format!("{dir}{}", e.name);
                let mut replacement = format!("{option}{}", parse::quote(&path));
                if e.is_dir {
                    // Leave a quoted directory open, so completion can go on inside it.
                    if replacement.ends_with('"') {
                        replacement.pop();
                    }
                    replacement.push('/');
                } else {
                    replacement.push(' ');
                }
                Pair {
                    display: format!(
                        "{}{}",
                        escape_bytes(e.name.as_bytes()),
                        if e.is_dir { "/" } else { "" }
                    ),
                    replacement,
                }
            })
            .collect()
    }
}

/// `name:value` → (`name:`, `value`); anything else → (``, word).
fn split_option(word: &str) -> (&str, &str) {
    match word.find(':') {
        Some(i) if !word.starts_with('/') => word.split_at(i + 1),
        _ => ("", word),
    }
}

/// The command word, past `time` and a leading `-`.
fn command_of(words: &[String]) -> Option<(usize, &str)> {
    let mut i = 0;
    loop {
        let w = words.get(i)?;
        let name = w.strip_prefix('-').unwrap_or(w);
        if name == "time" {
            i += 1;
            continue;
        }
        return Some((i, name));
    }
}

/// What the word after `words` takes.
fn want_at(words: &[String], current: &str) -> Want {
    let Some((at, name)) = command_of(words) else {
        return Want::Command;
    };
    let args = &words[at + 1..];
    if let Some(c) = commands::find(name) {
        if let Some((key, _)) = current.split_once(':') {
            return match key {
                "readonly" if c.options.contains(&key) => Want::Words(&["true", "false"]),
                "format" if c.options.contains(&key) => {
                    Want::Words(&["raw", "qcow2", "vmdk", "vdi", "vhdx", "vpc"])
                }
                _ => Want::Nothing,
            };
        }
        let plain = args.iter().filter(|a| !a.contains(':')).count();
        return match c.slots.get(plain).or(c.slots.last()) {
            None => Want::Nothing,
            Some(_) if plain >= c.slots.len() && !c.options.is_empty() && c.slots.len() <= 1 => {
                Want::Options
            }
            Some(Slot::HostFile) => Want::HostFile,
            Some(Slot::GuestPath) => Want::GuestPath,
            Some(Slot::HostOrGuest) => Want::HostOrGuest,
            Some(Slot::Command) => Want::Command,
            Some(Slot::Words(w)) => Want::Words(w),
        };
    }
    let Some(op) = table::find(name) else {
        return Want::Nothing;
    };
    want_for_op(op, args, current)
}

fn kind_want(kind: ArgKind) -> Want {
    match kind {
        ArgKind::GuestPath => Want::GuestPath,
        ArgKind::Device => Want::Device,
        ArgKind::Bool => Want::Words(&["true", "false"]),
        ArgKind::FsType => Want::Words(FSTYPES),
        _ => Want::Nothing,
    }
}

fn want_for_op(op: &OpInfo, args: &[String], current: &str) -> Want {
    let mut position = args.len();
    if let Some(file_at) = table::stream_word_index(op) {
        if position == file_at {
            return Want::HostFile;
        }
        if position > file_at {
            position -= 1;
        }
    }
    let required: Vec<_> = op.args.iter().filter(|a| !a.optional).collect();
    if let Some(a) = required.get(position) {
        return kind_want(a.kind);
    }
    match current.split_once(':') {
        Some((key, _)) => op
            .args
            .iter()
            .find(|a| a.optional && a.name == key.replace('-', "_"))
            .map_or(Want::Nothing, |a| kind_want(a.kind)),
        None => Want::Options,
    }
}

/// `name:` for each optional argument of the command in `words` not given yet.
fn option_names(words: &[String]) -> Vec<String> {
    let Some((at, name)) = command_of(words) else {
        return Vec::new();
    };
    let given: Vec<String> = words[at + 1..]
        .iter()
        .filter_map(|w| w.split_once(':').map(|(k, _)| k.replace('-', "_")))
        .collect();
    let names: Vec<&str> = match (commands::find(name), table::find(name)) {
        (Some(c), _) => c.options.to_vec(),
        (None, Some(op)) => op
            .args
            .iter()
            .filter(|a| a.optional)
            .map(|a| a.name)
            .collect(),
        _ => Vec::new(),
    };
    names
        .into_iter()
        .filter(|n| !given.iter().any(|g| g == n))
        .map(|n| format!("{n}:"))
        .collect()
}

/// The entries of a guest directory, from the appliance. The appliance is started for it
/// when drives were added (the next command would start it anyway).
fn list_dir(shell: &mut Shell, dir: &str) -> Option<Vec<Entry>> {
    if !shell.h.is_launched() && shell.h.drives().is_empty() {
        return None;
    }
    shell.ensure_launched().ok()?;
    guest_entries(shell, dir)
}

/// Every device name the appliance lists: disks, partitions, and the devices of any other
/// `list_*` operation the table has for block devices (filesystems, logical volumes).
fn list_devices(shell: &mut Shell) -> Vec<String> {
    if !shell.h.is_launched() && shell.h.drives().is_empty() {
        return Vec::new();
    }
    if shell.ensure_launched().is_err() {
        return Vec::new();
    }
    let mut names = Vec::new();
    let listers = table::commands().filter(|op| {
        (op.name.starts_with("list_") || op.name == "lvs")
            && op.args.is_empty()
            && op.access == guestwright::protocol::Access::Read
            && op.stream == guestwright::protocol::Stream::None
    });
    for op in listers {
        let Ok(request) = Request::from_words(op.name, &[]) else {
            continue;
        };
        let Ok(bytes) = shell.h.call(request.clone(), CallStream::None) else {
            continue;
        };
        let Ok(reply) = guestwright::protocol::Reply::decode(&request, &bytes) else {
            continue;
        };
        if let Ok(value) = super::json::to_value(&reply) {
            collect_devices(&value, &mut names);
        }
    }
    names.sort();
    names.dedup();
    names
}

fn collect_devices(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) if s.starts_with("/dev/") => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_devices(v, out)),
        serde_json::Value::Object(m) => m.values().for_each(|v| collect_devices(v, out)),
        _ => {}
    }
}

/// At most this many entries of a directory are offered.
const MAX_ENTRIES: usize = 20_000;

/// Lists a guest directory with `readdir`, page by page.
fn guest_entries(shell: &mut Shell, dir: &str) -> Option<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut offset = None;
    loop {
        let page = shell
            .h
            .run(guestwright::protocol::args::Readdir {
                offset,
                ..guestwright::protocol::args::Readdir::new(dir)
            })
            .ok()?;
        for e in page.entries {
            let Ok(name) = String::from_utf8(e.name.0) else {
                continue;
            };
            if name != "." && name != ".." {
                let is_dir = e.kind == FileKind::Directory;
                entries.push(Entry { name, is_dir });
            }
        }
        if !page.more || entries.len() >= MAX_ENTRIES {
            break;
        }
        offset = Some(page.next);
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Some(entries)
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(self.complete_words(line, pos))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn what_each_position_takes() {
        assert_eq!(want_at(&[], ""), Want::Command);
        assert_eq!(want_at(&words(&["mount"]), ""), Want::Device);
        assert_eq!(
            want_at(&words(&["mount", "/dev/sda1"]), "/"),
            Want::GuestPath
        );
        assert_eq!(
            want_at(&words(&["mount", "/dev/sda1", "/"]), ""),
            Want::Options
        );
        assert_eq!(
            want_at(&words(&["mount", "/dev/sda1", "/"]), "readonly:t"),
            Want::Words(&["true", "false"])
        );
        assert_eq!(
            want_at(&words(&["mount", "/dev/sda1", "/"]), "fstype:"),
            Want::Words(FSTYPES)
        );
        assert_eq!(want_at(&words(&["-read-file"]), "/e"), Want::GuestPath);
        assert_eq!(
            want_at(&words(&["time", "read_file"]), "/e"),
            Want::GuestPath
        );
        assert_eq!(want_at(&words(&["help"]), ""), Want::Command);
        assert_eq!(want_at(&words(&["time"]), ""), Want::Command);
        assert_eq!(want_at(&words(&["add"]), ""), Want::HostFile);
        assert_eq!(want_at(&words(&["add", "disk.img"]), ""), Want::Options);
        assert_eq!(
            want_at(&words(&["add", "disk.img"]), "format:q"),
            Want::Words(&["raw", "qcow2", "vmdk", "vdi", "vhdx", "vpc"])
        );
        assert_eq!(
            want_at(&words(&["copy-out", "/etc"]), "/tm"),
            Want::HostOrGuest
        );
        assert_eq!(want_at(&words(&["edit"]), "/"), Want::GuestPath);
        assert_eq!(want_at(&words(&["no-such-command"]), ""), Want::Nothing);
    }

    #[test]
    fn stream_operations_take_a_host_file() {
        for op in table::commands() {
            let Some(at) = table::stream_word_index(op) else {
                continue;
            };
            let before: Vec<String> = (0..at).map(|i| format!("/w{i}")).collect();
            assert_eq!(want_for_op(op, &before, ""), Want::HostFile, "{}", op.name);
        }
    }

    #[test]
    fn option_names_not_given_yet() {
        assert_eq!(
            option_names(&words(&["mount", "/dev/sda1", "/", "fstype:ext4"])),
            ["options:", "readonly:"]
        );
        assert_eq!(
            option_names(&words(&["add", "x", "format:raw"])),
            [
                "readonly:",
                "iface:",
                "name:",
                "label:",
                "protocol:",
                "server:",
                "username:",
                "secret:",
                "cachemode:",
                "discard:",
                "copyonread:",
                "blocksize:"
            ]
        );
    }

    #[test]
    fn devices_are_found_in_any_reply_shape() {
        let v: serde_json::Value = serde_json::json!([
            {"device": "/dev/sda1", "parent": "/dev/sda", "number": 1},
            "/dev/sdb",
            {"name": "root", "size": 3}
        ]);
        let mut out = Vec::new();
        collect_devices(&v, &mut out);
        out.sort();
        assert_eq!(out, ["/dev/sda", "/dev/sda1", "/dev/sdb"]);
    }
}
