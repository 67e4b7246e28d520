//! Keys for LUKS volumes, given as libguestfs's tools take them: `--key SELECTOR:key:PASS`,
//! `--key SELECTOR:file:FILE` (the file's first line), where SELECTOR is a device name
//! (`/dev/sda2`), the LUKS UUID, or `all`. Keys that no selector provides can be asked for
//! while inspecting (`--keys-from-stdin`, or a prompt on the terminal) through [`Ask`].
//!
//! A key never prints: it is a [`Secret`] from the moment it is parsed, and no message here
//! contains the text of a selector's key part.

use guestwright_protocol::{Device, Secret};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Which LUKS volumes a key is for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySelector {
    /// Every volume (`all:`).
    All,
    /// The volume on this device, in the appliance's names (`/dev/sda2`, `/dev/vg/lv`).
    Device(Device),
    /// The volume whose LUKS header has this UUID (compared without regard to case).
    Uuid(String),
}

impl KeySelector {
    /// Whether the key is for the volume on `device` whose LUKS UUID is `uuid`.
    pub fn matches(&self, device: &Device, uuid: Option<&str>) -> bool {
        match self {
            KeySelector::All => true,
            KeySelector::Device(d) => d == device,
            KeySelector::Uuid(u) => uuid.is_some_and(|x| x.eq_ignore_ascii_case(u)),
        }
    }
}

/// One `--key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Which volumes.
    pub selector: KeySelector,
    /// The passphrase.
    pub secret: Secret,
}

/// A `--key` value that cannot be used. The message never quotes the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not `SELECTOR:key:PASS` or `SELECTOR:file:FILE`.
    #[error(
        "--key must be SELECTOR:key:PASSPHRASE or SELECTOR:file:FILENAME, where SELECTOR is a \
         device (/dev/sda2), a LUKS UUID or `all`{0}"
    )]
    Syntax(&'static str),
    /// The key file cannot be read.
    #[error("cannot read the key file {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Parses one `--key` value. A passphrase may itself contain `:`; a key file's first line
/// (without its line ending) is the passphrase, as libguestfs reads it.
pub fn parse_key(value: &str) -> Result<Key, KeyError> {
    let mut parts = value.splitn(3, ':');
    let (Some(id), Some(kind), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyError::Syntax(""));
    };
    let selector = if id == "all" {
        KeySelector::All
    } else if id.starts_with("/dev/") {
        KeySelector::Device(Device::from(id))
    } else if !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
    {
        KeySelector::Uuid(id.to_string())
    } else {
        return Err(KeyError::Syntax(
            " (the selector is neither a /dev/ name, a UUID nor `all`)",
        ));
    };
    let secret = match kind {
        "key" => Secret::from(rest),
        "file" => {
            let path = PathBuf::from(rest);
            let mut bytes = std::fs::read(&path).map_err(|source| KeyError::File {
                path: path.clone(),
                source,
            })?;
            let line_end = bytes
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(bytes.len());
            let secret = Secret::from(&bytes[..line_end]);
            bytes.fill(0);
            secret
        }
        _ => {
            return Err(KeyError::Syntax(
                " (the part after the selector must be `key` or `file`)",
            ))
        }
    };
    Ok(Key { selector, secret })
}

/// Asks for the key of a LUKS volume no `--key` provides (reads a line of standard input,
/// or prompts on the terminal); `None` when there is nobody to ask.
pub type Ask = Arc<dyn Fn(&Device) -> Option<Secret> + Send + Sync>;

/// The keys inspection may open LUKS volumes with.
#[derive(Clone, Default)]
pub struct Keys {
    /// The `--key` options, in the order given.
    pub given: Vec<Key>,
    /// Where to get a key that no selector provides.
    pub ask: Option<Ask>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("given", &self.given)
            .field("ask", &self.ask.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl Keys {
    /// The keys given for the volume on `device` with LUKS UUID `uuid`, in the order given.
    pub fn for_volume(&self, device: &Device, uuid: Option<&str>) -> Vec<Secret> {
        self.given
            .iter()
            .filter(|k| k.selector.matches(device, uuid))
            .map(|k| k.secret.clone())
            .collect()
    }

    /// Whether any key can be had at all (given, or by asking).
    pub fn is_empty(&self) -> bool {
        self.given.is_empty() && self.ask.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_kinds() {
        let k = parse_key("/dev/sda2:key:pass:with:colons").unwrap();
        assert_eq!(k.selector, KeySelector::Device(Device::from("/dev/sda2")));
        assert_eq!(k.secret.expose(), b"pass:with:colons");
        let k = parse_key("680dba0d-63ec-412a-a583-20b42f15864b:key:x").unwrap();
        assert!(k.selector.matches(
            &Device::from("/dev/sdb1"),
            Some("680DBA0D-63EC-412A-A583-20B42F15864B")
        ));
        assert!(!k.selector.matches(&Device::from("/dev/sdb1"), None));
        assert_eq!(parse_key("all:key:").unwrap().selector, KeySelector::All);
        assert_eq!(parse_key("all:key:").unwrap().secret.expose(), b"");
    }

    #[test]
    fn a_key_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        std::fs::write(&f, b"first line\nsecond\n").unwrap();
        let k = parse_key(&format!("all:file:{}", f.display())).unwrap();
        assert_eq!(k.secret.expose(), b"first line");
        let e = parse_key(&format!("all:file:{}/missing", dir.path().display())).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn bad_values_never_quote_the_key() {
        for bad in [
            "/dev/sda2",
            "/dev/sda2:hunter2",
            "/dev/sda2:password:hunter2",
            "sda2:key:hunter2",
        ] {
            let e = parse_key(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{bad}: {e}");
            assert!(e.starts_with("--key must be"), "{e}");
        }
    }

    #[test]
    fn keys_for_a_volume_in_the_order_given() {
        let keys = Keys {
            given: [
                "/dev/sda1:key:a",
                "all:key:b",
                "/dev/sda2:key:c",
                "abcd:key:d",
            ]
            .iter()
            .map(|s| parse_key(s).unwrap())
            .collect(),
            ..Keys::default()
        };
        let got: Vec<Vec<u8>> = keys
            .for_volume(&Device::from("/dev/sda2"), Some("ABCD"))
            .iter()
            .map(|s| s.expose().to_vec())
            .collect();
        assert_eq!(got, [b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]);
        assert!(format!("{keys:?}").contains("<secret>"));
        assert!(!format!("{keys:?}").contains("\"a\""));
    }
}
