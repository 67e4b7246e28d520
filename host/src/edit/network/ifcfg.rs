//! RHEL-family /etc/sysconfig/network-scripts/ifcfg-IFACE (initscripts and NetworkManager's
//! ifcfg-rh plugin).
//!
//! IPv4: `BOOTPROTO=dhcp|none`, `IPADDR`, `PREFIX`, `GATEWAY`; old `NETMASK`, numbered
//! `IPADDRn`/`PREFIXn`/`NETMASKn`/`GATEWAYn` are removed. IPv6: `IPV6INIT=yes`,
//! `IPV6_AUTOCONF=no`, `IPV6ADDR`, `IPV6_DEFAULTGW`. DNS: `DNS1..n` keeps the other family's
//! servers and replaces this family's. `ONBOOT=yes`; `DEVICE`, `HWADDR`, `UUID`, `NAME` and every
//! other key stay as they are.

use std::collections::BTreeMap;

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

/// The `n` of a `DNSn` key, `n` from 1 (`DNS0` and indexes too large to be one are not
/// servers anyone reads).
fn dns_index(k: &[u8]) -> Option<usize> {
    if !numbered(k, b"DNS") {
        return None;
    }
    std::str::from_utf8(&k[3..])
        .ok()?
        .parse::<usize>()
        .ok()
        .filter(|&n| n >= 1)
}

/// The DNS servers as initscripts and NetworkManager read them: `DNS1`, `DNS2`, ... in index
/// order whatever the line order, the last assignment of a key winning.
fn dns_servers(c: &[u8]) -> Vec<String> {
    let mut by_index = BTreeMap::new();
    for (k, v) in sysconfig::entries(c) {
        if let Some(n) = dns_index(k.as_bytes()) {
            by_index.insert(n, String::from_utf8_lossy(&v).into_owned());
        }
    }
    by_index.into_values().collect()
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
    let old_dns = dns_servers(&c);
    // The other family's servers stay first; given servers join them, the other family's
    // before this family's, so that a second run finds them all where the first put them.
    let mut dns: Vec<String> = old_dns
        .iter()
        .filter(|d| Family::of_text(d) != Some(fam))
        .cloned()
        .collect();
    let given: Vec<String> = spec.dns_of_family().iter().map(|d| d.to_string()).collect();
    let (this, other): (Vec<&String>, Vec<&String>) =
        given.iter().partition(|d| Family::of_text(d) == Some(fam));
    for d in other.into_iter().chain(this) {
        if !dns.contains(d) {
            dns.push(d.clone());
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
        c = sysconfig::remove_where(&c, |k| dns_index(k).is_some_and(|n| n > count));
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
