//! What distribution and version a guest is, from `/etc/os-release` and the older release
//! files. Pure functions over file contents; the guest's bytes are untrusted.

/// Facts from the release files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    /// libguestfs's distro name: `debian`, `ubuntu`, `rhel`, `fedora`, ...
    pub distro: String,
    /// `PRETTY_NAME` or the release file's text.
    pub product_name: String,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

/// Unquotes an os-release value (`"Debian GNU/Linux 12"`, `'x'`, `x`), with shell escapes.
fn unquote(v: &str) -> String {
    let v = v.trim();
    let (inner, double) = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        (&v[1..v.len() - 1], true)
    } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        (&v[1..v.len() - 1], false)
    } else {
        (v, false)
    };
    if !double {
        return inner.to_string();
    }
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses `KEY=value` lines.
pub fn parse_os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            let k = k.trim();
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return None;
            }
            Some((k.to_string(), unquote(v)))
        })
        .collect()
}

/// libguestfs's `parse_version_from_major_minor`: the first `N.M` anywhere in the text,
/// else the first `N` (minor 0), else nothing.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let b = v.as_bytes();
    let digits_at = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let num = |i: usize, n: usize| v[i..i + n].parse::<u32>().ok();
    let mut first = None;
    let mut i = 0;
    while i < b.len() {
        let n = digits_at(i);
        if n == 0 {
            i += 1;
            continue;
        }
        first = first.or_else(|| num(i, n));
        if b.get(i + n) == Some(&b'.') {
            let m = digits_at(i + n + 1);
            if m > 0 {
                return Some((num(i, n)?, num(i + n + 1, m)?));
            }
        }
        i += n;
    }
    first.map(|major| (major, 0))
}

/// `PREFIX.*release (\d+)` with a `.(\d+)` after it when `minor` (greedy, as PCRE matches
/// it: the last `release ` that fits), or `PREFIX.*release (\d+).*Update (\d+)` when
/// `update`.
fn release_pattern(line: &str, prefix: &str, minor: bool, update: bool) -> Option<(u32, u32)> {
    let start = line.find(prefix)? + prefix.len();
    let rest = &line[start..];
    let lead = |s: &str| -> Option<(u32, usize)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        Some((s[..n].parse().ok()?, n))
    };
    let mut candidates: Vec<usize> = rest.match_indices("release ").map(|(i, _)| i + 8).collect();
    candidates.reverse();
    for at in candidates {
        let Some((major, n)) = lead(&rest[at..]) else {
            continue;
        };
        let after = &rest[at + n..];
        if update {
            if let Some(u) = after
                .match_indices("Update ")
                .filter_map(|(i, _)| lead(&after[i + 7..]))
                .last()
            {
                return Some((major, u.0));
            }
        } else if minor {
            if let Some((m, _)) = after.strip_prefix('.').and_then(lead) {
                return Some((major, m));
            }
        } else {
            return Some((major, 0));
        }
    }
    None
}

/// What inspection has learnt so far; each release file may add to it or overwrite it, as
/// libguestfs's tests do in order.
#[derive(Default)]
struct Data {
    distro: Option<String>,
    product_name: Option<String>,
    version: Option<(u32, u32)>,
}

/// Maps os-release `ID` to libguestfs's distro names; `None` for IDs libguestfs 1.48 does
/// not know.
fn distro_of(id: &str) -> Option<&'static str> {
    Some(match id {
        "alpine" => "alpinelinux",
        "altlinux" => "altlinux",
        "arch" => "archlinux",
        "centos" => "centos",
        "coreos" => "coreos",
        "debian" => "debian",
        "fedora" => "fedora",
        "frugalware" => "frugalware",
        "gentoo" => "gentoo",
        "kali" => "kalilinux",
        "kylin" => "kylin",
        "mageia" => "mageia",
        "neokylin" => "neokylin",
        "openmandriva" => "openmandriva",
        "opensuse" => "opensuse",
        s if s.starts_with("opensuse-") => "opensuse",
        "pardus" => "pardus",
        "pld" => "pldlinux",
        "rhel" => "rhel",
        "rocky" => "rocky",
        "sles" | "sled" => "sles",
        "ubuntu" => "ubuntu",
        "void" => "voidlinux",
        _ => return None,
    })
}

