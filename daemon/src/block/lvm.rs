//! LVM through the carried `lvm` binary.
//!
//! The appliance has no udev and no lvmetad, so every command runs with a configuration the
//! daemon writes under /run: no udev synchronisation or rules (LVM creates `/dev/VG/LV` and
//! `/dev/mapper/VG-LV` itself), no devices file, locks in /run/lock/lvm, no metadata backups
//! in the appliance, and a device filter that accepts only the attached disks, their
//! partitions and the LUKS volumes this daemon opened, so LVM never scans anything else.
//!
//! Activation is lazy: boot does not pay for it. The first operation that needs logical
//! volumes (`list_filesystems`, `lvs`, a device name that could be an LV) scans and activates
//! every volume group once.
//!
//! Sizes go to LVM in bytes (`-L 1073741824b`) and come back in bytes (`--units b`), so a
//! size never means megabytes by accident. LVM rounds LV sizes up to whole extents.

use crate::block::blockdev::ResolvedDevice;
use crate::block::devices::Disks;
use crate::boot::modules::Modules;
use crate::boot::tools;
use guestwright_protocol::{
    Device, LogicalVolume, LvmLv, LvmPv, LvmVg, OptPercent, PhysicalVolume, VolumeGroup,
};
use guestwright_sync::Mutex;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

/// Where the daemon's LVM configuration lives (`LVM_SYSTEM_DIR`).
const SYSTEM_DIR: &str = "/run/guestwright/lvm";
/// The device-mapper targets LVM may need; without modprobe in the appliance, the daemon
/// loads them itself before activating.
const DM_MODULES: &[&str] = &[
    "dm_mod",
    "dm_zero",
    "dm_snapshot",
    "dm_mirror",
    "dm_thin_pool",
];

/// Whether volume groups were activated, and the extra devices (opened LUKS volumes) LVM may
/// scan. The Server's fields belong to the basic section, so this one piece of daemon-wide
/// state lives here.
#[derive(Debug, Default)]
struct State {
    activated: bool,
    extra_devices: Vec<String>,
    /// `lvm_set_filter`'s devices (appliance nodes): LVM sees only these when set.
    filter: Option<Vec<String>>,
}

static STATE: Mutex<State> = Mutex::new(State {
    activated: false,
    extra_devices: Vec::new(),
    filter: None,
});

#[track_caller]
fn state() -> guestwright_sync::MutexGuard<'static, State> {
    STATE.lock()
}

fn einval(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Forgets the activation, the extra devices and the filter (the drives they were about
/// are gone; the next job's start from nothing).
pub fn forget() {
    *state() = State::default();
}

/// Lets LVM scan a device-mapper device this daemon created (an opened LUKS volume), so a
/// PV inside it is found.
pub fn allow_device(path: &str) {
    let mut s = state();
    if !s.extra_devices.iter().any(|d| d == path) {
        s.extra_devices.push(path.to_string());
    }
    // Volume groups inside it have not been activated yet.
    s.activated = false;
}

/// Whether a caller's name could be a logical volume: `/dev/VG/LV` or `/dev/mapper/NAME`.
pub fn could_be_lv(dev: &Device) -> bool {
    let Some(rest) = dev.as_str().strip_prefix("/dev/") else {
        return false;
    };
    match rest.split_once('/') {
        Some(("mapper", name)) => !name.is_empty() && !name.contains('/'),
        Some((vg, lv)) => valid_name(vg) && valid_name(lv),
        None => false,
    }
}

/// LVM's own rule for VG and LV names: letters, digits and `+_.-`, not starting with `-`,
/// not `.` or `..`, at most 127 characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && !name.starts_with('-')
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+_.-".contains(&b))
}

fn check_name(what: &str, name: &str) -> io::Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(einval(format!(
            "'{}' is not a valid {what} name: use letters, digits and + _ . - (not starting with -)",
            guestwright_protocol::escape_bytes(name.as_bytes())
        )))
    }
}

/// An existing volume group's name as the caller gave it: `VG` or `/dev/VG`. LVM's tools
/// accept both (they skip the device directory), and libguestfs hands the argument to them
/// unchanged, so scripts write `lvcreate LV /dev/VG 100`; the name without the prefix is
/// checked and passed on.
fn existing_vg(vg: &str) -> io::Result<&str> {
    let name = vg.strip_prefix("/dev/").unwrap_or(vg);
    check_name("volume group", name)?;
    Ok(name)
}

