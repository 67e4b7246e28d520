//! `customize -d GUEST [-c URI]`: the disks of a libvirt guest, from `virsh dumpxml`, as
//! libguestfs's `add_domain` takes them for virt-customize: every `<disk>` with a file or block
//! device source, in order, with the format of its `<driver type=...>`; disks marked
//! `<readonly/>` (CD-ROMs, shared data disks) are left out, and a guest that is running is
//! refused (writing under a running guest corrupts its disks). The shell's `-d` and
//! `domain` take every disk, as libguestfs's `add_domain` does with its `readonly` and
//! `readonlydisk` choices ([`add_domain_disks`]).

use std::path::PathBuf;
use std::process::Command;

use guestwright::Format;

use crate::error::{CliError, Result};

/// One disk of the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainDisk {
    /// The file or block device.
    pub path: PathBuf,
    /// The format libvirt gives it, if any.
    pub format: Option<Format>,
    /// Whether the XML marks it `<readonly/>`.
    pub readonly_in_xml: bool,
}

fn virsh(uri: Option<&str>, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new("virsh");
    if let Some(u) = uri {
        cmd.arg("-c").arg(u);
    }
    cmd.args(args);
    let out = cmd.output().map_err(|e| {
        CliError::Libvirt(match e.kind() {
            std::io::ErrorKind::NotFound => "virsh is not installed: install libvirt-clients \
                 (Debian, Ubuntu) or libvirt-client (Fedora), or give the disks with -a"
                .to_owned(),
            _ => format!("cannot run virsh: {e}"),
        })
    })?;
    if !out.status.success() {
        return Err(CliError::Libvirt(format!(
            "virsh {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| CliError::Libvirt(format!("virsh {} printed no text", args.join(" "))))
}

/// The writable disks of `domain` (a name or UUID) on `uri` (virsh's default when `None`).
pub fn domain_disks(uri: Option<&str>, domain: &str) -> Result<Vec<DomainDisk>> {
    refuse_running(uri, domain)?;
    let disks: Vec<DomainDisk> = all_disks(uri, domain)?
        .into_iter()
        .filter(|d| !d.readonly_in_xml)
        .collect();
    if disks.is_empty() {
        return Err(CliError::Libvirt(format!(
            "libvirt guest {domain} has no writable disk with a file or block device source"
        )));
    }
    Ok(disks)
}

/// Refuses a guest that is not shut off: its disks must not be written under it.
fn refuse_running(uri: Option<&str>, domain: &str) -> Result<()> {
    let state = virsh(uri, &["domstate", "--", domain])?;
    let state = state.trim();
    if state != "shut off" && state != "crashed" {
        return Err(CliError::Libvirt(format!(
            "libvirt guest {domain} is {state}: writing to the disks of a running guest \
             corrupts them; shut it down first (virsh shutdown {domain}) or add its disks \
             read-only"
        )));
    }
    Ok(())
}

/// Every disk of the guest with a file or block device source, in order.
fn all_disks(uri: Option<&str>, domain: &str) -> Result<Vec<DomainDisk>> {
    let xml = virsh(uri, &["dumpxml", "--", domain])?;
    parse_disks(&xml).map_err(|e| {
        CliError::Libvirt(format!(
            "the XML of libvirt guest {domain} cannot be read: {e}"
        ))
    })
}

/// What to do with a disk marked `<readonly/>` (libguestfs's `readonlydisk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadonlyDisk {
    /// Refuse the guest when adding read-write.
    Error,
    /// Add it read-only.
    Read,
    /// Add it read-write unless everything is read-only (libguestfs's default).
    Write,
    /// Leave it out.
    Ignore,
}

impl std::str::FromStr for ReadonlyDisk {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        Ok(match s {
            "error" => Self::Error,
            "read" => Self::Read,
            "write" => Self::Write,
            "ignore" => Self::Ignore,
            _ => return Err(()),
        })
    }
}

/// A disk to add, and whether read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddDisk {
    /// The disk.
    pub disk: DomainDisk,
    /// Whether to add it read-only.
    pub readonly: bool,
}

/// The disks libguestfs's `add_domain` adds: all of them read-only when `readonly`, else a
/// guest that is not shut off is refused; disks marked `<readonly/>` as `rodisk` says.
pub fn add_domain_disks(
    uri: Option<&str>,
    domain: &str,
    readonly: bool,
    rodisk: ReadonlyDisk,
) -> Result<Vec<AddDisk>> {
    if !readonly {
        refuse_running(uri, domain)?;
    }
    choose(all_disks(uri, domain)?, readonly, rodisk)
}

fn choose(disks: Vec<DomainDisk>, readonly: bool, rodisk: ReadonlyDisk) -> Result<Vec<AddDisk>> {
    let mut out = Vec::new();
    for disk in disks {
        let ro = if !disk.readonly_in_xml {
            readonly
        } else {
            match (rodisk, readonly) {
                (ReadonlyDisk::Ignore, _) => continue,
                (_, true) | (ReadonlyDisk::Read, false) => true,
                (ReadonlyDisk::Write, false) => false,
                (ReadonlyDisk::Error, false) => {
                    return Err(CliError::Libvirt(format!(
                        "{}: disk is marked <readonly/> in libvirt XML, and readonlydisk was \
                         set to \"error\"",
                        disk.path.display()
                    )))
                }
            }
        };
        out.push(AddDisk { disk, readonly: ro });
    }
    Ok(out)
}

/// The `<disk>` elements of a domain's XML that have a source.
pub fn parse_disks(xml: &str) -> std::result::Result<Vec<DomainDisk>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let devices = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("devices"));
    let mut out = Vec::new();
    for disk in devices
        .flat_map(|d| d.children())
        .filter(|n| n.has_tag_name("disk"))
    {
        let child = |name: &str| disk.children().find(|n| n.has_tag_name(name));
        let readonly_in_xml = child("readonly").is_some();
        let kind = disk.attribute("type").unwrap_or("file");
        let Some(source) = child("source") else {
            continue; // an empty drive
        };
        let path = match kind {
            "file" => source.attribute("file"),
            "block" => source.attribute("dev"),
            other => {
                return Err(format!(
                    "a disk of type {other:?} (only file and block disks are supported): \
                     give the disks with -a"
                ))
            }
        };
        let Some(path) = path else { continue };
        let format = match child("driver").and_then(|d| d.attribute("type")) {
            None | Some("auto") => None,
            Some(f) => Some(f.parse::<Format>().map_err(|e| format!("{path}: {e}"))?),
        };
        out.push(DomainDisk {
            path: PathBuf::from(path),
            format,
            readonly_in_xml,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks_in_order_without_empty_ones() {
        let xml = r#"<domain type='kvm'><name>g</name><devices>
            <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
              <source file='/var/lib/a.qcow2'/><target dev='vda'/></disk>
            <disk type='file' device='cdrom'><source file='/iso/x.iso'/><readonly/></disk>
            <disk type='file' device='cdrom'><target dev='sdb'/><readonly/></disk>
            <disk type='file' device='cdrom'><target dev='sdc'/></disk>
            <disk type='block' device='disk'><driver name='qemu' type='raw'/>
              <source dev='/dev/vg/data'/></disk>
        </devices></domain>"#;
        assert_eq!(
            parse_disks(xml).unwrap(),
            vec![
                DomainDisk {
                    path: "/var/lib/a.qcow2".into(),
                    format: Some(Format::Qcow2),
                    readonly_in_xml: false,
                },
                DomainDisk {
                    path: "/iso/x.iso".into(),
                    format: None,
                    readonly_in_xml: true,
                },
                DomainDisk {
                    path: "/dev/vg/data".into(),
                    format: Some(Format::Raw),
                    readonly_in_xml: false,
                },
            ]
        );
    }

    #[test]
    fn readonlydisk_chooses_as_libguestfs() {
        let d = |ro| DomainDisk {
            path: "/x".into(),
            format: None,
            readonly_in_xml: ro,
        };
        let ro = |v: &[AddDisk]| v.iter().map(|a| a.readonly).collect::<Vec<_>>();
        let disks = vec![d(false), d(true)];
        use ReadonlyDisk::*;
        assert_eq!(
            ro(&choose(disks.clone(), true, Write).unwrap()),
            [true, true]
        );
        assert_eq!(
            ro(&choose(disks.clone(), false, Write).unwrap()),
            [false, false]
        );
        assert_eq!(
            ro(&choose(disks.clone(), false, Read).unwrap()),
            [false, true]
        );
        assert_eq!(ro(&choose(disks.clone(), true, Ignore).unwrap()), [true]);
        assert_eq!(
            ro(&choose(disks.clone(), true, Error).unwrap()),
            [true, true]
        );
        let e = choose(disks, false, Error).unwrap_err().to_string();
        assert!(e.contains("marked <readonly/>"), "{e}");
    }

    #[test]
    fn network_disks_are_refused() {
        let xml = "<domain><devices><disk type='network'><source protocol='nbd' name='x'/>\
                   </disk></devices></domain>";
        assert!(parse_disks(xml).unwrap_err().contains("network"));
    }
}
