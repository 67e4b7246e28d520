//! `virt-edit -e EXPR`: the Perl statement virt-edit runs on each line of a file, for the
//! statements its manual shows.
//!
//! virt-edit evaluates EXPR with perl for every line, the line (with its final `\n`) in `$_`
//! and its number (from 1) in `$lineno`, and writes whatever `$_` holds afterwards. There is
//! no Perl here, so this module takes the statements the manual documents and refuses the rest
//! with a message that names what is taken:
//!
//! - `s/REGEX/REPLACEMENT/[gi]`: a substitution ([`Substitution`]: Rust regex syntax);
//! - `$_ = "TEXT"`: the line becomes TEXT (`$_ = ""` deletes it, terminator included);
//! - `$_ .= "TEXT"` and `$_ = "TEXT" . $_`: TEXT is added after or before the line (its
//!   terminator included, so `"new line\n"` inserts a line);
//!
//! each optionally followed by `if COND` or `unless COND`, where COND is `/REGEX/[i]` (also
//! written `m/REGEX/`, `$_ =~ /REGEX/`), its negation (`!/REGEX/`, `$_ !~ /REGEX/`), or
//! `$lineno OP N` with OP one of `==`, `!=`, `<`, `<=`, `>`, `>=`. A final `;` is allowed.
//!
//! TEXT is a Perl string: `"..."` with the escapes `\n`, `\t`, `\r`, `\0`, `\\`, `\"`, `\$`,
//! `\@`, or `'...'` with `\\` and `\'`. A `$` or `@` that Perl would interpolate is refused:
//! there are no variables here to put in. Never does I/O.

use regex::bytes::{Regex, RegexBuilder};

use super::edit_expr::{self, EditExprError, Substitution};
use super::text;

/// Errors of `virt-edit -e`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineExprError {
    /// Not one of the statements this module takes.
    #[error(
        "-e {expr:?}: {reason}; guestwright has no Perl and takes s/REGEX/REPLACEMENT/[gi], \
         $_ = \"TEXT\", $_ .= \"TEXT\" or $_ = \"TEXT\" . $_, each optionally followed by \
         `if` or `unless` and /REGEX/ or $lineno == N"
    )]
    Syntax {
        /// The expression.
        expr: String,
        /// What is wrong.
        reason: String,
    },
    /// The substitution is wrong.
    #[error("-e {expr:?}")]
    Substitution {
        /// The expression.
        expr: String,
        /// Why.
        #[source]
        source: EditExprError,
    },
    /// A condition's regex does not compile.
    #[error("-e {expr:?}: invalid regular expression {pattern:?}")]
    Regex {
        /// The expression.
        expr: String,
        /// The pattern.
        pattern: String,
        /// Why.
        #[source]
        source: regex::Error,
    },
}

/// What the statement does to `$_`.
#[derive(Debug, Clone)]
enum Action {
    Substitute(Substitution),
    Assign(Vec<u8>),
    Append(Vec<u8>),
    Prepend(Vec<u8>),
}

/// A comparison of `$lineno`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// When the statement runs.
#[derive(Debug, Clone)]
enum Cond {
    /// The line matches (or, negated, does not match) the regex.
    Match { regex: Regex, negated: bool },
    /// `$lineno OP N`.
    LineNo(Cmp, u64),
}

/// One parsed `-e` statement.
#[derive(Debug, Clone)]
pub struct LineExpr {
    action: Action,
    /// The condition and whether it was written with `unless`.
    cond: Option<(Cond, bool)>,
}

impl LineExpr {
    /// Parses a statement (see the module documentation for what is taken).
    pub fn parse(expr: &str) -> Result<LineExpr, LineExprError> {
        let p = Parser { expr };
        p.statement()
    }