fn os_release(text: &str, d: &mut Data) -> bool {
    for (k, v) in parse_os_release(text) {
        match k.as_str() {
            "ID" => {
                if let Some(distro) = distro_of(&v) {
                    d.distro = Some(distro.into());
                } else {
                    log::info!("inspect: /etc/os-release: unknown ID={v}");
                }
            }
            "PRETTY_NAME" => d.product_name = Some(v),
            "VERSION_ID" => {
                if let Some(ver) = major_minor(&v) {
                    d.version = Some(ver);
                }
            }
            _ => {}
        }
    }
    let (Some(distro), Some(_)) = (&d.distro, &d.product_name) else {
        return false;
    };
    match (distro.as_str(), d.version) {
        // Their os-release carries the major version only: the release files say more.
        ("debian" | "centos" | "rocky", Some((_, 0))) => false,
        ("archlinux" | "gentoo" | "voidlinux", None) => {
            d.version = Some((0, 0));
            true
        }
        (_, None) => false,
        _ => true,
    }
}

fn lsb_release(text: &str, d: &mut Data) -> bool {
    let mut ok = false;
    for (k, v) in parse_os_release(text) {
        match k.as_str() {
            "DISTRIB_ID" => {
                let distro = match v.as_str() {
                    "CoreOS" => "coreos",
                    "LinuxMint" => "linuxmint",
                    "Mageia" => "mageia",
                    "Ubuntu" => "ubuntu",
                    _ => continue,
                };
                d.distro = Some(distro.into());
                ok = true;
            }
            "DISTRIB_RELEASE" => {
                if let Some(ver) = major_minor(&v) {
                    d.version = Some(ver);
                }
            }
            "DISTRIB_DESCRIPTION" => {
                d.product_name = Some(v);
                ok = true;
            }
            _ => {}
        }
    }
    ok
}

/// Finds (major, minor) in a release file's first line.
type VersionPattern = dyn Fn(&str) -> Option<(u32, u32)>;

/// A release file whose first line is the product name; `pattern` must match it when given.
fn generic(text: &str, distro: &str, pattern: Option<&VersionPattern>, d: &mut Data) -> bool {
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return false;
    }
    d.product_name = Some(first.to_string());
    d.distro = Some(distro.to_string());
    match pattern {
        Some(p) => match p(first) {
            Some(ver) => {
                d.version = Some(ver);
                true
            }
            None => false,
        },
        None => {
            if let Some(ver) = major_minor(first) {
                d.version = Some(ver);
            }
            true
        }
    }
}

fn suse_release(text: &str, d: &mut Data) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    let Some(first) = lines.first() else {
        return false;
    };
    d.product_name = Some(first.to_string());
    let number = |line: Option<&&str>, key: &str| -> Option<u32> {
        let rest = line?.strip_prefix(key)?;
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        rest[..n].parse().ok()
    };
    if first.starts_with("SUSE Linux Enterprise ")
        || first.starts_with("SUSE LINUX Enterprise ")
        || first.starts_with("Novell Linux Desktop ")
    {
        let major = number(lines.get(1), "VERSION = ");
        let minor = number(lines.get(2), "PATCHLEVEL = ");
        d.distro = Some("sles".into());
        d.version = major.map(|m| (m, minor.unwrap_or(0)));
    } else if ["openSUSE ", "SuSE Linux ", "SUSE LINUX "]
        .iter()
        .any(|p| first.starts_with(p))
    {
        if let Some(ver) = lines.get(1).and_then(|l| major_minor(l)) {
            d.version = Some(ver);
        }
        d.distro = Some("opensuse".into());
    }
    true
}

/// The release files inspection reads, in libguestfs's order.
pub const RELEASE_FILES: &[&str] = &[
    "/etc/os-release",
    "/etc/lsb-release",
    "/etc/oracle-release",
    "/etc/centos-release",
    "/etc/rocky-release",
    "/etc/altlinux-release",
    "/etc/redhat-release",
    "/etc/debian_version",
    "/etc/pardus-release",
    "/etc/arch-release",
    "/etc/gentoo-release",
    "/etc/meego-release",
    "/etc/slackware-version",
    "/etc/ttylinux-target",
    "/etc/SuSE-release",
    "/etc/cirros/version",
    "/etc/alpine-release",
];

