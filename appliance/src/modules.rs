//! Resolves the kernel modules the appliance needs, with their dependencies, from the host's
//! `modules.dep` and `modules.builtin`, and reads them (decompressing `.ko.xz`, `.ko.zst`,
//! `.ko.gz`) so the initramfs only ever holds plain `.ko` files.
//!
//! Module names are normalised with `_`, as the kernel does (`dm-mod.ko` is `dm_mod`).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use object::read::elf::{FileHeader, SectionHeader};

use crate::decompress::{self, Format};
use crate::ApplianceError;

/// What the appliance wants to load, when the kernel has it as a module. Builtin or absent
/// ones are skipped; dependencies come along.
pub(crate) const WANTED: &[&str] = &[
    "virtio",
    "virtio_ring",
    "virtio_mmio",
    "virtio_pci",
    "virtio_blk",
    "virtio_scsi",
    "virtio_console",
    // Only loaded when the host asks for a network (the daemon's boot::network).
    "virtio_net",
    "sd_mod",
    "xfs",
    "btrfs",
    "ext4",
    "vfat",
    "msdos",
    "exfat",
    "isofs",
    "udf",
    "ntfs3",
    // ntfs-3g's kernel half, for kernels without ntfs3.
    "fuse",
    "squashfs",
    "overlay",
    "nls_cp437",
    "nls_iso8859_1",
    "nls_utf8",
    "dm_mod",
    "dm_snapshot",
    "dm_mirror",
    "dm_zero",
    "dm_thin_pool",
    "dm_crypt",
    "md_mod",
    "raid0",
    "raid1",
    "raid10",
    "raid456",
    "loop",
    "crc32c_generic",
    "crc32c_intel",
    "libcrc32c",
    // LUKS: dm-crypt asks for its ciphers through request_module, which an appliance
    // without modprobe cannot answer, so the daemon loads these itself.
    "xts",
    "ecb",
    "essiv",
    "aesni_intel",
    "algif_skcipher",
    "algif_hash",
    "nls_ascii",
];

/// A decompressed module larger than this is not a module.
const MAX_MODULE: usize = 256 << 20;

/// One line of `modules.dep`.
#[derive(Debug, Clone)]
struct Entry {
    path: PathBuf,
    /// All dependencies (depmod lists the transitive closure), normalised.
    deps: Vec<String>,
}

/// The host's module database for one kernel release.
#[derive(Debug)]
pub(crate) struct ModuleDb {
    modules: HashMap<String, Entry>,
    builtin: HashSet<String>,
}

/// A module to put in the appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Module {
    pub(crate) name: String,
    /// The host file (possibly compressed).
    pub(crate) path: PathBuf,
    /// Its dependencies from `modules.dep`, all included before it.
    pub(crate) deps: Vec<String>,
}

/// The outcome of resolving the wanted list.
#[derive(Debug, Default)]
pub(crate) struct Resolution {
    /// Modules to include, each after all of its dependencies.
    pub(crate) modules: Vec<Module>,
    pub(crate) builtin: Vec<String>,
    pub(crate) absent: Vec<String>,
}

/// `dm-mod` → `dm_mod`.
pub(crate) fn normalise(name: &str) -> String {
    name.replace('-', "_")
}

/// The module name of a file such as `kernel/drivers/md/dm-mod.ko.zst`.
fn name_from_path(path: &str) -> Option<String> {
    let file = path.rsplit('/').next()?;
    let stem = file.split_once(".ko").map(|(stem, _)| stem)?;
    (!stem.is_empty()).then(|| normalise(stem))
}

/// The files that decide what gets included; their metadata goes into the cache key.
pub(crate) fn index_files(dir: &Path) -> [PathBuf; 2] {
    [dir.join("modules.dep"), dir.join("modules.builtin")]
}

