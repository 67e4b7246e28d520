//! Password selectors (`--root-password`, `--password USER:SELECTOR`) and crypt(3) hashes
//! (MD5, SHA-256, SHA-512: `--password-crypto`).
//!
//! A selector is `[locked:](password:P | file:PATH | random | disabled)`, as in virt-customize.
//! [`PasswordSelector::shadow_field`] turns it into the second field of an /etc/shadow line:
//! `$6$SALT$HASH` (glibc's SHA-512 crypt with default rounds, a 16-character salt from the
//! thread RNG), `*` for disabled, and a leading `!` when locked. The clear text lives only in
//! [`Secret`], whose `Debug` never prints it. The caller reads `file:` paths on the host and
//! prints a generated random password once. Never does I/O.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use md5::{Digest, Md5};
use rand::Rng;
use sha_crypt::{sha256_crypt_b64, sha512_crypt_b64, Sha256Params, Sha512Params, ROUNDS_DEFAULT};

/// Errors of password selectors and hashing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordError {
    /// The selector is none of the accepted forms.
    #[error("invalid password selector {0:?}: use password:PASSWORD, file:PATH, random or disabled, optionally after locked:")]
    Selector(String),
    /// `--password` needs a user before the selector.
    #[error("invalid --password argument {0:?}: use USER:SELECTOR, e.g. alice:password:secret")]
    UserSelector(String),
    /// `password:` or a file with an empty first line.
    #[error("the password is empty: give a non-empty password, or use `disabled` for an account without password login")]
    Empty,
    /// A `file:` selector was resolved without the file's contents.
    #[error("the password file {0} was not read: read it on the host and pass its contents")]
    FileNotRead(PathBuf),
    /// The crypt implementation refused the input.
    #[error("crypt failed: {0}")]
    Crypt(String),
    /// A password with a line break or NUL cannot be typed at a login prompt and would
    /// not survive a password file.
    #[error("the password contains a line break or a NUL byte: give it on one line, without control characters")]
    Control,
    /// `--password-crypto` names no method.
    #[error("unknown password crypto {0:?}: use md5, sha256, sha512 or yescrypt")]
    UnknownCrypto(String),
}

/// The crypt(3) method of new password hashes (`--password-crypto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Crypto {
    /// `$1$`: MD5 crypt, for very old guests only.
    Md5,
    /// `$5$`: SHA-256 crypt, default rounds.
    Sha256,
    /// `$6$`: SHA-512 crypt, default rounds (virt-customize's default).
    #[default]
    Sha512,
    /// `$y$`: yescrypt with libxcrypt's default parameters (`j9T`), the default of current
    /// Debian, Ubuntu and Fedora (beyond virt-customize 1.48).
    Yescrypt,
}

impl Crypto {
    /// The method a guest's `/etc/login.defs` asks for with `ENCRYPT_METHOD`, if it names
    /// one this tool makes (DES and bcrypt are not made: the caller falls back to SHA-512).
    pub fn from_login_defs(text: &[u8]) -> Option<Crypto> {
        let text = String::from_utf8_lossy(text);
        let value = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some("ENCRYPT_METHOD"))
                    .then(|| w.next())
                    .flatten()
            })
            .next_back()?;
        match value.to_ascii_uppercase().as_str() {
            "MD5" => Some(Crypto::Md5),
            "SHA256" => Some(Crypto::Sha256),
            "SHA512" => Some(Crypto::Sha512),
            "YESCRYPT" => Some(Crypto::Yescrypt),
            _ => None,
        }
    }
}

impl FromStr for Crypto {
    type Err = PasswordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "md5" => Ok(Crypto::Md5),
            "sha256" => Ok(Crypto::Sha256),
            "sha512" => Ok(Crypto::Sha512),
            "yescrypt" => Ok(Crypto::Yescrypt),
            _ => Err(PasswordError::UnknownCrypto(s.to_owned())),
        }
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Crypto::Md5 => "md5",
            Crypto::Sha256 => "sha256",
            Crypto::Sha512 => "sha512",
            Crypto::Yescrypt => "yescrypt",
        })
    }
}

impl Crypto {
    /// The `$ID$` prefix of its hashes.
    fn prefix(self) -> &'static str {
        match self {
            Crypto::Md5 => "$1$",
            Crypto::Sha256 => "$5$",
            Crypto::Sha512 => "$6$",
            Crypto::Yescrypt => "$y$",
        }
    }

    /// The longest salt the method uses.
    fn salt_len(self) -> usize {
        match self {
            Crypto::Md5 => 8,
            Crypto::Sha256 | Crypto::Sha512 | Crypto::Yescrypt => 16,
        }
    }
}

