//! Linux software RAID (md) through the carried `mdadm`: arrays on the attached disks are
//! assembled once, the first time something needs them (a filesystem listing that meets an
//! md member, a caller naming `/dev/mdN`), and named as the kernel numbers them
//! (`/dev/md127` first, as libguestfs's appliance names them).
//!
//! Complete arrays assemble as they are; a degraded one assembles read-only (nothing is
//! resynced onto the guest's disks) and the daemon says so. mdadm never sees udev here: it
//! makes its own device nodes.

use crate::block::devices::Disks;
use crate::boot::modules::Modules;
use crate::{block::lvm, boot::tools};
use guestwright_protocol::Device;
use guestwright_sync::Mutex;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::Path;

/// Whether arrays were assembled in this appliance.
static ASSEMBLED: Mutex<bool> = Mutex::new(false);

/// The configuration mdadm reads: every block device the kernel lists, any homehost.
const CONFIG: &str = "/run/guestwright-mdadm.conf";

const ENV: &[(&str, &str)] = &[("MDADM_NO_UDEV", "1"), ("MDADM_NO_SYSTEMCTL", "1")];

/// The RAID personality module of a level as the kernel numbers it (`-1` is linear).
fn personality(level: i32) -> Option<&'static str> {
    match level {
        -1 => Some("linear"),
        0 => Some("raid0"),
        1 => Some("raid1"),
        4..=6 => Some("raid456"),
        10 => Some("raid10"),
        _ => None,
    }
}

/// The personalities the md superblocks on the attached block devices (disks, partitions
/// and running arrays) name. Loading only these matters under TCG: `raid456` pulls in
/// `raid6_pq`, whose load-time benchmark alone takes about 0.3 s.
fn personalities_on_disks() -> Vec<&'static str> {
    let mut found = Vec::new();
    let Ok(dir) = fs::read_dir("/sys/class/block") else {
        return found;
    };
    for entry in dir.flatten() {
        let node = Path::new("/dev").join(entry.file_name());
        let level = fs::File::open(&node).and_then(|mut f| {
            let size = std::io::Seek::seek(&mut f, std::io::SeekFrom::End(0))?;
            crate::probe::md_level(&mut f, size)
        });
        match level {
            Ok(Some(level)) => match personality(level) {
                Some(m) if !found.contains(&m) => found.push(m),
                Some(_) => {}
                None => info!(
                    "{}: md level {level} is not one this appliance knows",
                    node.display()
                ),
            },
            Ok(None) => {}
            Err(e) => debug!("{}: {e}", node.display()),
        }
    }
    found
}

/// Loads md and the `personalities` the kernel has as modules, quietly skipping any it
/// lacks (an array of that level then does not assemble, and mdadm says why).
fn prepare(modules: &Modules, personalities: &[&str]) -> io::Result<()> {
    tools::find("mdadm")?;
    modules.load("md_mod")?;
    for m in personalities {
        if let Err(e) = modules.load(m) {
            debug!("{m}: {e}");
        }
    }
    fs::create_dir_all("/run/mdadm")?;
    fs::create_dir_all("/dev/md")?;
    fs::write(
        CONFIG,
        "DEVICE partitions containers\nHOMEHOST <ignore>\nAUTO +all\n",
    )
}

fn mdadm(args: &[&str]) -> io::Result<std::process::Output> {
    let mut all: Vec<OsString> = vec![format!("--config={CONFIG}").into()];
    // --config goes after the mode option.
    all.insert(0, args[0].into());
    all.extend(args[1..].iter().map(OsString::from));
    tools::run_status("mdadm", &all, ENV, None)
}

