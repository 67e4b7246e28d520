//! Running the operations of the protocol's table as shell commands. Nothing here names an
//! operation: words become a request through the generated `Request::from_words`, the
//! table's metadata says whether a command writes and whether it streams, and the reply
//! prints through its `ShellText` or as JSON.
//!
//! Streaming operations take one more word, a host file or `-`: before the table's
//! arguments for an input stream (`upload FILE|- PATH`, `tar-in FILE|- DIR`), after the
//! required ones for an output stream (`download PATH FILE|-`, `tar-out DIR FILE|-`), as in
//! guestfish.

use super::fisherr;
use super::output::{is_broken_pipe, Output};
use super::script::Input;
use super::trace;
use super::{Shell, ShellError};
use guestwright::hostfile::HostFile;
use guestwright::protocol::shell::ArgKind;
use guestwright::protocol::value::{GuestfsValue, Value, Version};
use guestwright::protocol::{CallStream, Client, Errno, GuestPath, OpInfo, Reply, Request, Stream};
use std::fs::File;
use std::path::PathBuf;

/// The table's operations that are shell commands (all but the `internal` group).
pub fn commands() -> impl Iterator<Item = &'static OpInfo> {
    guestwright::protocol::OPERATIONS
        .iter()
        .filter(|op| op.group != "internal")
}

pub use guestwright::protocol::names::{GUESTFISH_NAMES, STRING_RESULTS};

/// Whether the command prints its result as a guestfish string (see [`STRING_RESULTS`]).
pub fn prints_as_string(name: &str) -> bool {
    let name = name.replace('-', "_");
    STRING_RESULTS.contains(&name.as_str())
}

/// A reply in the form guestfish prints it, where that differs from the table's text form:
/// guestfish prints `find`'s names with a leading `/` (`find /data` prints `/a`, `/a/b`),
/// where the table's `find` returns them relative to the directory, as callers of the
/// library want them.
fn guestfish_reply(reply: Reply) -> Reply {
    match reply {
        Reply::Find(names) => Reply::Find(
            names
                .into_iter()
                .map(|n| GuestPath::from(&[b"/", n.as_bytes()].concat()[..]))
                .collect(),
        ),
        other => other,
    }
}

/// Text guestfish prints for results whose table type says less than guestfish shows:
/// an MBR type byte in hex (`0x83`); `md-detail`'s hashtable as `key: value` lines
/// (libguestfs's test-mdadm.sh reads them back with `sed 's/:\s*/=/'`).
fn guestfish_text(reply: &Reply) -> Option<Vec<u8>> {
    match reply {
        Reply::PartGetMbrId(id) => Some(format!("{id:#x}\n").into_bytes()),
        Reply::MdDetail(lines) => Some(
            lines
                .iter()
                .map(|l| match l.split_once('=') {
                    Some((k, v)) => format!("{k}: {v}\n"),
                    None => format!("{l}\n"),
                })
                .collect::<String>()
                .into_bytes(),
        ),
        _ => None,
    }
}

/// guestfish's `version` struct.
fn version_struct(version: &Version) -> String {
    let mut text = Vec::new();
    guestwright::protocol::shell::ShellText::shell_text(version, &mut text, false);
    String::from_utf8_lossy(&text).into_owned()
}

/// Looks a command up in the table (dashes or underscores), or by its guestfish name.
pub fn find(name: &str) -> Option<&'static OpInfo> {
    OpInfo::find(name)
        .or_else(|| {
            let name = name.replace('-', "_");
            let (_, op) = GUESTFISH_NAMES.iter().find(|(alias, _)| *alias == name)?;
            OpInfo::find(op)
        })
        .filter(|op| op.group != "internal")
}

/// Whether a command takes a key or passphrase: such lines stay out of the history.
pub fn takes_secret(name: &str) -> bool {
    find(name).is_some_and(|op| op.args.iter().any(|a| a.kind == ArgKind::Secret))
}

/// The guestfish names of an operation.
pub fn aliases(op: &OpInfo) -> impl Iterator<Item = &'static str> + '_ {
    GUESTFISH_NAMES
        .iter()
        .filter(move |(alias, name)| *name == op.name && OpInfo::find(alias).is_none())
        .map(|(alias, _)| *alias)
}