/// Rejects what cannot be a password: a line break or a NUL byte.
fn check_chars(p: &[u8]) -> Result<(), PasswordError> {
    match p.iter().any(|b| matches!(b, b'\n' | b'\r' | 0)) {
        true => Err(PasswordError::Control),
        false => Ok(()),
    }
}

/// A clear-text password. Its `Debug` and `Display` never show the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps a password.
    pub fn new(password: impl Into<Vec<u8>>) -> Secret {
        Secret(password.into())
    }

    /// The password from a password file, as virt-customize reads it: the first line, without
    /// its line ending.
    pub fn from_file_contents(content: &[u8]) -> Result<Secret, PasswordError> {
        let line = content.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Err(PasswordError::Empty);
        }
        check_chars(line)?;
        Ok(Secret(line.to_vec()))
    }

    /// The clear text, for printing a generated password once or hashing it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where the password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordSource {
    /// `password:P`.
    Password(Secret),
    /// `file:PATH`, a host path whose first line is the password.
    File(PathBuf),
    /// `random`: 16 random characters, returned to the caller to print once.
    Random,
    /// `disabled`: no password login (`*`).
    Disabled,
}

/// A parsed `[locked:](password:P|file:PATH|random|disabled)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordSelector {
    /// `locked:` prefix: the field gets a leading `!` so the password cannot be used until
    /// unlocked (`passwd -u`).
    pub locked: bool,
    /// The password itself.
    pub source: PasswordSource,
    /// How a new hash is made (`--password-crypto`; SHA-512 unless set).
    pub crypto: Crypto,
}

impl FromStr for PasswordSelector {
    type Err = PasswordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (locked, rest) = match s.strip_prefix("locked:") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let source = if let Some(p) = rest.strip_prefix("password:") {
            if p.is_empty() {
                return Err(PasswordError::Empty);
            }
            check_chars(p.as_bytes())?;
            PasswordSource::Password(Secret::new(p))
        } else if let Some(p) = rest.strip_prefix("file:") {
            if p.is_empty() {
                return Err(PasswordError::Selector(redact(s)));
            }
            PasswordSource::File(PathBuf::from(p))
        } else if rest == "random" {
            PasswordSource::Random
        } else if rest == "disabled" {
            PasswordSource::Disabled
        } else {
            return Err(PasswordError::Selector(redact(s)));
        };
        Ok(PasswordSelector {
            locked,
            source,
            crypto: Crypto::default(),
        })
    }
}

/// An invalid selector may still hold a password after a typo (`pasword:hunter2`): show only
/// its first word.
fn redact(s: &str) -> String {
    match s.find(':') {
        Some(i) => format!("{}:…", &s[..i]),
        None if s.len() > 12 => "…".to_owned(),
        None => s.to_owned(),
    }
}

/// Splits `--password USER:SELECTOR`.
pub fn parse_user_password(arg: &str) -> Result<(String, PasswordSelector), PasswordError> {
    let (user, sel) = arg
        .split_once(':')
        .filter(|(u, _)| !u.is_empty())
        .ok_or_else(|| PasswordError::UserSelector(redact(arg)))?;
    Ok((user.to_owned(), sel.parse()?))
}

/// The shadow field a selector produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowField {
    /// The text for the second field of the shadow line.
    pub field: String,
    /// The generated password of a `random` selector, for the caller to print once.
    pub generated: Option<Secret>,
}

const SALT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A 16-character crypt salt from the alphabet `./0-9A-Za-z`.
pub fn random_salt<R: Rng + ?Sized>(rng: &mut R) -> String {
    (0..16)
        .map(|_| SALT_ALPHABET[rng.random_range(0..SALT_ALPHABET.len())] as char)
        .collect()
}

/// A 16-character alphanumeric password (about 95 bits).
pub fn random_password<R: Rng + ?Sized>(rng: &mut R) -> Secret {
    Secret(
        (0..16)
            .map(|_| RANDOM_ALPHABET[rng.random_range(0..RANDOM_ALPHABET.len())])
            .collect(),
    )
}

/// glibc-compatible SHA-512 crypt with default rounds: `$6$SALT$HASH`, no `rounds=` part.
/// `salt` must be 1 to 16 characters of `./0-9A-Za-z`.
pub fn hash_sha512(password: &Secret, salt: &str) -> Result<String, PasswordError> {
    if salt.is_empty() || salt.len() > 16 || !salt.bytes().all(|b| SALT_ALPHABET.contains(&b)) {
        return Err(PasswordError::Crypt(format!("bad salt {salt:?}")));
    }
    let params =
        Sha512Params::new(ROUNDS_DEFAULT).map_err(|e| PasswordError::Crypt(format!("{e:?}")))?;
    let hash = sha512_crypt_b64(password.expose(), salt.as_bytes(), &params)
        .map_err(|e| PasswordError::Crypt(format!("{e:?}")))?;
    Ok(format!("$6${salt}${hash}"))
}

