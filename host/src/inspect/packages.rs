//! Installed packages: the dpkg status database, and rpm's query output. Pure parsers.

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

/// The `rpm -qa --qf` format [`parse_rpm_query`] reads.
pub const RPM_QUERY_FORMAT: &str = "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n";

/// Parses the output of `rpm -qa --qf RPM_QUERY_FORMAT`.
pub fn parse_rpm_query(text: &str) -> Vec<Application> {
    let mut apps: Vec<Application> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() != 5 || f[0].is_empty() {
                return None;
            }
            Some(Application {
                name: f[0].to_string(),
                epoch: f[1].parse().unwrap_or(0),
                version: f[2].to_string(),
                release: f[3].to_string(),
                arch: if f[4] == "(none)" {
                    String::new()
                } else {
                    f[4].to_string()
                },
                ..Application::default()
            })
        })
        .collect();
    apps.sort_by(|a, b| a.name.cmp(&b.name).then(a.arch.cmp(&b.arch)));
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
    fn rpm_query() {
        let text =
            "bash\t0\t5.1.8\t6.el9\tx86_64\ngpg-pubkey\t0\tfd431d51\t4ae0493b\t(none)\nbad line\n";
        let apps = parse_rpm_query(text);
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].name, "bash");
        assert_eq!(apps[1].arch, "");
    }
}