/// Decides distro, product name and version from the release files as libguestfs 1.48
/// does: each file that exists (`read` returns its text) is tried in [`RELEASE_FILES`]
/// order until one settles the question; later files may overwrite what earlier ones said.
pub fn detect(mut read: impl FnMut(&str) -> Option<String>) -> Release {
    let mut d = Data::default();
    for path in RELEASE_FILES {
        let Some(text) = read(path) else { continue };
        let t = text.as_str();
        let rh = |prefix: &'static str| {
            move |l: &str| {
                release_pattern(l, prefix, true, true)
                    .or_else(|| release_pattern(l, prefix, true, false))
                    .or_else(|| release_pattern(l, prefix, false, false))
            }
        };
        let done = match *path {
            "/etc/os-release" => os_release(t, &mut d),
            "/etc/lsb-release" => lsb_release(t, &mut d),
            "/etc/oracle-release" => generic(t, "oraclelinux", Some(&rh("Oracle Linux")), &mut d),
            "/etc/centos-release" => generic(t, "centos", Some(&rh("CentOS")), &mut d),
            "/etc/rocky-release" => generic(t, "rocky", Some(&rh("Rocky Linux")), &mut d),
            "/etc/altlinux-release" => generic(t, "altlinux", None, &mut d),
            "/etc/redhat-release" => {
                let fedora = |l: &str| {
                    release_pattern(l, "Fedora", false, false)
                        .filter(|_| l.contains("Fedora release "))
                };
                generic(t, "fedora", Some(&fedora), &mut d)
                    || generic(t, "rhel", Some(&rh("Red Hat")), &mut d)
                    || generic(t, "centos", Some(&rh("CentOS")), &mut d)
                    || generic(t, "rocky", Some(&rh("Rocky Linux")), &mut d)
                    || generic(t, "scientificlinux", Some(&rh("Scientific Linux")), &mut d)
                    || generic(t, "redhat-based", None, &mut d)
                    || {
                        d.distro = Some("redhat-based".into());
                        true
                    }
            }
            "/etc/debian_version" => generic(t, "debian", None, &mut d),
            "/etc/pardus-release" => generic(t, "pardus", None, &mut d),
            "/etc/arch-release" => {
                d.distro = Some("archlinux".into());
                true
            }
            "/etc/gentoo-release" => generic(t, "gentoo", None, &mut d),
            "/etc/meego-release" => generic(t, "meego", None, &mut d),
            "/etc/slackware-version" => generic(t, "slackware", None, &mut d),
            "/etc/ttylinux-target" => generic(t, "ttylinux", None, &mut d),
            "/etc/SuSE-release" => {
                suse_release(t, &mut d) || {
                    d.distro = Some("suse-based".into());
                    true
                }
            }
            "/etc/cirros/version" => generic(t, "cirros", None, &mut d),
            "/etc/alpine-release" => generic(t, "alpinelinux", None, &mut d),
            _ => false,
        };
        if done {
            break;
        }
    }
    let (major, minor) = d.version.unwrap_or((0, 0));
    Release {
        distro: d.distro.unwrap_or_else(|| "unknown".into()),
        product_name: d.product_name.unwrap_or_default(),
        major,
        minor,
    }
}

/// The osinfo short id libguestfs 1.48 computes for a Linux guest (`debian12`,
/// `ubuntu22.04`, `fedora36`, `centos7.0`, ...); `None` when it has none.
pub fn osinfo(distro: &str, major: u32, minor: u32) -> Option<String> {
    Some(match distro {
        "centos" if major >= 8 => format!("centos{major}"),
        "centos" if major == 7 => "centos7.0".to_string(),
        "centos" if major == 6 => format!("centos6.{minor}"),
        "circle" | "rocky" if major >= 8 => format!("{distro}{major}"),
        "debian" if major >= 4 => format!("debian{major}"),
        "fedora" | "mageia" => format!("{distro}{major}"),
        "sles" => {
            let base = if major >= 15 { "sle" } else { "sles" };
            if minor == 0 {
                format!("{base}{major}")
            } else {
                format!("{base}{major}sp{minor}")
            }
        }
        "ubuntu" => format!("ubuntu{major}.{minor:02}"),
        "archlinux" | "gentoo" | "voidlinux" => distro.to_string(),
        "altlinux" if major >= 8 => format!("alt{major}.{minor}"),
        "altlinux" => format!("altlinux{major}.{minor}"),
        "unknown" => return None,
        _ if major > 0 || minor > 0 => format!("{distro}{major}.{minor}"),
        _ => return None,
    })
}

