//! `--timezone AREA/CITY`: the /etc/localtime symlink, Debian's /etc/timezone and old RHEL's
//! /etc/sysconfig/clock.
//!
//! The name is validated here so it can never leave /usr/share/zoneinfo (no `..`, no absolute
//! path); the caller checks that [`Timezone::zoneinfo_path`] exists in the guest before
//! applying the edits, as virt-customize does. Never does I/O.

use super::sysconfig;
use super::text::{self, Builder};
use super::{FileChange, FileEdit};

/// Errors of `--timezone`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimezoneError {
    /// The name is not a zoneinfo name.
    #[error("invalid time zone {0:?}: use a name under /usr/share/zoneinfo such as Europe/Berlin, America/Argentina/Buenos_Aires or UTC")]
    Invalid(String),
}

/// A validated zoneinfo name such as `Europe/Berlin` or `Etc/GMT+5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timezone(String);

impl Timezone {
    /// Validates a name: `/`-separated components of letters, digits, `_`, `-` and `+`, none
    /// empty or starting with `.` or `-`, at most 255 characters.
    pub fn parse(name: &str) -> Result<Timezone, TimezoneError> {
        let ok = !name.is_empty()
            && name.len() <= 255
            && name.split('/').all(|c| {
                !c.is_empty()
                    && !c.starts_with(['.', '-'])
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-+".contains(&b))
            });
        if ok {
            Ok(Timezone(name.to_owned()))
        } else {
            Err(TimezoneError::Invalid(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zoneinfo file that must exist in the guest.
    pub fn zoneinfo_path(&self) -> String {
        format!("/usr/share/zoneinfo/{}", self.0)
    }

    /// The /etc/localtime link target, relative as `timedatectl` writes it.
    pub fn localtime_target(&self) -> String {
        format!("../usr/share/zoneinfo/{}", self.0)
    }
}

/// New /etc/timezone (Debian, Ubuntu) contents: the first zone line replaced, comments kept.
pub fn edit_timezone_file(content: Option<&[u8]>, tz: &Timezone) -> Vec<u8> {
    let content = content.unwrap_or_default();
    let mut b = Builder::like(content);
    let mut done = false;
    for l in text::lines(content) {
        if !done && !l.is_comment_or_blank() {
            b.replace(&l, tz.as_str().as_bytes());
            done = true;
        } else {
            b.keep(&l);
        }
    }
    if !done {
        b.push(tz.as_str().as_bytes());
    }
    b.finish()
}

/// New /etc/sysconfig/clock contents (RHEL 6 and older) with `ZONE=` set.
pub fn edit_sysconfig_clock(content: Option<&[u8]>, tz: &Timezone) -> Vec<u8> {
    sysconfig::set(content.unwrap_or_default(), "ZONE", tz.as_str())
}

/// The edits for `--timezone`: always the /etc/localtime symlink; /etc/timezone and
/// /etc/sysconfig/clock only when the guest already has them (pass their contents).
pub fn timezone_edits(
    tz: &Timezone,
    etc_timezone: Option<&[u8]>,
    sysconfig_clock: Option<&[u8]>,
) -> Vec<FileEdit> {
    let mut edits = vec![FileEdit {
        path: "/etc/localtime".to_owned(),
        change: FileChange::Symlink {
            target: tz.localtime_target(),
        },
    }];
    if let Some(c) = etc_timezone {
        edits.push(FileEdit {
            path: "/etc/timezone".to_owned(),
            change: FileChange::Write {
                content: edit_timezone_file(Some(c), tz),
                mode: None,
            },
        });
    }
    if let Some(c) = sysconfig_clock {
        edits.push(FileEdit {
            path: "/etc/sysconfig/clock".to_owned(),
            change: FileChange::Write {
                content: edit_sysconfig_clock(Some(c), tz),
                mode: None,
            },
        });
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(s: &str) -> Timezone {
        Timezone::parse(s).unwrap()
    }

    #[test]
    fn validation() {
        for ok in [
            "UTC",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+5",
            "Etc/GMT-14",
            "America/Port-au-Prince",
        ] {
            assert!(Timezone::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../../etc/shadow",
            "Europe/../../../etc",
            "Europe//Berlin",
            "Europe/Berlin/",
            ".hidden",
            "Europe/Ber lin",
            "Europe\\Berlin",
            "-x",
        ] {
            assert!(Timezone::parse(bad).is_err(), "{bad}");
        }
        assert!(Timezone::parse("a/..")
            .unwrap_err()
            .to_string()
            .contains("Europe/Berlin"));
    }

    #[test]
    fn paths_and_files() {
        let t = tz("Europe/Berlin");
        assert_eq!(t.zoneinfo_path(), "/usr/share/zoneinfo/Europe/Berlin");
        assert_eq!(t.localtime_target(), "../usr/share/zoneinfo/Europe/Berlin");
        assert_eq!(
            edit_timezone_file(Some(b"Etc/UTC\n"), &t),
            b"Europe/Berlin\n"
        );
        assert_eq!(edit_timezone_file(None, &t), b"Europe/Berlin\n");
        assert_eq!(edit_timezone_file(Some(b"Etc/UTC"), &t), b"Europe/Berlin");
        let out = edit_timezone_file(Some(b"# zone\r\nEtc/UTC\r\n"), &t);
        assert_eq!(out, b"# zone\r\nEurope/Berlin\r\n");
        assert_eq!(edit_timezone_file(Some(&out), &t), out);
        let clock = b"ZONE=\"America/New_York\"\nUTC=true\n";
        let out = edit_sysconfig_clock(Some(clock), &t);
        assert_eq!(out, b"ZONE=\"Europe/Berlin\"\nUTC=true\n");
        assert_eq!(edit_sysconfig_clock(Some(&out), &t), out);
    }

    #[test]
    fn edits_per_distro() {
        let t = tz("Asia/Tokyo");
        let deb = timezone_edits(&t, Some(b"Etc/UTC\n"), None);
        assert_eq!(
            deb,
            vec![
                FileEdit {
                    path: "/etc/localtime".into(),
                    change: FileChange::Symlink {
                        target: "../usr/share/zoneinfo/Asia/Tokyo".into()
                    }
                },
                FileEdit {
                    path: "/etc/timezone".into(),
                    change: FileChange::Write {
                        content: b"Asia/Tokyo\n".to_vec(),
                        mode: None
                    }
                },
            ]
        );
        assert_eq!(timezone_edits(&t, None, None).len(), 1);
        assert_eq!(timezone_edits(&t, None, Some(b"")).len(), 2);
    }
}
