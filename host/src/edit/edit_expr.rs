//! `--edit PATH:s/REGEX/REPLACEMENT/[FLAGS]`: a sed `s` command over a file's lines.
//!
//! - Any delimiter, as in sed (`s|a|b|`, `s#x#y#g`); `\DELIM` stands for the delimiter itself.
//! - REGEX is Rust `regex` syntax, matched on bytes, so files that are not UTF-8 still work.
//! - REPLACEMENT is Perl's, as in virt-customize (which runs the expression with perl):
//!   `$&` is the whole match, `$1`…`$9`, `${N}` and `\1`…`\9` the groups, `&` is literal,
//!   `\$`, `\&` and `\\` are literal, `\n` and `\t` a newline and a tab; any other `$` is
//!   literal (Perl would interpolate a variable; guestwright has none).
//! - FLAGS: `g` replaces every match on a line (without it, the first match per line, like sed);
//!   `i` matches case-insensitively.
//!
//! Each line is matched without its line ending, which is kept. Whether a second run changes
//! anything depends on the expression (`s/^#PermitRootLogin.*/PermitRootLogin no/` is
//! idempotent, `s/a/aa/` is not). Never does I/O.

use regex::bytes::{Regex, RegexBuilder};

use super::text::{self, Builder};

/// Errors of `--edit`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditExprError {
    /// Not `PATH:EXPR`.
    #[error("invalid --edit {0:?}: use /absolute/path:s/REGEX/REPLACEMENT/[gi]")]
    Spec(String),
    /// The expression is not `s/…/…/flags`.
    #[error("invalid expression {expr:?}: {reason}; write s/REGEX/REPLACEMENT/ with optional flags g and i")]
    Expr {
        /// The expression.
        expr: String,
        /// What is wrong.
        reason: String,
    },
    /// The regex does not compile.
    #[error("invalid regular expression {pattern:?}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// Why.
        #[source]
        source: regex::Error,
    },
}

/// One piece of a replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Vec<u8>),
    Group(usize),
}

/// A compiled `s` command.
#[derive(Debug, Clone)]
pub struct Substitution {
    regex: Regex,
    replacement: Vec<Piece>,
    global: bool,
}

/// Splits `--edit PATH:EXPR` at the first `:` and parses the expression.
pub fn parse_edit_arg(arg: &str) -> Result<(String, Substitution), EditExprError> {
    let (path, expr) = arg
        .split_once(':')
        .ok_or_else(|| EditExprError::Spec(arg.to_owned()))?;
    if !path.starts_with('/') {
        return Err(EditExprError::Spec(arg.to_owned()));
    }
    Ok((path.to_owned(), Substitution::parse(expr)?))
}

