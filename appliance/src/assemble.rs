//! Puts the pieces together: gathers the inputs, derives the cache key, and on a miss builds
//! the entry (kernel, initramfs, manifest) under the cache lock.

use std::error::Error;
use std::fs;
use std::io;
use std::path::Path;
use std::time::Instant;

use crate::cache::{self, CacheLock, KeyBuilder, Manifest};
use crate::carry::{self, CarryPlan, ToolSpec};
use crate::elf_deps::LibResolver;
use crate::kernel::{self, HostLayout, Kernel};
use crate::modules::{self, Module, ModuleDb};
use crate::{
    initramfs, vmlinux, Appliance, ApplianceError, BootProtocol, Config, DAEMON, DAEMON_SHA256,
};

/// Where the inputs come from; tests substitute small fake hosts.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub(crate) layout: HostLayout,
    pub(crate) tools: Vec<ToolSpec>,
    pub(crate) libraries: Vec<carry::LibSpec>,
    pub(crate) wanted: Vec<&'static str>,
}

impl Default for Host {
    fn default() -> Self {
        Host {
            layout: HostLayout::default(),
            tools: carry::TOOLS.to_vec(),
            libraries: carry::LIBRARIES.to_vec(),
            wanted: modules::WANTED.to_vec(),
        }
    }
}

/// Whether `prepare` built the entry or found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Built,
    Cached,
}

/// Everything that goes into an entry, and the key naming it.
#[derive(Debug)]
struct Inputs {
    kernel: Kernel,
    modules: Vec<Module>,
    carry: CarryPlan,
    key: String,
}

pub(crate) fn prepare_with(
    config: &Config,
    host: &Host,
) -> Result<(Appliance, Outcome), ApplianceError> {
    let start = Instant::now();
    let cache_dir = match &config.cache_dir {
        Some(dir) => dir.clone(),
        None => cache::default_dir().ok_or(ApplianceError::NoCacheDir)?,
    };
    let cache_dir = cache::ensure_private_dir(&cache_dir)?;
    let inputs = gather(config, host)?;
    let entry = cache::entry_dir(&cache_dir, &inputs.key);

    if let Some(manifest) = cache::read_entry(&entry) {
        cache::touch(&entry);
        log::debug!(
            "appliance {} from the cache in {:?}",
            entry.display(),
            start.elapsed()
        );
        return Ok((appliance(&entry, manifest), Outcome::Cached));
    }

    let _lock = CacheLock::acquire(&cache_dir)?;
    // Another process may have built it while we waited for the lock.
    if let Some(manifest) = cache::read_entry(&entry) {
        log::debug!("appliance {} built by another process", entry.display());
        return Ok((appliance(&entry, manifest), Outcome::Cached));
    }
    cache::remove_stale_builds(&cache_dir);
    let build = cache::build_dir(&cache_dir, &inputs.key)?;
    let manifest = match build_into(&build, &inputs) {
        Ok(manifest) => manifest,
        Err(e) => {
            let _ = fs::remove_dir_all(&build);
            return Err(e);
        }
    };
    cache::commit(&cache_dir, &build, &entry)?;
    cache::prune(&cache_dir, &entry);
    log::debug!(
        "built appliance {} in {:?}",
        entry.display(),
        start.elapsed()
    );
    Ok((appliance(&entry, manifest), Outcome::Built))
}

fn appliance(entry: &Path, manifest: Manifest) -> Appliance {
    Appliance {
        kernel: entry.join(&manifest.kernel),
        boot: manifest.boot,
        initrd: entry.join("initrd"),
        extras: entry.join("extras"),
        kernel_release: manifest.release,
        carried: manifest.carried,
        dir: entry.to_path_buf(),
    }
}

