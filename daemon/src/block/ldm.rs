//! Windows dynamic disks (LDM): guestfish's `ldmtool-*` and `list-ldm-*` calls, on the host's
//! ldmtool carried into the appliance, as libguestfs's daemon runs it. ldmtool answers in
//! JSON, which is parsed here with serde_json into the few shapes the calls return.
//!
//! The disks' bytes are only read by ldmtool (libldm); device-mapper devices for the volumes
//! are made by `ldmtool create all`, which libguestfs runs at launch and this daemon runs
//! the first time a volume or partition is listed, so a launch that never asks pays nothing.

use crate::block::devices::Disks;
use crate::boot::modules::Modules;
use crate::boot::tools;
use guestwright_sync::Mutex;
use serde_json::Value;
use std::io;
use std::path::Path;

/// libdevmapper makes the nodes itself: there is no udev in the appliance.
const ENV: &[(&str, &str)] = &[("DM_DISABLE_UDEV", "1")];

/// The device-mapper targets LDM volumes map onto (simple and spanned volumes are linear,
/// striped ones striped, mirrors and RAID-5 need dm-raid); loaded when present.
const DM_TARGETS: &[&str] = &["dm_mirror", "dm_raid"];

/// Whether `ldmtool create all` ran since the drives were attached.
static CREATED: Mutex<bool> = Mutex::new(false);

/// Forgets that the volumes were created (the drives they were made from are gone).
pub fn forget() {
    *CREATED.lock() = false;
}

/// Removes the volumes `ldmtool create all` made, if it ran (before the drives go).
pub fn remove_if_created(modules: &Modules) -> io::Result<()> {
    let created = *CREATED.lock();
    if created {
        remove_all(modules)?;
    }
    Ok(())
}

/// Whether the appliance carries ldmtool (guestfish's `ldm` group).
pub fn available() -> bool {
    tools::has("ldmtool")
}

/// Runs `ldmtool ARGS` and returns its standard output, or its standard error as the
/// error, prefixed with the call's name as libguestfs's daemon replies.
fn ldmtool(call: &str, modules: &Modules, args: &[&str]) -> io::Result<String> {
    tools::find("ldmtool")?;
    modules.load("dm_mod")?;
    for m in DM_TARGETS {
        let _ = modules.load(m);
    }
    let out = tools::run_status("ldmtool", args, ENV, None)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let said = String::from_utf8_lossy(&out.stderr);
        Err(io::Error::other(format!("{call}: {}", said.trim_end())))
    }
}

/// `ldmtool create all`.
pub fn create_all(modules: &Modules) -> io::Result<()> {
    ldmtool("ldmtool_create_all", modules, &["create", "all"])?;
    *CREATED.lock() = true;
    Ok(())
}

/// `ldmtool remove all`.
pub fn remove_all(modules: &Modules) -> io::Result<()> {
    ldmtool("ldmtool_remove_all", modules, &["remove", "all"])?;
    Ok(())
}

/// `ldmtool scan [DEVICE...]`: the disk groups' GUIDs.
pub fn scan(call: &str, modules: &Modules, devices: &[&Path]) -> io::Result<Vec<String>> {
    let mut args = vec!["scan"];
    let names: Vec<String> = devices
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    args.extend(names.iter().map(String::as_str));
    let out = ldmtool(call, modules, &args)?;
    string_list(&parse(call, &out)?).ok_or_else(|| {
        io::Error::other(format!(
            "{call}: output of 'ldmtool scan' was not a JSON array of strings"
        ))
    })
}

/// What `ldmtool show diskgroup GUID` or `ldmtool show volume GUID NAME` says.
#[derive(Debug)]
pub struct Shown {
    call: &'static str,
    what: &'static str,
    json: Value,
}

/// `ldmtool show diskgroup GUID`.
pub fn diskgroup(call: &'static str, modules: &Modules, guid: &str) -> io::Result<Shown> {
    let out = ldmtool(call, modules, &["show", "diskgroup", guid])?;
    Ok(Shown {
        call,
        what: "ldmtool show diskgroup",
        json: parse(call, &out)?,
    })
}

/// `ldmtool show volume GUID NAME`.
pub fn volume(call: &'static str, modules: &Modules, guid: &str, name: &str) -> io::Result<Shown> {
    let out = ldmtool(call, modules, &["show", "volume", guid, name])?;
    Ok(Shown {
        call,
        what: "ldmtool show volume",
        json: parse(call, &out)?,
    })
}

