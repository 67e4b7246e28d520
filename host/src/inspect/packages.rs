//! Installed packages: the dpkg status database, pacman's desc files and apk's installed
//! database. Pure parsers (rpm's databases are in `rpmdb`).

use serde::Serialize;

/// One installed package, with the fields virt-inspector reports (empty when the
/// database has none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Application {
    /// The package name.
    pub name: String,
    /// The epoch (0 when none).
    pub epoch: u32,
    /// The upstream version.
    pub version: String,
    /// The distribution release, when the format has one.
    pub release: String,
    /// The architecture.
    pub arch: String,
    /// The project's home page.
    pub url: String,
    /// The source package it was built from (dpkg).
    pub source_package: String,
    /// One-line summary.
    pub summary: String,
    /// The long description.
    pub description: String,
}

/// Splits `[epoch:]version[-release]` at the first `:` and the first `-` after it, as
/// libguestfs 1.48 does (so `1.2-3-4` is version `1.2`, release `3-4`); `None` when the
/// epoch is not a number.
fn split_version(v: &str) -> Option<(u32, &str, Option<&str>)> {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) => (parse_epoch(e)?, r),
        None => (0, v),
    };
    Some(match rest.split_once('-') {
        Some((ver, rel)) => (epoch, ver, Some(rel)),
        None => (epoch, rest, None),
    })
}

