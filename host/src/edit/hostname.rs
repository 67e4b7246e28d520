//! `--hostname`: the new contents of every file that names the machine.
//!
//! - /etc/hostname (and SUSE's /etc/HOSTNAME): [`edit_hostname_file`];
//! - /etc/hosts: [`edit_hosts`], the old name replaced as a whole word, and on Debian and
//!   Ubuntu a `127.0.1.1 FQDN SHORT` line added when no line carries the new name;
//! - /etc/sysconfig/network `HOSTNAME=` (RHEL 6 and older): [`edit_sysconfig_network`];
//! - /etc/machine-info `PRETTY_HOSTNAME=` (systemd): [`edit_machine_info`].
//!
//! Pure functions over file contents; the caller reads and writes the files. Never does I/O.

use std::fmt;

use super::sysconfig;
use super::text::{self, Builder};

/// Errors of the hostname editors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostnameError {
    /// The name breaks RFC 1123.
    #[error("invalid hostname {name:?}: {reason}; use letters, digits and '-' in dot-separated labels of 1 to 63 characters (253 in all), e.g. web-01 or web-01.example.com")]
    Invalid {
        /// The rejected name.
        name: String,
        /// What rule it breaks.
        reason: &'static str,
    },
}

/// A validated host name: RFC 1123 labels separated by dots; an FQDN is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname(String);

impl Hostname {
    /// Validates `name`: 1 to 253 characters, labels of 1 to 63 of `[A-Za-z0-9-]` that neither
    /// start nor end with `-`; no trailing dot.
    pub fn parse(name: &str) -> Result<Hostname, HostnameError> {
        let bad = |reason| {
            Err(HostnameError::Invalid {
                name: name.to_owned(),
                reason,
            })
        };
        if name.is_empty() {
            return bad("it is empty");
        }
        if name.len() > 253 {
            return bad("it is longer than 253 characters");
        }
        for label in name.split('.') {
            if label.is_empty() {
                return bad("it has an empty label (two dots in a row, or a dot at either end)");
            }
            if label.len() > 63 {
                return bad("a label is longer than 63 characters");
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return bad("it has a character other than a letter, digit, '-' or '.'");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return bad("a label starts or ends with '-'");
            }
        }
        if name
            .split('.')
            .all(|l| l.bytes().all(|b| b.is_ascii_digit()))
        {
            return bad("it is all digits, which reads as an address");
        }
        Ok(Hostname(name.to_owned()))
    }

    /// The full name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first label (`web-01` of `web-01.example.com`).
    pub fn short(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }

    /// True when the name has a domain part.
    pub fn is_fqdn(&self) -> bool {
        self.0.contains('.')
    }

    /// The names Debian puts on the 127.0.1.1 line: `fqdn short`, or just `name`.
    pub fn loopback_names(&self) -> String {
        if self.is_fqdn() {
            format!("{} {}", self.0, self.short())
        } else {
            self.0.clone()
        }
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host name written in an /etc/hostname-style file: the first line that is neither blank
/// nor a comment, trimmed. `None` when there is none.
pub fn read_hostname(content: &[u8]) -> Option<String> {
    text::lines(content)
        .iter()
        .find(|l| !l.is_comment_or_blank())
        .map(|l| String::from_utf8_lossy(l.trimmed()).into_owned())
}

/// New /etc/hostname (or SUSE /etc/HOSTNAME) contents: the first name line replaced, comments
/// kept; a missing or empty file becomes `NAME\n`.
pub fn edit_hostname_file(content: Option<&[u8]>, new: &Hostname) -> Vec<u8> {
    let content = content.unwrap_or_default();
    let mut b = Builder::like(content);
    let mut done = false;
    for l in text::lines(content) {
        if !done && !l.is_comment_or_blank() {
            b.replace(&l, new.as_str().as_bytes());
            done = true;
        } else {
            b.keep(&l);
        }
    }
    if !done {
        b.push(new.as_str().as_bytes());
    }
    b.finish()
}

/// Whether [`edit_hosts`] adds a `127.0.1.1` line when no line carries the new name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoopbackAlias {
    /// Debian and Ubuntu: add (or take over) a `127.0.1.1 FQDN SHORT` line.
    AddIfMissing,
    /// Other distributions: only rename the old name where it appears.
    Never,
}

/// Names that must keep resolving to the loopback whatever the old hostname was: a template
/// whose hostname is `localhost` must not lose its `127.0.0.1 localhost` line.
fn is_localhost_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "localhost"
        || n.starts_with("localhost.")
        || n == "localhost4"
        || n == "localhost6"
        || n.starts_with("localhost4.")
        || n.starts_with("localhost6.")
        || n.starts_with("ip6-")
}