impl Shown {
    /// The string under `key`; with `null_is_empty`, a null (a volume without a hint) is "".
    pub fn string(&self, key: &str, null_is_empty: bool) -> io::Result<String> {
        match self.json.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Null) if null_is_empty => Ok(String::new()),
            _ => Err(io::Error::other(format!(
                "{}: output of '{}' was not a JSON object containing a key '{key}' of type \
                 string",
                self.call, self.what
            ))),
        }
    }

    /// The list of strings under `key`.
    pub fn strings(&self, key: &str) -> io::Result<Vec<String>> {
        self.json.get(key).and_then(string_list).ok_or_else(|| {
            io::Error::other(format!(
                "{}: output of '{}' was not a JSON object containing a key '{key}' of \
                     type array of strings",
                self.call, self.what
            ))
        })
    }
}

fn parse(call: &str, out: &str) -> io::Result<Value> {
    serde_json::from_str(out).map_err(|e| io::Error::other(format!("{call}: parse error: {e}")))
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Device names as the caller knows them: ldmtool names the appliance's nodes
/// (`/dev/vda2`); anything that is not a device name (a disk's LDM name) stays as it is.
pub fn user_names(disks: &Disks, names: Vec<String>) -> Vec<String> {
    names
        .into_iter()
        .map(|n| {
            if n.starts_with("/dev/") {
                disks.to_user(&n).as_str().to_string()
            } else {
                n
            }
        })
        .collect()
}

/// `list_ldm_volumes` / `list_ldm_partitions`: the device-mapper devices whose names start
/// with `prefix`, sorted. The volumes are created first, once, when ldmtool is there
/// (libguestfs's appliance does it at boot); without ldmtool the call fails naming it.
pub fn list(modules: &Modules, prefix: &str) -> io::Result<Vec<String>> {
    let created = *CREATED.lock();
    if !created {
        create_all(modules)?;
    }
    Ok(list_in(Path::new("/dev/mapper"), prefix))
}

fn list_in(dir: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(prefix)
                .then(|| format!("{}/{name}", dir.display()))
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(json: &str) -> Shown {
        Shown {
            call: "ldmtool_volume_hint",
            what: "ldmtool show volume",
            json: parse("ldmtool_volume_hint", json).unwrap(),
        }
    }

    #[test]
    fn volume_fields_as_libguestfs_reads_them() {
        let v = shown(
            r#"{"name":"Volume1","type":"striped","size":1024,"chunk-size":128,
                "hint":null,"partitions":["Disk1-01","Disk2-01"]}"#,
        );
        assert_eq!(v.string("type", false).unwrap(), "striped");
        // A volume without a hint has an empty one; a null type is an error.
        assert_eq!(v.string("hint", true).unwrap(), "");
        let e = v.string("hint", false).unwrap_err().to_string();
        assert_eq!(
            e,
            "ldmtool_volume_hint: output of 'ldmtool show volume' was not a JSON object \
             containing a key 'hint' of type string"
        );
        assert_eq!(v.strings("partitions").unwrap(), ["Disk1-01", "Disk2-01"]);
        assert!(v.strings("size").is_err());
        assert!(v.strings("missing").is_err());
        assert!(shown(r#"{"partitions":["a",1]}"#)
            .strings("partitions")
            .is_err());
    }

    #[test]
    fn unparsable_output_is_a_parse_error() {
        let e = parse("ldmtool_scan", "not json").unwrap_err().to_string();
        assert!(e.starts_with("ldmtool_scan: parse error: "), "{e}");
        assert_eq!(string_list(&parse("x", "[]").unwrap()), Some(vec![]));
        assert_eq!(string_list(&parse("x", "{}").unwrap()), None);
    }

    #[test]
    fn listed_devices_are_the_prefixed_ones_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["ldm_vol_b", "ldm_vol_a", "ldm_part_x", "control", "vg-lv"] {
            std::fs::write(dir.path().join(n), "").unwrap();
        }
        let d = dir.path().display();
        assert_eq!(
            list_in(dir.path(), "ldm_vol_"),
            [format!("{d}/ldm_vol_a"), format!("{d}/ldm_vol_b")]
        );
        assert_eq!(
            list_in(dir.path(), "ldm_part_"),
            [format!("{d}/ldm_part_x")]
        );
        assert!(list_in(&dir.path().join("none"), "ldm_vol_").is_empty());
    }
}
