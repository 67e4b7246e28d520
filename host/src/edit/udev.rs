//! `--udev-net IFACE=MAC`: /etc/udev/rules.d/70-persistent-net.rules, one rule per interface
//! in the format udev's old persistent-net generator wrote:
//!
//! ```text
//! SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="52:54:00:12:34:56", ATTR{dev_id}=="0x0", ATTR{type}=="1", KERNEL=="eth*", NAME="lan0"
//! ```
//!
//! `KERNEL` matches the name the *kernel* gave the device before any rename, not the name we
//! ask for: at rule 70 a wired NIC is still `ethN` whatever it will be called (`lan0`,
//! `enp1s0`), so the pattern is `eth*`, and `wlan*` only when the new name starts with `wlan`
//! (wireless drivers register as `wlanN`). The pattern keeps the rule off VLANs and bridges that
//! copy the NIC's MAC. MACs are written lowercase, as the kernel reports `address`; udev
//! compares strings, so an uppercase MAC would never match.
//!
//! A rule for the same name or the same MAC (any case) is replaced in place; other lines and
//! comments stay. Never does I/O.

use std::fmt;

use super::text::{self, Builder};

/// The rules file this module edits.
pub const RULES_PATH: &str = "/etc/udev/rules.d/70-persistent-net.rules";

/// Errors of `--udev-net`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UdevError {
    /// Not `IFACE=MAC`.
    #[error("invalid --udev-net {0:?}: use IFACE=MAC, e.g. eth0=52:54:00:12:34:56")]
    Spec(String),
    /// Bad interface name.
    #[error("invalid interface name {0:?}: 1 to 15 characters of letters, digits, '-', '_' or '.', not '.' or '..'")]
    Interface(String),
    /// Bad MAC.
    #[error(
        "invalid MAC address {0:?}: use six hex octets like 52:54:00:12:34:56 (a unicast address)"
    )]
    Mac(String),
}

/// A validated interface name (Linux: at most 15 bytes, no '/', ':' or whitespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceName(String);

