//! Shell-style `KEY=value` files: /etc/sysconfig/network, ifcfg-*, /etc/machine-info,
//! /etc/os-release. Reads a value, sets or removes a key, and keeps every other byte.
//!
//! These files are sourced by shell scripts (initscripts, network-scripts) and parsed by
//! systemd with shell quoting, so a later assignment of a key overrides an earlier one. That is
//! why [`set`] rewrites *every* assignment of the key, not just the first: leaving a stale
//! duplicate below the edited line would silently undo the edit. Never does I/O.

use super::text::{self, Builder, Line};

/// One parsed assignment line.
struct Assignment<'a> {
    /// Leading whitespace plus an optional `export `.
    prefix: &'a [u8],
    key: &'a [u8],
    /// The raw value as written, quotes included.
    raw_value: &'a [u8],
    /// Whatever follows the value (spaces, a comment).
    rest: &'a [u8],
}

fn parse(line: &[u8]) -> Option<Assignment<'_>> {
    let ind = text::indent(line).len();
    let mut start = ind;
    if line[start..].starts_with(b"export ") {
        start += b"export ".len();
        start += text::indent(&line[start..]).len();
    }
    let eq = start + line[start..].iter().position(|&b| b == b'=')?;
    let key = &line[start..eq];
    if key.is_empty() || !key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
        return None;
    }
    let v = &line[eq + 1..];
    let end = value_end(v);
    Some(Assignment {
        prefix: &line[..start],
        key,
        raw_value: &v[..end],
        rest: &v[end..],
    })
}

/// Where a shell word starting at `v[0]` ends.
fn value_end(v: &[u8]) -> usize {
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b' ' | b'\t' => return i,
            b'\\' => i += 2,
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < v.len() && v[i] != q {
                    if q == b'"' && v[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    v.len()
}

/// Removes shell quoting from a raw value (`"a b"`, `'a'`, `a\ b`).
fn unquote(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\\' if i + 1 < raw.len() => {
                out.push(raw[i + 1]);
                i += 2;
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < raw.len() && raw[i] != q {
                    if q == b'"' && raw[i] == b'\\' && i + 1 < raw.len() {
                        i += 1;
                    }
                    out.push(raw[i]);
                    i += 1;
                }
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn needs_quotes(value: &[u8]) -> bool {
    value.is_empty()
        || !value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(b))
}

/// Writes `value` the way the old value was quoted: double quotes stay double quotes, single
/// quotes stay single (when the value allows it), and a bare value gets quotes only when the
/// shell needs them.
fn quote(value: &[u8], old_raw: Option<&[u8]>) -> Vec<u8> {
    let style = old_raw.and_then(|r| r.first().copied());
    if style == Some(b'\'') && !value.contains(&b'\'') {
        return [&b"'"[..], value, b"'"].concat();
    }
    if style == Some(b'"') || needs_quotes(value) {
        let mut out = vec![b'"'];
        for &b in value {
            if matches!(b, b'"' | b'\\' | b'$' | b'`') {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
        return out;
    }
    value.to_vec()
}

/// The value of `key` (the last assignment, as the shell would see it), unquoted.
pub fn get(content: &[u8], key: &str) -> Option<Vec<u8>> {
    text::lines(content)
        .iter()
        .rev()
        .filter(|l| !l.is_comment_or_blank())
        .filter_map(|l| parse(l.body))
        .find(|a| a.key == key.as_bytes())
        .map(|a| unquote(a.raw_value))
}

/// Sets `key` to `value` in every assignment of it, or appends `KEY=value` if there is none.
/// Quoting follows the old value's style; `export`, indentation and trailing comments stay.
pub fn set(content: &[u8], key: &str, value: &str) -> Vec<u8> {
    let mut b = Builder::like(content);
    let mut found = false;
    for l in text::lines(content) {
        match assignment_of(&l, key) {
            Some(a) => {
                found = true;
                let new = [
                    a.prefix,
                    a.key,
                    b"=",
                    &quote(value.as_bytes(), Some(a.raw_value)),
                    a.rest,
                ]
                .concat();
                b.replace(&l, &new);
            }
            None => b.keep(&l),
        }
    }
    if !found {
        b.push(&[key.as_bytes(), b"=", &quote(value.as_bytes(), None)].concat());
    }
    b.finish()
}

/// Removes every assignment of `key`; other lines stay byte for byte.
pub fn remove(content: &[u8], key: &str) -> Vec<u8> {
    remove_where(content, |k| k == key.as_bytes())
}

/// Removes every assignment whose key satisfies `pred`.
pub fn remove_where(content: &[u8], pred: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut b = Builder::like(content);
    for l in text::lines(content) {
        let drop = !l.is_comment_or_blank() && parse(l.body).is_some_and(|a| pred(a.key));
        if !drop {
            b.keep(&l);
        }
    }
    b.finish()
}

/// Every assignment in file order, as (key, unquoted value).
pub fn entries(content: &[u8]) -> Vec<(String, Vec<u8>)> {
    text::lines(content)
        .iter()
        .filter(|l| !l.is_comment_or_blank())
        .filter_map(|l| parse(l.body))
        .map(|a| {
            (
                String::from_utf8_lossy(a.key).into_owned(),
                unquote(a.raw_value),
            )
        })
        .collect()
}

fn assignment_of<'a>(l: &Line<'a>, key: &str) -> Option<Assignment<'a>> {
    if l.is_comment_or_blank() {
        return None;
    }
    parse(l.body).filter(|a| a.key == key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_reads_last_assignment_unquoted() {
        let c = b"# HOSTNAME=commented\nHOSTNAME=one\nexport HOSTNAME=\"two words\" # note\n";
        assert_eq!(get(c, "HOSTNAME").unwrap(), b"two words");
        assert_eq!(get(b"A='x y'\n", "A").unwrap(), b"x y");
        assert_eq!(get(b"A=x\\ y\n", "A").unwrap(), b"x y");
        assert_eq!(get(b"A=1\n", "B"), None);
    }

    #[test]
    fn set_rewrites_every_assignment_and_keeps_style() {
        let c = b"NETWORKING=yes\nHOSTNAME=\"old\"\n# HOSTNAME=doc\n  export HOSTNAME=old # why\n";
        let out = set(c, "HOSTNAME", "new.example.com");
        assert_eq!(
            out,
            b"NETWORKING=yes\nHOSTNAME=\"new.example.com\"\n# HOSTNAME=doc\n  export HOSTNAME=new.example.com # why\n"
        );
        assert_eq!(set(&out, "HOSTNAME", "new.example.com"), out);
    }

    #[test]
    fn set_appends_when_missing_and_quotes_when_needed() {
        assert_eq!(set(b"A=1", "B", "x y"), b"A=1\nB=\"x y\"\n");
        assert_eq!(set(b"", "B", "x"), b"B=x\n");
        assert_eq!(set(b"A=1\r\n", "B", "$v"), b"A=1\r\nB=\"\\$v\"\r\n");
        assert_eq!(set(b"B='old'\n", "B", "it's"), b"B=\"it's\"\n");
    }

    #[test]
    fn remove_keeps_comments_and_other_keys() {
        let c = b"DEVICE=eth0\r\nHWADDR=52:54:00:12:34:56\r\n#HWADDR=keep\r\nONBOOT=yes";
        assert_eq!(
            remove(c, "HWADDR"),
            b"DEVICE=eth0\r\n#HWADDR=keep\r\nONBOOT=yes"
        );
    }
}