/// New /etc/hosts contents for a rename from `old` (as read from /etc/hostname, if known) to
/// `new`.
///
/// 1. Every whole-word, case-insensitive occurrence of the old full name becomes the new full
///    name, and of the old short name the new short name, on every address line. A
///    `localhost`-style old name is never replaced.
/// 2. With [`LoopbackAlias::AddIfMissing`], if no line now carries the new name: an existing
///    `127.0.1.1` line gets the new names (its own old names, whatever they were, are what
///    Debian puts there for this machine), else `127.0.1.1<TAB>FQDN SHORT` is appended.
///
/// Comments, spacing and other lines are kept byte for byte.
pub fn edit_hosts(
    content: Option<&[u8]>,
    old: Option<&str>,
    new: &Hostname,
    alias: LoopbackAlias,
) -> Vec<u8> {
    let Some(content) = content else {
        // No file at all: what Debian's installer writes, so localhost still resolves.
        return match alias {
            LoopbackAlias::AddIfMissing => format!(
                "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n\n\
                 # The following lines are desirable for IPv6 capable hosts\n\
                 ::1     localhost ip6-localhost ip6-loopback\n\
                 ff02::1 ip6-allnodes\n\
                 ff02::2 ip6-allrouters\n",
                new.loopback_names()
            )
            .into_bytes(),
            LoopbackAlias::Never => Vec::new(),
        };
    };
    let old = old
        .map(str::trim)
        .filter(|o| !o.is_empty() && !is_localhost_name(o));
    let old_short = old.map(|o| o.split('.').next().unwrap_or(o));
    let rename = |word: &[u8]| -> Option<&str> {
        let w = std::str::from_utf8(word).ok()?;
        // Host names ignore case: a word that already is the new name stays as written (a
        // rerun, whose old name is the new one, must not change `web` into `WEB`).
        if w.eq_ignore_ascii_case(new.as_str()) || w.eq_ignore_ascii_case(new.short()) {
            None
        } else if old.is_some_and(|o| w.eq_ignore_ascii_case(o)) {
            Some(new.as_str())
        } else if old_short.is_some_and(|o| old != Some(o) && w.eq_ignore_ascii_case(o)) {
            Some(new.short())
        } else {
            None
        }
    };

    let mut renamed: Vec<Vec<u8>> = Vec::new();
    for l in text::lines(content) {
        renamed.push(map_names(l.body, |w| {
            rename(w).map(|s| s.as_bytes().to_vec())
        }));
    }
    let carries_new = renamed.iter().any(|body| {
        names_of(body).is_some_and(|(_, names)| {
            names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(new.as_str().as_bytes()))
        })
    });

    let mut b = Builder::like(content);
    let mut fixed_loopback = carries_new || alias == LoopbackAlias::Never;
    for (l, body) in text::lines(content).iter().zip(&renamed) {
        let is_loopback = names_of(body).is_some_and(|(addr, _)| addr == b"127.0.1.1");
        if !fixed_loopback && is_loopback {
            b.replace(l, &replace_all_names(body, new.loopback_names().as_bytes()));
            fixed_loopback = true;
        } else if body.as_slice() == l.body {
            b.keep(l);
        } else {
            b.replace(l, body);
        }
    }
    if !fixed_loopback {
        b.push(format!("127.0.1.1\t{}", new.loopback_names()).as_bytes());
    }
    b.finish()
}

/// The address and names of a hosts line, `None` for comments and blank lines.
fn names_of(body: &[u8]) -> Option<(&[u8], Vec<&[u8]>)> {
    let data = body.split(|&b| b == b'#').next().unwrap_or(body);
    let mut w = text::words(data);
    let addr = w.next()?;
    Some((addr, w.collect()))
}