    /// Runs the statement on every line of `content`, as virt-edit's loop does.
    pub fn apply(&self, content: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(content.len() + 64);
        for (n, l) in text::lines(content).into_iter().enumerate() {
            // `$_` is the line with its terminator; a regex sees it without, which is the
            // same for Perl's `$` (it matches before a final "\n").
            let lineno = n as u64 + 1;
            let runs = match &self.cond {
                None => true,
                Some((c, unless)) => c.holds(l.body, lineno) != *unless,
            };
            if !runs {
                out.extend_from_slice(l.body);
                out.extend_from_slice(l.eol);
                continue;
            }
            match &self.action {
                Action::Substitute(s) => {
                    out.extend_from_slice(s.apply_to_body(l.body).as_deref().unwrap_or(l.body));
                    out.extend_from_slice(l.eol);
                }
                Action::Assign(t) => out.extend_from_slice(t),
                Action::Append(t) => {
                    out.extend_from_slice(l.body);
                    out.extend_from_slice(l.eol);
                    out.extend_from_slice(t);
                }
                Action::Prepend(t) => {
                    out.extend_from_slice(t);
                    out.extend_from_slice(l.body);
                    out.extend_from_slice(l.eol);
                }
            }
        }
        out
    }
}

impl Cond {
    fn holds(&self, body: &[u8], lineno: u64) -> bool {
        match self {
            Cond::Match { regex, negated } => regex.is_match(body) != *negated,
            Cond::LineNo(cmp, n) => match cmp {
                Cmp::Eq => lineno == *n,
                Cmp::Ne => lineno != *n,
                Cmp::Lt => lineno < *n,
                Cmp::Le => lineno <= *n,
                Cmp::Gt => lineno > *n,
                Cmp::Ge => lineno >= *n,
            },
        }
    }
}

struct Parser<'a> {
    expr: &'a str,
}

impl<'a> Parser<'a> {
    fn bad(&self, reason: impl Into<String>) -> LineExprError {
        LineExprError::Syntax {
            expr: self.expr.to_owned(),
            reason: reason.into(),
        }
    }

    fn statement(&self) -> Result<LineExpr, LineExprError> {
        let s = self.expr.trim();
        let s = s.strip_suffix(';').unwrap_or(s).trim_end();
        let (action, rest) = self.action(s)?;
        let rest = rest.trim_start();
        let cond = if rest.is_empty() {
            None
        } else if let Some(c) = keyword(rest, "if") {
            Some((self.cond(c)?, false))
        } else if let Some(c) = keyword(rest, "unless") {
            Some((self.cond(c)?, true))
        } else {
            return Err(self.bad(format!("unexpected {rest:?} after the statement")));
        };
        Ok(LineExpr { action, cond })
    }

    /// The action and the text after it.
    fn action(&self, s: &'a str) -> Result<(Action, &'a str), LineExprError> {
        if let Some(rest) = s.strip_prefix("$_") {
            let rest = rest.trim_start();
            if let Some(rest) = rest.strip_prefix(".=") {
                let (t, rest) = self.string(rest.trim_start())?;
                return Ok((Action::Append(t), rest));
            }
            let Some(rest) = rest
                .strip_prefix('=')
                .filter(|r| !r.starts_with(['=', '~']))
            else {
                return Err(self.bad("after $_ comes = or .="));
            };
            let (t, rest) = self.string(rest.trim_start())?;
            let after = rest.trim_start();
            if let Some(r) = after.strip_prefix('.') {
                if let Some(r) = r.trim_start().strip_prefix("$_") {
                    return Ok((Action::Prepend(t), r));
                }
                return Err(self.bad("only $_ may follow the string's `.`"));
            }
            return Ok((Action::Assign(t), rest));
        }
        if s.starts_with('s') && s[1..].starts_with(|c: char| !c.is_alphanumeric() && c != '_') {
            let end = self.substitution_end(s)?;
            let sub =
                Substitution::parse(&s[..end]).map_err(|source| LineExprError::Substitution {
                    expr: self.expr.to_owned(),
                    source,
                })?;
            return Ok((Action::Substitute(sub), &s[end..]));
        }
        Err(self.bad("it is not one of the statements taken"))
    }

