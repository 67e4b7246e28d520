//! `customize -d GUEST [-c URI]`: the disks of a libvirt guest, from `virsh dumpxml`, as
//! libguestfs's `add_domain` takes them for virt-customize: every `<disk>` with a file or block
//! device source, in order, with the format of its `<driver type=...>`; disks marked
//! `<readonly/>` (CD-ROMs, shared data disks) are left out, and a guest that is running is
//! refused (writing under a running guest corrupts its disks).

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
    let state = virsh(uri, &["domstate", "--", domain])?;
    let state = state.trim();
    if state != "shut off" && state != "crashed" {
        return Err(CliError::Libvirt(format!(
            "libvirt guest {domain} is {state}: writing to the disks of a running guest \
             corrupts them; shut it down first (virsh shutdown {domain})"
        )));
    }
    let xml = virsh(uri, &["dumpxml", "--", domain])?;
    let disks = parse_disks(&xml).map_err(|e| {
        CliError::Libvirt(format!(
            "the XML of libvirt guest {domain} cannot be read: {e}"
        ))
    })?;
    if disks.is_empty() {
        return Err(CliError::Libvirt(format!(
            "libvirt guest {domain} has no writable disk with a file or block device source"
        )));
    }
    Ok(disks)
}

/// The `<disk>` elements of a domain's XML that are not read-only and have a source.
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
        if child("readonly").is_some() {
            continue;
        }
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
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks_in_order_without_readonly_or_empty_ones() {
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
                    format: Some(Format::Qcow2)
                },
                DomainDisk {
                    path: "/dev/vg/data".into(),
                    format: Some(Format::Raw)
                },
            ]
        );
    }

    #[test]
    fn network_disks_are_refused() {
        let xml = "<domain><devices><disk type='network'><source protocol='nbd' name='x'/>\
                   </disk></devices></domain>";
        assert!(parse_disks(xml).unwrap_err().contains("network"));
    }
}
