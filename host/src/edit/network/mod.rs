//! `--network IFACE:dhcp` and `--network IFACE:static:ADDR/PREFIX[:GATEWAY[:DNS,...]]`, written
//! in the guest's own style: Debian ifupdown, RHEL ifcfg, NetworkManager keyfiles, netplan or
//! systemd-networkd. [`pick_style`] chooses the style from the files the guest has, the way a
//! person would; [`network_edits`] returns the file edits.
//!
//! One `--network` sets one address family of one interface: `dhcp` and an IPv4 address set
//! the IPv4 configuration, an IPv6 address the IPv6 configuration; the other family's settings
//! and everything else about the interface (MTU, MAC match, comments, other interfaces) stay.
//! So `--network eth0:static:192.0.2.5/24 --network eth0:static:2001:db8::5/64` gives a
//! dual-stack interface. Never does I/O.

pub mod debian;
pub mod ifcfg;
mod ini;
pub mod keyfile;
pub mod netplan;
pub mod networkd;

use std::fmt;
use std::net::IpAddr;

use super::udev::IfaceName;
use super::FileEdit;

/// Errors of `--network`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkError {
    /// The argument does not parse.
    #[error("invalid --network {arg:?}: {reason}; use IFACE:dhcp or IFACE:static:ADDR/PREFIX[:GATEWAY[:DNS,...]] (put IPv6 gateway and DNS addresses in [brackets])")]
    Spec {
        /// The argument.
        arg: String,
        /// What is wrong.
        reason: String,
    },
}

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(a: &IpAddr) -> Family {
        if a.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }

    /// The family of an address written as text (`ADDR` or `ADDR/PREFIX`), if it parses.
    pub fn of_text(s: &str) -> Option<Family> {
        let s = s.trim().trim_matches(['"', '\'', '[', ']']);
        let addr = s.split('/').next()?;
        addr.parse::<IpAddr>().ok().map(|a| Family::of(&a))
    }
}

/// A static address with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticConfig {
    /// The address.
    pub address: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// Default gateway, same family.
    pub gateway: Option<IpAddr>,
    /// DNS servers (any family).
    pub dns: Vec<IpAddr>,
}

impl StaticConfig {
    /// `ADDR/PREFIX`.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.address, self.prefix)
    }

    /// The IPv4 netmask for the prefix (for formats that want one).
    pub fn netmask_v4(&self) -> Option<String> {
        if !self.address.is_ipv4() {
            return None;
        }
        let m: u32 = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        };
        Some(std::net::Ipv4Addr::from(m).to_string())
    }
}

/// What `--network` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpConfig {
    /// DHCPv4.
    Dhcp,
    /// A static address.
    Static(StaticConfig),
}

/// A parsed `--network` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The interface.
    pub iface: IfaceName,
    /// Its configuration.
    pub config: IpConfig,
}

impl NetworkSpec {
    /// The family this spec configures.
    pub fn family(&self) -> Family {
        match &self.config {
            IpConfig::Dhcp => Family::V4,
            IpConfig::Static(s) => Family::of(&s.address),
        }
    }

    /// DNS servers of the spec's family (formats that keep DNS per family).
    pub fn dns_of_family(&self) -> Vec<IpAddr> {
        match &self.config {
            IpConfig::Dhcp => Vec::new(),
            IpConfig::Static(s) => s.dns.clone(),
        }
    }
}

impl fmt::Display for NetworkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.config {
            IpConfig::Dhcp => write!(f, "{}:dhcp", self.iface),
            IpConfig::Static(s) => write!(f, "{}:static:{}", self.iface, s.cidr()),
        }
    }
}

