//! `--ssh-inject USER:file:PATH|string:KEY`: validate an OpenSSH public key and append it to
//! `~/.ssh/authorized_keys` once.
//!
//! A key is present when a line has the same key type and base64 blob, whatever its options
//! (`from="…"`, `command="…"`) or comment. The blob is decoded and must start with its own key
//! type, which catches truncated or pasted-wrong keys before they lock someone out. The caller
//! creates `.ssh` with [`SSH_DIR_MODE`] and the file with [`AUTHORIZED_KEYS_MODE`], owned by the
//! user (the modes sshd's StrictModes insists on). Never does I/O.

use super::text::{self, Builder};

/// Mode of `~/.ssh`.
pub const SSH_DIR_MODE: u32 = 0o700;
/// Mode of `~/.ssh/authorized_keys`.
pub const AUTHORIZED_KEYS_MODE: u32 = 0o600;

/// Errors of the key parser.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SshKeyError {
    /// Nothing but blanks and comments.
    #[error("no public key given: pass the contents of an id_*.pub file")]
    Empty,
    /// More than one key line.
    #[error("{0} keys given where one was expected: use one --ssh-inject per key")]
    Several(usize),
    /// No known key type.
    #[error("not an OpenSSH public key (no known key type such as ssh-ed25519 or ssh-rsa); pass the .pub file, not the private key")]
    NoKeyType,
    /// The blob is missing or not base64.
    #[error(
        "the {0} key's base64 data is missing or damaged: copy the whole line of the .pub file"
    )]
    BadBlob(String),
    /// The blob is for another key type.
    #[error("the key data is for {inner:?} but the line says {outer:?}: the line was edited or pasted wrongly")]
    TypeMismatch {
        /// Type named on the line.
        outer: String,
        /// Type inside the blob.
        inner: String,
    },
}

const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
];

/// A validated public key line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The whole line as given, trimmed (options and comment included).
    pub line: String,
    /// Key type, e.g. `ssh-ed25519`.
    pub key_type: String,
    /// The base64 blob.
    pub blob: String,
}

/// Splits an authorized_keys line into words, honouring double quotes in the options field.
fn split_words(line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let start = i;
        let mut quoted = false;
        while i < b.len() && (quoted || (b[i] != b' ' && b[i] != b'\t')) {
            match b[i] {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                _ => {}
            }
            i += 1;
        }
        if i > start {
            words.push(&line[start..i.min(b.len())]);
        }
    }
    words
}

/// The key type and blob of a line, without validation: the first word that is a known key
/// type (after an optional options word), and the word after it.
fn key_parts(line: &str) -> Option<(&str, Option<&str>)> {
    let words = split_words(line);
    let pos = words.iter().take(2).position(|w| KEY_TYPES.contains(w))?;
    Some((words[pos], words.get(pos + 1).copied()))
}

/// Standard base64 with padding, as OpenSSH writes a key's blob.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64ct::Encoding;
    base64ct::Base64::decode_vec(s)
        .ok()
        .filter(|b| !b.is_empty())
}

