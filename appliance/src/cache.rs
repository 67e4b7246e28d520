//! The per-user appliance cache: `<cache>/appliance-<key>/`, where the key hashes everything
//! that goes into the appliance, so a changed kernel, module, tool or daemon means a new entry.
//!
//! Builders serialise on an exclusive `flock` of `<cache>/lock`, build in a temporary
//! directory inside the cache and `rename` it into place, so a reader sees a whole entry or
//! none. The cache directory must belong to this user and be writable by no one else, and
//! its parent must not let others replace it: what it holds is booted.

use std::fmt::Write as _;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::{sys, ApplianceError, BootProtocol, CarriedTool};

/// Bump when the layout of an entry or of the initramfs changes.
pub(crate) const LAYOUT_VERSION: u32 = 2;
/// Entries besides the one just built that survive a clean-up.
const KEEP_OTHERS: usize = 2;
/// An entry used this recently may be booting right now: never removed.
const IN_USE_GRACE: Duration = Duration::from_secs(600);
const MANIFEST: &str = "manifest";
const MANIFEST_MAGIC: &str = "guestwright-appliance-manifest";
const ENTRY_PREFIX: &str = "appliance-";
const BUILD_PREFIX: &str = ".build-";

/// `$XDG_CACHE_HOME/guestwright`, else `$HOME/.cache/guestwright`.
pub(crate) fn default_dir() -> Option<PathBuf> {
    let nonempty = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(xdg) = nonempty("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(xdg.join("guestwright"));
    }
    nonempty("HOME").map(|home| home.join(".cache").join("guestwright"))
}

fn cache_err(path: &Path) -> impl FnOnce(io::Error) -> ApplianceError + '_ {
    move |source| ApplianceError::Cache {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (0700) if it is missing and checks that only this user can change it.
/// Returns the canonical path.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<PathBuf, ApplianceError> {
    if fs::symlink_metadata(dir).is_err() {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(cache_err(parent))?;
        }
        match DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => log::debug!("created cache directory {}", dir.display()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(cache_err(dir)(e)),
        }
    }
    let dir = dir.canonicalize().map_err(cache_err(dir))?;
    let uid = sys::getuid();
    let insecure = |problem: String, fix: String| ApplianceError::CacheDirInsecure {
        path: dir.clone(),
        problem,
        fix,
    };
    let meta = fs::metadata(&dir).map_err(cache_err(&dir))?;
    if !meta.is_dir() {
        return Err(insecure(
            "it is not a directory".into(),
            "remove it or set GUESTWRIGHT_CACHE_DIR".into(),
        ));
    }
    if meta.uid() != uid {
        return Err(insecure(
            format!("it is owned by uid {}, not by you (uid {uid})", meta.uid()),
            "remove it, or set GUESTWRIGHT_CACHE_DIR to a directory of your own".into(),
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(insecure(
            format!("it is writable by group or others (mode {mode:04o})"),
            format!("run `chmod go-w {}`", dir.display()),
        ));
    }
    // Whoever can write the parent can rename our directory away and put theirs in its place,
    // unless the sticky bit stops them (as in /tmp).
    if let Some(parent) = dir.parent() {
        let pmeta = fs::metadata(parent).map_err(cache_err(parent))?;
        let pmode = pmeta.permissions().mode() & 0o7777;
        if pmeta.uid() != uid && pmeta.uid() != 0 {
            return Err(insecure(
                format!(
                    "its parent {} is owned by uid {}",
                    parent.display(),
                    pmeta.uid()
                ),
                "set GUESTWRIGHT_CACHE_DIR to a directory inside one of your own".into(),
            ));
        }
        if pmode & 0o022 != 0 && pmode & 0o1000 == 0 {
            return Err(insecure(
                format!(
                    "its parent {} is writable by others (mode {pmode:04o}) without the sticky bit",
                    parent.display()
                ),
                format!(
                    "run `chmod go-w {}` or set GUESTWRIGHT_CACHE_DIR elsewhere",
                    parent.display()
                ),
            ));
        }
    }
    Ok(dir)
}

/// Accumulates the cache key.
#[derive(Debug)]
pub(crate) struct KeyBuilder(Sha256);

impl KeyBuilder {
    pub(crate) fn new() -> Self {
        let mut hash = Sha256::new();
        hash.update(format!("guestwright-appliance layout {LAYOUT_VERSION}\0"));
        KeyBuilder(hash)
    }

    pub(crate) fn text(&mut self, label: &str, value: &str) {
        self.0.update(label.as_bytes());
        self.0.update([0]);
        self.0.update(value.as_bytes());
        self.0.update([0]);
    }

    /// A file's identity and version: path, device, inode, size, mtime, ctime (following
    /// symlinks). A file that is missing is recorded as missing.
    pub(crate) fn file(&mut self, label: &str, path: &Path) {
        let stamp = match fs::metadata(path) {
            Ok(m) => format!(
                "{} {} {} {}.{} {}.{}",
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec()
            ),
            Err(e) => format!("error {:?}", e.kind()),
        };
        self.text(label, &format!("{}\0{stamp}", path.display()));
    }

    pub(crate) fn finish(self) -> String {
        self.0.finalize()[..16]
            .iter()
            .fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}

/// The entry directory for `key`.
pub(crate) fn entry_dir(cache: &Path, key: &str) -> PathBuf {
    cache.join(format!("{ENTRY_PREFIX}{key}"))
}

/// What an entry holds besides its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) boot: BootProtocol,
    /// File name of the kernel inside the entry.
    pub(crate) kernel: String,
    pub(crate) release: String,
    pub(crate) carried: Vec<CarriedTool>,
}

impl Manifest {
    fn render(&self) -> String {
        let boot = match self.boot {
            BootProtocol::Pvh => "pvh",
            BootProtocol::BzImage => "bzimage",
        };
        let mut s = format!(
            "{MANIFEST_MAGIC} {LAYOUT_VERSION}\nboot {boot}\nkernel {}\nrelease {}\n",
            self.kernel, self.release
        );
        for tool in &self.carried {
            let _ = writeln!(s, "tool {} {}", tool.name, tool.path.display());
        }
        s
    }

    fn parse(text: &str) -> Option<Manifest> {
        let mut lines = text.lines();
        if lines.next()? != format!("{MANIFEST_MAGIC} {LAYOUT_VERSION}") {
            return None;
        }
        let (mut boot, mut kernel, mut release, mut carried) = (None, None, None, Vec::new());
        for line in lines {
            let (field, value) = line.split_once(' ')?;
            match field {
                "boot" if value == "pvh" => boot = Some(BootProtocol::Pvh),
                "boot" if value == "bzimage" => boot = Some(BootProtocol::BzImage),
                "kernel" if !value.contains('/') && !value.is_empty() => {
                    kernel = Some(value.to_string())
                }
                "release" => release = Some(value.to_string()),
                "tool" => {
                    let (name, path) = value.split_once(' ')?;
                    carried.push(CarriedTool {
                        name: name.to_string(),
                        path: PathBuf::from(path),
                    });
                }
                _ => return None,
            }
        }
        Some(Manifest {
            boot: boot?,
            kernel: kernel?,
            release: release?,
            carried,
        })
    }
}

/// Reads a complete entry, or `None` if there is none (or it is not one this version wrote).
pub(crate) fn read_entry(dir: &Path) -> Option<Manifest> {
    let text = fs::read_to_string(dir.join(MANIFEST)).ok()?;
    let manifest = Manifest::parse(&text)?;
    (dir.join(&manifest.kernel).is_file()
        && dir.join("initrd").is_file()
        && dir.join("extras").is_file())
    .then_some(manifest)
}

/// Marks an entry as just used, so a clean-up elsewhere leaves it alone. Best effort.
pub(crate) fn touch(dir: &Path) {
    if let Err(e) = File::open(dir).and_then(|d| d.set_modified(SystemTime::now())) {
        log::debug!("cannot update the time of {}: {e}", dir.display());
    }
}

/// Writes the manifest of a new entry and fsyncs it.
pub(crate) fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), ApplianceError> {
    let path = dir.join(MANIFEST);
    write_synced(&path, manifest.render().as_bytes())
}