impl ModuleDb {
    /// Reads `modules.dep` (required) and `modules.builtin` (optional) from `dir`.
    pub(crate) fn load(dir: &Path) -> Result<ModuleDb, ApplianceError> {
        let [dep_path, builtin_path] = index_files(dir);
        let dep = fs::read_to_string(&dep_path).map_err(|source| ApplianceError::ReadModules {
            path: dep_path.clone(),
            source,
        })?;
        let builtin = match fs::read_to_string(&builtin_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                log::debug!(
                    "{} is missing: assuming nothing is builtin",
                    builtin_path.display()
                );
                String::new()
            }
            Err(source) => {
                return Err(ApplianceError::ReadModules {
                    path: builtin_path,
                    source,
                })
            }
        };
        Ok(ModuleDb::parse(dir, &dep, &builtin))
    }

    fn parse(dir: &Path, dep: &str, builtin: &str) -> ModuleDb {
        let mut modules = HashMap::new();
        for line in dep.lines() {
            let Some((path, deps)) = line.split_once(':') else {
                continue;
            };
            let Some(name) = name_from_path(path.trim()) else {
                continue;
            };
            let deps = deps.split_whitespace().filter_map(name_from_path).collect();
            let path = Path::new(path.trim());
            let path = if path.is_absolute() {
                path.to_path_buf()
            } else {
                dir.join(path)
            };
            // The first line for a name wins, as with modprobe.
            modules.entry(name).or_insert(Entry { path, deps });
        }
        let builtin = builtin
            .lines()
            .filter_map(|l| name_from_path(l.trim()))
            .collect();
        ModuleDb { modules, builtin }
    }

    /// Resolves `wanted` into modules to include, dependencies first.
    pub(crate) fn resolve(&self, wanted: &[&str]) -> Resolution {
        let mut resolution = Resolution::default();
        let mut done: HashSet<String> = HashSet::new();
        let mut broken: HashSet<String> = HashSet::new();
        for want in wanted {
            let name = normalise(want);
            if self.builtin.contains(&name) {
                resolution.builtin.push(name);
            } else if !self.modules.contains_key(&name) {
                resolution.absent.push(name);
            } else {
                self.visit(
                    &name,
                    &mut done,
                    &mut broken,
                    &mut Vec::new(),
                    &mut resolution.modules,
                );
            }
        }
        resolution
    }

    /// Depth-first, dependencies first. A module whose dependency is missing cannot load, so
    /// it is left out (with a warning) rather than handed to the daemon to fail on.
    fn visit(
        &self,
        name: &str,
        done: &mut HashSet<String>,
        broken: &mut HashSet<String>,
        stack: &mut Vec<String>,
        out: &mut Vec<Module>,
    ) -> bool {
        if done.contains(name) || self.builtin.contains(name) {
            return true;
        }
        if broken.contains(name) || stack.iter().any(|s| s == name) {
            return false;
        }
        let Some(entry) = self.modules.get(name) else {
            log::warn!("module {name} is needed but not in modules.dep");
            broken.insert(name.to_string());
            return false;
        };
        stack.push(name.to_string());
        let mut ok = true;
        for dep in &entry.deps {
            ok &= self.visit(dep, done, broken, stack, out);
        }
        stack.pop();
        if !ok {
            log::warn!("leaving out module {name}: a dependency is missing");
            broken.insert(name.to_string());
            return false;
        }
        done.insert(name.to_string());
        let deps = entry
            .deps
            .iter()
            .filter(|d| !self.builtin.contains(*d))
            .cloned()
            .collect();
        out.push(Module {
            name: name.to_string(),
            path: entry.path.clone(),
            deps,
        });
        true
    }
}