/// Assembles every array found on the disks, once per boot. Without a carried `mdadm`:
/// `EOPNOTSUPP` naming the package.
pub fn assemble_once(disks: &Disks, modules: &Modules) -> io::Result<()> {
    if *ASSEMBLED.lock() {
        return Ok(());
    }
    // Arrays whose members are logical volumes: the volume groups on the disks are
    // activated first, so every array is found in one pass (and numbered as libguestfs's
    // appliance numbers them). VGs on the arrays activate when LVM is next needed
    // (allow_device, below, marks LVM not activated).
    if tools::has("lvm") {
        if let Err(e) = lvm::activate_once(disks, modules) {
            debug!("no LVM activation before the md arrays: {e}");
        }
    }
    prepare(modules, &personalities_on_disks())?;
    // Complete arrays first; mdadm exits non-zero when there was nothing (more) to do.
    let out = mdadm(&["--assemble", "--scan", "--no-degraded"])?;
    debug!(
        "mdadm --assemble --scan: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let before = list();
    // mdadm leaves what it could not start whole as an inactive array holding its members:
    // start it read-only where it is (keeping the kernel's number), or stop it so the second
    // pass can take its members.
    for name in inactive() {
        let state = Path::new("/sys/block").join(&name).join("md/array_state");
        if let Err(e) = fs::write(&state, "readonly") {
            let node = format!("/dev/{name}");
            let out = mdadm(&["--stop", &node])?;
            debug!("{node}: read-only start: {e}; mdadm --stop: {}", out.status);
        }
    }
    // What is left is degraded: start it read-only, so nothing rebuilds onto the disks.
    let out = mdadm(&["--assemble", "--scan", "--run", "--readonly"])?;
    for dev in list() {
        if !before.contains(&dev) {
            info!(
                "{dev} is a degraded md array: assembled read-only ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    for dev in list() {
        lvm::allow_device(dev.as_str());
    }
    *ASSEMBLED.lock() = true;
    Ok(())
}

/// The md devices (`md127`) that exist but do not run: assembled without enough members.
fn inactive() -> Vec<String> {
    fs::read_dir("/sys/block")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("md"))
                .filter(|n| {
                    fs::read_to_string(Path::new("/sys/block").join(n).join("md/array_state"))
                        .is_ok_and(|s| s.trim() == "inactive")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Forgets that arrays were assembled (their drives are gone: the next job's are
/// assembled when they are needed).
pub fn forget() {
    *ASSEMBLED.lock() = false;
}

/// Whether arrays were assembled.
pub fn assembled() -> bool {
    *ASSEMBLED.lock()
}

/// The running md arrays as `/dev/mdN`, in the kernel's order of numbers.
pub fn list() -> Vec<Device> {
    let mut numbers: Vec<u32> = fs::read_dir("/sys/block")
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let n: u32 = name.strip_prefix("md")?.parse().ok()?;
                    // An md node exists from the first open; an array has a level.
                    let level = fs::read_to_string(e.path().join("md/level")).ok()?;
                    (!level.trim().is_empty()).then_some(n)
                })
                .collect()
        })
        .unwrap_or_default();
    numbers.sort_unstable();
    numbers
        .into_iter()
        .map(|n| Device::from(format!("/dev/md{n}")))
        .collect()
}

/// Whether a kernel block device (`vda2`) is a member of a running array.
pub fn is_member(kernel_name: &str) -> bool {
    fs::read_dir(
        Path::new("/sys/class/block")
            .join(kernel_name)
            .join("holders"),
    )
    .map(|d| {
        d.flatten()
            .any(|h| h.file_name().to_string_lossy().starts_with("md"))
    })
    .unwrap_or(false)
}

/// Whether a caller's name could be an md array that is not assembled yet.
pub fn could_be_md(dev: &Device) -> bool {
    dev.as_str().strip_prefix("/dev/md").is_some_and(|rest| {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        // `/dev/md/NAME`, `/dev/md127`, or a partition of one: `/dev/md127p1`.
        rest.starts_with('/')
            || digits(rest)
            || rest
                .split_once('p')
                .is_some_and(|(a, p)| digits(a) && digits(p))
    })
}

/// `mdadm --detail --export`: the array's facts as (key, value), keys lower case without
/// mdadm's `MD_` prefix (`level`, `uuid`, `devices`, `metadata`, `name`).
pub fn detail(modules: &Modules, node: &Path) -> io::Result<Vec<(String, String)>> {
    prepare(modules, &[])?;
    let node = node.to_string_lossy().into_owned();
    let out = mdadm(&["--detail", "--export", &node])?;
    if !out.status.success() {
        return Err(tools::failed(
            "mdadm",
            &["--detail", "--export", &node],
            &out,
        ));
    }
    Ok(parse_export(&String::from_utf8_lossy(&out.stdout)))
}

/// `md_stat`: the members of array `md` (its kernel name, `md127`) from /proc/mdstat:
/// (kernel device path, index, flags). A missing array is `ENOENT`, named `shown` as
/// libguestfs names it (the caller's name without `/dev/`).
pub fn stat(md: &str, shown: &str) -> io::Result<Vec<(String, i32, String)>> {
    let text = fs::read_to_string("/proc/mdstat")?;
    parse_mdstat(&text, md).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("md_stat: {shown}: MD device not found"),
        )
    })
}

/// The member list on the line `MD : active raid1 vdb1[1] vda1[0](F)`.
fn parse_mdstat(text: &str, md: &str) -> Option<Vec<(String, i32, String)>> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(md)?.strip_prefix(" : "))?;
    Some(
        line.split(' ')
            .filter_map(|word| {
                let (name, rest) = word.split_once('[')?;
                let (index, flags) = rest.split_once(']')?;
                if name.is_empty() {
                    return None;
                }
                let index = index.parse().ok()?;
                let flags = flags.chars().filter(char::is_ascii_alphabetic).collect();
                Some((format!("/dev/{name}"), index, flags))
            })
            .collect(),
    )
}

