//! `help` and `help CMD`, from the table of operations and the list of host-side commands,
//! so a new operation documents itself.

use super::commands::{self, HostCommand};
use super::table;
use guestwright::protocol::shell::ArgKind;
use guestwright::protocol::{Access, OpInfo, Stream};
use std::fmt::Write;

/// The usage line of a table command, with the host file word of streaming operations.
pub fn usage(op: &OpInfo) -> String {
    let mut s = op.shell_name();
    let file = match op.stream {
        Stream::Input => Some("FILE|-"),
        Stream::Output => Some("FILE|-"),
        Stream::None => None,
    };
    let file_at = table::stream_word_index(op);
    let mut index = 0;
    for a in op.args.iter().filter(|a| !a.optional) {
        if file_at == Some(index) {
            s.push(' ');
            s.push_str(file.unwrap_or_default());
        }
        s.push(' ');
        s.push_str(a.name);
        index += 1;
    }
    if file_at == Some(index) {
        s.push(' ');
        s.push_str(file.unwrap_or_default());
    }
    for a in op.args.iter().filter(|a| a.optional) {
        let _ = write!(s, " [{}:..]", a.name);
    }
    s
}

/// What a word of each kind is, for `help CMD`.
pub fn kind_text(kind: ArgKind) -> &'static str {
    match kind {
        ArgKind::GuestPath => "a guest path, absolute (/etc/hostname)",
        ArgKind::Device => "a device (/dev/sda1, /dev/VG/LV)",
        ArgKind::Size => "a size in bytes; K, M, G, T suffixes mean KiB, MiB, GiB, TiB",
        ArgKind::Mode => "an octal mode (0644)",
        ArgKind::Data => "the content, as one word (quote it; \"\\n\" is a newline)",
        ArgKind::Bool => "true or false",
        ArgKind::Int => "a number (0x... for hex)",
        ArgKind::String => "a word",
        ArgKind::StringList => "words, given as one quoted word separated by spaces",
        ArgKind::FsType => "a filesystem type (ext4, xfs, vfat, ...)",
        ArgKind::Secret => {
            "a key or passphrase: leave it out and it is asked for, as guestfish does (on the \
             terminal, or the next line of standard input with --keys-from-stdin); given as a \
             word, it is never kept in the history, and the trace (-x) shows it as ***"
        }
    }
}

/// The first sentence of the help text.
fn summary(doc: &str) -> String {
    let paragraph: Vec<&str> = doc
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    let text = paragraph.join(" ");
    match text.find(". ") {
        Some(i) => text[..=i].to_string(),
        None => text,
    }
}

/// `help`: every command, by group.
pub fn list() -> String {
    let mut s = String::new();
    s.push_str("Commands of the shell itself:\n");
    for c in commands::COMMANDS {
        let _ = writeln!(s, "  {:<22} {}", c.names[0], c.summary);
    }
    let mut groups: Vec<&str> = Vec::new();
    for op in table::commands() {
        if !groups.contains(&op.group) {
            groups.push(op.group);
        }
    }
    for group in groups {
        let _ = writeln!(s, "\nOperations: {group}");
        for op in table::commands().filter(|op| op.group == group) {
            let mut name = op.shell_name();
            for alias in table::aliases(op) {
                name = format!("{name}, {alias}");
            }
            let _ = writeln!(s, "  {:<22} {}", name, summary(op.doc));
        }
    }
    s.push_str(
        "\n'help CMD' shows a command's arguments. Names take dashes or underscores. \
         Optional arguments\nfollow the required ones as name:value. Sizes are bytes unless \
         a suffix says otherwise\n(64K, 1M, 10G). A leading '-' (-rm /x) ignores a command's \
         error. '!CMD' runs a host\ncommand, 'CMD | HOSTCMD' pipes the output into one, \
         '<! HOSTCMD' runs the commands\nHOSTCMD prints.\n",
    );
    s
}

/// `help CMD`.
pub fn describe(name: &str) -> Option<String> {
    if let Some(c) = commands::find(name) {
        return Some(describe_host(c));
    }
    let op = table::find(name)?;
    let mut s = format!("{}\n\n", usage(op));
    for line in op.doc.trim_end().lines() {
        // Doc comments keep the space after `///`.
        let line = line.strip_prefix(' ').unwrap_or(line);
        let _ = writeln!(s, "  {}", line.trim_end());
    }
    let file_word = match op.stream {
        Stream::Input => Some("a host file to send, or - for standard input"),
        Stream::Output => Some("a host file to write, or - for standard output"),
        Stream::None => None,
    };
    if !op.args.is_empty() || file_word.is_some() {
        s.push_str("\nArguments:\n");
        if let Some(text) = file_word {
            let _ = writeln!(s, "  {:<14} {text}", "FILE|-");
        }
        for a in op.args {
            let name = if a.optional {
                format!("{}:", a.name)
            } else {
                a.name.to_string()
            };
            let optional = if a.optional { " (optional)" } else { "" };
            let _ = writeln!(s, "  {:<14} {}{optional}", name, kind_text(a.kind));
        }
    }
    let aliases: Vec<&str> = table::aliases(op).collect();
    if !aliases.is_empty() {
        let _ = writeln!(s, "\nAlso: {} (guestfish's name)", aliases.join(", "));
    }
    if op.access == Access::Write {
        s.push_str(
            "\nThis command changes the disk images. On an image added read-only (--ro, \
             add-ro), the change goes to a temporary overlay and is lost when the appliance \
             stops; the image file never changes.\n",
        );
    }
    Some(s)
}

