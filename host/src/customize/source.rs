//! Where operations come from besides the command line: `--commands-from-file` (virt-customize
//! syntax, one operation per line) and `--config` (the same operations as TOML), and the
//! expansion of both where they appear among the command-line operations.
//!
//! A command file line is `NAME ARGUMENT` (or `NAME` alone for a flag); blank lines and
//! lines starting with `#` are skipped, and a line ending in `\` continues on the next one,
//! joined with a newline (so `write /etc/motd:line 1\` + `line 2` writes two lines). A TOML
//! file holds an ordered array of one-key tables:
//!
//! ```toml
//! [[operations]]
//! hostname = "web01"
//!
//! [[operations]]
//! network = "eth0:static:192.0.2.10/24:192.0.2.1"
//!
//! [[operations]]
//! udev-net-clear = true
//! ```
//!
//! (`operations = [ { hostname = "web01" }, ... ]` is the same thing.) Either kind of file may
//! name further files; nesting stops at a small depth so a file cannot include itself forever.

use std::path::{Path, PathBuf};

use super::ops::{parse_operation, Operation};
use super::CustomizeError;

/// How deep files may include other files.
const MAX_DEPTH: usize = 8;

/// One operation word as it came from the command line, in order: `--NAME [VALUE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The name without `--`.
    pub name: String,
    /// The argument.
    pub value: Option<String>,
}

impl Word {
    /// A word with an argument.
    pub fn new(name: &str, value: Option<&str>) -> Word {
        Word {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        }
    }
}

/// Turns command-line words into operations, reading `commands-from-file` and `config` files
/// where they appear.
pub fn expand(words: &[Word]) -> Result<Vec<Operation>, CustomizeError> {
    let mut out = Vec::new();
    for w in words {
        push(&mut out, &w.name, w.value.as_deref(), 0)?;
    }
    Ok(out)
}

fn push(
    out: &mut Vec<Operation>,
    name: &str,
    value: Option<&str>,
    depth: usize,
) -> Result<(), CustomizeError> {
    let name = name.strip_prefix("--").unwrap_or(name);
    let file = |what: &str| -> Result<(PathBuf, String), CustomizeError> {
        let Some(v) = value else {
            return Err(CustomizeError::InvalidArgument {
                op: what.to_owned(),
                reason: "it needs a FILE".into(),
            });
        };
        if depth >= MAX_DEPTH {
            return Err(CustomizeError::InvalidArgument {
                op: what.to_owned(),
                reason: format!(
                    "files nest deeper than {MAX_DEPTH} levels (does {v} include itself?)"
                ),
            });
        }
        let path = PathBuf::from(v);
        let text = std::fs::read_to_string(&path).map_err(|source| CustomizeError::HostRead {
            path: path.clone(),
            source,
        })?;
        Ok((path, text))
    };
    match name {
        "commands-from-file" => {
            let (path, text) = file(name)?;
            for (line, name, value) in command_lines(&text) {
                push(out, &name, value.as_deref(), depth + 1)
                    .map_err(|e| in_file(&path, "line", line, e))?;
            }
        }
        "config" => {
            let (path, text) = file(name)?;
            for (n, name, value) in toml_words(&text).map_err(|e| in_file(&path, "line", 0, e))? {
                push(out, &name, value.as_deref(), depth + 1)
                    .map_err(|e| in_file(&path, "operation", n, e))?;
            }
        }
        _ => out.push(parse_operation(name, value)?),
    }
    Ok(())
}

fn in_file(path: &Path, unit: &'static str, line: usize, e: CustomizeError) -> CustomizeError {
    CustomizeError::InFile {
        path: path.to_path_buf(),
        unit,
        line,
        source: Box::new(e),
    }
}

/// The `(line number, name, argument)` of each operation in a command file.
pub fn command_lines(text: &str) -> Vec<(usize, String, Option<String>)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (start, mut acc) = match pending.take() {
            Some((start, acc)) => (start, acc + "\n" + raw),
            None => {
                let t = raw.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                (i + 1, t.to_owned())
            }
        };
        if let Some(cont) = acc.strip_suffix('\\') {
            acc = cont.to_owned();
            pending = Some((start, acc));
            continue;
        }
        out.push(split_command(start, &acc));
    }
    if let Some((start, acc)) = pending {
        out.push(split_command(start, &acc));
    }
    out
}

fn split_command(line: usize, s: &str) -> (usize, String, Option<String>) {
    match s.split_once([' ', '\t']) {
        Some((n, v)) => (line, n.to_owned(), Some(v.to_owned())),
        None => (line, s.trim_end().to_owned(), None),
    }
}