/// Writes a whole file and fsyncs it.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ApplianceError> {
    let err = |source| ApplianceError::WriteAppliance {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)
}

/// The exclusive lock on the cache; released on drop.
#[derive(Debug)]
pub(crate) struct CacheLock {
    _file: File,
}

impl CacheLock {
    pub(crate) fn acquire(cache: &Path) -> Result<CacheLock, ApplianceError> {
        let path = cache.join("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(cache_err(&path))?;
        if !sys::try_flock_exclusive(&file).map_err(cache_err(&path))? {
            log::debug!(
                "waiting for another process building the appliance in {}",
                cache.display()
            );
            sys::flock_exclusive(&file).map_err(cache_err(&path))?;
        }
        Ok(CacheLock { _file: file })
    }
}

/// A fresh directory to build an entry in, inside the cache (so the final rename is atomic).
pub(crate) fn build_dir(cache: &Path, key: &str) -> Result<PathBuf, ApplianceError> {
    let dir = cache.join(format!("{BUILD_PREFIX}{key}.{}", std::process::id()));
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(cache_err(&dir))?;
    }
    DirBuilder::new()
        .mode(0o755)
        .create(&dir)
        .map_err(cache_err(&dir))?;
    Ok(dir)
}

/// Moves a finished build into place and makes the rename durable.
pub(crate) fn commit(cache: &Path, build: &Path, entry: &Path) -> Result<(), ApplianceError> {
    File::open(build)
        .and_then(|d| d.sync_all())
        .map_err(cache_err(build))?;
    if entry.exists() {
        // A broken entry (checked by the caller under the lock): out of the way first.
        let old = cache.join(format!("{BUILD_PREFIX}broken.{}", std::process::id()));
        fs::rename(entry, &old).map_err(cache_err(entry))?;
        let _ = fs::remove_dir_all(&old);
    }
    fs::rename(build, entry).map_err(cache_err(entry))?;
    File::open(cache)
        .and_then(|d| d.sync_all())
        .map_err(cache_err(cache))
}