/// True if `field` (without a lock `!`) is a default-rounds `$6$` hash of `password`.
pub fn verify_sha512(password: &Secret, field: &str) -> bool {
    verify(Crypto::Sha512, password, field)
}

/// True if `field` (without a lock `!`) is a `crypto` hash (default rounds) of `password`.
pub fn verify(crypto: Crypto, password: &Secret, field: &str) -> bool {
    if crypto == Crypto::Yescrypt {
        use yescrypt::PasswordVerifier;
        return field.starts_with("$y$")
            && yescrypt::Yescrypt::default()
                .verify_password(password.expose(), field)
                .is_ok();
    }
    let Some(rest) = field.strip_prefix(crypto.prefix()) else {
        return false;
    };
    let Some((salt, _)) = rest.split_once('$') else {
        return false;
    };
    hash(crypto, password, salt).is_ok_and(|h| h == field)
}

/// A crypt(3) hash of `password` with `salt` (1 to 16 characters of `./0-9A-Za-z`; MD5 uses
/// the first 8).
pub fn hash(crypto: Crypto, password: &Secret, salt: &str) -> Result<String, PasswordError> {
    match crypto {
        Crypto::Sha512 => hash_sha512(password, salt),
        Crypto::Yescrypt => {
            // The salt's characters are the salt's bytes (the hash encodes them again).
            use yescrypt::PasswordHasher;
            check_salt(salt)?;
            yescrypt::Yescrypt::default()
                .hash_password_with_salt(password.expose(), salt.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Crypt(format!("yescrypt: {e}")))
        }
        Crypto::Sha256 => {
            check_salt(salt)?;
            let params = Sha256Params::new(ROUNDS_DEFAULT)
                .map_err(|e| PasswordError::Crypt(format!("{e:?}")))?;
            let h = sha256_crypt_b64(password.expose(), salt.as_bytes(), &params)
                .map_err(|e| PasswordError::Crypt(format!("{e:?}")))?;
            Ok(format!("$5${salt}${h}"))
        }
        Crypto::Md5 => {
            check_salt(salt)?;
            let salt = &salt[..salt.len().min(8)];
            Ok(format!(
                "$1${salt}${}",
                md5_crypt(password.expose(), salt.as_bytes())
            ))
        }
    }
}

fn check_salt(salt: &str) -> Result<(), PasswordError> {
    if salt.is_empty() || salt.len() > 16 || !salt.bytes().all(|b| SALT_ALPHABET.contains(&b)) {
        return Err(PasswordError::Crypt(format!("bad salt {salt:?}")));
    }
    Ok(())
}

/// The hash part of MD5 crypt (Poul-Henning Kamp's algorithm, as glibc's `$1$`).
fn md5_crypt(pw: &[u8], salt: &[u8]) -> String {
    let alternate = Md5::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(pw)
        .chain_update(b"$1$")
        .chain_update(salt);
    for chunk in pw.chunks(16) {
        ctx.update(&alternate[..chunk.len()]);
    }
    let mut n = pw.len();
    while n > 0 {
        match n & 1 {
            1 => ctx.update([0u8]),
            _ => ctx.update(&pw[..1]),
        }
        n >>= 1;
    }
    let mut sum = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        match round & 1 {
            1 => c.update(pw),
            _ => c.update(sum),
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(pw);
        }
        match round & 1 {
            1 => c.update(sum),
            _ => c.update(pw),
        }
        sum = c.finalize();
    }
    let mut out = String::with_capacity(22);
    let mut put = |mut v: u32, n: usize| {
        for _ in 0..n {
            out.push(SALT_ALPHABET[(v & 0x3f) as usize] as char);
            v >>= 6;
        }
    };
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        put(
            (u32::from(sum[a]) << 16) | (u32::from(sum[b]) << 8) | u32::from(sum[c]),
            4,
        );
    }
    put(u32::from(sum[11]), 2);
    out
}