/// The package format and manager of a distribution as libguestfs 1.48 chooses them;
/// `has_dnf` says whether the guest has `/usr/bin/dnf` (Fedora 22 and later use dnf only
/// then).
pub fn package_tools(distro: &str, major: u32, has_dnf: bool) -> (&'static str, &'static str) {
    let format = match distro {
        "altlinux" | "centos" | "rocky" | "fedora" | "mageia" | "mandriva" | "meego"
        | "neokylin" | "openmandriva" | "opensuse" | "oraclelinux" | "redhat-based" | "rhel"
        | "scientificlinux" | "sles" | "suse-based" => "rpm",
        "debian" | "kalilinux" | "kylin" | "linuxmint" | "ubuntu" => "deb",
        "archlinux" => "pacman",
        "gentoo" => "ebuild",
        "pardus" => "pisi",
        "alpinelinux" => "apk",
        "voidlinux" => "xbps",
        _ => "unknown",
    };
    let manager = match distro {
        "meego" => "yum",
        "fedora" if major >= 22 && has_dnf => "dnf",
        "fedora" if major >= 1 => "yum",
        "neokylin" | "openmandriva" => "dnf",
        "centos" | "rocky" | "oraclelinux" | "redhat-based" | "rhel" | "scientificlinux" => {
            match major {
                8.. => "dnf",
                5.. => "yum",
                2.. => "up2date",
                _ => "unknown",
            }
        }
        "altlinux" | "debian" | "kalilinux" | "kylin" | "linuxmint" | "ubuntu" => "apt",
        "archlinux" => "pacman",
        "gentoo" => "portage",
        "pardus" => "pisi",
        "mageia" | "mandriva" => "urpmi",
        "opensuse" | "sles" | "suse-based" => "zypper",
        "alpinelinux" => "apk",
        "voidlinux" => "xbps",
        _ => "unknown",
    };
    (format, manager)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(files: &[(&str, &str)]) -> Release {
        detect(|p| {
            files
                .iter()
                .find(|(f, _)| *f == p)
                .map(|(_, t)| t.to_string())
        })
    }

    fn r(distro: &str, product: &str, major: u32, minor: u32) -> Release {
        Release {
            distro: distro.into(),
            product_name: product.into(),
            major,
            minor,
        }
    }

    const DEBIAN12: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";

    #[test]
    fn debian_takes_its_minor_version_and_name_from_debian_version() {
        assert_eq!(
            from(&[
                ("/etc/os-release", DEBIAN12),
                ("/etc/debian_version", "12.5\n")
            ]),
            r("debian", "12.5", 12, 5)
        );
        // Without debian_version, os-release's answer stands.
        assert_eq!(
            from(&[("/etc/os-release", DEBIAN12)]),
            r("debian", "Debian GNU/Linux 12 (bookworm)", 12, 0)
        );
        let sid = "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\n";
        assert_eq!(
            from(&[
                ("/etc/os-release", sid),
                ("/etc/debian_version", "trixie/sid\n")
            ]),
            r("debian", "trixie/sid", 0, 0)
        );
    }

    #[test]
    fn ubuntu_without_os_release_reads_lsb_release() {
        let lsb = "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.10\nDISTRIB_CODENAME=maverick\nDISTRIB_DESCRIPTION=\"Ubuntu 10.10 (Phony Cat)\"\n";
        assert_eq!(
            from(&[
                ("/etc/lsb-release", lsb),
                ("/etc/debian_version", "5.0.1\n")
            ]),
            r("ubuntu", "Ubuntu 10.10 (Phony Cat)", 10, 10)
        );
        let ubuntu = "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nVERSION_ID=\"22.04\"\nID=ubuntu\n";
        assert_eq!(
            from(&[("/etc/os-release", ubuntu)]),
            r("ubuntu", "Ubuntu 22.04.4 LTS", 22, 4)
        );
    }

    #[test]
    fn red_hat_release_files() {
        assert_eq!(
            from(&[("/etc/redhat-release", "Fedora release 14 (Phony)\n")]),
            r("fedora", "Fedora release 14 (Phony)", 14, 0)
        );
        assert_eq!(
            from(&[(
                "/etc/redhat-release",
                "CentOS Linux release 7.9.2009 (Core)\n"
            )]),
            r("centos", "CentOS Linux release 7.9.2009 (Core)", 7, 9)
        );
        assert_eq!(
            from(&[(
                "/etc/redhat-release",
                "Red Hat Enterprise Linux Server release 5 (Tikanga Update 4)\n"
            )]),
            r(
                "rhel",
                "Red Hat Enterprise Linux Server release 5 (Tikanga Update 4)",
                5,
                4
            )
        );
        assert_eq!(
            from(&[("/etc/redhat-release", "Something else 3\n")]),
            r("redhat-based", "Something else 3", 3, 0)
        );
        let rocky = "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n";
        assert_eq!(
            from(&[("/etc/os-release", rocky)]),
            r("rocky", "Rocky Linux 9.3 (Blue Onyx)", 9, 3)
        );
    }

    #[test]
    fn rolling_unknown_and_suse() {
        let arch = "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n";
        assert_eq!(
            from(&[("/etc/os-release", arch)]),
            r("archlinux", "Arch Linux", 0, 0)
        );
        assert_eq!(from(&[("/etc/arch-release", "")]), r("archlinux", "", 0, 0));
        assert_eq!(from(&[]), r("unknown", "", 0, 0));
        assert_eq!(
            from(&[("/etc/os-release", "ID=weird\nPRETTY_NAME=x\nVERSION_ID=1\n")]),
            r("unknown", "x", 1, 0)
        );
        let suse = "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 2\n";
        assert_eq!(
            from(&[("/etc/SuSE-release", suse)]),
            r("sles", "SUSE Linux Enterprise Server 11 (x86_64)", 11, 2)
        );
        assert_eq!(from(&[("/etc/os-release", "")]), r("unknown", "", 0, 0));
    }

    #[test]
    fn osinfo_ids_and_package_tools() {
        assert_eq!(osinfo("debian", 12, 5).as_deref(), Some("debian12"));
        assert_eq!(osinfo("ubuntu", 22, 4).as_deref(), Some("ubuntu22.04"));
        assert_eq!(osinfo("ubuntu", 10, 10).as_deref(), Some("ubuntu10.10"));
        assert_eq!(osinfo("fedora", 36, 0).as_deref(), Some("fedora36"));
        assert_eq!(osinfo("centos", 7, 9).as_deref(), Some("centos7.0"));
        assert_eq!(osinfo("rhel", 9, 4).as_deref(), Some("rhel9.4"));
        assert_eq!(osinfo("archlinux", 0, 0).as_deref(), Some("archlinux"));
        assert_eq!(osinfo("sles", 15, 3).as_deref(), Some("sle15sp3"));
        assert_eq!(osinfo("unknown", 3, 0), None);
        assert_eq!(osinfo("alpinelinux", 0, 0), None);
        assert_eq!(package_tools("fedora", 14, false), ("rpm", "yum"));
        assert_eq!(package_tools("fedora", 36, false), ("rpm", "yum"));
        assert_eq!(package_tools("fedora", 36, true), ("rpm", "dnf"));
        assert_eq!(package_tools("rhel", 7, false), ("rpm", "yum"));
        assert_eq!(package_tools("rocky", 9, false), ("rpm", "dnf"));
        assert_eq!(package_tools("ubuntu", 24, false), ("deb", "apt"));
        assert_eq!(package_tools("archlinux", 0, false), ("pacman", "pacman"));
        assert_eq!(major_minor("Debian 11.7"), Some((11, 7)));
        assert_eq!(major_minor("bookworm/sid"), None);
        assert_eq!(major_minor("release 5 and 6.2"), Some((6, 2)));
    }
}
