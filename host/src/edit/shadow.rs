//! /etc/shadow: change one user's password field and last-change day, every other line byte for
//! byte. Pair with [`super::password`] for the field; [`set_user_password`] does both.
//!
//! Duplicate lines for one user: all of them are changed. glibc reads the first, but `pwck`,
//! PAM modules and other tools may read another; leaving one with the old password would
//! be a surprise either way. A line with fewer than nine fields is padded with empty fields,
//! the canonical form `name:pw:lastchg::::::`. Never does I/O.

use rand::Rng;

use super::password::{PasswordError, PasswordSelector, Secret};
use super::text::{self, Builder};

/// Errors of the shadow editor.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShadowError {
    /// No line names the user.
    #[error(
        "user {0:?} has no entry in /etc/shadow: create it first (--user-add) or check the name"
    )]
    NoSuchUser(String),
    /// The new field would break the line format.
    #[error("invalid shadow password field: it must not contain ':' or a line break")]
    InvalidField,
    /// Building the field failed.
    #[error("cannot make the password for user {user:?}")]
    Password {
        /// The user.
        user: String,
        /// Why.
        #[source]
        source: PasswordError,
    },
}

const SHADOW_FIELDS: usize = 9;

/// The password field of `user`'s first line, if the user has one.
pub fn password_field(shadow: &[u8], user: &str) -> Option<String> {
    text::lines(shadow).iter().find_map(|l| {
        let mut f = l.body.split(|&b| b == b':');
        (f.next() == Some(user.as_bytes()))
            .then(|| String::from_utf8_lossy(f.next().unwrap_or_default()).into_owned())
    })
}

/// Sets `user`'s password field to `field` and the last-change field to `last_change_day`
/// (days since 1970-01-01) on every line of that user. A line that already holds `field` is
/// left exactly as it is, last-change day included: its password did not change.
pub fn set_password_field(
    shadow: &[u8],
    user: &str,
    field: &str,
    last_change_day: u64,
) -> Result<Vec<u8>, ShadowError> {
    if field.contains([':', '\n', '\r']) {
        return Err(ShadowError::InvalidField);
    }
    let mut b = Builder::like(shadow);
    let mut found = false;
    for l in text::lines(shadow) {
        let mut fields: Vec<&[u8]> = l.body.split(|&b| b == b':').collect();
        if fields[0] != user.as_bytes() {
            b.keep(&l);
            continue;
        }
        found = true;
        if fields.get(1) == Some(&field.as_bytes()) {
            b.keep(&l);
            continue;
        }
        if fields.len() < SHADOW_FIELDS {
            fields.resize(SHADOW_FIELDS, b"");
        }
        let day = last_change_day.to_string();
        fields[1] = field.as_bytes();
        fields[2] = day.as_bytes();
        b.replace(&l, &fields.join(&b':'));
    }
    if !found {
        return Err(ShadowError::NoSuchUser(user.to_owned()));
    }
    Ok(b.finish())
}

/// The result of [`set_user_password`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChange {
    /// The new /etc/shadow contents.
    pub shadow: Vec<u8>,
    /// A `random` selector's password, to print once (never log it).
    pub generated: Option<Secret>,
}

/// `--root-password` / `--password`: the new /etc/shadow for `user` set by `selector`.
/// `file_contents` is the host file of a `file:` selector. The same password again (without
/// `random`) keeps the current hash, so a second identical run changes nothing.
pub fn set_user_password<R: Rng + ?Sized>(
    shadow: &[u8],
    user: &str,
    selector: &PasswordSelector,
    file_contents: Option<&[u8]>,
    last_change_day: u64,
    rng: &mut R,
) -> Result<PasswordChange, ShadowError> {
    let current =
        password_field(shadow, user).ok_or_else(|| ShadowError::NoSuchUser(user.to_owned()))?;
    let field = selector
        .shadow_field(file_contents, Some(&current), rng)
        .map_err(|source| ShadowError::Password {
            user: user.to_owned(),
            source,
        })?;
    Ok(PasswordChange {
        shadow: set_password_field(shadow, user, &field.field, last_change_day)?,
        generated: field.generated,
    })
}