impl PasswordSelector {
    /// The shadow password field for this selector.
    ///
    /// `file_contents` is the host file of a `file:` selector. `current` is the user's current
    /// field: when it already holds a hash of the same password with the same lock state, it
    /// is returned unchanged, so running the same customize twice changes nothing (a fresh
    /// salt would otherwise change the line every time). `random` always makes a new password.
    pub fn shadow_field<R: Rng + ?Sized>(
        &self,
        file_contents: Option<&[u8]>,
        current: Option<&str>,
        rng: &mut R,
    ) -> Result<ShadowField, PasswordError> {
        let lock = if self.locked { "!" } else { "" };
        let (secret, generated) = match &self.source {
            PasswordSource::Disabled => {
                return Ok(ShadowField {
                    field: format!("{lock}*"),
                    generated: None,
                })
            }
            PasswordSource::Password(p) => (p.clone(), None),
            PasswordSource::File(path) => {
                let c = file_contents.ok_or_else(|| PasswordError::FileNotRead(path.clone()))?;
                (Secret::from_file_contents(c)?, None)
            }
            PasswordSource::Random => {
                let p = random_password(rng);
                (p.clone(), Some(p))
            }
        };
        if generated.is_none() {
            if let Some(cur) = current {
                let unlocked = cur.strip_prefix('!');
                if unlocked.is_some() == self.locked
                    && verify(self.crypto, &secret, unlocked.unwrap_or(cur))
                {
                    return Ok(ShadowField {
                        field: cur.to_owned(),
                        generated: None,
                    });
                }
            }
        }
        let salt = random_salt(rng);
        let hash = hash(self.crypto, &secret, &salt[..self.crypto.salt_len()])?;
        Ok(ShadowField {
            field: format!("{lock}{hash}"),
            generated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::process::Command;

    fn openssl_sha512(password: &str, salt: &str) -> String {
        let out = Command::new("openssl")
            .args(["passwd", "-6", "-salt", salt, password])
            .output()
            .expect("openssl must be installed to check SHA-512 crypt");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    }

    #[test]
    fn hashes_match_openssl() {
        let mut rng = StdRng::seed_from_u64(7);
        for pw in [
            "hunter2",
            "correct horse battery staple",
            "pässwörd",
            "x",
            &"long".repeat(40),
            "a:b$c\\d",
        ] {
            let salt = random_salt(&mut rng);
            let ours = hash_sha512(&Secret::new(pw), &salt).unwrap();
            assert_eq!(ours, openssl_sha512(pw, &salt), "password {pw:?}");
            assert!(!ours.contains("rounds="));
            assert_eq!(ours.len(), 3 + 16 + 1 + 86);
            assert!(verify_sha512(&Secret::new(pw), &ours));
            assert!(!verify_sha512(&Secret::new("other"), &ours));
        }
    }

    #[test]
    fn md5_and_sha256_match_openssl() {
        for (flag, crypto) in [("-1", Crypto::Md5), ("-5", Crypto::Sha256)] {
            for (pw, salt) in [
                ("pw", "abcdefgh"),
                ("a much longer password, 40 chars long!!", "Zz./09"),
                ("x", "s"),
            ] {
                let out = std::process::Command::new("openssl")
                    .args(["passwd", flag, "-salt", salt, pw])
                    .output()
                    .expect("openssl must be installed to check crypt hashes");
                let want = String::from_utf8(out.stdout).unwrap();
                let ours = hash(crypto, &Secret::new(pw), salt).unwrap();
                assert_eq!(ours, want.trim_end(), "{crypto} {pw:?} {salt:?}");
                assert!(verify(crypto, &Secret::new(pw), &ours));
                assert!(!verify(Crypto::Sha512, &Secret::new(pw), &ours));
            }
        }
    }

    #[test]
    fn passwords_with_line_breaks_or_nul_are_refused() {
        for s in ["password:a\nb", "password:a\rb", "locked:password:a\0b"] {
            assert_eq!(
                s.parse::<PasswordSelector>(),
                Err(PasswordError::Control),
                "{s:?}"
            );
        }
        assert_eq!(
            Secret::from_file_contents(b"a\0b\n"),
            Err(PasswordError::Control)
        );
        assert!(Secret::from_file_contents(b"ab\r\nsecond line\n").is_ok());
    }

    #[test]
    fn random_salt_and_password_shape() {
        let mut rng = rand::rng();
        let a = random_salt(&mut rng);
        let b = random_salt(&mut rng);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| SALT_ALPHABET.contains(&c)));
        assert_ne!(a, b);
        let p = random_password(&mut rng);
        assert_eq!(p.expose().len(), 16);
        assert!(p.expose().iter().all(u8::is_ascii_alphanumeric));
    }

    #[test]
    fn selector_parsing() {
        let s: PasswordSelector = "password:s3cret:with:colons".parse().unwrap();
        assert_eq!(
            s.source,
            PasswordSource::Password(Secret::new("s3cret:with:colons"))
        );
        assert!(!s.locked);
        let s: PasswordSelector = "locked:random".parse().unwrap();
        assert!(s.locked && s.source == PasswordSource::Random);
        let s: PasswordSelector = "locked:file:/tmp/pw".parse().unwrap();
        assert_eq!(s.source, PasswordSource::File("/tmp/pw".into()));
        assert_eq!(
            "disabled".parse::<PasswordSelector>().unwrap().source,
            PasswordSource::Disabled
        );
        assert_eq!(
            "password:".parse::<PasswordSelector>(),
            Err(PasswordError::Empty)
        );
        let e = "pasword:hunter2"
            .parse::<PasswordSelector>()
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("hunter2") && e.contains("password:PASSWORD"),
            "{e}"
        );
        assert!("locked:".parse::<PasswordSelector>().is_err());
        assert!("file:".parse::<PasswordSelector>().is_err());
        let (u, s) = parse_user_password("alice:locked:disabled").unwrap();
        assert_eq!(u, "alice");
        assert!(s.locked && s.source == PasswordSource::Disabled);
        assert!(parse_user_password(":random").is_err());
        assert!(parse_user_password("alice").is_err());
    }

