//! The shell's syntax, as guestfish writes it: words with `"..."` (backslash escapes) and
//! `'...'` (literal) quoting, `!CMD` for a host shell command, `<! CMD` to run the commands a
//! host command prints, `COMMAND | HOST-COMMAND` to pipe output into a host command, a
//! leading `-` that ignores a command's error, `-<<END` here-documents in scripts, and `:`
//! between commands given on the command line. Pure functions (tilde expansion asks
//! [`super::hostmisc::home_dir`]): no appliance.

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Nothing to do: a blank line or a `#` comment.
    Empty,
    /// `!CMD`: run CMD with the host shell.
    Host {
        /// Ignore its failure (`-!CMD`).
        ignore_error: bool,
        /// The command for `sh -c`.
        command: String,
    },
    /// `<! CMD`: run CMD on the host and run each line it prints as a shell command.
    Eval {
        /// Ignore its failure (`-<!CMD`).
        ignore_error: bool,
        /// The command for `sh -c`.
        command: String,
    },
    /// A shell command.
    Command(Command),
}

/// A shell command with its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// A leading `-`: report the error but go on, and do not fail the script.
    pub ignore_error: bool,
    /// The command name as typed (dashes or underscores).
    pub name: String,
    /// The words after the name.
    pub args: Vec<String>,
    /// `| HOST-COMMAND`: where the output goes instead of standard output.
    pub pipe: Option<String>,
    /// `-<<END`: the terminator of a here-document that becomes the command's standard
    /// input (the word itself is replaced by `-`).
    pub heredoc: Option<String>,
}

/// A line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A quote was opened and never closed (guestfish's words).
    #[error("unterminated {} quote", if *.0 == '"' { "double" } else { "single" })]
    Unterminated(char),
    /// `\x` without two hex digits, `\N` without three octal digits, a NUL or a value
    /// above 255, at this offset in the quoted string (guestfish's words).
    #[error("invalid escape sequence in string (starting at offset {0})")]
    InvalidEscape(usize),
    /// A word that starts with a quote goes on after the closing quote (`"a"b`, `'a''b'`):
    /// guestfish's words.
    #[error("command arguments not separated by whitespace")]
    NotSeparated,
    /// `\xHH` above 0x7f: shell words are text.
    #[error("'\\x{0:02x}' is not text: write non-UTF-8 bytes to a file with upload")]
    NonTextEscape(u8),
    /// `| HOSTCMD` with nothing before it, or nothing after it.
    #[error("a pipe needs a command on each side: COMMAND | HOST-COMMAND")]
    EmptyPipe,
    /// A lone `-`.
    #[error("'-' must be followed by a command, as in -rm /tmp/x")]
    DashAlone,
}

/// A word of a line and where it starts (for completion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Byte offset of its first character in the line.
    pub start: usize,
    /// The word with quotes removed and escapes applied.
    pub text: String,
    /// Whether any part of it was quoted.
    pub quoted: bool,
}

/// Words of a line and the host command after an unquoted `|`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The words before the pipe.
    pub words: Vec<Word>,
    /// The text after the first unquoted `|`, trimmed.
    pub pipe: Option<String>,
    /// The line ended inside a quote (only in lenient mode).
    pub open_quote: Option<char>,
}

/// Splits a line into words. In `lenient` mode (completion) an unterminated quote ends the
/// last word instead of failing.
pub fn tokenize(line: &str, lenient: bool) -> Result<Tokens, ParseError> {
    let mut words = Vec::new();
    let mut chars = line.char_indices().peekable();
    let mut current: Option<Word> = None;
    let mut open_quote = None;
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                words.extend(current.take());
            }
            '|' => {
                words.extend(current.take());
                let rest = line[i + 1..].trim().to_string();
                return Ok(Tokens {
                    words,
                    pipe: Some(rest),
                    open_quote: None,
                });
            }
            '"' | '\'' => {
                let starts_word = current.is_none();
                let word = current.get_or_insert_with(|| Word {
                    start: i,
                    text: String::new(),
                    quoted: true,
                });
                word.quoted = true;
                let mut closed = false;
                while let Some((j, q)) = chars.next() {
                    if q == c {
                        closed = true;
                        break;
                    }
                    if q == '\\' && c == '"' {
                        match chars.next() {
                            Some((_, e)) => {
                                unescape(e, &mut chars, &mut word.text).map_err(|b| match b {
                                    Some(byte) => ParseError::NonTextEscape(byte),
                                    None => ParseError::InvalidEscape(j - i - 1),
                                })?;
                            }
                            None => break,
                        }
                    } else {
                        word.text.push(q);
                    }
                }
                if !closed {
                    if !lenient {
                        return Err(ParseError::Unterminated(c));
                    }
                    open_quote = Some(c);
                }
                // guestfish: a quoted word ends at its closing quote.
                let next = chars.peek().map(|&(_, n)| n);
                if closed
                    && starts_word
                    && !lenient
                    && next.is_some_and(|n| !n.is_whitespace() && n != '|')
                {
                    return Err(ParseError::NotSeparated);
                }
            }
            c => {
                current
                    .get_or_insert_with(|| Word {
                        start: i,
                        text: String::new(),
                        quoted: false,
                    })
                    .text
                    .push(c);
            }
        }
    }
    words.extend(current);
    Ok(Tokens {
        words,
        pipe: None,
        open_quote,
    })
}

