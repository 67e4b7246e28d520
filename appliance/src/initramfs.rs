//! Lays out the appliance's two archives. This is the contract with the daemon:
//!
//! The **initramfs** (`initrd`), unpacked by the kernel at every boot, holds only what every
//! launch needs, because under TCG each megabyte in it costs about 20 ms of boot:
//! - `/init`: the daemon, mode 0755.
//! - `/modules/<name>.ko`: the boot modules ([`BOOT_MODULES`] and their dependencies),
//!   uncompressed, names normalised with `_`.
//! - `/modules/modules.index`: one line per included module (boot or extra),
//!   `name dep1 dep2 ...` (its direct dependencies), each line after those of its dependencies.
//! - `/etc/guestwright/carried`: one line per carried tool, `name /absolute/path`.
//! - `/etc/guestwright/carried-files`: one line per carried tool's path (links included),
//!   `/absolute/path /file ...`: the files in the extras the tool needs to run.
//! - the directories of a root filesystem and `/etc/mtab -> /proc/mounts`. No `/etc/passwd`
//!   nor `/etc/group`: libguestfs's appliance has none either, so the tools it runs print
//!   ids, not names (`tune2fs -l`: "Reserved blocks uid: 0 (user unknown)"), and scripts
//!   written against guestfish compare with that.
//!
//! The **extras** archive (`extras`), attached read-only as a raw disk with serial
//! [`EXTRAS_SERIAL`], holds everything else: the other modules at `/modules/<name>.ko` and the
//! carried tools with their libraries at their host paths. The daemon reads from it only
//! when an operation needs a module or a tool.
//!
//! Neither archive is compressed: under TCG, decompressing costs more than copying.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::carry::CarryPlan;
use crate::cpio::CpioWriter;
use crate::modules::{self, Module};
use crate::ApplianceError;

/// Directories every appliance has, with their modes.
const DIRS: &[(&str, u32)] = &[
    ("/dev", 0o755),
    ("/proc", 0o555),
    ("/sys", 0o555),
    ("/tmp", 0o1777),
    ("/run", 0o755),
    ("/run/lock", 0o1777),
    ("/sysroot", 0o755),
    ("/etc", 0o755),
    ("/etc/guestwright", 0o755),
    ("/usr", 0o755),
    ("/usr/bin", 0o755),
    ("/usr/sbin", 0o755),
    ("/bin", 0o755),
    ("/sbin", 0o755),
    ("/lib", 0o755),
    ("/lib64", 0o755),
    ("/var", 0o755),
    ("/var/lock", 0o1777),
    ("/root", 0o700),
    ("/modules", 0o755),
];

pub(crate) const MODULES_INDEX: &str = "/modules/modules.index";
/// The serial number of the extras disk, which the daemon looks for.
pub const EXTRAS_SERIAL: &str = "gwx";
/// The modules every boot loads: the channel, the disks, and their buses.
pub(crate) const BOOT_MODULES: &[&str] =
    &["virtio_mmio", "virtio_pci", "virtio_console", "virtio_blk"];
pub(crate) const CARRIED_LIST: &str = "/etc/guestwright/carried";
pub(crate) const CARRIED_FILES: &str = "/etc/guestwright/carried-files";

/// How big the archive came out, and what took the space.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sizes {
    pub(crate) total: u64,
    pub(crate) extras: u64,
    pub(crate) daemon: u64,
    pub(crate) modules: u64,
    pub(crate) carried: u64,
}

