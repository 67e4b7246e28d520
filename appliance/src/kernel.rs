//! Chooses the host kernel the appliance boots, and its modules directory.
//!
//! Like supermin: an explicit kernel (and modules directory) when the user names one,
//! otherwise the newest `/boot/vmlinuz-*` (or `/lib/modules/*/vmlinuz`) that has a matching
//! `/lib/modules/<release>`. Leftovers (`*.old`, `*-dbg`, Xen-only images) are skipped, and an
//! unreadable kernel is an error that says how to fix it, not a silent skip.

use std::cmp::Ordering;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::{vmlinux, ApplianceError, Config};

/// Where a host keeps its kernels; tests point these at temporary trees.
#[derive(Debug, Clone)]
pub(crate) struct HostLayout {
    pub(crate) boot: PathBuf,
    pub(crate) modules_root: PathBuf,
}

impl Default for HostLayout {
    fn default() -> Self {
        HostLayout {
            boot: PathBuf::from("/boot"),
            modules_root: PathBuf::from("/lib/modules"),
        }
    }
}

/// The kernel chosen for the appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kernel {
    pub(crate) path: PathBuf,
    pub(crate) release: String,
    pub(crate) modules_dir: PathBuf,
}

/// Chooses the kernel: explicit settings first, then the newest usable one on the host.
pub(crate) fn find(config: &Config, layout: &HostLayout) -> Result<Kernel, ApplianceError> {
    match (&config.kernel, &config.modules_dir) {
        (Some(kernel), modules) => explicit(kernel, modules.as_deref(), layout),
        (None, Some(modules)) => {
            // The modules directory names the release; the kernel must be that release's.
            let release = file_name(modules);
            let kernel = candidates(layout)
                .into_iter()
                .find(|c| c.release == release)
                .ok_or_else(|| ApplianceError::NoKernel {
                    searched: format!("{} for release {release}", layout.boot.display()),
                    hint: "set GUESTWRIGHT_KERNEL to the kernel that matches GUESTWRIGHT_MODULES"
                        .into(),
                })?;
            check_readable(&kernel.path)?;
            Ok(Kernel {
                modules_dir: modules.clone(),
                ..kernel
            })
        }
        (None, None) => newest(layout),
    }
}

fn explicit(
    kernel: &Path,
    modules: Option<&Path>,
    layout: &HostLayout,
) -> Result<Kernel, ApplianceError> {
    check_readable(kernel)?;
    let release = match modules {
        Some(dir) => file_name(dir),
        None => release_of(kernel)?,
    };
    let modules_dir = modules
        .map(Path::to_path_buf)
        .unwrap_or_else(|| layout.modules_root.join(&release));
    if !modules_dir.is_dir() {
        return Err(ApplianceError::ModulesMissing {
            kernel: kernel.to_path_buf(),
            release,
            modules: modules_dir,
        });
    }
    Ok(Kernel {
        path: kernel.to_path_buf(),
        release,
        modules_dir,
    })
}

/// The release of an explicitly named kernel: from its bzImage header, else its file name.
fn release_of(kernel: &Path) -> Result<String, ApplianceError> {
    let mut head = vec![0u8; 0x8000];
    let n = read_prefix(kernel, &mut head).map_err(|source| ApplianceError::ReadKernel {
        path: kernel.to_path_buf(),
        source,
    })?;
    if let Some(release) = vmlinux::release_from_header(&head[..n]) {
        return Ok(release);
    }
    let name = file_name(kernel);
    match name
        .strip_prefix("vmlinuz-")
        .or_else(|| name.strip_prefix("vmlinux-"))
    {
        Some(release) if !release.is_empty() => Ok(release.to_string()),
        _ => Err(ApplianceError::KernelRelease {
            path: kernel.to_path_buf(),
        }),
    }
}

