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

/// Splits `12`, `22.04`, `9.3`, `8.10.1`, `bookworm/sid` into (major, minor).
fn version_numbers(v: &str) -> (u32, u32) {
    let mut parts = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty());
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// Maps os-release `ID` to libguestfs's distro names.
fn distro_of(id: &str) -> &str {
    match id {
        "rhel" => "rhel",
        "centos" => "centos",
        "rocky" => "rocky",
        "almalinux" => "almalinux",
        "ol" => "oraclelinux",
        "fedora" => "fedora",
        "debian" => "debian",
        "ubuntu" => "ubuntu",
        "linuxmint" => "linuxmint",
        "opensuse" | "opensuse-leap" | "opensuse-tumbleweed" => "opensuse",
        "sles" | "sled" => "sles",
        "arch" => "archlinux",
        "alpine" => "alpinelinux",
        "gentoo" => "gentoo",
        "void" => "voidlinux",
        "altlinux" => "altlinux",
        "kali" => "kalilinux",
        "cirros" => "cirros",
        "" => "unknown",
        other => other,
    }
}

/// Reads `/etc/os-release` contents.
pub fn from_os_release(text: &str) -> Option<Release> {
    let kv = parse_os_release(text);
    let get = |k: &str| {
        kv.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let id = get("ID")?;
    let version_id = get("VERSION_ID").unwrap_or("");
    let (mut major, mut minor) = version_numbers(version_id);
    let distro = distro_of(&id.to_ascii_lowercase()).to_string();
    // Debian testing/sid has no VERSION_ID; Arch and Gentoo are rolling (0.0 like libguestfs).
    if version_id.is_empty() {
        (major, minor) = (0, 0);
    }
    let product_name = get("PRETTY_NAME")
        .or_else(|| get("NAME"))
        .unwrap_or(id)
        .to_string();
    Some(Release {
        distro,
        product_name,
        major,
        minor,
    })
}

/// Reads a legacy release file (`/etc/redhat-release`, `/etc/debian_version`, ...).
pub fn from_legacy(path: &str, text: &str) -> Option<Release> {
    let first = text.lines().next().unwrap_or("").trim();
    let (major, minor) = version_numbers(first);
    let distro = match path {
        "/etc/debian_version" => "debian",
        "/etc/alpine-release" => "alpinelinux",
        "/etc/arch-release" => "archlinux",
        "/etc/gentoo-release" => "gentoo",
        "/etc/SuSE-release" => {
            if first.contains("openSUSE") {
                "opensuse"
            } else {
                "sles"
            }
        }
        "/etc/redhat-release" | "/etc/centos-release" | "/etc/fedora-release" => {
            if first.starts_with("Fedora") {
                "fedora"
            } else if first.starts_with("CentOS") {
                "centos"
            } else if first.starts_with("Rocky") {
                "rocky"
            } else if first.starts_with("AlmaLinux") {
                "almalinux"
            } else if first.starts_with("Red Hat") {
                "rhel"
            } else {
                "redhat-based"
            }
        }
        _ => return None,
    };
    let product_name = match distro {
        "debian" => format!("Debian {first}"),
        _ if first.is_empty() => distro.to_string(),
        _ => first.to_string(),
    };
    Some(Release {
        distro: distro.to_string(),
        product_name,
        major,
        minor,
    })
}

/// The package format and manager of a distribution.
pub fn package_tools(distro: &str, major: u32) -> (&'static str, &'static str) {
    match distro {
        "debian" | "ubuntu" | "linuxmint" | "kalilinux" => ("deb", "apt"),
        "fedora" => ("rpm", "dnf"),
        "rhel" | "centos" | "rocky" | "almalinux" | "oraclelinux" | "redhat-based" => {
            ("rpm", if major >= 8 { "dnf" } else { "yum" })
        }
        "opensuse" | "sles" => ("rpm", "zypper"),
        "archlinux" => ("pacman", "pacman"),
        "alpinelinux" => ("apk", "apk"),
        "gentoo" => ("ebuild", "portage"),
        "voidlinux" => ("xbps", "xbps"),
        _ => ("unknown", "unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_os_release_files() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";
        assert_eq!(
            from_os_release(debian).unwrap(),
            Release {
                distro: "debian".into(),
                product_name: "Debian GNU/Linux 12 (bookworm)".into(),
                major: 12,
                minor: 0
            }
        );
        let ubuntu = "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n";
        let r = from_os_release(ubuntu).unwrap();
        assert_eq!((r.distro.as_str(), r.major, r.minor), ("ubuntu", 22, 4));
        let rocky = "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n";
        let r = from_os_release(rocky).unwrap();
        assert_eq!((r.distro.as_str(), r.major, r.minor), ("rocky", 9, 3));
        let rhel = "NAME=\"Red Hat Enterprise Linux\"\nVERSION_ID=\"8.10\"\nID=\"rhel\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 8.10 (Ootpa)\"\n";
        assert_eq!(from_os_release(rhel).unwrap().minor, 10);
        let sid = "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\n";
        assert_eq!(from_os_release(sid).unwrap().major, 0);
        let suse = "NAME=\"openSUSE Leap\"\nVERSION_ID=\"15.5\"\nID=\"opensuse-leap\"\n";
        assert_eq!(from_os_release(suse).unwrap().distro, "opensuse");
    }

    #[test]
    fn odd_input_is_ordinary() {
        assert_eq!(from_os_release(""), None);
        assert_eq!(from_os_release("garbage\n\0\0\u{fffd}"), None);
        let r = from_os_release("# comment\nID=\"weird\\\"os\"\nVERSION_ID=x.y\n").unwrap();
        assert_eq!(r.distro, "weird\"os");
        assert_eq!((r.major, r.minor), (0, 0));
        assert_eq!(unquote("'single quoted'"), "single quoted");
    }

    #[test]
    fn legacy_files() {
        let r = from_legacy(
            "/etc/redhat-release",
            "CentOS Linux release 7.9.2009 (Core)\n",
        )
        .unwrap();
        assert_eq!((r.distro.as_str(), r.major, r.minor), ("centos", 7, 9));
        let r = from_legacy("/etc/debian_version", "11.7\n").unwrap();
        assert_eq!(
            (r.distro.as_str(), r.product_name.as_str(), r.major),
            ("debian", "Debian 11.7", 11)
        );
        assert_eq!(from_legacy("/etc/issue", "x"), None);
        assert_eq!(package_tools("rhel", 7), ("rpm", "yum"));
        assert_eq!(package_tools("rocky", 9), ("rpm", "dnf"));
        assert_eq!(package_tools("ubuntu", 24), ("deb", "apt"));
    }
}