/// Writes the initramfs to `path` and the extras archive to `extras_path`, fsynced.
pub(crate) fn write(
    path: &Path,
    extras_path: &Path,
    daemon: &[u8],
    modules: &[Module],
    carry: &CarryPlan,
) -> Result<Sizes, ApplianceError> {
    let written = |source: io::Error| ApplianceError::WriteAppliance {
        path: path.to_path_buf(),
        source,
    };
    let extras_written = |source: io::Error| ApplianceError::WriteAppliance {
        path: extras_path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(written)?;
    let mut cpio = CpioWriter::new(BufWriter::with_capacity(1 << 20, file));
    let extras_file = File::create(extras_path).map_err(extras_written)?;
    let mut extras = CpioWriter::new(BufWriter::with_capacity(1 << 20, extras_file));
    let mut sizes = Sizes {
        daemon: daemon.len() as u64,
        ..Sizes::default()
    };

    for (dir, mode) in DIRS {
        cpio.dir(dir, *mode).map_err(written)?;
    }
    cpio.file("/init", 0o755, daemon).map_err(written)?;
    cpio.symlink("/etc/mtab", "/proc/mounts").map_err(written)?;

    sizes.modules = write_modules(&mut cpio, &mut extras, modules).map_err(|e| match e {
        WriteError::Io(source) => written(source),
        WriteError::Module(e) => e,
    })?;
    sizes.carried = write_carried(&mut cpio, &mut extras, carry).map_err(|e| match e {
        WriteError::Io(source) => written(source),
        WriteError::Module(e) => e,
    })?;

    let (out, total) = cpio.finish().map_err(written)?;
    let file = out.into_inner().map_err(|e| written(e.into_error()))?;
    file.sync_all().map_err(written)?;
    sizes.total = total;
    let (out, total) = extras.finish().map_err(extras_written)?;
    let file = out
        .into_inner()
        .map_err(|e| extras_written(e.into_error()))?;
    file.sync_all().map_err(extras_written)?;
    sizes.extras = total;
    Ok(sizes)
}

/// The boot modules and everything they depend on.
fn boot_set(modules: &[Module]) -> HashSet<&str> {
    let mut set = HashSet::new();
    for module in modules
        .iter()
        .filter(|m| BOOT_MODULES.contains(&m.name.as_str()))
    {
        set.insert(module.name.as_str());
        set.extend(module.deps.iter().map(String::as_str));
    }
    set
}

enum WriteError {
    Io(io::Error),
    Module(ApplianceError),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

fn write_modules<W: Write>(
    cpio: &mut CpioWriter<W>,
    extras: &mut CpioWriter<W>,
    modules: &[Module],
) -> Result<u64, WriteError> {
    let included: HashSet<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    let boot = boot_set(modules);
    let mut index = String::new();
    let mut bytes = 0;
    for module in modules {
        let ko = modules::read_module(&module.path).map_err(WriteError::Module)?;
        // The module's own list is its direct dependencies; modules.dep has the closure.
        let deps = modules::direct_deps(&ko).unwrap_or_else(|| module.deps.clone());
        index.push_str(&module.name);
        for dep in deps.iter().filter(|d| included.contains(d.as_str())) {
            index.push(' ');
            index.push_str(dep);
        }
        index.push('\n');
        let archive = if boot.contains(module.name.as_str()) {
            &mut *cpio
        } else {
            &mut *extras
        };
        archive.file(&format!("/modules/{}.ko", module.name), 0o644, &ko)?;
        bytes += ko.len() as u64;
    }
    cpio.file(MODULES_INDEX, 0o644, index.as_bytes())?;
    Ok(bytes)
}

fn write_carried<W: Write>(
    cpio: &mut CpioWriter<W>,
    extras: &mut CpioWriter<W>,
    carry: &CarryPlan,
) -> Result<u64, WriteError> {
    let mut bytes = 0;
    for file in &carry.files {
        let dest = file.dest.to_string_lossy();
        let mut source = File::open(&file.source).map_err(|source| {
            WriteError::Module(ApplianceError::ReadCarried {
                path: file.source.clone(),
                source,
            })
        })?;
        let meta = source.metadata()?;
        // Keep the execute bits (libraries and programs), drop set-id bits.
        let mode = if meta.permissions().mode() & 0o111 != 0 {
            0o755
        } else {
            0o644
        };
        extras.file_from(&dest, mode, meta.len(), &mut source)?;
        bytes += meta.len();
    }
    for (path, target) in &carry.symlinks {
        extras.symlink(&path.to_string_lossy(), target)?;
    }
    let mut list = String::new();
    for tool in &carry.tools {
        list.push_str(&format!("{} {}\n", tool.name, tool.path.display()));
    }
    cpio.file(CARRIED_LIST, 0o644, list.as_bytes())?;
    let mut needs = String::new();
    for (path, files) in &carry.needs {
        needs.push_str(&path.to_string_lossy());
        for file in files {
            needs.push(' ');
            needs.push_str(&file.to_string_lossy());
        }
        needs.push('\n');
    }
    cpio.file(CARRIED_FILES, 0o644, needs.as_bytes())?;
    Ok(bytes)
}