    /// The length of the `s<D>..<D>..<D>flags` at the start of `s`.
    fn substitution_end(&self, s: &str) -> Result<usize, LineExprError> {
        let delim = s[1..].chars().next().expect("checked by the caller");
        let body = &s[1 + delim.len_utf8()..];
        let (_, rest) = edit_expr::split_at_delim(body, delim)
            .ok_or_else(|| self.bad("the substitution's regex is not closed"))?;
        let (_, rest) = edit_expr::split_at_delim(rest, delim)
            .ok_or_else(|| self.bad("the substitution's replacement is not closed"))?;
        let flags = rest.len() - rest.trim_start_matches(char::is_alphabetic).len();
        Ok(s.len() - rest.len() + flags)
    }

    /// A Perl string literal at the start of `s`, and the text after it.
    fn string(&self, s: &'a str) -> Result<(Vec<u8>, &'a str), LineExprError> {
        let mut chars = s.char_indices();
        let quote = match chars.next() {
            Some((_, q @ ('"' | '\''))) => q,
            _ => return Err(self.bad("a string in \"...\" or '...' must follow")),
        };
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => return Ok((out.into_bytes(), &s[i + 1..])),
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    match (quote, e) {
                        ('"', 'n') => out.push('\n'),
                        ('"', 't') => out.push('\t'),
                        ('"', 'r') => out.push('\r'),
                        ('"', '0') => out.push('\0'),
                        ('"', '\\' | '"' | '$' | '@') | ('\'', '\\' | '\'') => out.push(e),
                        ('\'', _) => {
                            out.push('\\');
                            out.push(e);
                        }
                        _ => return Err(self.bad(format!("the escape \\{e} is not taken"))),
                    }
                }
                '$' | '@' if quote == '"' => {
                    return Err(self.bad(format!(
                        "{c} in a \"...\" string would interpolate a Perl variable: write \\{c}"
                    )))
                }
                c => out.push(c),
            }
        }
        Err(self.bad("the string is not closed"))
    }

    fn cond(&self, s: &str) -> Result<Cond, LineExprError> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("$lineno") {
            let rest = rest.trim_start();
            let ops = [
                ("==", Cmp::Eq),
                ("!=", Cmp::Ne),
                ("<=", Cmp::Le),
                (">=", Cmp::Ge),
                ("<", Cmp::Lt),
                (">", Cmp::Gt),
            ];
            let (cmp, n) = ops
                .iter()
                .find_map(|(op, c)| rest.strip_prefix(op).map(|n| (*c, n.trim())))
                .ok_or_else(|| self.bad("$lineno is compared with ==, !=, <, <=, > or >="))?;
            let n = n
                .parse()
                .map_err(|_| self.bad(format!("{n:?} is not a line number")))?;
            return Ok(Cond::LineNo(cmp, n));
        }
        let (negated, m) = if let Some(r) = s.strip_prefix("$_") {
            let r = r.trim_start();
            if let Some(r) = r.strip_prefix("=~") {
                (false, r.trim_start())
            } else if let Some(r) = r.strip_prefix("!~") {
                (true, r.trim_start())
            } else {
                return Err(self.bad("$_ is matched with =~ or !~"));
            }
        } else if let Some(r) = s.strip_prefix('!') {
            (true, r.trim_start())
        } else {
            (false, s)
        };
        let (delim, body) = if let Some(b) = m.strip_prefix('/') {
            ('/', b)
        } else if let Some(d) = m
            .strip_prefix('m')
            .and_then(|r| r.chars().next())
            .filter(|c| !c.is_alphanumeric() && !c.is_whitespace() && *c != '\\')
        {
            (d, &m[1 + d.len_utf8()..])
        } else {
            return Err(self.bad("a condition is /REGEX/ or $lineno == N"));
        };
        let (pattern, flags) = edit_expr::split_at_delim(body, delim)
            .ok_or_else(|| self.bad("the condition's regex is not closed"))?;
        let icase = match flags.trim() {
            "" => false,
            "i" => true,
            f => return Err(self.bad(format!("the match flags {f:?} are not taken (only i)"))),
        };
        let pattern = edit_expr::unescape_delim_in_regex(pattern, delim);
        let regex = RegexBuilder::new(&pattern)
            .case_insensitive(icase)
            .build()
            .map_err(|source| LineExprError::Regex {
                expr: self.expr.to_owned(),
                pattern: pattern.clone(),
                source,
            })?;
        Ok(Cond::Match { regex, negated })
    }
}