/// Parses and validates one public key (`ssh-ed25519 AAAA… comment`, optionally with
/// authorized_keys options in front). Surrounding blank and `#` comment lines are ignored.
pub fn parse_public_key(input: &str) -> Result<PublicKey, SshKeyError> {
    let lines: Vec<&str> = input
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let line = match lines.as_slice() {
        [] => return Err(SshKeyError::Empty),
        [one] => *one,
        many => return Err(SshKeyError::Several(many.len())),
    };
    let (key_type, blob) = key_parts(line).ok_or(SshKeyError::NoKeyType)?;
    let bad = || SshKeyError::BadBlob(key_type.to_owned());
    let blob = blob.ok_or_else(bad)?;
    let raw = base64_decode(blob).ok_or_else(bad)?;
    let len = u32::from_be_bytes(
        raw.get(..4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    ) as usize;
    let inner = raw.get(4..4 + len).ok_or_else(bad)?;
    if inner != key_type.as_bytes() {
        return Err(SshKeyError::TypeMismatch {
            outer: key_type.to_owned(),
            inner: String::from_utf8_lossy(inner).into_owned(),
        });
    }
    // The key material follows the type; a blob that stops right after it was cut short.
    if raw.len() < 4 + len + 4 + 16 {
        return Err(bad());
    }
    Ok(PublicKey {
        line: line.to_owned(),
        key_type: key_type.to_owned(),
        blob: blob.to_owned(),
    })
}

/// New authorized_keys contents with `key` appended, or the same bytes if a line already
/// holds the same key type and blob. Other lines, comments and options stay as they are.
pub fn add_authorized_key(existing: Option<&[u8]>, key: &PublicKey) -> Vec<u8> {
    let existing = existing.unwrap_or_default();
    let present = text::lines(existing).iter().any(|l| {
        let Ok(s) = std::str::from_utf8(l.body) else {
            return false;
        };
        !s.trim_start().starts_with('#')
            && key_parts(s).is_some_and(|(t, b)| t == key.key_type && b == Some(key.blob.as_str()))
    });
    if present {
        return existing.to_vec();
    }
    let mut b = Builder::like(existing);
    for l in text::lines(existing) {
        b.keep(&l);
    }
    b.push(key.line.as_bytes());
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real keys from ssh-keygen (generated for these tests; the private halves were discarded).
    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEByIHa20ama5zHLXTVPAL6t4SZJ+hZ5hilyBWVqGgG0 alice@laptop";
    const ED2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKTamWUUq3v7T8co5jtL/rcSyKcXmA5BA5AB0iJ+9HoP bob@ci";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCs3ttqerIDSru0BncU7iXDhPVr0RjmcNL6Ug7hdGV1XiBlSlAnW+gATuwMq6zafSQKt2YJXBLTP/+vwAsFFp0ZTZIbTHiqqL5Go4uRHDCfK6wkZwX1pJTBnuqSMSOfPkh6HFPNrXdD2pj7+HM23z+m5fKyRryUHFlLK3hUbGxwfQ== root@rocky9";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBB+0Ov/Pnw1HgGt7ub1sEc64s+szWeHvd3qU0WZjUZTzo2E6ES9L+TD9WmkP9qyQ7dp1wNZ1SyrbUZJlM5E/mdU= deploy";

    #[test]
    fn parses_real_key_types() {
        let k = parse_public_key(&format!("{ED}\n")).unwrap();
        assert_eq!(k.key_type, "ssh-ed25519");
        assert_eq!(k.line, ED);
        assert_eq!(
            parse_public_key(ECDSA).unwrap().key_type,
            "ecdsa-sha2-nistp256"
        );
        assert_eq!(parse_public_key(RSA).unwrap().key_type, "ssh-rsa");
        let with_opts = format!("from=\"10.0.0.0/8,192.168.1.1\",command=\"echo hi there\" {ED2}");
        let k = parse_public_key(&with_opts).unwrap();
        assert_eq!(k.key_type, "ssh-ed25519");
        assert_eq!(k.line, with_opts);
        // comment lines and CRLF around the key are fine
        assert!(parse_public_key(&format!("# my key\r\n{ED}\r\n")).is_ok());
    }

    #[test]
    fn rejects_damaged_keys() {
        assert_eq!(parse_public_key(""), Err(SshKeyError::Empty));
        assert_eq!(
            parse_public_key("-----BEGIN OPENSSH PRIVATE KEY-----"),
            Err(SshKeyError::NoKeyType)
        );
        assert_eq!(
            parse_public_key("ssh-ed25519"),
            Err(SshKeyError::BadBlob("ssh-ed25519".into()))
        );
        assert_eq!(
            parse_public_key("ssh-ed25519 AAAA!!!!"),
            Err(SshKeyError::BadBlob("ssh-ed25519".into()))
        );
        assert_eq!(
            parse_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1"),
            Err(SshKeyError::BadBlob("ssh-ed25519".into()))
        );
        assert_eq!(
            parse_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"),
            Err(SshKeyError::BadBlob("ssh-ed25519".into()))
        );
        let mismatch = ED.replacen("ssh-ed25519", "ssh-rsa", 1);
        assert_eq!(
            parse_public_key(&mismatch),
            Err(SshKeyError::TypeMismatch {
                outer: "ssh-rsa".into(),
                inner: "ssh-ed25519".into()
            })
        );
        assert_eq!(
            parse_public_key(&format!("{ED}\n{ED2}\n")),
            Err(SshKeyError::Several(2))
        );
    }

    #[test]
    fn appends_once_ignoring_comment_and_options() {
        let k = parse_public_key(ED).unwrap();
        let out = add_authorized_key(None, &k);
        assert_eq!(out, format!("{ED}\n").as_bytes());
        assert_eq!(add_authorized_key(Some(&out), &k), out);

        // same key with other options and comment counts as present
        let existing = format!(
            "# ops team\nno-pty,from=\"10.1.2.3\" {} old-comment\n",
            ED.rsplit_once(' ').unwrap().0
        );
        assert_eq!(
            add_authorized_key(Some(existing.as_bytes()), &k),
            existing.as_bytes()
        );

        // a commented-out copy does not count; no trailing newline is completed; CRLF kept
        let existing = format!("#{ED}\r\n{ED2}");
        let out = add_authorized_key(Some(existing.as_bytes()), &k);
        assert_eq!(out, format!("#{ED}\r\n{ED2}\r\n{ED}\r\n").as_bytes());
        assert_eq!(add_authorized_key(Some(&out), &k), out);
        assert_eq!(
            add_authorized_key(Some(b""), &k),
            format!("{ED}\n").as_bytes()
        );
    }
}