/// Applies the escape after a backslash inside double quotes; `Err` for an escape
/// guestfish refuses: `\x` needs two hex digits, an octal escape three digits, and the
/// value must be a byte other than NUL (`Err(None)`). Shell words are text: a byte above
/// 0x7f is refused (`Err(Some(byte))`) rather than changed into another.
fn unescape(
    e: char,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    out: &mut String,
) -> Result<(), Option<u8>> {
    let simple = match e {
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'v' => Some('\x0b'),
        'e' => Some('\x1b'),
        '\\' | '"' => Some(e),
        _ => None,
    };
    if let Some(c) = simple {
        out.push(c);
        return Ok(());
    }
    let (radix, digits_after) = match e {
        'x' => (16, 2),
        '0'..='7' => (8, 2), // the first octal digit is `e` itself
        _ => {
            // Not an escape: keep it as written (guestfish does too).
            out.push('\\');
            out.push(e);
            return Ok(());
        }
    };
    let mut value: u32 = if radix == 8 { e as u32 - '0' as u32 } else { 0 };
    for _ in 0..digits_after {
        let d = chars
            .peek()
            .and_then(|(_, d)| d.to_digit(radix))
            .ok_or(None)?;
        value = value * radix + d;
        chars.next();
    }
    let byte = u8::try_from(value).map_err(|_| None)?;
    if byte == 0 {
        return Err(None);
    }
    if byte > 0x7f {
        return Err(Some(byte));
    }
    out.push(char::from(byte));
    Ok(())
}

/// Parses one line of a script or of the prompt.
pub fn parse_line(line: &str) -> Result<Line, ParseError> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(Line::Empty);
    }
    let (ignore_error, body) = match trimmed.strip_prefix('-') {
        Some(rest) if rest.starts_with('!') || rest.starts_with("<!") => (true, rest),
        _ => (false, trimmed),
    };
    if let Some(cmd) = body.strip_prefix("<!") {
        return Ok(Line::Eval {
            ignore_error,
            command: cmd.trim().to_string(),
        });
    }
    if let Some(cmd) = body.strip_prefix('!') {
        return Ok(Line::Host {
            ignore_error,
            command: cmd.trim().to_string(),
        });
    }
    let tokens = tokenize(trimmed, false)?;
    if tokens.pipe.as_deref() == Some("") {
        return Err(ParseError::EmptyPipe);
    }
    let mut heredoc = None;
    let words: Vec<String> = tokens
        .words
        .into_iter()
        .map(|w| match w.text.strip_prefix("-<<") {
            Some(term) if !w.quoted && !term.is_empty() && heredoc.is_none() => {
                heredoc = Some(term.to_string());
                "-".to_string()
            }
            _ if !w.quoted => expand_tilde(&w.text, &super::hostmisc::home_dir),
            _ => w.text,
        })
        .collect();
    if words.is_empty() {
        return match tokens.pipe {
            Some(_) => Err(ParseError::EmptyPipe),
            None => Ok(Line::Empty),
        };
    }
    let mut command = command_from_words(words)?;
    command.pipe = tokens.pipe;
    command.heredoc = heredoc;
    Ok(Line::Command(command))
}

/// guestfish's tilde expansion of an unquoted word: `~` and `~/...` become the home
/// directory (`home(None)`), `~USER` and `~USER/...` that user's (`home(Some(USER))`); a
/// word whose user has no home stays as written.
pub fn expand_tilde(word: &str, home: &dyn Fn(Option<&str>) -> Option<String>) -> String {
    let Some(rest) = word.strip_prefix('~') else {
        return word.to_string();
    };
    let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match home((!user.is_empty()).then_some(user)) {
        Some(dir) => format!("{dir}{tail}"),
        None => word.to_string(),
    }
}