/// Splits the first address of `s`: `[v6]`, or up to the next `:` for IPv4, or (when `whole`)
/// the whole rest. Returns the address text and the remainder after a `:`.
fn take_addr(s: &str, whole_if_v6: bool) -> Option<(&str, &str)> {
    if let Some(r) = s.strip_prefix('[') {
        let end = r.find(']')?;
        let rest = &r[end + 1..];
        let rest = if rest.is_empty() {
            ""
        } else {
            rest.strip_prefix(':')?
        };
        return Some((&r[..end], rest));
    }
    if let Some(i) = s.find(":[") {
        return Some((&s[..i], &s[i + 1..])); // GATEWAY:[DNS]...
    }
    match s.split_once(':') {
        Some((a, rest)) if a.parse::<std::net::Ipv4Addr>().is_ok() => Some((a, rest)),
        Some(_) if whole_if_v6 => Some((s, "")),
        Some(_) => None,
        None => Some((s, "")),
    }
}

impl std::str::FromStr for NetworkSpec {
    type Err = NetworkError;

    fn from_str(arg: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| NetworkError::Spec {
            arg: arg.to_owned(),
            reason: reason.to_owned(),
        };
        let (iface, rest) = arg
            .split_once(':')
            .ok_or_else(|| err("no configuration after the interface"))?;
        let iface = IfaceName::parse(iface).map_err(|e| err(&e.to_string()))?;
        if iface.as_str() == "lo" {
            return Err(err("the loopback interface is not configurable"));
        }
        if rest == "dhcp" {
            return Ok(NetworkSpec {
                iface,
                config: IpConfig::Dhcp,
            });
        }
        let rest = rest
            .strip_prefix("static:")
            .ok_or_else(|| err("expected dhcp or static:"))?;
        // ADDR/PREFIX: the prefix is digits after the last '/' before the next ':' that follows it
        let slash = rest
            .find('/')
            .ok_or_else(|| err("the address needs a /PREFIX"))?;
        let addr_text = rest[..slash].trim_matches(['[', ']']);
        let after = &rest[slash + 1..];
        let plen = after.bytes().take_while(u8::is_ascii_digit).count();
        let prefix: u8 = after[..plen]
            .parse()
            .map_err(|_| err("the prefix must be a number"))?;
        let address: IpAddr = addr_text
            .parse()
            .map_err(|_| err(&format!("{addr_text:?} is not an IP address")))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(err(&format!("prefix /{prefix} is longer than {max}")));
        }
        let mut rest = &after[plen..];
        if !rest.is_empty() {
            rest = rest
                .strip_prefix(':')
                .ok_or_else(|| err("expected ':' after the prefix"))?;
        }
        let mut gateway = None;
        if let Some(r) = rest.strip_prefix(':') {
            rest = r; // IFACE:static:ADDR/P::DNS — no gateway
        } else if !rest.is_empty() {
            // An unbracketed IPv6 gateway is accepted only when nothing follows it.
            let (g, r) = take_addr(rest, !rest.contains(','))
                .ok_or_else(|| err("put an IPv6 gateway in [brackets] when DNS servers follow"))?;
            if !g.is_empty() {
                let g: IpAddr = g
                    .parse()
                    .map_err(|_| err(&format!("gateway {g:?} is not an IP address")))?;
                if Family::of(&g) != Family::of(&address) {
                    return Err(err("the gateway must be of the address's family"));
                }
                gateway = Some(g);
            }
            rest = r;
        }
        let mut dns = Vec::new();
        for d in rest.split(',').filter(|d| !d.is_empty()) {
            let d = d.trim_matches(['[', ']']);
            dns.push(
                d.parse()
                    .map_err(|_| err(&format!("DNS server {d:?} is not an IP address")))?,
            );
        }
        Ok(NetworkSpec {
            iface,
            config: IpConfig::Static(StaticConfig {
                address,
                prefix,
                gateway,
                dns,
            }),
        })
    }
}

/// A guest file the caller read for [`network_edits`].
#[derive(Debug, Clone, Copy)]
pub struct GuestFile<'a> {
    /// Absolute guest path.
    pub path: &'a str,
    /// Its contents.
    pub content: &'a [u8],
}

