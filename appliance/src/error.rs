//! The error a caller of [`crate::prepare`] sees: one variant per step that can fail, each
//! message saying what to do about it.

use std::io;
use std::path::PathBuf;

/// Why the appliance could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum ApplianceError {
    /// No kernel at all was found.
    #[error("no kernel found in {searched}: {hint}")]
    NoKernel {
        /// Where the search looked.
        searched: String,
        /// What to install or set.
        hint: String,
    },

    /// The chosen kernel exists but this user cannot read it (Ubuntu installs it 0600).
    #[error(
        "cannot read {path} (mode {mode:04o}): run `sudo chmod 0644 {path}` or set \
         GUESTWRIGHT_KERNEL to a readable kernel",
        path = .path.display()
    )]
    KernelUnreadable {
        /// The kernel file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The open error.
        #[source]
        source: io::Error,
    },

    /// Kernels exist, but none has a matching `/lib/modules/<release>`.
    #[error(
        "no modules directory for kernel {kernel} (looked for {modules}): install the modules \
         package for {release}, or set GUESTWRIGHT_KERNEL and GUESTWRIGHT_MODULES",
        kernel = .kernel.display(),
        modules = .modules.display()
    )]
    ModulesMissing {
        /// The kernel that was chosen.
        kernel: PathBuf,
        /// Its release string.
        release: String,
        /// The directory that does not exist.
        modules: PathBuf,
    },

    /// The kernel's release could not be told from its file name or header.
    #[error(
        "cannot tell the release of kernel {path}: name it vmlinuz-<release> or set \
         GUESTWRIGHT_MODULES to its /lib/modules/<release> directory",
        path = .path.display()
    )]
    KernelRelease {
        /// The kernel file.
        path: PathBuf,
    },

    /// Reading the kernel (or a file next to it) failed.
    #[error("cannot read kernel {path}", path = .path.display())]
    ReadKernel {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },

    /// `modules.dep`, `modules.builtin` or a module could not be read.
    #[error(
        "cannot read {path}: check the kernel modules installation, or set GUESTWRIGHT_MODULES",
        path = .path.display()
    )]
    ReadModules {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },

    /// A host file that the appliance carries (a tool, a library) could not be read.
    #[error(
        "cannot read {path}, which the appliance carries: check its permissions",
        path = .path.display()
    )]
    ReadCarried {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },

    /// No cache directory could be derived from the environment.
    #[error("no cache directory: set GUESTWRIGHT_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    NoCacheDir,

    /// The cache directory (or its parent) could be tampered with by someone else.
    #[error(
        "refusing cache directory {path}: {problem}; {fix}",
        path = .path.display()
    )]
    CacheDirInsecure {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        fix: String,
    },

    /// Creating, locking or reading the cache failed.
    #[error(
        "cannot use cache directory {path}: check its permissions and free space, or set \
         GUESTWRIGHT_CACHE_DIR",
        path = .path.display()
    )]
    Cache {
        /// The file or directory involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },

    /// Writing the new appliance (kernel, initramfs) into the cache failed.
    #[error(
        "cannot write the appliance into {path}: check free space in the cache directory",
        path = .path.display()
    )]
    WriteAppliance {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}