/// Writes the configuration and loads the device-mapper core.
fn prepare(disks: &Disks, modules: &Modules) -> io::Result<()> {
    tools::find("lvm")?;
    modules.load("dm_mod")?;
    let (extra, only) = {
        let s = state();
        (s.extra_devices.clone(), s.filter.clone())
    };
    std::fs::create_dir_all(SYSTEM_DIR)?;
    std::fs::create_dir_all("/run/lock/lvm")?;
    std::fs::create_dir_all("/run/lvm")?;
    let disk_names: Vec<String> = disks.kernel_names();
    std::fs::write(
        Path::new(SYSTEM_DIR).join("lvm.conf"),
        config(&disk_names, &extra, only.as_deref()),
    )
}

/// The configuration text: see the module documentation for why each setting. `only`:
/// `lvm_set_filter`'s devices, which replace the attached disks and opened volumes.
fn config(disks: &[String], extra: &[String], only: Option<&[String]>) -> String {
    let mut filter: Vec<String> = Vec::new();
    match only {
        Some(nodes) => {
            for node in nodes {
                filter.push(format!("\"a|^{}$|\"", regex_escape(node)));
                // A whole disk brings its partitions (a kernel name ending in a digit is
                // a partition, or a disk whose partitions are `pN`).
                if disks.iter().any(|d| format!("/dev/{d}") == *node) {
                    let sep = if node.ends_with(|c: char| c.is_ascii_digit()) {
                        "p"
                    } else {
                        ""
                    };
                    filter.push(format!("\"a|^{}{sep}[0-9]+$|\"", regex_escape(node)));
                }
            }
        }
        None => {
            for d in disks {
                filter.push(if d.ends_with(|c: char| c.is_ascii_digit()) {
                    format!("\"a|^/dev/{d}(p[0-9]+)?$|\"")
                } else {
                    format!("\"a|^/dev/{d}[0-9]*$|\"")
                });
            }
            for path in extra {
                filter.push(format!("\"a|^{}$|\"", regex_escape(path)));
            }
        }
    }
    filter.push("\"r|.*|\"".to_string());
    let filter = filter.join(", ");
    format!(
        "devices {{\n\
         \tdir = \"/dev\"\n\
         \tscan = [ \"/dev\" ]\n\
         \tobtain_device_list_from_udev = 0\n\
         \texternal_device_info_source = \"none\"\n\
         \tuse_devicesfile = 0\n\
         \thints = \"none\"\n\
         \tmd_component_detection = 0\n\
         \tmultipath_component_detection = 0\n\
         \tfw_raid_component_detection = 0\n\
         \twrite_cache_state = 0\n\
         \tfilter = [ {filter} ]\n\
         \tglobal_filter = [ {filter} ]\n\
         }}\n\
         activation {{\n\
         \tudev_sync = 0\n\
         \tudev_rules = 0\n\
         \tverify_udev_operations = 0\n\
         \tmonitoring = 0\n\
         }}\n\
         global {{\n\
         \tlocking_dir = \"/run/lock/lvm\"\n\
         \tuse_lvmlockd = 0\n\
         \tevent_activation = 0\n\
         }}\n\
         backup {{\n\
         \tbackup = 0\n\
         \tarchive = 0\n\
         }}\n\
         log {{\n\
         \tsyslog = 0\n\
         }}\n"
    )
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\^$.|?*+()[]{}\"".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Runs `lvm ARGS` with the daemon's configuration.
fn lvm(disks: &Disks, modules: &Modules, args: &[OsString]) -> io::Result<String> {
    prepare(disks, modules)?;
    let out = tools::run_with(
        "lvm",
        args,
        &[
            ("LVM_SYSTEM_DIR", SYSTEM_DIR),
            ("LVM_SUPPRESS_FD_WARNINGS", "1"),
        ],
        None,
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn args(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

/// Whether volume groups were activated in this appliance (by a scan or by creating one).
pub fn activated() -> bool {
    state().activated
}

/// Scans and activates every volume group, once per boot (or again after a LUKS volume was
/// opened). Without a carried `lvm` there is nothing to activate: `EOPNOTSUPP`.
pub fn activate_once(disks: &Disks, modules: &Modules) -> io::Result<()> {
    if state().activated {
        return Ok(());
    }
    vg_activate_all(disks, modules, true)
}

/// `vgchange -a y|n` on every volume group.
pub fn vg_activate_all(disks: &Disks, modules: &Modules, activate: bool) -> io::Result<()> {
    prepare(disks, modules)?;
    if activate {
        for m in DM_MODULES {
            if let Err(e) = modules.load(m) {
                info!("{m}: {e} (LVs that need it will not activate)");
            }
        }
    }
    let flag = if activate { "y" } else { "n" };
    let result = lvm(disks, modules, &args(&["vgchange", "-a", flag]));
    state().activated = activate;
    result.map(drop)
}

/// `pvchange_uuid_all`, `vgchange_uuid_all`: `pvchange --uuid --all` or `vgchange --uuid`
/// (every VG), giving each PV or VG a new random UUID. The VGs must be inactive.
pub fn change_uuids(disks: &Disks, modules: &Modules, tool: &str) -> io::Result<()> {
    prepare(disks, modules)?;
    if tool == "pvchange" {
        return lvm(disks, modules, &args(&["pvchange", "--uuid", "--all"])).map(drop);
    }
    // Not vgs_full: that activates the VGs again.
    let names = lvm(
        disks,
        modules,
        &args(&["vgs", "--noheadings", "-o", "vg_name"]),
    )?;
    for vg in names.split_whitespace() {
        lvm(disks, modules, &args(&["vgchange", "--uuid", vg]))?;
    }
    Ok(())
}

/// `lvm_scan`: rescans the devices for PVs and, when asked, activates what it found.
pub fn scan(disks: &Disks, modules: &Modules, activate: bool) -> io::Result<()> {
    lvm(disks, modules, &args(&["pvscan", "--cache"]))
        .or_else(|_| lvm(disks, modules, &args(&["pvscan"])))?;
    if activate {
        vg_activate_all(disks, modules, true)?;
    }
    Ok(())
}

/// `lvm_set_filter` (`Some`: the appliance nodes LVM may see) and `lvm_clear_filter`
/// (`None`): every volume group is deactivated first (so one in use makes this fail),
/// the devices are scanned again with the new filter, and what is found is activated.
pub fn set_filter(disks: &Disks, modules: &Modules, only: Option<Vec<String>>) -> io::Result<()> {
    lvm(disks, modules, &args(&["vgchange", "-an"]))
        .map_err(|e| io::Error::new(e.kind(), format!("vgchange -an: {e}")))?;
    state().activated = false;
    state().filter = only;
    lvm(disks, modules, &args(&["pvscan", "--cache"]))
        .or_else(|_| lvm(disks, modules, &args(&["vgscan"])))
        .map_err(|e| io::Error::new(e.kind(), format!("vgscan: {e}")))?;
    vg_activate_all(disks, modules, true)
        .map_err(|e| io::Error::new(e.kind(), format!("vgchange -ay: {e}")))
}

/// `vgmeta`: the volume group's metadata as LVM writes it (vgcfgbackup), read from a file
/// in the appliance's memory.
pub fn vgmeta(disks: &Disks, modules: &Modules, vg: &str) -> io::Result<Vec<u8>> {
    let tmp = format!("/run/guestwright/vgmeta.{}", std::process::id());
    let result = lvm(
        disks,
        modules,
        &[
            OsString::from("vgcfgbackup"),
            OsString::from("-f"),
            OsString::from(&tmp),
            OsString::from(vg),
        ],
    )
    .map_err(|e| io::Error::new(e.kind(), format!("vgmeta: vgcfgbackup: {e}")))
    .and_then(|_| std::fs::read(&tmp));
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Report fields, separated by `|` (never part of a VG, LV or device name).
fn report(
    disks: &Disks,
    modules: &Modules,
    command: &str,
    fields: &str,
) -> io::Result<Vec<Vec<String>>> {
    let out = lvm(
        disks,
        modules,
        &args(&[
            command,
            "--noheadings",
            "--nosuffix",
            "--units",
            "b",
            "--separator",
            "|",
            "-o",
            fields,
        ]),
    )?;
    Ok(out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().split('|').map(|f| f.trim().to_string()).collect())
        .collect())
}

fn num(s: &str) -> u64 {
    s.parse().unwrap_or(0)
}

/// True when no volume group was activated or created in this boot and no device carries a
/// PV label: the reports are empty, and asking lvm would only cost seconds (the
/// device-mapper modules, a scan of every device). Without lvm in the appliance the reports
/// still fail as unsupported.
fn nothing_to_report(disks: &Disks, modules: &Modules) -> io::Result<bool> {
    tools::find("lvm")?;
    Ok(!activated() && !crate::block::fsinfo::holds_pv(disks, modules)?)
}

/// The physical volumes, with the caller's device names.
pub fn pvs_full(disks: &Disks, modules: &Modules) -> io::Result<Vec<PhysicalVolume>> {
    if nothing_to_report(disks, modules)? {
        return Ok(Vec::new());
    }
    activate_once(disks, modules)?;
    let rows = report(
        disks,
        modules,
        "pvs",
        "pv_name,pv_uuid,pv_size,pv_free,vg_name",
    )?;
    Ok(rows
        .into_iter()
        // A PV of a VG that is missing here: LVM names it "[unknown]"; libguestfs's `pvs`
        // lists only the PVs present (its `pvs-full`, `pvs_report`, keeps them all).
        .filter(|r| r.len() >= 5 && r[0] != "[unknown]")
        .map(|r| PhysicalVolume {
            device: disks.to_user(&r[0]),
            uuid: r[1].clone(),
            size: num(&r[2]),
            free: num(&r[3]),
            vg: Some(r[4].clone()).filter(|v| !v.is_empty()),
        })
        .collect())
}

/// The volume groups.
pub fn vgs_full(disks: &Disks, modules: &Modules) -> io::Result<Vec<VolumeGroup>> {
    if nothing_to_report(disks, modules)? {
        return Ok(Vec::new());
    }
    activate_once(disks, modules)?;
    let rows = report(
        disks,
        modules,
        "vgs",
        "vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,pv_count,lv_count",
    )?;
    Ok(rows
        .into_iter()
        .filter(|r| r.len() >= 7)
        .map(|r| VolumeGroup {
            name: r[0].clone(),
            uuid: r[1].clone(),
            size: num(&r[2]),
            free: num(&r[3]),
            extent_size: num(&r[4]),
            pv_count: num(&r[5]) as u32,
            lv_count: num(&r[6]) as u32,
        })
        .collect())
}

/// The logical volumes, as `/dev/VG/LV`.
pub fn lvs_full(disks: &Disks, modules: &Modules) -> io::Result<Vec<LogicalVolume>> {
    if nothing_to_report(disks, modules)? {
        return Ok(Vec::new());
    }
    activate_once(disks, modules)?;
    let rows = report(
        disks,
        modules,
        "lvs",
        "lv_name,vg_name,lv_uuid,lv_size,lv_attr",
    )?;
    Ok(rows
        .into_iter()
        .filter(|r| r.len() >= 5)
        .map(|r| LogicalVolume {
            device: Device::from(format!("/dev/{}/{}", r[1], r[0])),
            name: r[0].clone(),
            vg: r[1].clone(),
            uuid: r[2].clone(),
            size: num(&r[3]),
            active: r[4].as_bytes().get(4) == Some(&b'a'),
        })
        .collect())
}

/// An LVM UUID without its dashes, as guestfish's `*-full` structs hold it (32 characters).
fn bare_uuid(uuid: &str) -> String {
    uuid.chars().filter(|c| *c != '-').collect()
}

fn int(s: &str) -> i64 {
    s.parse().unwrap_or(-1)
}

fn percent(s: &str) -> OptPercent {
    OptPercent(s.parse().ok())
}

/// LVM's report of `fields` as rows holding exactly that many fields.
fn full_report(
    disks: &Disks,
    modules: &Modules,
    command: &str,
    fields: &[&str],
) -> io::Result<Vec<Vec<String>>> {
    activate_once(disks, modules)?;
    let rows = report(disks, modules, command, &fields.join(","))?;
    Ok(rows
        .into_iter()
        .filter(|r| r.len() == fields.len())
        .collect())
}

/// `pvs-full`: guestfish's `lvm_pv` for each physical volume, the device in the caller's
/// names.
pub fn pvs_report(disks: &Disks, modules: &Modules) -> io::Result<Vec<LvmPv>> {
    const FIELDS: &[&str] = &[
        "pv_name",
        "pv_uuid",
        "pv_fmt",
        "pv_size",
        "dev_size",
        "pv_free",
        "pv_used",
        "pv_attr",
        "pv_pe_count",
        "pv_pe_alloc_count",
        "pv_tags",
        "pe_start",
        "pv_mda_count",
        "pv_mda_free",
    ];
    Ok(full_report(disks, modules, "pvs", FIELDS)?
        .into_iter()
        .map(|r| LvmPv {
            pv_name: disks.to_user(&r[0]).to_string(),
            pv_uuid: bare_uuid(&r[1]),
            pv_fmt: r[2].clone(),
            pv_size: num(&r[3]),
            dev_size: num(&r[4]),
            pv_free: num(&r[5]),
            pv_used: num(&r[6]),
            pv_attr: r[7].clone(),
            pv_pe_count: int(&r[8]),
            pv_pe_alloc_count: int(&r[9]),
            pv_tags: r[10].clone(),
            pe_start: num(&r[11]),
            pv_mda_count: int(&r[12]),
            pv_mda_free: num(&r[13]),
        })
        .collect())
}

/// `vgs-full`: guestfish's `lvm_vg` for each volume group.
pub fn vgs_report(disks: &Disks, modules: &Modules) -> io::Result<Vec<LvmVg>> {
    const FIELDS: &[&str] = &[
        "vg_name",
        "vg_uuid",
        "vg_fmt",
        "vg_attr",
        "vg_size",
        "vg_free",
        "vg_sysid",
        "vg_extent_size",
        "vg_extent_count",
        "vg_free_count",
        "max_lv",
        "max_pv",
        "pv_count",
        "lv_count",
        "snap_count",
        "vg_seqno",
        "vg_tags",
        "vg_mda_count",
        "vg_mda_free",
    ];
    Ok(full_report(disks, modules, "vgs", FIELDS)?
        .into_iter()
        .map(|r| LvmVg {
            vg_name: r[0].clone(),
            vg_uuid: bare_uuid(&r[1]),
            vg_fmt: r[2].clone(),
            vg_attr: r[3].clone(),
            vg_size: num(&r[4]),
            vg_free: num(&r[5]),
            vg_sysid: r[6].clone(),
            vg_extent_size: num(&r[7]),
            vg_extent_count: int(&r[8]),
            vg_free_count: int(&r[9]),
            max_lv: int(&r[10]),
            max_pv: int(&r[11]),
            pv_count: int(&r[12]),
            lv_count: int(&r[13]),
            snap_count: int(&r[14]),
            vg_seqno: int(&r[15]),
            vg_tags: r[16].clone(),
            vg_mda_count: int(&r[17]),
            vg_mda_free: num(&r[18]),
        })
        .collect())
}

/// `lvs-full`: guestfish's `lvm_lv` for each logical volume.
pub fn lvs_report(disks: &Disks, modules: &Modules) -> io::Result<Vec<LvmLv>> {
    const FIELDS: &[&str] = &[
        "lv_name",
        "lv_uuid",
        "lv_attr",
        "lv_major",
        "lv_minor",
        "lv_kernel_major",
        "lv_kernel_minor",
        "lv_size",
        "seg_count",
        "origin",
        "snap_percent",
        "copy_percent",
        "move_pv",
        "lv_tags",
        "mirror_log",
        "modules",
    ];
    Ok(full_report(disks, modules, "lvs", FIELDS)?
        .into_iter()
        .map(|r| LvmLv {
            lv_name: r[0].clone(),
            lv_uuid: bare_uuid(&r[1]),
            lv_attr: r[2].clone(),
            lv_major: int(&r[3]),
            lv_minor: int(&r[4]),
            lv_kernel_major: int(&r[5]),
            lv_kernel_minor: int(&r[6]),
            lv_size: num(&r[7]),
            seg_count: int(&r[8]),
            origin: r[9].clone(),
            snap_percent: percent(&r[10]),
            copy_percent: percent(&r[11]),
            move_pv: r[12].clone(),
            lv_tags: r[13].clone(),
            mirror_log: r[14].clone(),
            modules: r[15].clone(),
        })
        .collect())
}

/// The `VG/LV` LVM understands for a caller's `/dev/VG/LV` or `/dev/mapper/VG-LV`.
pub fn lv_path(dev: &Device) -> io::Result<String> {
    let rest = dev.as_str().strip_prefix("/dev/").unwrap_or("");
    let (vg, lv) = match rest.split_once('/') {
        Some(("mapper", name)) => split_dm_name(name)
            .ok_or_else(|| einval(format!("{dev}: not the name of a logical volume")))?,
        Some((vg, lv)) => (vg.to_string(), lv.to_string()),
        None => return Err(einval(format!("{dev}: not a logical volume (/dev/VG/LV)"))),
    };
    check_name("volume group", &vg)?;
    check_name("logical volume", &lv)?;
    Ok(format!("{vg}/{lv}"))
}

/// Splits a device-mapper name `VG-LV` (with `-` in either name doubled) into its parts.
pub fn split_dm_name(name: &str) -> Option<(String, String)> {
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' {
            if b.get(i + 1) == Some(&b'-') {
                i += 2;
                continue;
            }
            let vg = name[..i].replace("--", "-");
            let lv = name[i + 1..].replace("--", "-");
            return (!vg.is_empty() && !lv.is_empty()).then_some((vg, lv));
        }
        i += 1;
    }
    None
}

/// `pvcreate`: makes a disk or partition a physical volume.
pub fn pvcreate(disks: &Disks, modules: &Modules, dev: &ResolvedDevice) -> io::Result<()> {
    let mut a = args(&["pvcreate", "-ff", "-y"]);
    a.push(dev.node().into());
    lvm(disks, modules, &a).map(drop)
}

/// `pvremove`: wipes the PV label.
pub fn pvremove(disks: &Disks, modules: &Modules, dev: &ResolvedDevice) -> io::Result<()> {
    let mut a = args(&["pvremove", "-ff", "-y"]);
    a.push(dev.node().into());
    lvm(disks, modules, &a).map(drop)
}

/// `vgcreate NAME PV...`.
pub fn vgcreate(
    disks: &Disks,
    modules: &Modules,
    name: &str,
    pvs: &[ResolvedDevice],
) -> io::Result<()> {
    check_name("volume group", name)?;
    if pvs.is_empty() {
        return Err(einval(format!(
            "vgcreate {name}: name at least one physical volume"
        )));
    }
    let mut a = args(&["vgcreate", "-y", name]);
    for pv in pvs {
        a.push(pv.node().into());
    }
    lvm(disks, modules, &a).map(drop)
}

/// A size for `-L`: bytes, rounded up to a multiple of 512 as LVM insists (it rounds up to
/// whole extents after that anyway).
fn lvm_bytes(size: u64) -> String {
    format!("{}b", size.div_ceil(512).saturating_mul(512))
}

/// `lvcreate -L SIZE` with the size in bytes (rounded up to whole extents by LVM).
pub fn lvcreate(
    disks: &Disks,
    modules: &Modules,
    name: &str,
    vg: &str,
    size: u64,
) -> io::Result<()> {
    check_name("logical volume", name)?;
    let vg = existing_vg(vg)?;
    if size == 0 {
        return Err(einval(format!("lvcreate {vg}/{name}: the size is 0 bytes")));
    }
    let size = lvm_bytes(size);
    lvm(
        disks,
        modules,
        &args(&["lvcreate", "-y", "-W", "y", "-L", &size, "-n", name, vg]),
    )
    .map(drop)
}

/// `lvcreate -l PERCENT%FREE`.
pub fn lvcreate_free(
    disks: &Disks,
    modules: &Modules,
    name: &str,
    vg: &str,
    percent: u32,
) -> io::Result<()> {
    check_name("logical volume", name)?;
    let vg = existing_vg(vg)?;
    if percent == 0 || percent > 100 {
        return Err(einval(format!(
            "lvcreate_free {vg}/{name}: the percentage must be 1 to 100, not {percent}"
        )));
    }
    let extents = format!("{percent}%FREE");
    lvm(
        disks,
        modules,
        &args(&["lvcreate", "-y", "-W", "y", "-l", &extents, "-n", name, vg]),
    )
    .map(drop)
}

/// `lvresize -L SIZE` in bytes. Shrinking does not shrink the filesystem in it.
pub fn lvresize(disks: &Disks, modules: &Modules, dev: &Device, size: u64) -> io::Result<()> {
    let lv = lv_path(dev)?;
    if size == 0 {
        return Err(einval(format!("lvresize {dev}: the size is 0 bytes")));
    }
    let size = lvm_bytes(size);
    lvm(disks, modules, &args(&["lvresize", "-f", "-L", &size, &lv])).map(drop)
}

/// `lvremove -f`.
pub fn lvremove(disks: &Disks, modules: &Modules, dev: &Device) -> io::Result<()> {
    let lv = lv_path(dev)?;
    lvm(disks, modules, &args(&["lvremove", "-f", &lv])).map(drop)
}

/// `vgremove -f`: removes the VG and every LV in it.
pub fn vgremove(disks: &Disks, modules: &Modules, vg: &str) -> io::Result<()> {
    let vg = existing_vg(vg)?;
    lvm(disks, modules, &args(&["vgremove", "-f", vg])).map(drop)
}

/// `vgrename OLD NEW`.
pub fn vgrename(disks: &Disks, modules: &Modules, old: &str, new: &str) -> io::Result<()> {
    check_name("volume group", old)?;
    check_name("volume group", new)?;
    lvm(disks, modules, &args(&["vgrename", old, new])).map(drop)
}

/// `lvrename /dev/VG/LV NEW`; `new` is the new LV name or `/dev/VG/NEW` in the same VG.
pub fn lvrename(disks: &Disks, modules: &Modules, dev: &Device, new: &str) -> io::Result<()> {
    let lv = lv_path(dev)?;
    let (vg, _) = lv.split_once('/').unwrap_or_default();
    let new_name = match new.strip_prefix("/dev/") {
        Some(_) => {
            let target = lv_path(&Device::from(new))?;
            let (new_vg, name) = target.split_once('/').unwrap_or_default();
            if new_vg != vg {
                return Err(einval(format!(
                    "lvrename {dev} {new}: a logical volume cannot move to another volume group"
                )));
            }
            name.to_string()
        }
        None => new.to_string(),
    };
    check_name("logical volume", &new_name)?;
    lvm(
        disks,
        modules,
        &args(&["lvrename", vg, &lv[vg.len() + 1..], &new_name]),
    )
    .map(drop)
}

// ==== guestfish's LVM commands (cmds-block) ====

/// One field of `lvm pvs|vgs|lvs` for one object, as LVM prints it (trimmed).
fn field(disks: &Disks, modules: &Modules, cmd: &str, name: &OsStr, f: &str) -> io::Result<String> {
    let mut a = args(&[cmd, "--noheadings", "-o", f]);
    a.push(name.to_owned());
    Ok(lvm(disks, modules, &a)?.trim().to_string())
}

/// `pvuuid`, `vguuid`, `lvuuid`: the UUID LVM prints for the object.
pub fn uuid_of(disks: &Disks, modules: &Modules, cmd: &str, name: &OsStr) -> io::Result<String> {
    let f = match cmd {
        "pvs" => "pv_uuid",
        "vgs" => "vg_uuid",
        _ => "lv_uuid",
    };
    field(disks, modules, cmd, name, f)
}

/// `vglvuuids`, `vgpvuuids`: one UUID a line for each LV or PV of the group.
pub fn vg_member_uuids(
    disks: &Disks,
    modules: &Modules,
    vg: &str,
    f: &str,
) -> io::Result<Vec<String>> {
    check_name("volume group", vg)?;
    let out = lvm(disks, modules, &args(&["vgs", "--noheadings", "-o", f, vg]))?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// `vgscan`.
pub fn vgscan(disks: &Disks, modules: &Modules) -> io::Result<()> {
    lvm(disks, modules, &args(&["vgscan"])).map(drop)
}

/// `vg_activate`: `vgchange -a y|n VG...`, every group when none is named.
pub fn vg_activate(
    disks: &Disks,
    modules: &Modules,
    activate: bool,
    vgs: &[String],
) -> io::Result<()> {
    if vgs.is_empty() {
        return vg_activate_all(disks, modules, activate);
    }
    prepare(disks, modules)?;
    if activate {
        for m in DM_MODULES {
            if let Err(e) = modules.load(m) {
                info!("{m}: {e} (LVs that need it will not activate)");
            }
        }
    }
    let mut a = args(&["vgchange", "-a", if activate { "y" } else { "n" }]);
    for vg in vgs {
        a.push(existing_vg(vg)?.into());
    }
    lvm(disks, modules, &a).map(drop)
}

/// `pvresize`, `pvresize_size` (bytes).
pub fn pvresize(
    disks: &Disks,
    modules: &Modules,
    dev: &ResolvedDevice,
    size: Option<i64>,
) -> io::Result<()> {
    let mut a = args(&["pvresize"]);
    if let Some(size) = size {
        if size <= 0 {
            return Err(einval(format!(
                "pvresize_size {}: the size must be positive",
                dev.name()
            )));
        }
        a.push("--yes".into());
        a.push("--setphysicalvolumesize".into());
        a.push(format!("{size}b").into());
    }
    a.push(dev.node().into());
    lvm(disks, modules, &a).map(drop)
}

/// `lvresize_free`: `lvresize -l +PERCENT%FREE`.
pub fn lvresize_free(
    disks: &Disks,
    modules: &Modules,
    dev: &Device,
    percent: i32,
) -> io::Result<()> {
    let lv = lv_path(dev)?;
    if !(0..=100).contains(&percent) {
        return Err(einval(format!(
            "lvresize_free {dev}: the percentage must be 0 to 100, not {percent}"
        )));
    }
    let extents = format!("+{percent}%FREE");
    lvm(disks, modules, &args(&["lvresize", "-l", &extents, &lv])).map(drop)
}

/// `lvm_remove_all`: every LV, then every VG, then every PV.
pub fn remove_all(disks: &Disks, modules: &Modules) -> io::Result<()> {
    for lv in lvs_full(disks, modules)? {
        let path = lv_path(&lv.device)?;
        let _ = lvm(disks, modules, &args(&["lvchange", "-an", &path]));
        lvm(disks, modules, &args(&["lvremove", "-f", &path]))?;
    }
    for vg in vgs_full(disks, modules)? {
        lvm(disks, modules, &args(&["vgchange", "-an", &vg.name]))?;
        lvm(disks, modules, &args(&["vgremove", "-f", &vg.name]))?;
    }
    for pv in pvs_full(disks, modules)? {
        let node = disks.to_kernel(&pv.device)?;
        let mut a = args(&["pvremove", "-f"]);
        a.push(node.into());
        lvm(disks, modules, &a)?;
    }
    Ok(())
}

/// `pvchange_uuid`: a new random UUID for one PV.
pub fn pvchange_uuid(disks: &Disks, modules: &Modules, dev: &ResolvedDevice) -> io::Result<()> {
    let mut a = args(&["pvchange", "--uuid"]);
    a.push(dev.node().into());
    lvm(disks, modules, &a).map(drop)
}

/// `vgchange_uuid`: a new random UUID for one VG.
pub fn vgchange_uuid(disks: &Disks, modules: &Modules, vg: &str) -> io::Result<()> {
    let vg = existing_vg(vg)?;
    lvm(disks, modules, &args(&["vgchange", "--uuid", vg])).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_mapper_names_split_like_lvm_joins_them() {
        assert_eq!(split_dm_name("vg-root"), Some(("vg".into(), "root".into())));
        assert_eq!(
            split_dm_name("my--vg-lv--a"),
            Some(("my-vg".into(), "lv-a".into()))
        );
        assert_eq!(split_dm_name("novg"), None);
        assert_eq!(split_dm_name("-lv"), None);
    }

    #[test]
    fn names() {
        assert!(could_be_lv(&Device::from("/dev/vg0/root")));
        assert!(could_be_lv(&Device::from("/dev/mapper/vg0-root")));
        assert!(!could_be_lv(&Device::from("/dev/sda1")));
        assert!(!could_be_lv(&Device::from("/dev/a/b/c")));
        assert!(!could_be_lv(&Device::from("/dev/vg/..")));
        assert_eq!(lv_path(&Device::from("/dev/vg0/root")).unwrap(), "vg0/root");
        assert_eq!(
            lv_path(&Device::from("/dev/mapper/my--vg-root")).unwrap(),
            "my-vg/root"
        );
        assert!(lv_path(&Device::from("/dev/sda1")).is_err());
        assert!(!valid_name("-x"));
        assert!(!valid_name("a b"));
    }

    #[test]
    fn an_existing_group_may_be_named_with_its_device_directory() {
        assert_eq!(existing_vg("VG").unwrap(), "VG");
        assert_eq!(existing_vg("/dev/VG").unwrap(), "VG");
        assert!(existing_vg("/dev/").is_err());
        assert!(existing_vg("/dev/a/b").is_err());
        assert!(existing_vg("/dev/-x").is_err());
    }

    #[test]
    fn the_filter_accepts_only_our_disks() {
        let c = config(
            &["vda".into(), "nvme0n1".into()],
            &["/dev/mapper/luks-a".into()],
            None,
        );
        assert!(c.contains("\"a|^/dev/vda[0-9]*$|\""), "{c}");
        assert!(c.contains("\"a|^/dev/nvme0n1(p[0-9]+)?$|\""), "{c}");
        assert!(c.contains("\"a|^/dev/mapper/luks-a$|\""), "{c}");
        assert!(c.contains("\"r|.*|\" ]"), "{c}");
        assert!(c.contains("udev_sync = 0"));
        assert!(c.contains("use_devicesfile = 0"));
    }

    #[test]
    fn a_set_filter_accepts_only_its_devices() {
        let c = config(
            &["vda".into(), "vdb".into()],
            &["/dev/mapper/luks-a".into()],
            Some(&["/dev/vda".into(), "/dev/vdb1".into()]),
        );
        assert!(c.contains("filter = [ \"a|^/dev/vda$|\", \"a|^/dev/vda[0-9]+$|\", \"a|^/dev/vdb1$|\", \"r|.*|\" ]"), "{c}");
        assert!(!c.contains("luks-a"), "{c}");
    }
}