impl Substitution {
    /// Parses `s<D>REGEX<D>REPLACEMENT<D>[FLAGS]`.
    pub fn parse(expr: &str) -> Result<Substitution, EditExprError> {
        let bad = |reason: &str| EditExprError::Expr {
            expr: expr.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = expr
            .strip_prefix('s')
            .ok_or_else(|| bad("it does not start with 's'"))?;
        let delim = rest
            .chars()
            .next()
            .ok_or_else(|| bad("it has no delimiter after 's'"))?;
        if delim == '\\' || delim == '\n' || delim.is_alphanumeric() {
            return Err(bad(
                "the delimiter must not be a backslash, newline, letter or digit",
            ));
        }
        let rest = &rest[delim.len_utf8()..];
        let (pattern, rest) =
            split_at_delim(rest, delim).ok_or_else(|| bad("the regex is not closed"))?;
        let (repl, flags) =
            split_at_delim(rest, delim).ok_or_else(|| bad("the replacement is not closed"))?;
        let (mut global, mut icase) = (false, false);
        for f in flags.chars() {
            match f {
                'g' if !global => global = true,
                'i' | 'I' if !icase => icase = true,
                _ => return Err(bad(&format!("unknown or repeated flag {f:?}"))),
            }
        }
        let pattern = unescape_delim_in_regex(pattern, delim);
        let regex = RegexBuilder::new(&pattern)
            .case_insensitive(icase)
            .build()
            .map_err(|source| EditExprError::Regex {
                pattern: pattern.clone(),
                source,
            })?;
        let replacement = parse_replacement(repl, delim);
        if let Some(g) = replacement.iter().find_map(|p| match p {
            Piece::Group(g) if *g >= regex.captures_len() => Some(*g),
            _ => None,
        }) {
            return Err(bad(&format!(
                "\\{g} refers to a group the regex does not have"
            )));
        }
        Ok(Substitution {
            regex,
            replacement,
            global,
        })
    }

    /// Applies the substitution to every line of `content`.
    pub fn apply(&self, content: &[u8]) -> Vec<u8> {
        let mut b = Builder::like(content);
        for l in text::lines(content) {
            match self.apply_to_body(l.body) {
                Some(out) => b.replace(&l, &out),
                None => b.keep(&l),
            }
        }
        b.finish()
    }

    /// The line `body` (without its terminator) after the substitution, or `None` when the
    /// regex does not match it.
    pub(crate) fn apply_to_body(&self, body: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(body.len());
        let mut last = 0;
        let mut matched = false;
        for caps in self.regex.captures_iter(body) {
            let m = caps.get(0).expect("group 0 always matches");
            out.extend_from_slice(&body[last..m.start()]);
            for p in &self.replacement {
                match p {
                    Piece::Literal(s) => out.extend_from_slice(s),
                    Piece::Group(g) => {
                        out.extend_from_slice(caps.get(*g).map_or(&b""[..], |m| m.as_bytes()))
                    }
                }
            }
            last = m.end();
            matched = true;
            if !self.global {
                break;
            }
        }
        matched.then(|| {
            out.extend_from_slice(&body[last..]);
            out
        })
    }
}

/// Splits at the first unescaped `delim`, returning the part before (escapes intact) and after.
pub(crate) fn split_at_delim(s: &str, delim: char) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == delim {
            return Some((&s[..i], &s[i + c.len_utf8()..]));
        }
    }
    None
}