/// Reads a module file, decompressing it if it is compressed.
pub(crate) fn read_module(path: &Path) -> Result<Vec<u8>, ApplianceError> {
    let data = fs::read(path).map_err(|source| ApplianceError::ReadModules {
        path: path.to_path_buf(),
        source,
    })?;
    if data.starts_with(b"\x7fELF") {
        return Ok(data);
    }
    let format =
        Format::detect(&data).filter(|f| matches!(f, Format::Xz | Format::Zstd | Format::Gzip));
    let Some(format) = format else {
        let source = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "neither ELF nor xz, zstd or gzip",
        );
        return Err(ApplianceError::ReadModules {
            path: path.to_path_buf(),
            source,
        });
    };
    decompress::decompress_as(format, &data, MAX_MODULE).map_err(|e| ApplianceError::ReadModules {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// The direct dependencies a module declares in its `.modinfo` section (`depends=a,b`), or
/// `None` when the section cannot be read.
pub(crate) fn direct_deps(ko: &[u8]) -> Option<Vec<String>> {
    let header = object::elf::FileHeader64::<object::LittleEndian>::parse(ko).ok()?;
    let endian = header.endian().ok()?;
    let sections = header.sections(endian, ko).ok()?;
    let (_, modinfo) = sections.section_by_name(endian, b".modinfo")?;
    let data = modinfo.data(endian, ko).ok()?;
    for field in data.split(|&b| b == 0) {
        if let Some(list) = field.strip_prefix(b"depends=") {
            let list = String::from_utf8_lossy(list);
            return Some(
                list.split(',')
                    .filter(|s| !s.is_empty())
                    .map(normalise)
                    .collect(),
            );
        }
    }
    Some(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decompress::tests::compress_with;

    const DEP: &str = "\
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/md/dm-mod.ko.xz:
kernel/drivers/md/dm-crypt.ko.zst: kernel/drivers/md/dm-mod.ko.xz
kernel/fs/xfs/xfs.ko.gz: kernel/lib/libcrc32c.ko
kernel/lib/libcrc32c.ko:
kernel/fs/btrfs/btrfs.ko: kernel/lib/raid6/raid6_pq.ko kernel/lib/libcrc32c.ko
kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko
";
    const BUILTIN: &str =
        "kernel/fs/ext4/ext4.ko\nkernel/crypto/crc32c_generic.ko\nkernel/fs/fat/fat.ko\n";

    #[test]
    fn resolves_dependencies_first_and_skips_builtin_and_absent() {
        let db = ModuleDb::parse(Path::new("/m"), DEP, BUILTIN);
        let r = db.resolve(&[
            "virtio_blk",
            "ext4",
            "dm_crypt",
            "xfs",
            "btrfs",
            "vfat",
            "ntfs3",
            "crc32c_generic",
        ]);
        let names: Vec<&str> = r.modules.iter().map(|m| m.name.as_str()).collect();
        // raid6_pq is not in modules.dep, so btrfs cannot load and is left out.
        assert_eq!(
            names,
            [
                "virtio",
                "virtio_ring",
                "virtio_blk",
                "dm_mod",
                "dm_crypt",
                "libcrc32c",
                "xfs",
                "vfat"
            ]
        );
        assert_eq!(r.builtin, ["ext4", "crc32c_generic"]);
        assert_eq!(r.absent, ["ntfs3"]);
        let crypt = &r.modules[4];
        assert_eq!(
            crypt.path,
            Path::new("/m/kernel/drivers/md/dm-crypt.ko.zst")
        );
        assert_eq!(crypt.deps, ["dm_mod"]);
        // fat is builtin: vfat needs nothing loaded first.
        assert!(r.modules[7].deps.is_empty());
        for (i, m) in r.modules.iter().enumerate() {
            for dep in &m.deps {
                assert!(
                    names[..i].contains(&dep.as_str()),
                    "{} before its dependency {dep}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(
            name_from_path("kernel/drivers/md/dm-mod.ko.zst").as_deref(),
            Some("dm_mod")
        );
        assert_eq!(
            name_from_path("kernel/arch/x86/crypto/crc32c-intel.ko").as_deref(),
            Some("crc32c_intel")
        );
        assert_eq!(name_from_path("not-a-module.txt"), None);
        let db = ModuleDb::parse(Path::new("/m"), DEP, "");
        assert_eq!(db.resolve(&["dm-mod"]).modules[0].name, "dm_mod");
    }

    #[test]
    fn compressed_modules_are_decompressed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ko = crate::vmlinux::tests::fake_vmlinux(false, 50_000);
        let cases = [
            ("a.ko", ko.clone()),
            (
                "b.ko.xz",
                compress_with("xz", &["--check=crc32", "-c"], &ko),
            ),
            ("c.ko.zst", compress_with("zstd", &["-q", "-c"], &ko)),
            ("d.ko.gz", compress_with("gzip", &["-c"], &ko)),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            fs::write(&path, bytes).expect("write");
            assert!(read_module(&path).expect(name) == ko, "{name}");
        }
        let bad = dir.path().join("e.ko.xz");
        fs::write(&bad, b"not a module").expect("write");
        assert!(matches!(
            read_module(&bad),
            Err(ApplianceError::ReadModules { .. })
        ));
    }

    /// The real modules of this machine's kernel: the appliance's block and console drivers
    /// must come out, each with modinfo dependencies that are all included before it.
    #[test]
    fn host_modules_resolve() {
        let kernel = crate::kernel::find(
            &crate::Config::default(),
            &crate::kernel::HostLayout::default(),
        )
        .expect("host kernel");
        let db = ModuleDb::load(&kernel.modules_dir).expect("modules.dep");
        let r = db.resolve(WANTED);
        let names: Vec<&str> = r.modules.iter().map(|m| m.name.as_str()).collect();
        for needed in ["virtio_blk", "virtio_console", "virtio_mmio"] {
            assert!(
                names.contains(&needed) || r.builtin.iter().any(|b| b == needed),
                "{needed} neither included nor builtin"
            );
        }
        for (i, m) in r.modules.iter().enumerate() {
            let ko = read_module(&m.path).expect("read module");
            let direct = direct_deps(&ko).expect("modinfo");
            for dep in &direct {
                assert!(
                    names[..i].contains(&dep.as_str()) || db.builtin.contains(dep),
                    "{}: {dep}",
                    m.name
                );
            }
        }
    }
}