/// Builds a command from words that are already split (the command line's), handling the
/// leading `-`.
pub fn command_from_words(mut words: Vec<String>) -> Result<Command, ParseError> {
    let first = words.remove(0);
    let (ignore_error, name) = match first.strip_prefix('-') {
        Some("") => return Err(ParseError::DashAlone),
        Some(name) => (true, name.to_string()),
        None => (false, first),
    };
    Ok(Command {
        ignore_error,
        name,
        args: words,
        pipe: None,
        heredoc: None,
    })
}

/// Splits the words after the options on the command line into commands at each `:` word
/// (guestfish style: `-a disk.img -m /dev/sda1 : cat /etc/hostname : ls /etc`).
pub fn split_command_line(words: &[String]) -> Result<Vec<Line>, ParseError> {
    let mut lines = Vec::new();
    for group in words.split(|w| w == ":") {
        let Some(first) = group.first() else { continue };
        let (ignore_error, body) = match first.strip_prefix('-') {
            Some(rest) if rest.starts_with('!') => (true, rest),
            _ => (false, first.as_str()),
        };
        if let Some(cmd) = body.strip_prefix('!') {
            let mut command = cmd.to_string();
            for w in &group[1..] {
                command.push(' ');
                command.push_str(w);
            }
            lines.push(Line::Host {
                ignore_error,
                command: command.trim().to_string(),
            });
            continue;
        }
        lines.push(Line::Command(command_from_words(group.to_vec())?));
    }
    Ok(lines)
}