/// `s` without the leading `word` and the blank after it, when it starts with both.
fn keyword<'s>(s: &'s str, word: &str) -> Option<&'s str> {
    s.strip_prefix(word)
        .filter(|r| r.starts_with(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expr: &str, input: &str) -> String {
        let e = LineExpr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        String::from_utf8(e.apply(input.as_bytes())).unwrap()
    }

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          apache:x:48:48::/var/www:/sbin/nologin\n\
                          alice:x:1000:1000::/home/alice:/bin/bash\n";

    #[test]
    fn the_manuals_examples() {
        // virt-edit(1), NON-INTERACTIVE EDITING.
        assert_eq!(
            run(r#"$_ = "" if /^apache:/"#, PASSWD),
            "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
        );
        assert_eq!(
            run("s/^root:.*?:/root::/", PASSWD).lines().next().unwrap(),
            "root::0:0:root:/root:/bin/bash"
        );
        assert_eq!(
            run("s/^id:.*/id:5:initdefault:/", "id:3:initdefault:\nx\n"),
            "id:5:initdefault:\nx\n"
        );
    }

    #[test]
    fn insert_append_and_line_numbers() {
        assert_eq!(
            run(r##"$_ = "# top\n" . $_ if $lineno == 1"##, "a\nb\n"),
            "# top\na\nb\n"
        );
        assert_eq!(
            run(r#"$_ .= "after\n" if /^a$/;"#, "a\nb\n"),
            "a\nafter\nb\n"
        );
        assert_eq!(
            run(r#"$_ = "x\n" unless $lineno < 2"#, "a\nb\nc\n"),
            "a\nx\nx\n"
        );
        assert_eq!(run("s/b/B/ if $lineno >= 2", "b\nb\n"), "b\nB\n");
        assert_eq!(
            run(r#"$_ = '' if $_ !~ m|^keep|i"#, "KEEP 1\ndrop\n"),
            "KEEP 1\n"
        );
        assert_eq!(run(r#"$_ = "" unless /^#/"#, "#c\nx"), "#c\n");
        // The line is all of `$_`: a DOS terminator goes with it.
        assert_eq!(run(r#"$_ = "" if /^b/"#, "a\r\nb\r\nc\r\n"), "a\r\nc\r\n");
    }

    #[test]
    fn strings_are_perls() {
        assert_eq!(run(r#"$_ = "t\tq\"\$\\\n""#, "a\n"), "t\tq\"$\\\n");
        assert_eq!(run(r#"$_ = 'it\'s \n'"#, "a\n"), "it's \\n");
    }

    #[test]
    fn what_is_refused_says_what_is_taken() {
        for bad in [
            "chomp",
            "tr/a-z/A-Z/",
            r#"$_ = "$x" if /a/"#,
            r#"$_ = "" if"#,
            r#"$_ = "" if $lineno ~ 3"#,
            r#"$_ = "" if /a/x"#,
            r#"$_ = "" or die"#,
            r#"$_ == 1"#,
            r#"$_ = "open"#,
            "s/a/b",
        ] {
            let e = LineExpr::parse(bad).expect_err(bad).to_string();
            assert!(e.starts_with(&format!("-e {bad:?}")), "{bad}: {e}");
        }
        let e = LineExpr::parse("tr/a/b/").unwrap_err().to_string();
        assert!(e.contains("takes s/REGEX/REPLACEMENT/[gi]"), "{e}");
        assert!(matches!(
            LineExpr::parse("s/(/x/"),
            Err(LineExprError::Substitution { .. })
        ));
        assert!(matches!(
            LineExpr::parse(r#"$_ = "" if /(/"#),
            Err(LineExprError::Regex { .. })
        ));
    }
}