fn parse_export(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let k = k.trim().strip_prefix("MD_").unwrap_or(k.trim());
            Some((k.to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// Creates array `/dev/md/NAME` of `level` (`raid1` by default) from `devices` (kernel
/// paths); the kernel numbers it (`/dev/md127` for the first).
/// The slots of an array to create: its members in order, "missing" where the caller's
/// bitmap says so, the active and spare counts and the chunk size (libguestfs's
/// `md_create` optional arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Device nodes and `missing`, in slot order.
    slots: Vec<String>,
    /// Active slots.
    active: u32,
    /// Spare devices, when given.
    spare: Option<u32>,
    /// Chunk size in KiB, when given.
    chunk_kib: Option<u64>,
}

impl Layout {
    /// Checks the counts as libguestfs does: the devices plus the missing slots are the
    /// active plus the spare ones.
    pub fn new(
        devices: Vec<String>,
        missingbitmap: Option<i64>,
        nrdevices: Option<i32>,
        spare: Option<i32>,
        chunk: Option<u64>,
    ) -> io::Result<Layout> {
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
        // The bitmap is 64 slot bits, as libguestfs reads its Int64.
        let mut missing = missingbitmap.unwrap_or(0) as u64;
        let spare = match spare {
            Some(n) if n < 0 => return Err(invalid("spare must not be negative".into())),
            Some(n) => Some(n as u32),
            None => None,
        };
        let n_missing = missing.count_ones();
        let given = devices.len() as u64 + u64::from(n_missing);
        let active = match nrdevices {
            Some(n) if n < 2 => return Err(invalid("nrdevices is less than 2".into())),
            Some(n) => n as u32,
            None => u32::try_from(given).map_err(|_| invalid("too many devices".into()))?,
        };
        if chunk.is_some_and(|c| c % 1024 != 0) {
            return Err(invalid(
                "chunk size must be a multiple of 1024 bytes".into(),
            ));
        }
        if given != u64::from(active) + u64::from(spare.unwrap_or(0)) {
            return Err(invalid(format!(
                "devices ({}) + bits set in missingbitmap ({n_missing}) is not equal to \
                 nrdevices ({active}) + spare ({})",
                devices.len(),
                spare.unwrap_or(0)
            )));
        }
        let mut slots = Vec::new();
        let mut devices = devices.into_iter();
        loop {
            if missing & 1 != 0 {
                slots.push("missing".to_string());
            } else if let Some(d) = devices.next() {
                slots.push(d);
            } else if missing == 0 {
                break;
            }
            missing >>= 1;
        }
        Ok(Layout {
            slots,
            active,
            spare,
            chunk_kib: chunk.map(|c| c / 1024),
        })
    }
}

/// Creates `/dev/md/NAME` at `level` over `layout`.
pub fn create(modules: &Modules, name: &str, level: &str, layout: &Layout) -> io::Result<()> {
    if name.is_empty()
        || name.len() > 32
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        || name.starts_with(['-', '.'])
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "'{}' is not a usable array name: use letters, digits and _ . -",
                guestwright_protocol::escape_bytes(name.as_bytes())
            ),
        ));
    }
    let level_number = match level {
        "linear" => -1,
        "raid0" | "0" | "stripe" => 0,
        "raid1" | "1" | "mirror" => 1,
        "raid4" | "4" => 4,
        "raid5" | "5" => 5,
        "raid6" | "6" => 6,
        "raid10" | "10" => 10,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "'{}' is not an md level: use raid0, raid1, raid4, raid5, raid6, raid10 \
                     or linear",
                    guestwright_protocol::escape_bytes(level.as_bytes())
                ),
            ))
        }
    };
    prepare(
        modules,
        &personality(level_number).into_iter().collect::<Vec<_>>(),
    )?;
    let target = format!("/dev/md/{name}");
    let level_arg = format!("--level={level}");
    let count = format!("--raid-devices={}", layout.active);
    let spare = layout.spare.map(|n| format!("--spare-devices={n}"));
    let chunk = layout.chunk_kib.map(|k| format!("--chunk={k}"));
    let mut args: Vec<&str> = vec![
        "--create",
        &target,
        "--run",
        "--metadata=1.2",
        &level_arg,
        &count,
    ];
    args.extend(spare.as_deref());
    args.extend(chunk.as_deref());
    args.extend(layout.slots.iter().map(String::as_str));
    let out = mdadm(&args)?;
    if !out.status.success() {
        return Err(tools::failed("mdadm", &args, &out));
    }
    for dev in list() {
        lvm::allow_device(dev.as_str());
    }
    *ASSEMBLED.lock() = true;
    Ok(())
}