/// Where the host file word of a streaming operation sits among its words.
pub fn stream_word_index(op: &OpInfo) -> Option<usize> {
    match op.stream {
        Stream::None => None,
        Stream::Input => Some(0),
        // guestfish's `download-offset REMOTE FILE|- OFFSET SIZE`.
        Stream::Output if op.name == "download_offset" => Some(1),
        Stream::Output => Some(required_args(op)),
    }
}

/// How many required arguments the table gives the operation.
pub fn required_args(op: &OpInfo) -> usize {
    op.args.iter().filter(|a| !a.optional).count()
}

/// Digits only: a size word with no unit.
fn is_plain_number(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

/// guestwright's old three-word `setxattr XATTR VAL PATH` (and `lsetxattr`): the table's
/// four words, with VALLEN the whole value's length in bytes. `None` for any other command
/// or form (guestfish's `XATTR VAL VALLEN PATH` is the table's own).
fn xattr_whole_value(op: &OpInfo, args: &[String]) -> Option<Vec<String>> {
    let [xattr, val, path] = args else {
        return None;
    };
    if !matches!(op.name, "setxattr" | "lsetxattr") {
        return None;
    }
    Some(vec![
        xattr.clone(),
        val.clone(),
        val.len().to_string(),
        path.clone(),
    ])
}

/// How many of the words are positional: those before the first `NAME:VALUE` word that
/// names one of the operation's optional arguments.
fn positional_words(op: &OpInfo, args: &[String]) -> usize {
    args.iter()
        .position(|w| {
            w.split_once(':').is_some_and(|(k, _)| {
                let k = k.replace('-', "_");
                op.args.iter().any(|a| a.optional && a.name == k)
            })
        })
        .unwrap_or(args.len())
}

/// The indexes, among the required arguments, of the keys a command line in guestfish's
/// form leaves out (`luks-format DEVICE KEYSLOT`: guestfish reads each key, never takes it as
/// a word); empty when the operation takes no key or the words give them (guestwright's
/// own form, `luks-format DEVICE KEY KEYSLOT`).
fn missing_keys(op: &OpInfo, args: &[String]) -> Vec<usize> {
    let required: Vec<_> = op.args.iter().filter(|a| !a.optional).collect();
    let keys: Vec<usize> = required
        .iter()
        .enumerate()
        .filter(|(_, a)| a.kind == ArgKind::Secret)
        .map(|(i, _)| i)
        .collect();
    if !keys.is_empty() && positional_words(op, args) + keys.len() == required.len() {
        keys
    } else {
        Vec::new()
    }
}

/// Words holding a key read for the command, wiped when the command is done.
struct Zeroed(Vec<String>);

impl Drop for Zeroed {
    fn drop(&mut self) {
        for w in &mut self.0 {
            let mut bytes = std::mem::take(w).into_bytes();
            bytes.fill(0);
            std::hint::black_box(&bytes);
        }
    }
}

/// The host side of a stream.
enum HostEnd {
    Dash,
    File(PathBuf),
}

impl Shell {
    /// For a command line in guestfish's form, which leaves the keys out, reads each key as
    /// guestfish does (see [`crate::keys::read_key`]) and gives the words with the keys in
    /// their places; `None` when no key is missing.
    fn read_missing_keys(
        &mut self,
        op: &OpInfo,
        typed: &str,
        args: &[String],
    ) -> Result<Option<Vec<String>>, ShellError> {
        let missing = missing_keys(op, args);
        if missing.is_empty() {
            return Ok(None);
        }
        let required: Vec<_> = op.args.iter().filter(|a| !a.optional).collect();
        let mut words = args.to_vec();
        for i in missing {
            let param = required[i].name;
            let key = crate::keys::read_key(param, self.keys_from_stdin, self.echo_keys);
            // guestfish counts a key read from standard input as a script line, so the
            // errors after it name the lines as the script's reader counts them.
            if self.keys_from_stdin {
                self.lineno += 1;
            }
            let key = key
                .map_err(|e| ShellError::Fish(format!("{typed}: cannot read \"{param}\": {e}")))?
                .ok_or_else(|| {
                    ShellError::Fish(format!(
                        "{typed}: no \"{param}\": the input ended before the key"
                    ))
                })?;
            words.insert(i, String::from_utf8_lossy(key.expose()).into_owned());
        }
        Ok(Some(words))
    }

    /// Runs a table operation with shell words. `name` is what the user typed: it decides
    /// how the result prints (see [`prints_as_string`]).
    pub(super) fn run_op(
        &mut self,
        op: &'static OpInfo,
        name: &str,
        args: &[String],
        out: &mut Output,
        input: &mut Input,
    ) -> Result<(), ShellError> {
        let with_length;
        let args = match xattr_whole_value(op, args) {
            Some(words) => {
                with_length = words;
                &with_length[..]
            }
            None => args,
        };
        let with_keys;
        let args = match self.read_missing_keys(op, name, args)? {
            Some(words) => {
                with_keys = Zeroed(words);
                &with_keys.0[..]
            }
            None => args,
        };
        fisherr::check_words(op, name, args)?;
        let call = trace::call_name(name);
        if op.name == "version" && !self.json {
            // A library call in guestfish: no appliance needed.
            self.trace_bytes(call.as_bytes());
            let version = Version::libguestfs_api();
            self.trace_bytes(&trace::result_value_line(
                &call,
                "Version",
                &version.guestfs_value(),
                false,
            ));
            let text = version_struct(&version);
            return out.write_all(text.as_bytes()).map_err(ShellError::Output);
        }
        let mut words = args.to_vec();
        let host_end = match stream_word_index(op) {
            Some(i) if i < words.len() => Some(match words.remove(i) {
                w if w == "-" => HostEnd::Dash,
                w => HostEnd::File(PathBuf::from(w)),
            }),
            Some(_) => {
                return Err(ShellError::Usage(format!(
                    "{}: missing the host file (or - for standard {}): {}",
                    op.shell_name(),
                    if op.stream == Stream::Input {
                        "input"
                    } else {
                        "output"
                    },
                    super::help::usage(op)
                )))
            }
            None => None,
        };
        if op.name == "lvcreate" {
            // guestfish's lvcreate takes megabytes; the table's size is bytes (with suffixes).
            if let Some(w) = words.get_mut(2).filter(|w| is_plain_number(w)) {
                w.push('M');
            }
        }
        if op.name == "part_add" {
            self.part_add_sectors(&mut words);
        }
        let request =
            Request::from_words(op.name, &words).map_err(|e| ShellError::Usage(e.to_string()))?;
        // Traced as libguestfs's wrapper does once its arguments are read and checked.
        self.trace_bytes(&trace::call_line(op, name, args));
        if !self.h.is_launched() && self.h.drives().is_empty() {
            // guestfish's answer: nothing to launch with.
            let e = ShellError::Libguestfs(format!(
                "{}: call launch before using this function\n\
                 (in guestfish, don't forget to use the 'run' command)",
                fisherr::lg_name(op)
            ));
            return Err(self.traced_failure(&call, op.ret, e, false));
        }
        let reply = self.call_op(op, request, host_end, out, input);
        let reply = match reply {
            Ok(reply) => reply,
            Err(ShellError::Library(guestwright::Error::Remote { source, .. }))
                if source.errno != Errno::ECANCELED =>
            {
                let e = ShellError::Libguestfs(fisherr::remote(
                    op,
                    &words,
                    source.errno,
                    &source.message,
                ));
                return Err(self.traced_failure(&call, op.ret, e, true));
            }
            Err(e) => return Err(self.traced_failure(&call, op.ret, e, false)),
        };
        let Some(reply) = reply else {
            return Ok(());
        };
        self.trace_bytes(&trace::result_line(op, name, &reply));
        if !self.json {
            if let Some(text) = guestfish_text(&reply) {
                return out.write_all(&text).map_err(ShellError::Output);
            }
        }
        let reply = if self.json {
            reply
        } else {
            guestfish_reply(reply)
        };
        out.reply(&reply, self.json, prints_as_string(name))
            .map_err(ShellError::Output)
    }

    /// A call guestfish makes itself (for `-i`), made and traced as a typed command is,
    /// printing nothing: its reply's values, as text.
    pub(super) fn own_call(
        &mut self,
        name: &str,
        words: &[String],
    ) -> Result<Vec<Vec<u8>>, ShellError> {
        let op = find(name).expect("guestfish's own calls are in the table");
        let call = trace::call_name(name);
        let request =
            Request::from_words(op.name, words).map_err(|e| ShellError::Usage(e.to_string()))?;
        self.trace_bytes(&trace::call_line(op, name, words));
        let reply = match self.call(request, CallStream::None) {
            Ok(reply) => reply,
            Err(e) => return Err(self.traced_failure(&call, op.ret, e, true)),
        };
        self.trace_bytes(&trace::result_line(op, name, &reply));
        Ok(match reply.guestfs_value() {
            Value::List(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::Text(t) => t,
                    other => format!("{other:?}").into_bytes(),
                })
                .collect(),
            Value::Text(t) => vec![t],
            _ => Vec::new(),
        })
    }

    /// Sends the request with its stream; `None` when the reader of the output went away.
    fn call_op(
        &mut self,
        op: &'static OpInfo,
        request: Request,
        host_end: Option<HostEnd>,
        out: &mut Output,
        input: &mut Input,
    ) -> Result<Option<Reply>, ShellError> {
        let reply = match host_end {
            None => self.call(request, CallStream::None)?,
            Some(HostEnd::Dash) if op.stream == Stream::Input => {
                let mut reader = input.reader();
                self.call(request, CallStream::Input(&mut reader))?
            }
            Some(HostEnd::Dash) => {
                let mut w = out.writer();
                match self.call(request, CallStream::Output(&mut w)) {
                    // `download /big - | head -1`: the reader has all it wanted.
                    Err(ShellError::Library(e)) if is_broken_pipe(&e) && out.reader_gone() => {
                        return Ok(None)
                    }
                    other => other?,
                }
            }
            Some(HostEnd::File(path)) if op.stream == Stream::Input => {
                let mut f = File::open(&path).map_err(|source| ShellError::HostIo {
                    path: path.clone(),
                    source,
                })?;
                self.call(request, CallStream::Input(&mut f))?
            }
            Some(HostEnd::File(path)) => {
                // The file is replaced only once the transfer succeeded: a failed or
                // cancelled command leaves it as it was.
                let host_io = |source| ShellError::HostIo {
                    path: path.clone(),
                    source,
                };
                let mut f = HostFile::create(&path).map_err(host_io)?;
                let reply = self.call(request, CallStream::Output(f.file_mut()))?;
                f.commit().map_err(host_io)?;
                reply
            }
        };
        Ok(Some(reply))
    }

    /// Launches if needed, sends the request and decodes its reply.
    pub(super) fn call(
        &mut self,
        request: Request,
        stream: CallStream<'_>,
    ) -> Result<Reply, ShellError> {
        self.ensure_launched()?;
        let bytes = self.h.call(request.clone(), stream)?;
        Reply::decode(&request, &bytes).map_err(|e| ShellError::Library(e.into()))
    }

    /// guestfish's `part-add DEVICE PRLOGEX STARTSECT ENDSECT` takes sectors, the end one
    /// inclusive and, when negative, counted back from the end of the disk (-1 is the last
    /// sector); the table's `part_add` takes bytes. Plain numbers become the bytes they
    /// name; a word with a unit suffix stays bytes (guestwright's own addition).
    fn part_add_sectors(&self, words: &mut [String]) {
        let [device, _, start, end] = words else {
            return;
        };
        let device = device.as_str();
        let number = |w: &str| {
            let digits = w.strip_prefix('-').unwrap_or(w);
            is_plain_number(digits)
        };
        if !self.h.is_launched() || !number(start) || !number(end) {
            return;
        }
        let ss = self.h.blockdev_getss(device).map_or(512, u64::from);
        let sectors = || {
            self.h
                .blockdev_getsize64(device)
                .map_or(0, |bytes| bytes / ss)
        };
        let sector = |w: &str| -> Option<u64> {
            match w.strip_prefix('-') {
                Some(back) => sectors().checked_sub(back.parse().ok()?),
                None => w.parse().ok(),
            }
        };
        let (Some(first), Some(last)) = (sector(start), sector(end)) else {
            return;
        };
        *start = (first * ss).to_string();
        *end = ((last + 1) * ss).saturating_sub(1).to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guestwright::protocol::shell::ShellText;

    #[test]
    fn only_guestfish_string_names_print_as_strings() {
        assert!(prints_as_string("cat"));
        assert!(!prints_as_string("read-file") && !prints_as_string("read_file"));
        assert!(!prints_as_string("write"));
    }

    #[test]
    fn find_prints_names_with_a_leading_slash() {
        let reply = Reply::Find(vec![GuestPath::from("a"), GuestPath::from("a/b c")]);
        let mut text = Vec::new();
        guestfish_reply(reply).shell_text(&mut text, false);
        assert_eq!(text, b"/a\n/a/b c\n");
        let mut text = Vec::new();
        guestfish_reply(Reply::Du(5)).shell_text(&mut text, false);
        assert_eq!(text, b"5\n");
    }

    #[test]
    fn guestfish_forms_of_version_and_mbr_ids() {
        assert_eq!(
            version_struct(&Version::libguestfs_api()),
            "major: 1\nminor: 48\nrelease: 6\nextra: \n"
        );
        assert_eq!(
            version_struct(&Version::parse("0.1.0-rc1")),
            "major: 0\nminor: 1\nrelease: 0\nextra: rc1\n"
        );
        assert_eq!(
            guestfish_text(&Reply::PartGetMbrId(0x83)).unwrap(),
            b"0x83\n"
        );
        let detail = Reply::MdDetail(vec!["level=raid1".into(), "uuid=a:b".into()]);
        assert_eq!(
            guestfish_text(&detail).unwrap(),
            b"level: raid1\nuuid: a:b\n"
        );
        assert_eq!(guestfish_text(&Reply::Du(5)), None);
    }

    #[test]
    fn keys_are_kept_out_of_the_history() {
        assert!(takes_secret("luks-open") && takes_secret("luks_open"));
        assert!(!takes_secret("cat") && !takes_secret("no-such-command"));
    }

    #[test]
    fn keys_are_read_when_guestfish_leaves_them_out() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let op = |n| find(n).expect(n);
        // luks-format DEVICE KEYSLOT: the key (argument 1) is read.
        assert_eq!(
            missing_keys(op("luks-format"), &words(&["/dev/sda", "0"])),
            [1]
        );
        assert!(missing_keys(op("luks-format"), &words(&["/dev/sda", "k", "0"])).is_empty());
        // Two keys, read in order.
        assert_eq!(
            missing_keys(op("luks-add-key"), &words(&["/dev/sda1", "1"])),
            [1, 2]
        );
        // Optional arguments are not positional words.
        let open = words(&["/dev/sda", "lukstest", "readonly:true", "crypttype:luks"]);
        assert_eq!(missing_keys(op("cryptsetup-open"), &open), [1]);
        let given = words(&["/dev/sda", "k", "lukstest", "readonly:true"]);
        assert!(missing_keys(op("cryptsetup-open"), &given).is_empty());
        // Too few words for either form: the count error, not a key prompt.
        assert!(missing_keys(op("luks-add-key"), &words(&["/dev/sda1"])).is_empty());
        assert!(missing_keys(op("cat"), &words(&["/x"])).is_empty());
    }

    #[test]
    fn setxattr_takes_the_old_three_word_form_as_the_whole_value() {
        let op = find("setxattr").expect("setxattr");
        let old = ["user.a", "héllo", "/x"].map(String::from);
        assert_eq!(
            xattr_whole_value(op, &old).unwrap(),
            ["user.a", "héllo", "6", "/x"]
        );
        let new = ["user.a", "hello", "3", "/x"].map(String::from);
        assert_eq!(xattr_whole_value(op, &new), None);
        assert_eq!(xattr_whole_value(find("cat").unwrap(), &old), None);
    }
}