/// What the guest has, as the caller found it.
#[derive(Debug, Clone, Default)]
pub struct GuestNetwork<'a> {
    /// Contents of every existing file among: /etc/netplan/*.yaml,
    /// /etc/NetworkManager/system-connections/*.nmconnection,
    /// /etc/sysconfig/network-scripts/ifcfg-*, /etc/network/interfaces,
    /// /etc/network/interfaces.d/*, /etc/systemd/network/*.network.
    pub files: Vec<GuestFile<'a>>,
    /// /etc/netplan exists.
    pub netplan_dir: bool,
    /// /etc/NetworkManager exists (NetworkManager is installed).
    pub networkmanager: bool,
    /// /etc/sysconfig/network-scripts exists.
    pub ifcfg_dir: bool,
}

impl<'a> GuestNetwork<'a> {
    fn under(&self, dir: &str) -> impl Iterator<Item = &GuestFile<'a>> + '_ {
        let dir = dir.to_owned();
        self.files.iter().filter(move |f| f.path.starts_with(&dir))
    }

    fn get(&self, path: &str) -> Option<&GuestFile<'a>> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// The configuration style of a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkStyle {
    /// Ubuntu ≥ 17.10: /etc/netplan.
    Netplan,
    /// NetworkManager keyfiles (RHEL ≥ 9, Fedora ≥ 33, desktops).
    Keyfile,
    /// /etc/sysconfig/network-scripts/ifcfg-* (RHEL ≤ 8, CentOS, Oracle Linux).
    Ifcfg,
    /// ifupdown /etc/network/interfaces (Debian, old Ubuntu).
    Debian,
    /// systemd-networkd .network files.
    Networkd,
}

/// Picks the style like a person would, first match wins:
/// 1. /etc/netplan exists → netplan (it generates the NetworkManager or networkd files);
/// 2. a keyfile already names the interface → keyfile; an `ifcfg-IFACE` exists → ifcfg;
/// 3. /etc/network/interfaces exists and NetworkManager is absent or the file names the
///    interface → Debian;
/// 4. NetworkManager is installed and no other ifcfg file is in use (RHEL 9 keeps only a
///    readme there) → keyfile;
/// 5. /etc/sysconfig/network-scripts exists → ifcfg;
/// 6. /etc/network/interfaces exists → Debian;
/// 7. otherwise systemd-networkd.
pub fn pick_style(guest: &GuestNetwork<'_>, iface: &IfaceName) -> NetworkStyle {
    if guest.netplan_dir {
        return NetworkStyle::Netplan;
    }
    if keyfile::find(guest, iface).is_some() {
        return NetworkStyle::Keyfile;
    }
    if guest.get(&ifcfg::path(iface)).is_some() {
        return NetworkStyle::Ifcfg;
    }
    if let Some(main) = guest.get(debian::MAIN) {
        if !guest.networkmanager || debian::defines(main.content, iface) {
            return NetworkStyle::Debian;
        }
    }
    let ifcfg_in_use = guest.under(ifcfg::DIR).any(|f| {
        f.path
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with("ifcfg-") && n != "ifcfg-lo")
    });
    if guest.networkmanager && !ifcfg_in_use {
        return NetworkStyle::Keyfile;
    }
    if guest.ifcfg_dir {
        return NetworkStyle::Ifcfg;
    }
    if guest.get(debian::MAIN).is_some() {
        return NetworkStyle::Debian;
    }
    NetworkStyle::Networkd
}

/// The edits for `spec` in `style` (usually [`pick_style`]'s choice).
pub fn network_edits(
    guest: &GuestNetwork<'_>,
    spec: &NetworkSpec,
    style: NetworkStyle,
) -> Vec<FileEdit> {
    match style {
        NetworkStyle::Netplan => netplan::edits(guest, spec),
        NetworkStyle::Keyfile => keyfile::edits(guest, spec),
        NetworkStyle::Ifcfg => ifcfg::edits(guest, spec),
        NetworkStyle::Debian => debian::edits(guest, spec),
        NetworkStyle::Networkd => networkd::edits(guest, spec),
    }
}

#[cfg(test)]
mod tests;