    #[test]
    fn debug_never_prints_the_password() {
        let s: PasswordSelector = "locked:password:hunter2".parse().unwrap();
        let d = format!("{s:?}");
        assert!(!d.contains("hunter2") && d.contains("redacted"), "{d}");
        let f = s.shadow_field(None, None, &mut rand::rng()).unwrap();
        assert!(!format!("{f:?}").contains("hunter2"));
    }

    #[test]
    fn shadow_fields() {
        let mut rng = rand::rng();
        let f = |s: &str, cur: Option<&str>| {
            s.parse::<PasswordSelector>().unwrap().shadow_field(
                Some(b"fromfile\nignored\n"),
                cur,
                &mut rand::rng(),
            )
        };
        assert_eq!(f("disabled", None).unwrap().field, "*");
        assert_eq!(f("locked:disabled", None).unwrap().field, "!*");
        let p = f("password:pw", None).unwrap();
        assert!(p.field.starts_with("$6$") && p.generated.is_none());
        let salt = &p.field[3..19];
        assert_eq!(p.field, openssl_sha512("pw", salt));
        let l = f("locked:password:pw", None).unwrap();
        assert!(l.field.starts_with("!$6$"));
        // file: first line only
        let ff = f("file:/x", None).unwrap();
        assert!(verify_sha512(&Secret::new("fromfile"), &ff.field));
        assert_eq!(
            Secret::from_file_contents(b"pw\r\n").unwrap().expose(),
            b"pw"
        );
        assert_eq!(
            Secret::from_file_contents(b"\nx"),
            Err(PasswordError::Empty)
        );
        let sel: PasswordSelector = "file:/x".parse().unwrap();
        assert_eq!(
            sel.shadow_field(None, None, &mut rng),
            Err(PasswordError::FileNotRead("/x".into()))
        );
        // random returns the password it hashed
        let r = f("random", None).unwrap();
        let g = r.generated.clone().unwrap();
        assert!(verify_sha512(&g, &r.field));
    }

    #[test]
    fn same_password_keeps_the_current_hash() {
        let first = "password:pw".parse::<PasswordSelector>().unwrap();
        let a = first
            .shadow_field(None, None, &mut rand::rng())
            .unwrap()
            .field;
        let again = first
            .shadow_field(None, Some(&a), &mut rand::rng())
            .unwrap()
            .field;
        assert_eq!(a, again);
        // different password, or a change of lock state, makes a new field
        let other = "password:pw2".parse::<PasswordSelector>().unwrap();
        assert_ne!(
            other
                .shadow_field(None, Some(&a), &mut rand::rng())
                .unwrap()
                .field,
            a
        );
        let locked = "locked:password:pw".parse::<PasswordSelector>().unwrap();
        let l = locked
            .shadow_field(None, Some(&a), &mut rand::rng())
            .unwrap()
            .field;
        assert!(l.starts_with("!$6$"));
        assert_eq!(
            locked
                .shadow_field(None, Some(&l), &mut rand::rng())
                .unwrap()
                .field,
            l
        );
        // random never reuses
        let r = "random".parse::<PasswordSelector>().unwrap();
        assert_ne!(
            r.shadow_field(None, Some(&a), &mut rand::rng())
                .unwrap()
                .field,
            a
        );
    }
}