/// Quotes a word so that [`tokenize`] gives it back unchanged (for completion).
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"\"'|\\#".contains(c));
    if plain {
        return word.to_string();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &str) -> Command {
        match parse_line(line).unwrap() {
            Line::Command(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tilde_expansion() {
        let home = |user: Option<&str>| match user {
            None => Some("/home/me".to_string()),
            Some("root") => Some("/root".to_string()),
            Some(_) => None,
        };
        assert_eq!(expand_tilde("~", &home), "/home/me");
        assert_eq!(expand_tilde("~/foo", &home), "/home/me/foo");
        assert_eq!(expand_tilde("~root", &home), "/root");
        assert_eq!(expand_tilde("~root/foo", &home), "/root/foo");
        assert_eq!(expand_tilde("~nobody-here/x", &home), "~nobody-here/x");
        assert_eq!(expand_tilde("/a/~", &home), "/a/~");
        // Quoted words are not expanded.
        assert_eq!(cmd("echo '~' \"~/x\"").args, ["~", "~/x"]);
    }

    #[test]
    fn words_and_quotes() {
        let c = cmd(r#"write /etc/motd "Hello, \"world\"\n"   'it s \n' "#);
        assert_eq!(c.name, "write");
        assert_eq!(c.args, ["/etc/motd", "Hello, \"world\"\n", "it s \\n"]);
        assert!(!c.ignore_error);
        assert_eq!(cmd(r#"write /x "a\x41\101\e\z""#).args[1], "aAA\x1b\\z");
        assert_eq!(cmd("ls /a\"b c\"d").args, ["/ab cd"]);
        assert_eq!(cmd("echo \"\"").args, [""]);
        assert_eq!(
            parse_line("write /x \"abc").unwrap_err(),
            ParseError::Unterminated('"')
        );
        assert_eq!(
            parse_line("write /x 'abc").unwrap_err(),
            ParseError::Unterminated('\'')
        );
        assert_eq!(
            parse_line(r#"write /x "\xff""#).unwrap_err(),
            ParseError::NonTextEscape(0xff)
        );
    }

    #[test]
    fn guestfish_escape_and_quote_errors() {
        // As fish/test-escapes.sh expects them.
        for bad in [
            r#""\x00""#,
            r#""\000""#,
            r#""\x""#,
            r#""\x0""#,
            r#""\7""#,
            r#""\77""#,
            r#""\777""#,
        ] {
            assert_eq!(
                parse_line(&format!("echo {bad}")).unwrap_err(),
                ParseError::InvalidEscape(0),
                "{bad}"
            );
        }
        assert_eq!(
            parse_line(r#"echo "ab\x4""#).unwrap_err(),
            ParseError::InvalidEscape(2)
        );
        for bad in [r#"echo "\""#, r#"echo "\\\""#, r#"echo ""#] {
            assert_eq!(parse_line(bad).unwrap_err(), ParseError::Unterminated('"'));
        }
        assert_eq!(
            parse_line(r##"echo """"##).unwrap_err(),
            ParseError::NotSeparated
        );
        assert_eq!(
            parse_line("echo 'a'b").unwrap_err(),
            ParseError::NotSeparated
        );
        assert_eq!(cmd(r#"echo "\001\100\x41" "a"|x"#).args, ["\x01@A", "a"]);
        assert_eq!(
            ParseError::InvalidEscape(0).to_string(),
            "invalid escape sequence in string (starting at offset 0)"
        );
        assert_eq!(
            ParseError::Unterminated('"').to_string(),
            "unterminated double quote"
        );
    }

    #[test]
    fn comments_blank_lines_and_prefixes() {
        assert_eq!(parse_line("").unwrap(), Line::Empty);
        assert_eq!(parse_line("   # a comment").unwrap(), Line::Empty);
        assert_eq!(
            parse_line("#!/usr/bin/env guestwright").unwrap(),
            Line::Empty
        );
        let c = cmd("-rm /tmp/x");
        assert!(c.ignore_error);
        assert_eq!(c.name, "rm");
        assert_eq!(parse_line("- rm").unwrap_err(), ParseError::DashAlone);
        assert_eq!(
            parse_line("!ls -l /tmp | wc -l").unwrap(),
            Line::Host {
                ignore_error: false,
                command: "ls -l /tmp | wc -l".into()
            }
        );
        assert_eq!(
            parse_line("-!false").unwrap(),
            Line::Host {
                ignore_error: true,
                command: "false".into()
            }
        );
        assert_eq!(
            parse_line("<! echo ls /").unwrap(),
            Line::Eval {
                ignore_error: false,
                command: "echo ls /".into()
            }
        );
    }

    #[test]
    fn pipes_and_heredocs() {
        let c = cmd("cat /etc/passwd | grep root | wc -l");
        assert_eq!(c.args, ["/etc/passwd"]);
        assert_eq!(c.pipe.as_deref(), Some("grep root | wc -l"));
        assert_eq!(cmd("echo 'a|b'").pipe, None);
        assert_eq!(parse_line("cat /x |").unwrap_err(), ParseError::EmptyPipe);
        assert_eq!(parse_line("| wc").unwrap_err(), ParseError::EmptyPipe);
        let c = cmd("upload -<<END /etc/motd");
        assert_eq!(c.args, ["-", "/etc/motd"]);
        assert_eq!(c.heredoc.as_deref(), Some("END"));
        assert_eq!(cmd("write /x '-<<END'").heredoc, None);
    }

    #[test]
    fn command_line_colons() {
        let words: Vec<String> = [
            "cat",
            "/etc/hostname",
            ":",
            "-rm",
            "/x",
            ":",
            ":",
            "ls",
            "/",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let lines = split_command_line(&words).unwrap();
        assert_eq!(lines.len(), 3);
        let Line::Command(c) = &lines[1] else {
            panic!()
        };
        assert!(c.ignore_error);
        assert_eq!(c.name, "rm");
        // Words on the command line are not split again: spaces and quotes stay.
        let words = vec!["write".to_string(), "/x".into(), "a 'b' c".into()];
        let Line::Command(c) = &split_command_line(&words).unwrap()[0] else {
            panic!()
        };
        assert_eq!(c.args[1], "a 'b' c");
    }

    #[test]
    fn quoting_round_trips() {
        for w in [
            "plain",
            "two words",
            "q\"uote",
            "back\\slash",
            "tab\there",
            "e\x1bx",
            "",
        ] {
            let q = quote(w);
            let t = tokenize(&q, false).unwrap();
            assert_eq!(t.words.len(), 1, "{q}");
            assert_eq!(t.words[0].text, w, "{q}");
        }
        assert_eq!(quote("/etc/passwd"), "/etc/passwd");
    }

    #[test]
    fn lenient_tokens_for_completion() {
        let t = tokenize("cat \"/my dir/fi", true).unwrap();
        assert_eq!(t.open_quote, Some('"'));
        assert_eq!(t.words[1].text, "/my dir/fi");
        assert_eq!(t.words[1].start, 4);
    }
}