/// `--root-password` / `--password` as virt-customize 1.48 sets them (its
/// `set_linux_passwords`), for the `virt-customize` name: the user's lines get the new
/// password field and keep every other field as it is, last-change day included; a locked
/// password starts with `!!`; and the file's last line gets a newline if it had none. Where
/// this differs from [`set_user_password`] (which updates the last-change day, as `passwd`
/// does, and locks with a single `!`, which `passwd -u` undoes), that one is guestwright's
/// own choice.
pub fn set_user_password_as_virt_customize<R: Rng + ?Sized>(
    shadow: &[u8],
    user: &str,
    selector: &PasswordSelector,
    rng: &mut R,
) -> Result<PasswordChange, ShadowError> {
    let current =
        password_field(shadow, user).ok_or_else(|| ShadowError::NoSuchUser(user.to_owned()))?;
    // The same password in the same lock state keeps its hash (see `shadow_field`).
    let same_lock = match selector.locked {
        true => current.strip_prefix("!!"),
        false => (!current.starts_with('!')).then_some(current.as_str()),
    };
    let unlocked = PasswordSelector {
        locked: false,
        ..selector.clone()
    };
    let made = unlocked
        .shadow_field(None, same_lock, rng)
        .map_err(|source| ShadowError::Password {
            user: user.to_owned(),
            source,
        })?;
    let field = match selector.locked {
        true => format!("!!{}", made.field),
        false => made.field,
    };
    if field.contains([':', '\n', '\r']) {
        return Err(ShadowError::InvalidField);
    }
    let mut b = Builder::like(shadow);
    for l in text::lines(shadow) {
        let mut fields: Vec<&[u8]> = l.body.split(|&b| b == b':').collect();
        match fields.len() >= 2 && fields[0] == user.as_bytes() {
            true => {
                fields[1] = field.as_bytes();
                b.replace(&l, &fields.join(&b':'));
            }
            false => b.keep(&l),
        }
    }
    let mut out = b.finish();
    if out.last().is_some_and(|&c| c != b'\n') {
        out.push(b'\n');
    }
    Ok(PasswordChange {
        shadow: out,
        generated: made.generated,
    })
}

#[cfg(test)]
mod tests {
    use super::super::password::verify_sha512;
    use super::*;

    const DEBIAN12: &str = "root:*:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\nbin:*:19700:0:99999:7:::\nsys:*:19700:0:99999:7:::\nsync:*:19700:0:99999:7:::\nman:*:19700:0:99999:7:::\nnobody:*:19700:0:99999:7:::\n_apt:*:19700:0:99999:7:::\nsystemd-network:!*:19700::::::\nmessagebus:!:19700::::::\nsshd:!:19700::::::\ndebian:$y$j9T$abcdefghijklmnopqrstu.$0123456789012345678901234567890123456789012:19701:0:99999:7:::\n";

    const ROCKY9: &str = "root:!!:19500:0:99999:7:::\nbin:*:19469:0:99999:7:::\ndaemon:*:19469:0:99999:7:::\nadm:*:19469:0:99999:7:::\nsshd:!!:19500::::::\nchrony:!!:19500::::::\nrocky:!!:19500:0:99999:7:::\n";

