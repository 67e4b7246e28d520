//! RHEL-family /etc/sysconfig/network-scripts/ifcfg-IFACE (initscripts and NetworkManager's
//! ifcfg-rh plugin).
//!
//! IPv4: `BOOTPROTO=dhcp|none`, `IPADDR`, `PREFIX`, `GATEWAY`; old `NETMASK`, numbered
//! `IPADDRn`/`PREFIXn`/`NETMASKn`/`GATEWAYn` are removed. IPv6: `IPV6INIT=yes`,
//! `IPV6_AUTOCONF=no`, `IPV6ADDR`, `IPV6_DEFAULTGW`. DNS: `DNS1..n` keeps the other family's
//! servers and replaces this family's. `ONBOOT=yes`; `DEVICE`, `HWADDR`, `UUID`, `NAME` and every
//! other key stay as they are.

use super::{Family, GuestNetwork, IpConfig, NetworkSpec};
use crate::edit::sysconfig;
use crate::edit::udev::IfaceName;
use crate::edit::{FileChange, FileEdit};

/// The ifcfg directory.
pub const DIR: &str = "/etc/sysconfig/network-scripts";

/// The ifcfg file of `iface`.
pub fn path(iface: &IfaceName) -> String {
    format!("{DIR}/ifcfg-{iface}")
}

fn numbered(k: &[u8], base: &[u8]) -> bool {
    k.strip_prefix(base)
        .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
}

/// New ifcfg contents for `spec`; a missing file starts as `DEVICE`, `NAME`, `TYPE=Ethernet`.
pub fn edit_ifcfg(content: Option<&[u8]>, spec: &NetworkSpec) -> Vec<u8> {
    let fresh;
    let mut c: Vec<u8> = match content {
        Some(c) => c.to_vec(),
        None => {
            fresh = format!("DEVICE={0}\nNAME={0}\nTYPE=Ethernet\n", spec.iface);
            fresh.into_bytes()
        }
    };
    let fam = spec.family();
    // DNS: collect current servers, drop this family's, add the new ones.
    let old_dns: Vec<String> = sysconfig::entries(&c)
        .into_iter()
        .filter(|(k, _)| numbered(k.as_bytes(), b"DNS"))
        .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
        .collect();
    let mut dns: Vec<String> = old_dns
        .iter()
        .filter(|d| Family::of_text(d) != Some(fam))
        .cloned()
        .collect();
    for d in spec.dns_of_family() {
        let d = d.to_string();
        if !dns.contains(&d) {
            dns.push(d);
        }
    }
    match (&spec.config, fam) {
        (IpConfig::Dhcp, _) => {
            c = sysconfig::remove_where(&c, |k| {
                matches!(k, b"IPADDR" | b"PREFIX" | b"NETMASK" | b"GATEWAY")
                    || [&b"IPADDR"[..], b"PREFIX", b"NETMASK", b"GATEWAY"]
                        .iter()
                        .any(|b| numbered(k, b))
            });
            c = sysconfig::set(&c, "BOOTPROTO", "dhcp");
        }
        (IpConfig::Static(s), Family::V4) => {
            c = sysconfig::remove_where(&c, |k| {
                k == b"NETMASK"
                    || [&b"IPADDR"[..], b"PREFIX", b"NETMASK", b"GATEWAY"]
                        .iter()
                        .any(|b| numbered(k, b))
            });
            c = sysconfig::set(&c, "BOOTPROTO", "none");
            c = sysconfig::set(&c, "IPADDR", &s.address.to_string());
            c = sysconfig::set(&c, "PREFIX", &s.prefix.to_string());
            c = match s.gateway {
                Some(g) => sysconfig::set(&c, "GATEWAY", &g.to_string()),
                None => sysconfig::remove(&c, "GATEWAY"),
            };
        }
        (IpConfig::Static(s), Family::V6) => {
            c = sysconfig::remove(&c, "IPV6ADDR_SECONDARIES");
            c = sysconfig::set(&c, "IPV6INIT", "yes");
            c = sysconfig::set(&c, "IPV6_AUTOCONF", "no");
            c = sysconfig::set(&c, "IPV6ADDR", &s.cidr());
            c = match s.gateway {
                Some(g) => sysconfig::set(&c, "IPV6_DEFAULTGW", &g.to_string()),
                None => sysconfig::remove(&c, "IPV6_DEFAULTGW"),
            };
        }
    }
    if dns != old_dns {
        // DNS1.. rewritten in place, the ones past the new count removed
        for (i, d) in dns.iter().enumerate() {
            c = sysconfig::set(&c, &format!("DNS{}", i + 1), d);
        }
        let count = dns.len();
        c = sysconfig::remove_where(&c, |k| {
            numbered(k, b"DNS")
                && std::str::from_utf8(&k[3..])
                    .ok()
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| n > count)
        });
    }
    sysconfig::set(&c, "ONBOOT", "yes")
}

/// The edit of `ifcfg-IFACE` for `spec`.
pub fn edits(guest: &GuestNetwork<'_>, spec: &NetworkSpec) -> Vec<FileEdit> {
    let path = path(&spec.iface);
    let content = guest.get(&path).map(|f| f.content);
    vec![FileEdit {
        change: FileChange::Write {
            content: edit_ifcfg(content, spec),
            mode: None,
        },
        path,
    }]
}
