//! Builds the guestwright appliance from the host's own kernel and modules, and caches it.
//!
//! The appliance is what QEMU boots: the host's kernel (as an uncompressed `vmlinux` for PVH
//! boot when it can be extracted, otherwise the bzImage) and an initramfs holding the
//! embedded daemon as `/init`, the kernel modules it needs, and host tools (lvm, mke2fs, ...)
//! carried with their shared libraries. Nothing here needs root. The layout of the
//! initramfs, which the daemon relies on, is described in the `initramfs` module.
//!
//! ```no_run
//! let appliance = guestwright_appliance::prepare(&guestwright_appliance::Config::from_env())?;
//! println!("qemu -kernel {} -initrd {}", appliance.kernel.display(), appliance.initrd.display());
//! # Ok::<(), guestwright_appliance::ApplianceError>(())
//! ```

mod assemble;
mod cache;
mod carry;
mod cpio;
mod decompress;
mod elf_deps;
mod error;
mod initramfs;
mod kernel;
mod lzo;
mod modules;
mod sys;
mod vmlinux;

#[cfg(test)]
mod prepare_tests;

use std::path::PathBuf;

pub use carry::CarriedTool;
pub use error::ApplianceError;
pub use initramfs::EXTRAS_SERIAL;

/// The static daemon binary that becomes the appliance's `/init` (built by `build.rs`).
pub static DAEMON: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guestwright-daemon"));

/// SHA-256 of [`DAEMON`], computed at build time so a cache lookup need not hash it.
const DAEMON_SHA256: &str = include_str!(concat!(env!("OUT_DIR"), "/guestwright-daemon.sha256"));

/// Where the appliance comes from and where it is cached. `Default` means: the host's newest
/// kernel, its modules, and the per-user cache directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// An explicit kernel (a bzImage, or a vmlinux with a PVH note).
    pub kernel: Option<PathBuf>,
    /// An explicit modules directory, `/lib/modules/<release>`.
    pub modules_dir: Option<PathBuf>,
    /// The cache directory; default `$XDG_CACHE_HOME/guestwright` or
    /// `$HOME/.cache/guestwright`.
    pub cache_dir: Option<PathBuf>,
}

impl Config {
    /// Reads `GUESTWRIGHT_KERNEL`, `GUESTWRIGHT_MODULES` and `GUESTWRIGHT_CACHE_DIR`; unset or
    /// empty variables leave the default.
    pub fn from_env() -> Config {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Config {
            kernel: var("GUESTWRIGHT_KERNEL"),
            modules_dir: var("GUESTWRIGHT_MODULES"),
            cache_dir: var("GUESTWRIGHT_CACHE_DIR"),
        }
    }
}

/// How QEMU must boot [`Appliance::kernel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootProtocol {
    /// `kernel` is an uncompressed vmlinux ELF with a PVH entry note: the fast path.
    Pvh,
    /// `kernel` is the original bzImage.
    BzImage,
}

/// A ready appliance in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appliance {
    /// What to pass to `qemu -kernel`.
    pub kernel: PathBuf,
    /// How that kernel boots.
    pub boot: BootProtocol,
    /// The initramfs (uncompressed newc cpio) for `qemu -initrd`: the daemon and the boot
    /// modules.
    pub initrd: PathBuf,
    /// The extras archive (uncompressed newc cpio) to attach read-only as a raw disk with
    /// serial [`EXTRAS_SERIAL`]: the other modules and the carried tools, read on demand.
    pub extras: PathBuf,
    /// The kernel release, e.g. `6.1.0-56-cloud-amd64`.
    pub kernel_release: String,
    /// The host tools carried into the appliance, with their paths there.
    pub carried: Vec<CarriedTool>,
    /// The cache entry holding all of it.
    pub dir: PathBuf,
}

/// Returns the appliance for this host, building it (once, even with several processes at
/// it) when the cache has none for the current kernel, modules, tools and daemon.
pub fn prepare(config: &Config) -> Result<Appliance, ApplianceError> {
    assemble::prepare_with(config, &assemble::Host::default()).map(|(appliance, _)| appliance)
}
