//! Installed packages: the dpkg status database, and rpm's query output. Pure parsers.

use serde::Serialize;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// Parses `/var/lib/dpkg/status`: the packages whose status is `install ok installed`.
pub fn parse_dpkg_status(text: &str) -> Vec<Application> {
    let mut apps = Vec::new();
    for stanza in text.split("\n\n") {
        let mut name = None;
        let mut status = None;
        let mut version = None;
        let mut arch = None;
        for line in stanza.lines() {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            match k {
                "Package" => name = Some(v),
                "Status" => status = Some(v),
                "Version" => version = Some(v),
                "Architecture" => arch = Some(v),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        if status.is_some_and(|s| !s.ends_with(" installed")) {
            continue;
        }
        // Debian versions: [epoch:]upstream[-revision].
        let (epoch, rest) = match version.split_once(':') {
            Some((e, r)) if e.bytes().all(|b| b.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, version),
        };
        let (upstream, release) = match rest.rsplit_once('-') {
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };
        apps.push(Application {
            name: name.to_string(),
            epoch,
            version: upstream.to_string(),
            release: release.to_string(),
            arch: arch.unwrap_or("").to_string(),
        });
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    apps
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
    fn dpkg_status() {
        let text = "Package: adduser\nStatus: install ok installed\nPriority: important\nArchitecture: all\nVersion: 3.134\nDescription: add and remove users\n multi-line\n\n\
            Package: removed-pkg\nStatus: deinstall ok config-files\nVersion: 1.0-1\n\n\
            Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n\n\
            Package: vim\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2:9.0.1378-2\n";
        let apps = parse_dpkg_status(text);
        assert_eq!(apps.len(), 3);
        assert_eq!(
            apps[0],
            Application {
                name: "adduser".into(),
                epoch: 0,
                version: "3.134".into(),
                release: "".into(),
                arch: "all".into()
            }
        );
        assert_eq!(apps[1].release, "9+deb12u4");
        assert_eq!(
            (
                apps[2].epoch,
                apps[2].version.as_str(),
                apps[2].release.as_str()
            ),
            (2, "9.0.1378", "2")
        );
        assert!(parse_dpkg_status("").is_empty());
        assert!(parse_dpkg_status("\0garbage\n:::\n").is_empty());
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
