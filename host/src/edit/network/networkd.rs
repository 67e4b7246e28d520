//! systemd-networkd `.network` files in /etc/systemd/network.
//!
//! A file whose `[Match] Name=` lists the interface exactly is edited in place. Otherwise
//! `00-guestwright-IFACE.network` is created: networkd applies the first file in name order
//! that matches, so the `00-` prefix puts it ahead of catch-all files such as
//! `99-dhcp.network` with `Name=e*`. In `[Network]`, `DHCP=` is merged per family
//! (`yes`/`ipv4`/`ipv6`/`no`), and `Address=`, `Gateway=` and `DNS=` values of this family are
//! replaced; the other family's values and all other keys stay.

use super::ini::Ini;
use super::{Family, GuestFile, GuestNetwork, IpConfig, NetworkSpec};
use crate::edit::udev::IfaceName;
use crate::edit::{FileChange, FileEdit};

/// The directory of administrator `.network` files.
pub const DIR: &str = "/etc/systemd/network";

/// The file we create when none matches the interface exactly.
pub fn path(iface: &IfaceName) -> String {
    format!("{DIR}/00-guestwright-{iface}.network")
}

/// The `.network` file whose `[Match] Name=` lists `iface` itself (not a glob).
pub fn find<'g, 'a>(guest: &'g GuestNetwork<'a>, iface: &IfaceName) -> Option<&'g GuestFile<'a>> {
    let mut files: Vec<&GuestFile<'a>> = guest
        .files
        .iter()
        .filter(|f| f.path.starts_with(&format!("{DIR}/")) && f.path.ends_with(".network"))
        .collect();
    files.sort_by_key(|f| f.path.rsplit('/').next().unwrap_or(f.path).to_owned());
    files.into_iter().find(|f| {
        Ini::parse(f.content)
            .values("Match", "Name")
            .iter()
            .any(|v| v.split_whitespace().any(|n| n == iface.as_str()))
    })
}

fn dhcp_value(v4: bool, v6: bool) -> &'static str {
    match (v4, v6) {
        (true, true) => "yes",
        (true, false) => "ipv4",
        (false, true) => "ipv6",
        (false, false) => "no",
    }
}

/// New `.network` contents for `spec`; a missing file starts as `[Match] Name=IFACE`.
pub fn edit_network_file(content: Option<&[u8]>, spec: &NetworkSpec) -> Vec<u8> {
    let fresh;
    let content = match content {
        Some(c) => c,
        None => {
            fresh = format!("[Match]\nName={}\n\n[Network]\n", spec.iface);
            fresh.as_bytes()
        }
    };
    let mut ini = Ini::parse(content);
    let fam = spec.family();
    let of_fam = |v: &str| Family::of_text(v) == Some(fam);

    let (mut v4, mut v6) = match ini
        .values("Network", "DHCP")
        .last()
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("yes" | "true" | "both" | "1") => (true, true),
        Some("ipv4" | "v4") => (true, false),
        Some("ipv6" | "v6") => (false, true),
        _ => (false, false),
    };
    let dhcp_now = matches!(spec.config, IpConfig::Dhcp);
    match fam {
        Family::V4 => v4 = dhcp_now,
        Family::V6 => v6 = dhcp_now,
    }
    let had_dhcp = !ini.values("Network", "DHCP").is_empty();
    if v4 || v6 || had_dhcp {
        ini.set("Network", "DHCP", dhcp_value(v4, v6));
    } else if !ini.has_section("Network") {
        ini.add("Network", "DHCP", "no");
    }

    // Address= and Gateway= hold one value each; DNS= may hold several.
    ini.remove_where("Network", |k, v| {
        (k == "Address" || k == "Gateway") && of_fam(v)
    });
    let dns_lines = ini.values("Network", "DNS");
    let kept: Vec<String> = dns_lines
        .iter()
        .map(|l| {
            l.split_whitespace()
                .filter(|d| !of_fam(d))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|l| !l.is_empty())
        .collect();
    ini.remove_where("Network", |k, _| k == "DNS");
    for l in kept {
        ini.add("Network", "DNS", &l);
    }
    if let IpConfig::Static(s) = &spec.config {
        ini.add("Network", "Address", &s.cidr());
        if let Some(g) = s.gateway {
            ini.add("Network", "Gateway", &g.to_string());
        }
        let dns: Vec<String> = s
            .dns
            .iter()
            .filter(|d| Family::of(d) == fam)
            .map(|d| d.to_string())
            .collect();
        if !dns.is_empty() {
            ini.add("Network", "DNS", &dns.join(" "));
        }
    }
    ini.finish()
}

/// The edit for `spec`: the matching file, or a new `00-guestwright-IFACE.network`.
pub fn edits(guest: &GuestNetwork<'_>, spec: &NetworkSpec) -> Vec<FileEdit> {
    let (path, content) = match find(guest, &spec.iface) {
        Some(f) => (f.path.to_owned(), Some(f.content)),
        None => (path(&spec.iface), None),
    };
    vec![FileEdit {
        path,
        change: FileChange::Write {
            content: edit_network_file(content, spec),
            mode: None,
        },
    }]
}