fn read_prefix(path: &Path, buf: &mut [u8]) -> io::Result<usize> {
    let mut file = File::open(path)?;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The newest kernel that has modules and can be read.
fn newest(layout: &HostLayout) -> Result<Kernel, ApplianceError> {
    let all = candidates(layout);
    let mut unreadable = None;
    let mut without_modules = None;
    for candidate in &all {
        if !candidate.modules_dir.is_dir() {
            log::debug!(
                "skipping {}: no {}",
                candidate.path.display(),
                candidate.modules_dir.display()
            );
            without_modules.get_or_insert(candidate);
            continue;
        }
        match check_readable(&candidate.path) {
            Ok(()) => {
                if let Some(err) = &unreadable {
                    log::warn!(
                        "{err}; using the older {} instead",
                        candidate.path.display()
                    );
                }
                log::debug!(
                    "kernel {} (release {})",
                    candidate.path.display(),
                    candidate.release
                );
                return Ok(candidate.clone());
            }
            Err(err) => {
                log::debug!("skipping {}: {err}", candidate.path.display());
                unreadable.get_or_insert(err);
            }
        }
    }
    if let Some(err) = unreadable {
        return Err(err);
    }
    if let Some(kernel) = without_modules {
        return Err(ApplianceError::ModulesMissing {
            kernel: kernel.path.clone(),
            release: kernel.release.clone(),
            modules: kernel.modules_dir.clone(),
        });
    }
    Err(ApplianceError::NoKernel {
        searched: format!(
            "{}/vmlinuz-* and {}/*/vmlinuz",
            layout.boot.display(),
            layout.modules_root.display()
        ),
        hint: install_hint(),
    })
}

fn install_hint() -> String {
    if Path::new("/etc/debian_version").exists() {
        "install linux-image-cloud-amd64 (`sudo apt-get install linux-image-cloud-amd64`), or set \
         GUESTWRIGHT_KERNEL and GUESTWRIGHT_MODULES"
            .into()
    } else {
        "install your distribution's kernel package, or set GUESTWRIGHT_KERNEL and \
         GUESTWRIGHT_MODULES"
            .into()
    }
}

/// Every plausible kernel on the host, newest release first.
fn candidates(layout: &HostLayout) -> Vec<Kernel> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(&layout.boot) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(release) = name.strip_prefix("vmlinuz-") else {
                continue;
            };
            if skipped_release(release) {
                log::debug!("skipping /boot/{name}: not a bootable native kernel");
                continue;
            }
            found.push(Kernel {
                path: entry.path(),
                release: release.to_string(),
                modules_dir: layout.modules_root.join(release),
            });
        }
    }
    // Fedora and Arch keep the kernel inside its modules directory.
    if let Ok(entries) = fs::read_dir(&layout.modules_root) {
        for entry in entries.flatten() {
            let release = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path().join("vmlinuz");
            if path.is_file()
                && !skipped_release(&release)
                && !found.iter().any(|k| k.release == release)
            {
                found.push(Kernel {
                    path,
                    release,
                    modules_dir: entry.path(),
                });
            }
        }
    }
    found.sort_by(|a, b| version_cmp(&b.release, &a.release));
    found
}

/// Releases that are not a plain kernel for this machine: backups, debug images, Xen-only.
fn skipped_release(release: &str) -> bool {
    const SUFFIXES: &[&str] = &[".old", ".bak", "-dbg", ".dpkg-tmp", ".dpkg-new", "~"];
    release.is_empty()
        || SUFFIXES.iter().any(|s| release.ends_with(s))
        || release.split(['-', '.', '_']).any(|part| part == "xen")
}