fn describe_host(c: &HostCommand) -> String {
    let mut s = format!("{}\n\n", c.usage);
    for line in c.help.lines() {
        let _ = writeln!(s, "  {line}");
    }
    if c.names.len() > 1 {
        let _ = writeln!(s, "\n  Also: {}", c.names[1..].join(", "));
    }
    s
}

/// Every command name, for completion and suggestions.
pub fn all_names() -> Vec<String> {
    let mut names: Vec<String> = commands::COMMANDS
        .iter()
        .flat_map(|c| c.names.iter().map(|n| n.to_string()))
        .chain(table::commands().map(OpInfo::shell_name))
        .chain(
            table::commands()
                .flat_map(|op| table::aliases(op).map(str::to_string).collect::<Vec<_>>()),
        )
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The message for a command that does not exist, with the nearest names.
pub fn unknown_command(name: &str) -> String {
    let mut near: Vec<(usize, String)> = all_names()
        .into_iter()
        .map(|n| (distance(&name.replace('_', "-"), &n), n))
        .filter(|(d, _)| *d <= 2)
        .collect();
    near.sort();
    let shown = guestwright::protocol::escape_bytes(name.as_bytes());
    match near.first() {
        Some((_, n)) => {
            format!("unknown command '{shown}': did you mean '{n}'? ('help' lists the commands)")
        }
        None => format!("unknown command '{shown}': 'help' lists the commands"),
    }
}

/// Levenshtein distance, for suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_command_is_listed_and_described() {
        let text = list();
        for op in table::commands() {
            assert!(text.contains(&op.shell_name()), "{} not in help", op.name);
            let d = describe(op.name).unwrap();
            assert!(d.starts_with(&usage(op)), "{d}");
            for a in op.args {
                assert!(d.contains(a.name), "{}: {} not described", op.name, a.name);
            }
        }
        assert!(
            !text.contains("poweroff"),
            "internal operations are not commands"
        );
        assert!(describe("poweroff").is_none());
    }

    #[test]
    fn mount_help_reads_like_guestfish() {
        let d = describe("mount").unwrap();
        assert!(d.starts_with("mount device mountpoint [options:..] [fstype:..] [readonly:..]\n"));
        assert!(
            d.contains("  readonly:      true or false (optional)"),
            "{d}"
        );
        assert!(d.contains("\n  Mount a filesystem"), "{d}");
        let d = describe("read_file").unwrap();
        assert!(!d.contains("overlay"), "{d}");
        let d = describe("write-file").unwrap();
        assert!(d.contains("goes to a temporary overlay"), "{d}");
    }

    #[test]
    fn guestfish_names() {
        assert_eq!(table::find("cat").unwrap().name, "read_file");
        assert_eq!(table::find("write").unwrap().name, "write_file");
        assert!(describe("cat").unwrap().starts_with("read-file path\n"));
        assert!(describe("read-file")
            .unwrap()
            .contains("Also: cat (guestfish's name)"));
        assert!(all_names().contains(&"cat".to_string()));
        assert!(list().contains("  read-file, cat "));
    }

    #[test]
    fn host_commands_are_described() {
        for c in commands::COMMANDS {
            for n in c.names {
                let d = describe(n).unwrap();
                assert!(d.starts_with(c.usage), "{d}");
            }
        }
    }

    #[test]
    fn summaries_are_whole_sentences() {
        assert_eq!(
            summary(
                " Mount a filesystem at a mountpoint (`/` first). Options are\n the kernel's.\n"
            ),
            "Mount a filesystem at a mountpoint (`/` first)."
        );
        assert_eq!(
            summary(" One line\n continued\n\n Details."),
            "One line continued"
        );
    }

    #[test]
    fn suggestions() {
        assert!(unknown_command("muont").contains("did you mean 'mount'"));
        assert!(unknown_command("read_fil").contains("did you mean 'read-file'"));
        assert!(!unknown_command("zzzzzzzz").contains("did you mean"));
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