    fn set(c: &str, user: &str, field: &str, day: u64) -> String {
        let out = set_password_field(c.as_bytes(), user, field, day).unwrap();
        assert_eq!(
            set_password_field(&out, user, field, day).unwrap(),
            out,
            "not idempotent"
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn debian12_root_only_that_line_changes() {
        let out = set(DEBIAN12, "root", "$6$abcdefghijklmnop$hash", 20000);
        let want = DEBIAN12.replacen("root:*:19700:", "root:$6$abcdefghijklmnop$hash:20000:", 1);
        assert_eq!(out, want);
    }

    #[test]
    fn rocky9_locked_user_and_aging_fields_kept() {
        let out = set(ROCKY9, "rocky", "!$6$s$h", 20001);
        assert_eq!(
            out,
            ROCKY9.replace(
                "rocky:!!:19500:0:99999:7:::",
                "rocky:!$6$s$h:20001:0:99999:7:::"
            )
        );
    }

    #[test]
    fn odd_lines() {
        // fewer fields: padded to nine
        assert_eq!(set("root:x\n", "root", "*", 5), "root:*:5::::::\n");
        assert_eq!(set("root", "root", "*", 5), "root:*:5::::::");
        // CRLF and no final newline kept
        assert_eq!(
            set("a:x:1::::::\r\nroot:!:1::::::", "root", "*", 9),
            "a:x:1::::::\r\nroot:*:9::::::"
        );
        // duplicates: all changed; a prefix of another name is not the user
        assert_eq!(
            set(
                "root:a:1::::::\nrootx:b:1::::::\nroot:c:1::::::\n",
                "root",
                "*",
                2
            ),
            "root:*:2::::::\nrootx:b:1::::::\nroot:*:2::::::\n"
        );
        // a comment-like or empty line is kept
        assert_eq!(
            set("\n#root:x\nroot:x:1:::\n", "root", "*", 2),
            "\n#root:x\nroot:*:2::::::\n"
        );
        // non-UTF-8 bytes on other lines survive
        let c = b"\xffweird:x:1\nroot:!:1::::::\n";
        let out = set_password_field(c, "root", "*", 3).unwrap();
        assert_eq!(out, b"\xffweird:x:1\nroot:*:3::::::\n");
    }

    #[test]
    fn errors() {
        assert_eq!(
            set_password_field(b"", "root", "*", 1),
            Err(ShadowError::NoSuchUser("root".into()))
        );
        assert_eq!(
            set_password_field(b"root:x\n", "root", "a:b", 1),
            Err(ShadowError::InvalidField)
        );
        let e = set_password_field(ROCKY9.as_bytes(), "alice", "*", 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"alice\""), "{e}");
    }

    #[test]
    fn as_virt_customize_keeps_the_day_locks_with_two_bangs_and_ends_the_line() {
        let mut rng = rand::rng();
        let sel: PasswordSelector = "locked:disabled".parse().unwrap();
        let c = set_user_password_as_virt_customize(
            b"root:x:19000:0:99999:7:::",
            "root",
            &sel,
            &mut rng,
        )
        .unwrap();
        assert_eq!(c.shadow, b"root:!!*:19000:0:99999:7:::\n");
        // a short line keeps its shape; other users' lines are untouched
        let c = set_user_password_as_virt_customize(
            b"bin:*:1::\nroot:x\n",
            "root",
            &"disabled".parse().unwrap(),
            &mut rng,
        )
        .unwrap();
        assert_eq!(c.shadow, b"bin:*:1::\nroot:*\n");
        // the same password in the same lock state keeps its hash
        let sel: PasswordSelector = "locked:password:pw".parse().unwrap();
        let once = set_user_password_as_virt_customize(DEBIAN12.as_bytes(), "man", &sel, &mut rng)
            .unwrap();
        let twice =
            set_user_password_as_virt_customize(&once.shadow, "man", &sel, &mut rng).unwrap();
        assert_eq!(once.shadow, twice.shadow);
        assert!(String::from_utf8(once.shadow)
            .unwrap()
            .contains("\nman:!!$6$"));
        assert_eq!(
            set_user_password_as_virt_customize(b"root:x:1::::::\n", "alice", &sel, &mut rng),
            Err(ShadowError::NoSuchUser("alice".into()))
        );
    }

    #[test]
    fn set_user_password_end_to_end_and_idempotent() {
        let sel: PasswordSelector = "password:Tr0ub4dor".parse().unwrap();
        let mut rng = rand::rng();
        let c =
            set_user_password(DEBIAN12.as_bytes(), "root", &sel, None, 20100, &mut rng).unwrap();
        let field = password_field(&c.shadow, "root").unwrap();
        assert!(verify_sha512(&Secret::new("Tr0ub4dor"), &field));
        assert!(String::from_utf8_lossy(&c.shadow)
            .contains(&format!("root:{field}:20100:0:99999:7:::\n")));
        // a second run, even on a later day, changes nothing
        let again = set_user_password(&c.shadow, "root", &sel, None, 20200, &mut rng).unwrap();
        assert_eq!(again.shadow, c.shadow);
        // other lines byte for byte
        let before: Vec<&str> = DEBIAN12.lines().skip(1).collect();
        let after = String::from_utf8(c.shadow).unwrap();
        assert_eq!(after.lines().skip(1).collect::<Vec<_>>(), before);

        let r: PasswordSelector = "random".parse().unwrap();
        let c = set_user_password(ROCKY9.as_bytes(), "rocky", &r, None, 1, &mut rng).unwrap();
        let pw = c.generated.unwrap();
        assert!(verify_sha512(
            &pw,
            &password_field(&c.shadow, "rocky").unwrap()
        ));
        let bad = set_user_password(ROCKY9.as_bytes(), "nobody", &r, None, 1, &mut rng);
        assert_eq!(bad, Err(ShadowError::NoSuchUser("nobody".into())));
    }
}