/// `\DELIM` in the regex means a literal delimiter.
pub(crate) fn unescape_delim_in_regex(p: &str, delim: char) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) if n == delim => out.push_str(&regex::escape(&n.to_string())),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_replacement(r: &str, delim: char) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = Vec::new();
    let chars = r.chars();
    let flush = |lit: &mut Vec<u8>, pieces: &mut Vec<Piece>| {
        if !lit.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(lit)));
        }
    };
    let mut chars = chars.peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => {
                let group = match chars.peek() {
                    Some('&') => Some(0),
                    Some(d @ '0'..='9') => Some(*d as usize - '0' as usize),
                    Some('{') => {
                        let mut probe = chars.clone();
                        probe.next();
                        let digits: String = probe.by_ref().take_while(|c| *c != '}').collect();
                        match digits.parse::<usize>() {
                            Ok(n)
                                if !digits.is_empty()
                                    && digits.chars().all(|c| c.is_ascii_digit()) =>
                            {
                                // `{`, the digits and `}`.
                                for _ in 0..digits.len() + 1 {
                                    chars.next();
                                }
                                Some(n)
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                match group {
                    Some(g) => {
                        chars.next();
                        flush(&mut lit, &mut pieces);
                        pieces.push(Piece::Group(g));
                    }
                    None => lit.push(b'$'),
                }
            }
            '\\' => match chars.next() {
                Some(d @ '0'..='9') => {
                    flush(&mut lit, &mut pieces);
                    pieces.push(Piece::Group(d as usize - '0' as usize));
                }
                Some('n') => lit.push(b'\n'),
                Some('t') => lit.push(b'\t'),
                Some(o) if o == delim || o == '&' || o == '\\' || o == '$' || o == '@' => {
                    let mut buf = [0; 4];
                    lit.extend_from_slice(o.encode_utf8(&mut buf).as_bytes());
                }
                Some(o) => {
                    let mut buf = [0; 4];
                    lit.push(b'\\');
                    lit.extend_from_slice(o.encode_utf8(&mut buf).as_bytes());
                }
                None => lit.push(b'\\'),
            },
            c => {
                let mut buf = [0; 4];
                lit.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    flush(&mut lit, &mut pieces);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(expr: &str, input: &[u8]) -> Vec<u8> {
        Substitution::parse(expr).unwrap().apply(input)
    }

    const SSHD: &str = "# $OpenBSD: sshd_config,v 1.104 2021/07/02 05:11:21 dtucker Exp $\n\nInclude /etc/ssh/sshd_config.d/*.conf\n\n#PermitRootLogin prohibit-password\n#StrictModes yes\n#MaxAuthTries 6\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM yes\n";

    #[test]
    fn sshd_config_edit_is_exact_and_idempotent() {
        let s = Substitution::parse("s/^#?PermitRootLogin .*/PermitRootLogin no/").unwrap();
        let out = s.apply(SSHD.as_bytes());
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            SSHD.replace("#PermitRootLogin prohibit-password", "PermitRootLogin no")
        );
        assert_eq!(s.apply(&out), out);
    }

    #[test]
    fn first_match_per_line_unless_g() {
        assert_eq!(sub("s/a/X/", b"aaa\naa\nb"), b"Xaa\nXa\nb");
        assert_eq!(sub("s/a/X/g", b"aaa\naa\nb"), b"XXX\nXX\nb");
        assert_eq!(sub("s/A/x/gi", b"aA\r\n"), b"xx\r\n");
    }

    #[test]
    fn delimiters_escapes_and_groups() {
        assert_eq!(
            sub("s|/usr/bin|/opt/bin|", b"PATH=/usr/bin:/bin\n"),
            b"PATH=/opt/bin:/bin\n"
        );
        assert_eq!(
            sub(r"s/\/tmp/\/var\/tmp/", b"dir=/tmp\n"),
            b"dir=/var/tmp\n"
        );
        // a regex-special delimiter escaped means the literal character
        assert_eq!(sub(r"s.a\.b.X.", b"a.b axb\n"), b"X axb\n");
        assert_eq!(
            sub(r"s/(\w+)=(\w+)/\2=\1 [$&]/", b"key=value\n"),
            b"value=key [key=value]\n"
        );
        assert_eq!(sub(r"s/x/a\&b\\c\$1/", b"x\n"), b"a&b\\c$1\n");
        assert_eq!(sub(r"s/;/\n/g", b"a;b"), b"a\nb");
        assert_eq!(sub("s#é#e#", "café\n".as_bytes()), b"cafe\n");
    }

    /// virt-customize runs --edit's expression with perl: `&` is literal and `$N`, `${N}`
    /// and `$&` are groups (sed's `&` meaning gave `<&>` where virt-customize gives `<1>`).
    #[test]
    fn replacement_is_perl_s_not_sed_s() {
        assert_eq!(sub(r"s/(\d+)/<$1>/g", b"ext4 0 1\n"), b"ext<4> <0> <1>\n");
        assert_eq!(
            sub(r"s/^(\w)(.*)$/[$&] & \2${1}\$/", b"debian-tmpl\n"),
            b"[debian-tmpl] & ebian-tmpld$\n"
        );
        assert_eq!(sub(r"s/a/$x ${y} $/", b"a\n"), b"$x ${y} $\n");
        assert!(Substitution::parse(r"s/a/$2/").is_err());
    }

    #[test]
    fn non_utf8_and_untouched_lines() {
        let input = b"\xff\xfe keep\nname=old\n";
        assert_eq!(sub("s/old/new/", input), b"\xff\xfe keep\nname=new\n");
        assert_eq!(sub("s/nomatch/x/", b"no newline"), b"no newline");
        assert_eq!(sub("s/^/# /", b""), b"");
        let long = "a".repeat(100_000);
        assert_eq!(sub("s/a$/b/", long.as_bytes()).last(), Some(&b'b'));
    }

    #[test]
    fn errors() {
        for bad in [
            "", "y/a/b/", "s", "s/a/b", "s/a", "s/a/b/q", "s/a/b/gg", "s/(/x/", r"s/a/\1/",
            "sxaxbx",
        ] {
            assert!(Substitution::parse(bad).is_err(), "{bad:?}");
        }
        let e = Substitution::parse("s/(/x/").unwrap_err();
        assert!(matches!(e, EditExprError::Regex { .. }));
        let (p, s) = parse_edit_arg("/etc/ssh/sshd_config:s/a:b/c/").unwrap();
        assert_eq!(p, "/etc/ssh/sshd_config");
        assert_eq!(s.apply(b"a:b\n"), b"c\n");
        assert!(parse_edit_arg("etc/x:s/a/b/").is_err());
        assert!(parse_edit_arg("/etc/x").is_err());
    }
}