fn parse_epoch(e: &str) -> Option<u32> {
    (!e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
        .then(|| e.parse().ok())
        .flatten()
}

/// Parses `/var/lib/dpkg/status` as virt-inspector 1.48 does: a package is listed when its
/// `Status` contains `installed` (so `install ok installed`, `hold ok installed`,
/// `install ok half-installed`, and also `... not-installed`; not `half-configured`,
/// `unpacked` or `config-files`), and a stanza counts only once a blank line ends it.
pub fn parse_dpkg_status(text: &str) -> Vec<Application> {
    let mut apps = Vec::new();
    let mut cur = Application::default();
    let mut named = false;
    let mut versioned = false;
    let mut epoch_ok = true;
    let mut installed = false;
    let mut description: Option<String> = None;
    let mut in_description = false;
    for line in text.split_terminator('\n') {
        if let Some(more) = line.strip_prefix(' ') {
            if in_description {
                match &mut description {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(more);
                    }
                    None => description = Some(more.to_string()),
                }
                continue;
            }
        } else {
            in_description = false;
        }
        if let Some(v) = line.strip_prefix("Package: ") {
            cur.name = v.to_string();
            named = true;
        } else if let Some(v) = line.strip_prefix("Status: ") {
            installed = v.contains("installed");
        } else if let Some(v) = line.strip_prefix("Version: ") {
            match split_version(v) {
                Some((e, ver, rel)) => {
                    (cur.epoch, epoch_ok) = (e, true);
                    cur.version = ver.to_string();
                    cur.release = rel.unwrap_or("").to_string();
                }
                None => {
                    epoch_ok = false;
                    let rest = v.split_once(':').map_or(v, |(_, r)| r);
                    cur.version = rest.split_once('-').map_or(rest, |(a, _)| a).to_string();
                }
            }
            versioned = true;
        } else if let Some(v) = line.strip_prefix("Architecture: ") {
            cur.arch = v.to_string();
        } else if let Some(v) = line.strip_prefix("Homepage: ") {
            cur.url = v.to_string();
        } else if let Some(v) = line.strip_prefix("Source: ") {
            cur.source_package = v.split(' ').next().unwrap_or("").to_string();
        } else if let Some(v) = line.strip_prefix("Description: ") {
            cur.summary = v.to_string();
            description = None;
            in_description = true;
        } else if line.is_empty() {
            if installed && named && versioned && epoch_ok {
                let mut app = std::mem::take(&mut cur);
                app.description = description.take().unwrap_or_default();
                apps.push(app);
            }
            cur = Application::default();
            (named, versioned, epoch_ok, installed) = (false, false, true, false);
            description = None;
        }
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    apps
}

/// Parses one `/var/lib/pacman/local/NAME-VERSION/desc` as virt-inspector 1.48 does:
/// `%NAME%`, `%VERSION%` (`[epoch:]version-release`, the release required), `%ARCH%`
/// required; `%URL%` and `%DESC%` (the description) when present. `None` when a required
/// field is missing or malformed.
pub fn parse_pacman_desc(text: &str) -> Option<Application> {
    let (mut name, mut version, mut arch, mut url, mut desc) = (None, None, None, None, None);
    let mut key: Option<&str> = None;
    for line in text.split_terminator('\n') {
        if line.is_empty() {
            key = None;
            continue;
        }
        if let Some(k) = key.take() {
            let v = Some(line.to_string());
            match k {
                "%NAME%" => name = v,
                "%VERSION%" => version = v,
                "%DESC%" => desc = v,
                "%URL%" => url = v,
                "%ARCH%" => arch = v,
                _ => {}
            }
            continue;
        }
        if matches!(line, "%NAME%" | "%VERSION%" | "%DESC%" | "%URL%" | "%ARCH%") {
            key = Some(line);
        }
    }
    let (name, version, arch) = (name?, version?, arch?);
    let (epoch, ver, rel) = split_version(&version)?;
    let rel = rel?;
    if ver.is_empty() || rel.is_empty() {
        return None;
    }
    Some(Application {
        name,
        epoch,
        version: ver.to_string(),
        release: rel.to_string(),
        arch,
        url: url.unwrap_or_default(),
        description: desc.unwrap_or_default(),
        ..Application::default()
    })
}

/// An epoch as libguestfs's `guestfs_int_parse_unsigned_int` reads it (C's `strtol` over
/// the whole text, then truncated to 32 bits); `None` when it is not a number.
fn parse_c_int(text: &[u8]) -> Option<i32> {
    let t = text.trim_ascii_start();
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((if neg { -n } else { n }) as i32)
}

/// Parses `/lib/apk/db/installed` as virt-inspector 1.48 does: `X:value` lines, a package
/// counted when a blank line ends it (so not the last one if the file lacks the final blank
/// line), `P` the name, `V` `[epoch:]version[-[r]release]`, `A` the arch, `U` the URL, `T`
/// the description (apk's one-line description: virt-inspector reports no summary). A
/// package needs a name and a version, and its epoch must be a number (not negative).
pub fn parse_apk_installed(data: &[u8]) -> Vec<Application> {
    let mut apps = Vec::new();
    let mut cur = Application::default();
    let (mut named, mut versioned) = (false, false);
    let mut epoch: Option<i32> = Some(0);
    let text = |v: &[u8]| {
        // C strings: a NUL ends the value.
        let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
        String::from_utf8_lossy(&v[..end]).into_owned()
    };
    for line in data.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if line.len() > 1 && line[1] != b':' {
            continue;
        }
        let value = line.get(2..).unwrap_or(b"");
        match line.first().copied().unwrap_or(0) {
            0 => {
                match epoch {
                    Some(e) if named && versioned && e >= 0 => {
                        cur.epoch = e as u32;
                        apps.push(std::mem::take(&mut cur));
                    }
                    _ => {}
                }
                cur = Application::default();
                (named, versioned) = (false, false);
            }
            b'A' => cur.arch = text(value),
            b'P' => {
                cur.name = text(value);
                named = true;
            }
            b'T' => cur.description = text(value),
            b'U' => cur.url = text(value),
            b'V' => {
                let value = &value[..value.iter().position(|&b| b == 0).unwrap_or(value.len())];
                let rest = match value.iter().position(|&b| b == b':') {
                    Some(i) => {
                        epoch = parse_c_int(&value[..i]).or(Some(-1));
                        &value[i + 1..]
                    }
                    None => {
                        epoch = Some(0);
                        value
                    }
                };
                match rest.iter().position(|&b| b == b'-') {
                    Some(i) => {
                        let rel = &rest[i + 1..];
                        cur.release = text(rel.strip_prefix(b"r").unwrap_or(rel));
                        cur.version = text(&rest[..i]);
                    }
                    None => {
                        cur.release.clear();
                        cur.version = text(rest);
                    }
                }
                versioned = true;
            }
            _ => {}
        }
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    apps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_as_virt_inspector_reads_it() {
        let text = "Package: adduser\nStatus: install ok installed\nPriority: important\nArchitecture: all\nVersion: 3.134\nDescription: add and remove users\n multi-line\n .\n end\nHomepage: https://x.invalid/\n\n\
            Package: removed-pkg\nStatus: deinstall ok config-files\nVersion: 1.0-1\n\n\
            Package: half\nStatus: install ok half-configured\nVersion: 1.0-1\n\n\
            Package: halfinst\nStatus: install ok half-installed\nVersion: 1.0-1\n\n\
            Package: held\nStatus: hold ok installed\nSource: heldsrc (1.0)\nVersion: 1.0-1-2\nArchitecture: amd64\n\n\
            Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n\n\
            Package: badepoch\nStatus: install ok installed\nVersion: x:1.0\n\n\
            Package: vim\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2:9.0.1378-2\n\n\
            Package: unterminated\nStatus: install ok installed\nVersion: 1\n";
        let apps = parse_dpkg_status(text);
        let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["adduser", "halfinst", "held", "libc6", "vim"]);
        assert_eq!(
            apps[0],
            Application {
                name: "adduser".into(),
                version: "3.134".into(),
                arch: "all".into(),
                url: "https://x.invalid/".into(),
                summary: "add and remove users".into(),
                description: "multi-line\n.\nend".into(),
                ..Application::default()
            }
        );
        assert_eq!(
            (
                apps[2].version.as_str(),
                apps[2].release.as_str(),
                apps[2].source_package.as_str()
            ),
            ("1.0", "1-2", "heldsrc")
        );
        assert_eq!(apps[3].release, "9+deb12u4");
        assert_eq!(
            (
                apps[4].epoch,
                apps[4].version.as_str(),
                apps[4].release.as_str()
            ),
            (2, "9.0.1378", "2")
        );
        assert!(parse_dpkg_status("").is_empty());
        assert!(parse_dpkg_status("\0garbage\n:::\n").is_empty());
    }

    #[test]
    fn pacman_desc() {
        let desc = "%NAME%\nbash\n\n%VERSION%\n1:5.2.026-2\n\n%BASE%\nbash\n\n%DESC%\nThe GNU Bourne Again shell\n\n%URL%\nhttps://www.gnu.org/software/bash/bash.html\n\n%ARCH%\nx86_64\n";
        assert_eq!(
            parse_pacman_desc(desc),
            Some(Application {
                name: "bash".into(),
                epoch: 1,
                version: "5.2.026".into(),
                release: "2".into(),
                arch: "x86_64".into(),
                url: "https://www.gnu.org/software/bash/bash.html".into(),
                description: "The GNU Bourne Again shell".into(),
                ..Application::default()
            })
        );
        // No release, no arch: not listed.
        assert_eq!(
            parse_pacman_desc("%NAME%\na\n\n%VERSION%\n1.0\n\n%ARCH%\nany\n"),
            None
        );
        assert_eq!(parse_pacman_desc("%NAME%\na\n\n%VERSION%\n1.0-1\n"), None);
        assert_eq!(parse_pacman_desc(""), None);
    }

    #[test]
    fn apk_installed_as_virt_inspector_reads_it() {
        let db = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\n\n\
P:busybox\nV:1.36.1-r15\nA:x86_64\nT:Size optimized toolbox\n\n\
P:epoch\nV:3:2.0-rc1-r4\n\n\
P:badepoch\nV:x:1.0-r0\n\n\
P:noversion\nA:x86_64\n\n\
P:norelease\nV:7\nnot a field\n\n\
P:unterminated\nV:1.0-r0\n";
        let apps = parse_apk_installed(db);
        let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["busybox", "epoch", "musl", "norelease"]);
        assert_eq!(
            apps[2],
            Application {
                name: "musl".into(),
                version: "1.2.4".into(),
                release: "2".into(),
                arch: "x86_64".into(),
                url: "https://musl.libc.org/".into(),
                description: "the musl c library (libc) implementation".into(),
                ..Application::default()
            }
        );
        assert_eq!(
            (
                apps[1].epoch,
                apps[1].version.as_str(),
                apps[1].release.as_str()
            ),
            (3, "2.0", "c1-r4")
        );
        assert_eq!(
            (apps[3].version.as_str(), apps[3].release.as_str()),
            ("7", "")
        );
        assert!(parse_apk_installed(b"").is_empty());
        assert!(parse_apk_installed(b"P\nV\n\n").len() == 1);
        assert_eq!(parse_c_int(b" +12"), Some(12));
        assert_eq!(parse_c_int(b"12a"), None);
        assert_eq!(parse_c_int(b"-1"), Some(-1));
    }
}