/// Opens the kernel for reading; an error names the mode and the fix.
fn check_readable(path: &Path) -> Result<(), ApplianceError> {
    match File::open(path) {
        Ok(_) => Ok(()),
        Err(source) if source.kind() == io::ErrorKind::PermissionDenied => {
            let mode = fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0);
            Err(ApplianceError::KernelUnreadable {
                path: path.to_path_buf(),
                mode,
                source,
            })
        }
        Err(source) => Err(ApplianceError::ReadKernel {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Compares versions like `sort -V`: runs of digits numerically, everything else bytewise.
pub(crate) fn version_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..da]), trim_zeros(&b[..db]));
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    &digits[zeros..]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The kernel this machine would use, if any.
    pub(crate) fn host_kernel() -> Option<PathBuf> {
        newest(&HostLayout::default()).ok().map(|k| k.path)
    }

    fn tree() -> (tempfile::TempDir, HostLayout) {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = HostLayout {
            boot: dir.path().join("boot"),
            modules_root: dir.path().join("modules"),
        };
        fs::create_dir_all(&layout.boot).expect("mkdir boot");
        fs::create_dir_all(&layout.modules_root).expect("mkdir modules");
        (dir, layout)
    }

    fn add(layout: &HostLayout, release: &str, with_modules: bool) {
        fs::write(layout.boot.join(format!("vmlinuz-{release}")), b"kernel").expect("write");
        if with_modules {
            fs::create_dir_all(layout.modules_root.join(release)).expect("mkdir");
        }
    }

    #[test]
    fn version_sort_is_numeric() {
        let mut v = vec![
            "6.1.0-9-amd64",
            "6.1.0-56-amd64",
            "5.10.0-30-amd64",
            "6.10.0-1-amd64",
            "6.1.0-10-amd64",
        ];
        v.sort_by(|a, b| version_cmp(a, b));
        assert_eq!(
            v,
            [
                "5.10.0-30-amd64",
                "6.1.0-9-amd64",
                "6.1.0-10-amd64",
                "6.1.0-56-amd64",
                "6.10.0-1-amd64"
            ]
        );
    }

    #[test]
    fn newest_with_modules_wins_and_leftovers_are_skipped() {
        let (_dir, layout) = tree();
        add(&layout, "6.1.0-9-cloud-amd64", true);
        add(&layout, "6.1.0-56-cloud-amd64", true);
        add(&layout, "6.1.0-60-cloud-amd64", false); // modules not installed
        add(&layout, "6.1.0-70-cloud-amd64.old", true);
        add(&layout, "6.1.0-71-cloud-amd64-dbg", true);
        add(&layout, "4.19.0-xen-amd64", true);
        let kernel = find(&Config::default(), &layout).expect("a kernel");
        assert_eq!(kernel.release, "6.1.0-56-cloud-amd64");
        assert_eq!(
            kernel.path,
            layout.boot.join("vmlinuz-6.1.0-56-cloud-amd64")
        );
        assert_eq!(
            kernel.modules_dir,
            layout.modules_root.join("6.1.0-56-cloud-amd64")
        );
    }

    #[test]
    fn kernel_inside_its_modules_directory_is_found() {
        let (_dir, layout) = tree();
        let dir = layout.modules_root.join("6.8.1-arch1-1");
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join("vmlinuz"), b"kernel").expect("write");
        let kernel = find(&Config::default(), &layout).expect("a kernel");
        assert_eq!(kernel.path, dir.join("vmlinuz"));
        assert_eq!(kernel.release, "6.8.1-arch1-1");
    }

    #[test]
    fn no_kernel_says_what_to_install() {
        let (_dir, layout) = tree();
        let err = find(&Config::default(), &layout).expect_err("no kernel");
        assert!(matches!(err, ApplianceError::NoKernel { .. }), "{err}");
        if Path::new("/etc/debian_version").exists() {
            assert!(
                err.to_string().contains("install linux-image-cloud-amd64"),
                "{err}"
            );
        }
    }

    #[test]
    fn kernel_without_modules_names_the_missing_directory() {
        let (_dir, layout) = tree();
        add(&layout, "6.1.0-60-cloud-amd64", false);
        let err = find(&Config::default(), &layout).expect_err("no modules");
        let text = err.to_string();
        assert!(
            matches!(err, ApplianceError::ModulesMissing { .. }),
            "{text}"
        );
        assert!(
            text.contains("6.1.0-60-cloud-amd64") && text.contains("GUESTWRIGHT_MODULES"),
            "{text}"
        );
    }

    #[test]
    fn unreadable_kernel_message_gives_the_fix() {
        let err = ApplianceError::KernelUnreadable {
            path: PathBuf::from("/boot/vmlinuz-6.8.0-31-generic"),
            mode: 0o600,
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(
            err.to_string(),
            "cannot read /boot/vmlinuz-6.8.0-31-generic (mode 0600): run `sudo chmod 0644 \
             /boot/vmlinuz-6.8.0-31-generic` or set GUESTWRIGHT_KERNEL to a readable kernel"
        );
    }

    #[test]
    fn explicit_kernel_takes_its_release_from_the_header() {
        let (dir, layout) = tree();
        let image = crate::vmlinux::tests::fake_bzimage(b"\x1f\x8b", "6.5.0-custom");
        let path = dir.path().join("bzImage");
        fs::write(&path, image).expect("write");
        fs::create_dir_all(layout.modules_root.join("6.5.0-custom")).expect("mkdir");
        let config = Config {
            kernel: Some(path.clone()),
            ..Config::default()
        };
        let kernel = find(&config, &layout).expect("explicit kernel");
        assert_eq!(kernel.release, "6.5.0-custom");
        assert_eq!(kernel.path, path);

        let modules = dir.path().join("my-modules");
        fs::create_dir_all(&modules).expect("mkdir");
        let config = Config {
            kernel: Some(path),
            modules_dir: Some(modules.clone()),
            ..Config::default()
        };
        assert_eq!(
            find(&config, &layout).expect("explicit both").modules_dir,
            modules
        );
    }

    #[test]
    fn explicit_missing_kernel_is_an_error() {
        let (dir, layout) = tree();
        let config = Config {
            kernel: Some(dir.path().join("nope")),
            ..Config::default()
        };
        assert!(matches!(
            find(&config, &layout),
            Err(ApplianceError::ReadKernel { .. })
        ));
    }

    #[test]
    fn host_kernel_is_found() {
        let kernel = newest(&HostLayout::default()).expect("this machine has a kernel");
        assert!(kernel.modules_dir.join("modules.dep").is_file());
    }
}