/// Removes what earlier builds left behind. Call with the lock held: then no build is running.
pub(crate) fn remove_stale_builds(cache: &Path) {
    for entry in fs::read_dir(cache).into_iter().flatten().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(BUILD_PREFIX)
        {
            log::debug!("removing the unfinished build {}", entry.path().display());
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Keeps `current` and the few most recently used other entries; older ones go, unless used
/// within the grace period (another process may be booting one).
pub(crate) fn prune(cache: &Path, current: &Path) {
    let mut others: Vec<(SystemTime, PathBuf)> = fs::read_dir(cache)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name().to_string_lossy().starts_with(ENTRY_PREFIX) && e.path() != current
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    others.sort_by_key(|(used, _)| std::cmp::Reverse(*used));
    let now = SystemTime::now();
    for (used, path) in others.into_iter().skip(KEEP_OTHERS) {
        if now.duration_since(used).unwrap_or_default() < IN_USE_GRACE {
            continue;
        }
        log::debug!("removing the old appliance {}", path.display());
        if let Err(e) = fs::remove_dir_all(&path) {
            log::warn!("cannot remove the old appliance {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::chown;

    #[test]
    fn manifest_round_trips_and_rejects_junk() {
        let m = Manifest {
            boot: BootProtocol::Pvh,
            kernel: "vmlinux".into(),
            release: "6.1.0-56-cloud-amd64".into(),
            carried: vec![CarriedTool {
                name: "lvm".into(),
                path: "/usr/sbin/lvm".into(),
            }],
        };
        assert_eq!(Manifest::parse(&m.render()), Some(m.clone()));
        assert_eq!(Manifest::parse("something else\nboot pvh\n"), None);
        let escaping = m
            .render()
            .replace("kernel vmlinux", "kernel ../../etc/passwd");
        assert_eq!(Manifest::parse(&escaping), None);
    }

    #[test]
    fn missing_cache_dir_is_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/guestwright");
        let made = ensure_private_dir(&dir).expect("created");
        assert_eq!(
            fs::metadata(&made).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn writable_by_others_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_private_dir(&dir).expect_err("refused");
        let text = err.to_string();
        assert!(
            matches!(err, ApplianceError::CacheDirInsecure { .. }),
            "{text}"
        );
        assert!(
            text.contains("mode 0777") && text.contains("chmod go-w"),
            "{text}"
        );
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        ensure_private_dir(&dir).expect("0750 is fine");
    }

    #[test]
    fn owned_by_another_user_is_refused() {
        assert_eq!(
            sys::getuid(),
            0,
            "this test needs root to give a directory away (chown)"
        );
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        fs::create_dir(&dir).unwrap();
        chown(&dir, Some(65534), Some(65534)).unwrap();
        let text = ensure_private_dir(&dir).expect_err("refused").to_string();
        assert!(
            text.contains("owned by uid 65534") && text.contains("GUESTWRIGHT_CACHE_DIR"),
            "{text}"
        );
    }

    #[test]
    fn parent_writable_by_others_without_sticky_bit_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("shared");
        fs::create_dir(&parent).unwrap();
        fs::set_permissions(&parent, fs::Permissions::from_mode(0o777)).unwrap();
        let text = ensure_private_dir(&parent.join("guestwright"))
            .expect_err("refused")
            .to_string();
        assert!(text.contains("without the sticky bit"), "{text}");
        fs::set_permissions(&parent, fs::Permissions::from_mode(0o1777)).unwrap();
        ensure_private_dir(&parent.join("guestwright")).expect("sticky like /tmp is fine");
    }

    #[test]
    fn key_changes_with_file_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        fs::write(&file, b"one").unwrap();
        let key = |path: &Path| {
            let mut k = KeyBuilder::new();
            k.file("f", path);
            k.finish()
        };
        let first = key(&file);
        assert_eq!(first, key(&file));
        assert_eq!(first.len(), 32);
        fs::write(&file, b"three").unwrap();
        assert_ne!(first, key(&file));
        assert_ne!(key(&tmp.path().join("missing")), first);
    }

    #[test]
    fn prune_keeps_recent_and_current_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        let mut paths = Vec::new();
        for i in 0..5 {
            let p = entry_dir(tmp.path(), &format!("k{i}"));
            fs::create_dir(&p).unwrap();
            File::open(&p)
                .unwrap()
                .set_modified(old - Duration::from_secs(i * 60))
                .unwrap();
            paths.push(p);
        }
        let fresh = entry_dir(tmp.path(), "fresh");
        fs::create_dir(&fresh).unwrap();
        prune(tmp.path(), &paths[4]);
        // The current one, the fresh one and the newest old one (k0) survive; k1..k3 go.
        let left: Vec<bool> = paths.iter().map(|p| p.exists()).collect();
        assert_eq!(left, [true, false, false, false, true]);
        assert!(fresh.exists());
    }
}