/// Finds the kernel, resolves modules and tools, and hashes the lot. This runs on every
/// `prepare`, so it only reads metadata, indexes and ELF headers.
fn gather(config: &Config, host: &Host) -> Result<Inputs, ApplianceError> {
    let kernel = kernel::find(config, &host.layout)?;
    log::debug!(
        "kernel {} (release {}), modules {}",
        kernel.path.display(),
        kernel.release,
        kernel.modules_dir.display()
    );
    let db = ModuleDb::load(&kernel.modules_dir)?;
    let resolution = db.resolve(&host.wanted);
    if !resolution.builtin.is_empty() {
        log::debug!("builtin, not loaded: {}", resolution.builtin.join(" "));
    }
    if !resolution.absent.is_empty() {
        log::debug!(
            "not available for {}: {}",
            kernel.release,
            resolution.absent.join(" ")
        );
    }
    let mut resolver = LibResolver::from_host();
    let mut carry = carry::plan(&mut resolver, &host.tools, carry::SEARCH_DIRS);
    carry::plan_libraries(&mut resolver, &mut carry, &host.libraries);

    let mut key = KeyBuilder::new();
    key.text("daemon", DAEMON_SHA256.trim());
    key.text("wanted", &host.wanted.join(" "));
    key.file("kernel", &kernel.path);
    key.text("release", &kernel.release);
    for index in modules::index_files(&kernel.modules_dir) {
        key.file("modules-index", &index);
    }
    for module in &resolution.modules {
        key.text("module", &module.name);
        key.file("module-file", &module.path);
    }
    for file in &carry.files {
        key.text("carry", &file.dest.to_string_lossy());
        key.file("carry-file", &file.source);
    }
    for (path, target) in &carry.symlinks {
        key.text("link", &format!("{} {target}", path.display()));
    }
    Ok(Inputs {
        kernel,
        modules: resolution.modules,
        carry,
        key: key.finish(),
    })
}

/// Writes the kernel, the initramfs and the manifest into `dir`.
fn build_into(dir: &Path, inputs: &Inputs) -> Result<Manifest, ApplianceError> {
    let kernel_path = &inputs.kernel.path;
    let read_err = |source| ApplianceError::ReadKernel {
        path: kernel_path.clone(),
        source,
    };
    let image = fs::read(kernel_path).map_err(read_err)?;
    let t = Instant::now();
    let (boot, kernel_file) = if image.starts_with(b"\x7fELF") {
        // An explicitly named vmlinux: usable only through its PVH note.
        vmlinux::check_pvh(&image)
            .map_err(|e| read_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        cache::write_synced(&dir.join("vmlinux"), &image)?;
        (BootProtocol::Pvh, "vmlinux")
    } else {
        match vmlinux::extract(&image) {
            Ok((format, elf)) => {
                log::debug!(
                    "extracted vmlinux ({} bytes, {} payload) in {:?}",
                    elf.len(),
                    format.name(),
                    t.elapsed()
                );
                cache::write_synced(&dir.join("vmlinux"), &elf)?;
                (BootProtocol::Pvh, "vmlinux")
            }
            Err(e) => {
                log::info!(
                    "booting {} as a bzImage (slower): {}",
                    kernel_path.display(),
                    chain(&e)
                );
                cache::write_synced(&dir.join("kernel"), &image)?;
                (BootProtocol::BzImage, "kernel")
            }
        }
    };

    let t = Instant::now();
    let sizes = initramfs::write(
        &dir.join("initrd"),
        &dir.join("extras"),
        DAEMON,
        &inputs.modules,
        &inputs.carry,
    )?;
    log::debug!(
        "initramfs: {} bytes, extras {} bytes (daemon {}, {} modules {}, carried files {}) in {:?}",
        sizes.total,
        sizes.extras,
        sizes.daemon,
        inputs.modules.len(),
        sizes.modules,
        sizes.carried,
        t.elapsed()
    );
    let names: Vec<&str> = inputs.carry.tools.iter().map(|t| t.name.as_str()).collect();
    log::debug!("carried: {}", names.join(" "));

    let manifest = Manifest {
        boot,
        kernel: kernel_file.to_string(),
        release: inputs.kernel.release.clone(),
        carried: inputs.carry.tools.clone(),
    };
    cache::write_manifest(dir, &manifest)?;
    Ok(manifest)
}

/// "error: cause: cause" for a log line.
fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