/// Stops an array (`/dev/mdN`).
pub fn stop(modules: &Modules, node: &Path) -> io::Result<()> {
    prepare(modules, &[])?;
    let node = node.to_string_lossy().into_owned();
    let out = mdadm(&["--stop", &node])?;
    if !out.status.success() {
        return Err(tools::failed("mdadm", &["--stop", &node], &out));
    }
    forget_node(Path::new(&node));
    Ok(())
}

/// After `--stop`: the node mdadm made (`/dev/md126`) and the `/dev/md/NAME` links to it
/// go once the kernel has let go of the array, as udev removes them in libguestfs's
/// appliance; later calls naming the array then find no such device, as there.
fn forget_node(node: &Path) {
    let Some(name) = node.file_name().map(|n| n.to_os_string()) else {
        return;
    };
    let sys = Path::new("/sys/block").join(&name);
    // The kernel deletes a stopped array from a work queue: wait for that a little.
    for _ in 0..50 {
        if !sys.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if sys.exists() {
        return;
    }
    if let Ok(entries) = fs::read_dir("/dev/md") {
        for link in entries.flatten() {
            let target = fs::read_link(link.path()).ok();
            if target.as_deref().and_then(Path::file_name) == Some(name.as_os_str()) {
                let _ = fs::remove_file(link.path());
            }
        }
    }
    let _ = fs::remove_file(node);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devs(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("/dev/vd{}", (b'a' + i as u8) as char))
            .collect()
    }

    #[test]
    fn layout_places_missing_slots_and_checks_counts_as_libguestfs() {
        // libguestfs's test-mdadm.sh arrays.
        let l = Layout::new(devs(4), Some(0x10), Some(4), Some(1), None).unwrap();
        assert_eq!(l.slots, [devs(4), vec!["missing".into()]].concat());
        assert_eq!((l.active, l.spare), (4, Some(1)));
        let l = Layout::new(devs(2), Some(0x1), None, None, Some(65536)).unwrap();
        assert_eq!(l.slots, ["missing", "/dev/vda", "/dev/vdb"]);
        assert_eq!((l.active, l.chunk_kib), (3, Some(64)));
        let l = Layout::new(devs(2), Some(0x6), Some(2), Some(2), None).unwrap();
        assert_eq!(l.slots, ["/dev/vda", "missing", "missing", "/dev/vdb"]);
        let l = Layout::new(devs(2), None, None, None, None).unwrap();
        assert_eq!((l.slots, l.active, l.spare), (devs(2), 2, None));
        for bad in [
            Layout::new(devs(2), None, Some(3), None, None),
            Layout::new(devs(2), None, Some(1), None, None),
            Layout::new(devs(2), None, None, Some(-1), None),
            Layout::new(devs(2), None, None, None, Some(1000)),
        ] {
            assert_eq!(bad.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn export_output_becomes_lower_case_keys() {
        let text = "MD_LEVEL=raid1\nMD_DEVICES=2\nMD_METADATA=1.2\nMD_UUID=a:b:c:d\nMD_NAME=any:root\nMD_DEVICE_dev_vda1_ROLE=0\n";
        let kv = parse_export(text);
        assert_eq!(kv[0], ("level".into(), "raid1".into()));
        assert_eq!(kv[3], ("uuid".into(), "a:b:c:d".into()));
        assert_eq!(kv[5].0, "device_dev_vda1_role");
        assert!(could_be_md(&Device::from("/dev/md127")));
        assert!(could_be_md(&Device::from("/dev/md/root")));
        assert!(could_be_md(&Device::from("/dev/md127p1")));
        assert!(!could_be_md(&Device::from("/dev/md127p")));
        assert!(!could_be_md(&Device::from("/dev/mdx")));
        assert!(!could_be_md(&Device::from("/dev/sda")));
    }

    #[test]
    fn mdstat_members_with_their_flags() {
        let text = "Personalities : [raid1]\nmd127 : active raid1 vdb1[1](W) vda1[0](F)(S)\n      \
                    1024 blocks super 1.2 [2/2] [UU]\n\nunused devices: <none>\n";
        assert_eq!(
            parse_mdstat(text, "md127").unwrap(),
            vec![
                ("/dev/vdb1".to_string(), 1, "W".to_string()),
                ("/dev/vda1".to_string(), 0, "FS".to_string()),
            ]
        );
        assert!(parse_mdstat(text, "md12").is_none());
    }
}