/// Rewrites the name words of a hosts line (not the address, not the comment) through `f`,
/// keeping all whitespace.
fn map_names(body: &[u8], f: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Vec<u8> {
    let (data, comment) = match body.iter().position(|&b| b == b'#') {
        Some(i) => body.split_at(i),
        None => (body, &b""[..]),
    };
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    let mut word_index = 0;
    while i < data.len() {
        let ws = data[i..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        out.extend_from_slice(&data[i..i + ws]);
        i += ws;
        let wl = data[i..]
            .iter()
            .take_while(|&&b| b != b' ' && b != b'\t')
            .count();
        if wl == 0 {
            break;
        }
        let word = &data[i..i + wl];
        match (word_index > 0).then(|| f(word)).flatten() {
            Some(new) => out.extend_from_slice(&new),
            None => out.extend_from_slice(word),
        }
        word_index += 1;
        i += wl;
    }
    out.extend_from_slice(comment);
    out
}

/// Replaces all names of a hosts line by `names`, keeping the address, the separator after it
/// and any trailing whitespace or comment. A `#` starts the comment wherever it is, also right
/// after the address (`127.0.1.1# note`), as hosts(5) reads it: the names go before it.
fn replace_all_names(body: &[u8], names: &[u8]) -> Vec<u8> {
    let data_end = body.iter().position(|&b| b == b'#').unwrap_or(body.len());
    let data = &body[..data_end];
    let ind = text::indent(data).len();
    let addr_len = data[ind..]
        .iter()
        .take_while(|&&b| b != b' ' && b != b'\t')
        .count();
    let after_addr = ind + addr_len;
    let sep_len = text::indent(&data[after_addr..]).len();
    let sep: &[u8] = if sep_len == 0 {
        b"\t"
    } else {
        &data[after_addr..after_addr + sep_len]
    };
    let names_end = data
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |p| p + 1)
        .max(after_addr);
    // A comment right after the last name (`web# note`) is one to hosts(5), but not to a
    // reader that splits on blanks: keep a blank between them.
    let gap: &[u8] = if names_end == data_end && data_end < body.len() {
        b" "
    } else {
        b""
    };
    [&body[..after_addr], sep, names, gap, &body[names_end..]].concat()
}

/// New /etc/sysconfig/network contents with `HOSTNAME=` set (RHEL 6 and older); other keys
/// such as `NETWORKING=yes` stay.
pub fn edit_sysconfig_network(content: Option<&[u8]>, new: &Hostname) -> Vec<u8> {
    sysconfig::set(content.unwrap_or_default(), "HOSTNAME", new.as_str())
}

/// New /etc/machine-info contents with `PRETTY_HOSTNAME=` set, as virt-customize does on
/// Fedora and RHEL 7 and later; `CHASSIS=` and other keys stay.
pub fn edit_machine_info(content: Option<&[u8]>, new: &Hostname) -> Vec<u8> {
    sysconfig::set(content.unwrap_or_default(), "PRETTY_HOSTNAME", new.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hostname {
        Hostname::parse(s).unwrap()
    }

    fn hosts(c: &[u8], old: Option<&str>, new: &str, a: LoopbackAlias) -> String {
        let out = edit_hosts(Some(c), old, &h(new), a);
        // idempotent: the second run reads the new name from /etc/hostname
        assert_eq!(
            edit_hosts(Some(&out), Some(new), &h(new), a),
            out,
            "not idempotent"
        );
        // and also when the caller passes the stale old name again
        assert_eq!(
            edit_hosts(Some(&out), old, &h(new), a),
            out,
            "not idempotent (stale old)"
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn validation() {
        for ok in [
            "web-01",
            "a",
            "web01.example.com",
            "1web",
            "xn--bcher-kva.example",
            "A-B",
        ] {
            assert!(Hostname::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-web",
            "web-",
            "web..x",
            "web.",
            ".web",
            "web_01",
            "we b",
            "web/1",
            "127.0.0.1",
            "ö",
        ] {
            assert!(Hostname::parse(bad).is_err(), "{bad}");
        }
        assert!(Hostname::parse(&"a".repeat(64)).is_err());
        assert!(Hostname::parse(&"a".repeat(63)).is_ok());
        let long = vec!["a".repeat(63); 4].join(".");
        assert!(Hostname::parse(&long).is_err());
        let msg = Hostname::parse("web_01").unwrap_err().to_string();
        assert!(
            msg.contains("web_01") && msg.contains("letters, digits"),
            "{msg}"
        );
        assert_eq!(h("web-01.example.com").short(), "web-01");
        assert_eq!(
            h("web-01.example.com").loopback_names(),
            "web-01.example.com web-01"
        );
    }

    #[test]
    fn hostname_file() {
        assert_eq!(edit_hostname_file(None, &h("new")), b"new\n");
        assert_eq!(edit_hostname_file(Some(b""), &h("new")), b"new\n");
        assert_eq!(edit_hostname_file(Some(b"debian\n"), &h("new")), b"new\n");
        assert_eq!(edit_hostname_file(Some(b"debian"), &h("new")), b"new");
        assert_eq!(edit_hostname_file(Some(b"old\r\n"), &h("new")), b"new\r\n");
        let c = b"# Managed by ops\n\nlocalhost.localdomain\n";
        let out = edit_hostname_file(Some(c), &h("db1.example.org"));
        assert_eq!(out, b"# Managed by ops\n\ndb1.example.org\n");
        assert_eq!(edit_hostname_file(Some(&out), &h("db1.example.org")), out);
        assert_eq!(read_hostname(c).as_deref(), Some("localhost.localdomain"));
        assert_eq!(read_hostname(b"  web \n"), Some("web".into()));
        assert_eq!(read_hostname(b"# x\n"), None);
    }

    #[test]
    fn debian12_hosts_renames_the_127_0_1_1_line() {
        let c = b"127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";
        let out = hosts(
            c,
            Some("debian"),
            "web-01.example.com",
            LoopbackAlias::AddIfMissing,
        );
        assert_eq!(out, "127.0.0.1\tlocalhost\n127.0.1.1\tweb-01.example.com\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n");
    }

    #[test]
    fn debian_fqdn_line_renames_both_names() {
        let c = b"127.0.0.1\tlocalhost\n127.0.1.1\told.corp.example\told\n";
        let out = hosts(
            c,
            Some("old.corp.example"),
            "new.lab.example",
            LoopbackAlias::AddIfMissing,
        );
        assert_eq!(
            out,
            "127.0.0.1\tlocalhost\n127.0.1.1\tnew.lab.example\tnew\n"
        );
    }

    #[test]
    fn ubuntu_cloud_hosts_without_127_0_1_1_gets_one_added() {
        let c = b"127.0.0.1 localhost\n\n# The following lines are desirable for IPv6 capable hosts\n::1 ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\nff02::3 ip6-allhosts";
        let out = hosts(
            c,
            Some("ubuntu"),
            "noble-1.example.net",
            LoopbackAlias::AddIfMissing,
        );
        let mut want = String::from_utf8(c.to_vec()).unwrap();
        want.push_str("\n127.0.1.1\tnoble-1.example.net noble-1\n");
        assert_eq!(out, want);
    }

    #[test]
    fn unknown_old_name_takes_over_the_127_0_1_1_line_and_keeps_its_comment() {
        let c = b"127.0.0.1 localhost\n127.0.1.1   template  # set by installer\n";
        let out = hosts(c, None, "web", LoopbackAlias::AddIfMissing);
        assert_eq!(
            out,
            "127.0.0.1 localhost\n127.0.1.1   web  # set by installer\n"
        );
    }

    #[test]
    fn comment_right_after_the_127_0_1_1_address_gets_the_names_before_it() {
        // `#` starts a comment wherever it is: the names go before it, not into it, so a
        // second run finds them and changes nothing.
        let c = b"127.0.0.1 localhost\n127.0.1.1# set by installer\n";
        let out = hosts(c, Some("debian"), "web", LoopbackAlias::AddIfMissing);
        assert_eq!(
            out,
            "127.0.0.1 localhost\n127.0.1.1\tweb # set by installer\n"
        );
        let c = b"127.0.1.1\told#note\n";
        let out = hosts(c, None, "new.example", LoopbackAlias::AddIfMissing);
        assert_eq!(out, "127.0.1.1\tnew.example new #note\n");
    }

    #[test]
    fn rhel_old_name_on_the_localhost_line_is_renamed_as_a_word_only() {
        let c = b"127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4 rocky9\n::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n10.0.0.9    rocky9-backup rocky9\n";
        let out = hosts(c, Some("rocky9"), "app", LoopbackAlias::Never);
        assert_eq!(out, "127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4 app\n::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n10.0.0.9    rocky9-backup app\n");
    }

    #[test]
    fn localhost_old_name_is_never_replaced() {
        let c = b"127.0.0.1   localhost localhost.localdomain\n::1 localhost\n";
        let out = hosts(
            c,
            Some("localhost.localdomain"),
            "app",
            LoopbackAlias::Never,
        );
        assert_eq!(out.as_bytes(), c);
        let out = hosts(c, Some("localhost"), "app", LoopbackAlias::AddIfMissing);
        assert_eq!(
            out,
            "127.0.0.1   localhost localhost.localdomain\n::1 localhost\n127.0.1.1\tapp\n"
        );
    }

    #[test]
    fn hosts_odd_inputs() {
        assert_eq!(
            hosts(b"", None, "a", LoopbackAlias::AddIfMissing),
            "127.0.1.1\ta\n"
        );
        // No file: Debian's default, with localhost, so that it still resolves.
        assert_eq!(
            String::from_utf8(edit_hosts(None, None, &h("a"), LoopbackAlias::AddIfMissing))
                .unwrap(),
            "127.0.0.1\tlocalhost\n127.0.1.1\ta\n\n\
             # The following lines are desirable for IPv6 capable hosts\n\
             ::1     localhost ip6-localhost ip6-loopback\n\
             ff02::1 ip6-allnodes\n\
             ff02::2 ip6-allrouters\n"
        );
        // CRLF, case-insensitive match, a comment naming the old host stays, duplicates all renamed
        let c = b"# old lives here\r\n127.0.1.1 OLD\r\n10.1.1.1 old old-db\r\n";
        let out = hosts(c, Some("old"), "new", LoopbackAlias::AddIfMissing);
        assert_eq!(
            out,
            "# old lives here\r\n127.0.1.1 new\r\n10.1.1.1 new old-db\r\n"
        );
        // a name that already is the new one in another case stays as written, also on the
        // rerun whose old name is the new one
        let out = hosts(
            b"10.1.1.1 old old-db\n",
            Some("ol1"),
            "OLD",
            LoopbackAlias::Never,
        );
        assert_eq!(out, "10.1.1.1 old old-db\n");
        // a very long line passes through untouched
        let long = format!("10.0.0.1 {}\n", "alias ".repeat(5000));
        let out = hosts(long.as_bytes(), Some("old"), "new", LoopbackAlias::Never);
        assert_eq!(out, long);
    }

    #[test]
    fn rhel6_sysconfig_network_and_machine_info() {
        let c = b"NETWORKING=yes\nHOSTNAME=localhost.localdomain\n";
        let out = edit_sysconfig_network(Some(c), &h("db.example.com"));
        assert_eq!(out, b"NETWORKING=yes\nHOSTNAME=db.example.com\n");
        assert_eq!(
            edit_sysconfig_network(Some(&out), &h("db.example.com")),
            out
        );
        assert_eq!(edit_sysconfig_network(None, &h("db")), b"HOSTNAME=db\n");

        let mi = b"PRETTY_HOSTNAME=\"Lennart's Laptop\"\nCHASSIS=vm\n";
        let out = edit_machine_info(Some(mi), &h("fedora-40"));
        assert_eq!(out, b"PRETTY_HOSTNAME=\"fedora-40\"\nCHASSIS=vm\n");
        assert_eq!(edit_machine_info(Some(&out), &h("fedora-40")), out);
        assert_eq!(
            edit_machine_info(None, &h("fedora-40")),
            b"PRETTY_HOSTNAME=fedora-40\n"
        );
    }
}