/// The `(index from 1, name, argument)` of each operation of a TOML configuration.
pub fn toml_words(text: &str) -> Result<Vec<(usize, String, Option<String>)>, CustomizeError> {
    let bad = |reason: String| CustomizeError::Config { reason };
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    if let Some(k) = doc.keys().find(|k| k.as_str() != "operations") {
        return Err(bad(format!(
            "unknown key {k:?}: put operations in an [[operations]] array, one NAME = \"ARGUMENT\" per table"
        )));
    }
    let Some(ops) = doc.get("operations") else {
        return Ok(Vec::new());
    };
    let ops = ops
        .as_array()
        .ok_or_else(|| bad("`operations` must be an array of tables ([[operations]])".into()))?;
    let mut out = Vec::new();
    for (i, item) in ops.iter().enumerate() {
        let n = i + 1;
        let table = item
            .as_table()
            .ok_or_else(|| bad(format!("operation {n} is not a table")))?;
        if table.len() != 1 {
            return Err(bad(format!(
                "operation {n} has {} keys: give each operation its own table, so the order is clear",
                table.len()
            )));
        }
        let (name, value) = table.iter().next().expect("one key");
        let value = match value {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Boolean(true) => None,
            toml::Value::Integer(i) => Some(i.to_string()),
            _ => {
                return Err(bad(format!(
                    "operation {n} ({name}): the value must be a string (or true for a flag)"
                )))
            }
        };
        out.push((n, name.clone(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_file_syntax() {
        let text = "# a comment\n\nhostname web01\r\n  --udev-net-clear\nwrite /etc/motd:line 1\\\nline 2\nrun-command echo a  b\n";
        let lines = command_lines(text);
        assert_eq!(
            lines,
            vec![
                (3, "hostname".into(), Some("web01".into())),
                (4, "--udev-net-clear".into(), None),
                (5, "write".into(), Some("/etc/motd:line 1\nline 2".into())),
                (7, "run-command".into(), Some("echo a  b".into())),
            ]
        );
    }

    #[test]
    fn toml_keeps_order_and_refuses_ambiguity() {
        let words = toml_words(
            "[[operations]]\nhostname = \"web01\"\n[[operations]]\nudev-net-clear = true\n[[operations]]\nchmod = \"0600:/etc/x\"\n",
        )
        .unwrap();
        assert_eq!(
            words,
            vec![
                (1, "hostname".into(), Some("web01".into())),
                (2, "udev-net-clear".into(), None),
                (3, "chmod".into(), Some("0600:/etc/x".into())),
            ]
        );
        let inline =
            toml_words("operations = [ { hostname = \"a\" }, { mkdir = \"/srv\" } ]").unwrap();
        assert_eq!(inline.len(), 2);
        assert!(
            toml_words("[[operations]]\nhostname = \"a\"\nmkdir = \"/b\"\n")
                .unwrap_err()
                .to_string()
                .contains("2 keys")
        );
        assert!(toml_words("hostname = \"a\"")
            .unwrap_err()
            .to_string()
            .contains("unknown key"));
        assert!(toml_words("[[operations]\n").is_err());
    }

    #[test]
    fn files_expand_in_place_with_line_numbers_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cmds = dir.path().join("cmds");
        std::fs::write(&cmds, "hostname web01\nmkdir /srv\n").unwrap();
        let conf = dir.path().join("c.toml");
        std::fs::write(&conf, "[[operations]]\ntimezone = \"UTC\"\n").unwrap();
        let ops = expand(&[
            Word::new("mkdir", Some("/a")),
            Word::new("commands-from-file", Some(cmds.to_str().unwrap())),
            Word::new("config", Some(conf.to_str().unwrap())),
            Word::new("mkdir", Some("/b")),
        ])
        .unwrap();
        let names: Vec<String> = ops.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            names,
            [
                "mkdir /a",
                "hostname web01",
                "mkdir /srv",
                "timezone UTC",
                "mkdir /b"
            ]
        );

        std::fs::write(&cmds, "hostname web01\nhostname -bad-\n").unwrap();
        let e = expand(&[Word::new(
            "commands-from-file",
            Some(cmds.to_str().unwrap()),
        )])
        .unwrap_err();
        let msg = crate::error::chain(&e);
        assert!(
            msg.contains("line 2") && msg.contains("invalid hostname"),
            "{msg}"
        );

        std::fs::write(&cmds, format!("commands-from-file {}\n", cmds.display())).unwrap();
        let e = expand(&[Word::new(
            "commands-from-file",
            Some(cmds.to_str().unwrap()),
        )])
        .unwrap_err();
        assert!(crate::error::chain(&e).contains("nest deeper"));
    }
}