impl IfaceName {
    /// Validates an interface name.
    pub fn parse(s: &str) -> Result<IfaceName, UdevError> {
        let ok = !s.is_empty()
            && s.len() <= 15
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if ok {
            Ok(IfaceName(s.to_owned()))
        } else {
            Err(UdevError::Interface(s.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A unicast MAC address, shown lowercase with colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac([u8; 6]);

impl Mac {
    /// Parses `52:54:00:12:34:56` or `52-54-00-12-34-56` in any case. Multicast addresses
    /// (low bit of the first octet set) and all zeros are refused: no NIC has them.
    pub fn parse(s: &str) -> Result<Mac, UdevError> {
        let err = || UdevError::Mac(s.to_owned());
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(err());
        }
        let mut m = [0u8; 6];
        for (o, p) in m.iter_mut().zip(&parts) {
            if p.len() != 2 {
                return Err(err());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        if m[0] & 1 == 1 || m == [0; 6] {
            return Err(err());
        }
        Ok(Mac(m))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// A parsed `IFACE=MAC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdevNet {
    /// The name the interface gets.
    pub iface: IfaceName,
    /// The NIC's MAC.
    pub mac: Mac,
}

impl std::str::FromStr for UdevNet {
    type Err = UdevError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (i, m) = s
            .split_once('=')
            .ok_or_else(|| UdevError::Spec(s.to_owned()))?;
        Ok(UdevNet {
            iface: IfaceName::parse(i)?,
            mac: Mac::parse(m)?,
        })
    }
}

impl UdevNet {
    /// The rule line for this interface.
    pub fn rule(&self) -> String {
        let kernel = if self.iface.as_str().starts_with("wlan") {
            "wlan*"
        } else {
            "eth*"
        };
        format!(
            "SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{{address}}==\"{}\", ATTR{{dev_id}}==\"0x0\", ATTR{{type}}==\"1\", KERNEL==\"{kernel}\", NAME=\"{}\"",
            self.mac, self.iface
        )
    }
}

/// The `(key, operator, value)` items of a rule line; commas inside quotes are kept.
fn items(line: &str) -> Vec<(&str, &str, &str)> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let Some(q) = rest.find('"') else { break };
        let head = rest[..q].trim_start_matches([',', ' ', '\t']);
        let op_start = head.find(['=', '!', '+', '-', ':']).unwrap_or(head.len());
        let (key, op) = head.split_at(op_start);
        let Some(end) = rest[q + 1..].find('"') else {
            break;
        };
        out.push((key.trim(), op.trim(), &rest[q + 1..q + 1 + end]));
        rest = &rest[q + 2 + end..];
    }
    out
}

/// New rules file contents with the rule for `net`: an older rule naming the same interface or
/// matching the same MAC is replaced in place (the first one; others are removed), else the
/// rule is appended. A missing file gets a short header first.
pub fn set_udev_net(content: Option<&[u8]>, net: &UdevNet) -> Vec<u8> {
    let content = content.unwrap_or_default();
    let rule = net.rule();
    let mac = net.mac.to_string();
    let mut b = Builder::like(content);
    let mut placed = false;
    for l in text::lines(content) {
        let clashes = !l.is_comment_or_blank()
            && std::str::from_utf8(l.body).is_ok_and(|s| {
                items(s).iter().any(|&(k, op, v)| {
                    (k == "NAME" && (op == "=" || op == ":=") && v == net.iface.as_str())
                        || (k == "ATTR{address}" && op == "==" && v.eq_ignore_ascii_case(&mac))
                })
            });
        if !clashes {
            b.keep(&l);
        } else if !placed {
            b.replace(&l, rule.as_bytes());
            placed = true;
        }
    }
    if !placed {
        if content.is_empty() {
            b.push(b"# Network interface names by MAC address, written by guestwright --udev-net.");
        }
        b.push(rule.as_bytes());
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CENTOS6: &str = "# This file was automatically generated by the /lib/udev/write_net_rules\n# program, run by the persistent-net-generator.rules rules file.\n#\n# You can modify it, as long as you keep each rule on a single\n# line, and change only the value of the NAME= key.\n\n# PCI device 0x8086:0x100e (e1000)\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:aa:bb:01\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth0\"\n\n# PCI device 0x8086:0x100e (e1000)\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:aa:bb:02\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth1\"\n";

    fn net(s: &str) -> UdevNet {
        s.parse().unwrap()
    }

    fn apply(c: Option<&str>, n: &str) -> String {
        let out = set_udev_net(c.map(str::as_bytes), &net(n));
        assert_eq!(set_udev_net(Some(&out), &net(n)), out, "not idempotent");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn parsing_and_validation() {
        let n = net("eth0=52:54:00:AB:CD:EF");
        assert_eq!(n.mac.to_string(), "52:54:00:ab:cd:ef");
        assert_eq!(net("lan0=52-54-00-ab-cd-ef").mac, n.mac);
        for bad in [
            "eth0",
            "=52:54:00:ab:cd:ef",
            "eth0=52:54:00:ab:cd",
            "eth0=52:54:00:ab:cd:eg",
            "eth0=01:00:5e:00:00:01",
            "eth0=00:00:00:00:00:00",
            "eth0=5:54:00:ab:cd:ef0",
            "waytoolonginterface=52:54:00:ab:cd:ef",
            "eth/0=52:54:00:ab:cd:ef",
            "..=52:54:00:ab:cd:ef",
            "eth 0=52:54:00:ab:cd:ef",
        ] {
            assert!(bad.parse::<UdevNet>().is_err(), "{bad}");
        }
        assert!("eth0=zz"
            .parse::<UdevNet>()
            .unwrap_err()
            .to_string()
            .contains("six hex octets"));
    }

    #[test]
    fn new_file_and_kernel_pattern() {
        let out = apply(None, "lan0=52:54:00:12:34:56");
        assert_eq!(out, "# Network interface names by MAC address, written by guestwright --udev-net.\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:12:34:56\", ATTR{dev_id}==\"0x0\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"lan0\"\n");
        assert!(net("wlan0=52:54:00:12:34:56")
            .rule()
            .contains("KERNEL==\"wlan*\""));
        // a second interface is appended below the first
        let two = set_udev_net(Some(out.as_bytes()), &net("lan1=52:54:00:12:34:57"));
        let two = String::from_utf8(two).unwrap();
        assert_eq!(two.lines().count(), 3);
        assert!(two.ends_with("NAME=\"lan1\"\n"));
    }

    #[test]
    fn centos6_rule_replaced_by_name_and_by_mac() {
        // eth0 moves to a new NIC: its rule is rewritten in place, comments kept
        let out = apply(Some(CENTOS6), "eth0=52:54:00:AA:BB:99");
        let want = CENTOS6.replace(
            "SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:aa:bb:01\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth0\"",
            &net("eth0=52:54:00:aa:bb:99").rule(),
        );
        assert_eq!(out, want);
        // eth0 takes eth1's MAC: both old rules go, one new rule where the first was
        let out = apply(Some(CENTOS6), "eth0=52:54:00:AA:BB:02");
        assert_eq!(out.matches("SUBSYSTEM").count(), 1);
        assert!(out.contains(&net("eth0=52:54:00:aa:bb:02").rule()));
        assert!(out.contains("# PCI device 0x8086:0x100e (e1000)\nSUBSYSTEM"));
    }

    #[test]
    fn odd_inputs() {
        assert_eq!(apply(Some(""), "eth0=52:54:00:00:00:01").lines().count(), 2);
        // CRLF and no trailing newline; an uppercase MAC in an old rule still counts
        let c = "SUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:00:00:0A\", NAME=\"old\"\r\n# keep\r\nSUBSYSTEM==\"net\", NAME=\"other\"";
        let out = apply(Some(c), "new=52:54:00:00:00:0a");
        assert_eq!(
            out,
            format!(
                "{}\r\n# keep\r\nSUBSYSTEM==\"net\", NAME=\"other\"",
                net("new=52:54:00:00:00:0a").rule()
            )
        );
        // a rule matching NAME== (a match, not an assignment) is not ours to replace
        let c = "SUBSYSTEM==\"net\", NAME==\"eth0\", RUN+=\"/bin/true\"\n";
        let out = apply(Some(c), "eth0=52:54:00:00:00:01");
        assert!(out.starts_with(c));
    }
}
