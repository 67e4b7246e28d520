//! NetworkManager keyfiles, /etc/NetworkManager/system-connections/*.nmconnection.
//!
//! The profile bound to the interface (`[connection] interface-name=IFACE`) is edited in
//! place; without one, `IFACE.nmconnection` is created. Only the `[ipv4]` (or `[ipv6]`)
//! section's `method`, `address1`, `gateway`, `addresses`, `addressN` and `dns` keys change;
//! `id`, `uuid`, `[ethernet]`, routes and every other key stay. NetworkManager ignores a
//! keyfile that is not mode 0600 and owned by root, so the edit always asks for 0600.

use super::ini::Ini;
use super::{Family, GuestFile, GuestNetwork, IpConfig, NetworkSpec};
use crate::edit::udev::IfaceName;
use crate::edit::{FileChange, FileEdit};

/// The keyfile directory.
pub const DIR: &str = "/etc/NetworkManager/system-connections";

/// The keyfile bound to `iface`: `interface-name=IFACE` first, else one named
/// `IFACE.nmconnection` without another interface-name.
pub fn find<'g, 'a>(guest: &'g GuestNetwork<'a>, iface: &IfaceName) -> Option<&'g GuestFile<'a>> {
    let in_dir = || {
        guest
            .files
            .iter()
            .filter(|f| f.path.starts_with(&format!("{DIR}/")))
    };
    in_dir()
        .find(|f| {
            Ini::parse(f.content)
                .values("connection", "interface-name")
                .iter()
                .any(|v| v == iface.as_str())
        })
        .or_else(|| {
            in_dir().find(|f| {
                f.path == path(iface)
                    && Ini::parse(f.content)
                        .values("connection", "interface-name")
                        .is_empty()
            })
        })
}

/// Path of a new keyfile for `iface`.
pub fn path(iface: &IfaceName) -> String {
    format!("{DIR}/{iface}.nmconnection")
}

/// A stable UUID for a new profile, derived from the interface name (RFC 9562 version 8), so
/// the same customize gives the same file every time.
fn uuid_for(iface: &str) -> String {
    let fnv = |seed: u64| {
        let mut h = seed;
        for b in "guestwright-nm:".bytes().chain(iface.bytes()) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h
    };
    let (a, b) = (fnv(0xcbf29ce484222325), fnv(0x84222325cbf29ce4));
    let hi = (a & 0xffff_ffff_ffff_0fff) | 0x8000; // version 8
    let lo = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // variant 10
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// A new profile for `iface` with both families on `auto`.
pub fn new_profile(iface: &IfaceName) -> String {
    format!(
        "[connection]\nid={iface}\nuuid={}\ntype=ethernet\ninterface-name={iface}\n\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n",
        uuid_for(iface.as_str())
    )
}

fn is_numbered_address(k: &str) -> bool {
    k.strip_prefix("address")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// New keyfile contents for `spec` (a missing file becomes a new profile first).
pub fn edit_keyfile(content: Option<&[u8]>, spec: &NetworkSpec) -> Vec<u8> {
    let new;
    let content = match content {
        Some(c) => c,
        None => {
            new = new_profile(&spec.iface);
            new.as_bytes()
        }
    };
    let mut ini = Ini::parse(content);
    let fam = spec.family();
    let sec = if fam == Family::V4 { "ipv4" } else { "ipv6" };
    match &spec.config {
        IpConfig::Dhcp => {
            ini.remove_where(sec, |k, _| {
                k == "addresses" || k == "gateway" || k == "dns" || is_numbered_address(k)
            });
            ini.set(sec, "method", "auto");
        }
        IpConfig::Static(s) => {
            ini.remove_where(sec, |k, _| {
                k == "addresses" || k == "gateway" || (is_numbered_address(k) && k != "address1")
            });
            ini.set(sec, "method", "manual");
            let addr = match s.gateway {
                Some(g) => format!("{},{g}", s.cidr()),
                None => s.cidr(),
            };
            ini.set(sec, "address1", &addr);
            let dns: Vec<String> = s
                .dns
                .iter()
                .filter(|d| Family::of(d) == fam)
                .map(|d| format!("{d};"))
                .collect();
            if dns.is_empty() {
                ini.remove_where(sec, |k, _| k == "dns");
            } else {
                ini.set(sec, "dns", &dns.concat());
            }
            // DNS servers of the other family go to the other section, added once.
            let other = if fam == Family::V4 { "ipv6" } else { "ipv4" };
            let others: Vec<String> = s
                .dns
                .iter()
                .filter(|d| Family::of(d) != fam)
                .map(|d| d.to_string())
                .collect();
            if !others.is_empty() {
                let current = ini
                    .values(other, "dns")
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let mut list: Vec<String> = current
                    .split([';', ','])
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect();
                for o in others {
                    if !list.contains(&o) {
                        list.push(o);
                    }
                }
                ini.set(
                    other,
                    "dns",
                    &list.iter().map(|d| format!("{d};")).collect::<String>(),
                );
            }
        }
    }
    ini.finish()
}

/// The edits for `spec`: the bound profile, or a new `IFACE.nmconnection`, mode 0600.
pub fn edits(guest: &GuestNetwork<'_>, spec: &NetworkSpec) -> Vec<FileEdit> {
    let (path, content) = match find(guest, &spec.iface) {
        Some(f) => (f.path.to_owned(), Some(f.content)),
        None => (path(&spec.iface), None),
    };
    vec![FileEdit {
        path,
        change: FileChange::Write {
            content: edit_keyfile(content, spec),
            mode: Some(0o600),
        },
    }]
}
