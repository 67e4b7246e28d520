//! The shell's commands as a section of guestwright-shell(1), from the same lists that give
//! `help`: the host-side commands and the protocol's table of operations. A command added
//! to either appears in the manual page with no change here.

use super::commands::COMMANDS;
use super::help::{kind_text, usage};
use super::table;
use clap_mangen::roff::{bold, roman, Roff};
use guestwright::protocol::{Access, Stream};

/// Joins the lines of each paragraph (blank lines separate them), trimmed.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            if !cur.is_empty() {
                out.push(cur.join(" "));
                cur.clear();
            }
        } else {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        out.push(cur.join(" "));
    }
    out
}

/// One entry: a tagged paragraph with the usage line in bold, then the text.
fn entry(page: &mut Roff, usage: &str, text: &[String]) {
    page.control("TP", []).text([bold(usage)]);
    for (i, p) in text.iter().enumerate() {
        if i > 0 {
            page.control("IP", []);
        }
        page.text([roman(p.as_str())]);
    }
}

/// The `SHELL COMMANDS` section of guestwright-shell(1).
pub fn commands_section() -> Roff {
    let mut page = Roff::new();
    page.control("SH", ["SHELL COMMANDS"]);
    page.text([roman(
        "Commands are read from the command line (separated by ':'), from a script (-f) or \
         from the prompt. Names take dashes or underscores. Optional arguments follow the \
         required ones as name:value. Sizes are bytes unless a suffix says otherwise (64K, \
         1M, 10G). A leading '-' (-rm /x) ignores a command's error. '!CMD' runs a host \
         command, 'CMD | HOSTCMD' pipes the output into one, '<! HOSTCMD' runs the commands \
         HOSTCMD prints. 'help CMD' at the prompt shows the same text as this page.",
    )]);
    page.control("SS", ["Commands of the shell itself"]);
    for c in COMMANDS {
        let mut text = paragraphs(c.help);
        if !c.usage.starts_with(c.names[0]) {
            // A family of commands under one usage line (the settings, inspect-*).
            text.push(format!("Commands: {}.", c.names.join(", ")));
        } else if c.names.len() > 1 {
            text.push(format!("Also: {}.", c.names[1..].join(", ")));
        }
        entry(&mut page, c.usage, &text);
    }
    let mut groups: Vec<&str> = Vec::new();
    for op in table::commands() {
        if !groups.contains(&op.group) {
            groups.push(op.group);
        }
    }
    for group in groups {
        page.control("SS", [format!("Operations: {group}").as_str()]);
        for op in table::commands().filter(|op| op.group == group) {
            let mut text = paragraphs(op.doc);
            let file_word = match op.stream {
                Stream::Input => Some("a host file to send, or - for standard input"),
                Stream::Output => Some("a host file to write, or - for standard output"),
                Stream::None => None,
            };
            let mut args: Vec<String> = file_word
                .map(|t| format!("FILE|-: {t}"))
                .into_iter()
                .collect();
            for a in op.args {
                let optional = if a.optional { " (optional)" } else { "" };
                let name = if a.optional {
                    format!("{}:", a.name)
                } else {
                    a.name.to_string()
                };
                args.push(format!("{name} {}{optional}", kind_text(a.kind)));
            }
            if !args.is_empty() {
                text.push(format!("Arguments: {}.", args.join("; ")));
            }
            let aliases: Vec<&str> = table::aliases(op).collect();
            if !aliases.is_empty() {
                text.push(format!("Also: {} (guestfish's name).", aliases.join(", ")));
            }
            if op.access == Access::Write {
                text.push(
                    "This command changes the disk images. On an image added read-only (--ro, \
                     add-ro), the change goes to a temporary overlay and is lost when the \
                     appliance stops; the image file never changes."
                        .to_string(),
                );
            }
            entry(&mut page, &usage(op), &text);
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_an_entry() {
        let page = commands_section().to_roff();
        for op in table::commands() {
            let usage = usage(op);
            assert!(
                page.contains(&format!("\\fB{}", usage.replace('-', "\\-"))),
                "{} missing from guestwright-shell(1)",
                op.name
            );
        }
        for c in COMMANDS {
            assert!(
                page.contains(&c.names[0].replace('-', "\\-")),
                "{} missing",
                c.names[0]
            );
        }
        assert!(
            !page.contains("poweroff"),
            "internal operations are not commands"
        );
    }

    #[test]
    fn paragraphs_join_lines() {
        assert_eq!(
            paragraphs(" One\n two.\n\n Three.\n"),
            ["One two.".to_string(), "Three.".to_string()]
        );
    }
}
