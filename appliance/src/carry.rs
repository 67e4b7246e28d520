//! Chooses the host tools to carry into the appliance, supermin-style: each program that is
//! present, with the links it is known by, the configuration files it reads, the dynamic
//! loader and every shared library it needs. A tool whose libraries cannot all be found is
//! left out with a warning; the appliance works without it.

use std::path::{Path, PathBuf};

use crate::elf_deps::{LibFile, LibResolver};

/// A host program copied into the appliance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CarriedTool {
    /// The name it is called by (`lvcreate`, `mkfs.ext4`).
    pub name: String,
    /// Its absolute path inside the appliance.
    pub path: PathBuf,
}

/// A program worth carrying.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ToolSpec {
    pub(crate) name: &'static str,
    /// Other names, as symlinks next to it; the program looks at `argv[0]`.
    pub(crate) links: &'static [&'static str],
    /// Configuration files it reads, and directories whose files it reads, carried when
    /// present.
    pub(crate) configs: &'static [&'static str],
}

const fn tool(
    name: &'static str,
    links: &'static [&'static str],
    configs: &'static [&'static str],
) -> ToolSpec {
    ToolSpec {
        name,
        links,
        configs,
    }
}

/// What the appliance carries when the host has it.
pub(crate) const TOOLS: &[ToolSpec] = &[
    tool(
        "lvm",
        &[
            "lvcreate",
            "pvcreate",
            "vgcreate",
            "lvs",
            "vgs",
            "pvs",
            "vgchange",
            "lvremove",
            "vgscan",
            "pvscan",
            "lvresize",
            "lvchange",
            "lvextend",
            "lvreduce",
            "lvrename",
            "vgremove",
            "pvremove",
            "vgrename",
            "vgextend",
            "vgreduce",
            "lvdisplay",
            "vgdisplay",
            "pvdisplay",
            "vgmknodes",
        ],
        &[],
    ),
    tool(
        "mke2fs",
        &["mkfs.ext2", "mkfs.ext3", "mkfs.ext4"],
        &["/etc/mke2fs.conf"],
    ),
    tool(
        "e2fsck",
        &["fsck.ext2", "fsck.ext3", "fsck.ext4"],
        &["/etc/e2fsck.conf"],
    ),
    tool("tune2fs", &["e2label"], &[]),
    tool("resize2fs", &[], &[]),
    // mkfs vfat: guestfish's appliance runs mkfs.fat, whose layout guestwright then has too.
    tool("mkfs.fat", &[], &[]),
    tool("mkfs.xfs", &[], &[]),
    tool("xfs_repair", &[], &[]),
    tool("mkfs.btrfs", &[], &[]),
    // guestfish's btrfs and xfs families (cmds-btrfs). xfs_info and xfs_admin are shell
    // scripts and the appliance has no shell: the daemon runs what they run (xfs_db,
    // xfs_spaceman, xfs_repair) itself.
    tool("btrfs", &[], &[]),
    tool("btrfstune", &[], &[]),
    tool("btrfs-image", &[], &[]),
    tool("xfs_db", &[], &[]),
    tool("xfs_spaceman", &[], &[]),
    tool("xfs_growfs", &[], &[]),
    tool("mkswap", &[], &[]),
    tool("cryptsetup", &[], &[]),
    // guestfish's grep family and `file`, which print what these tools print.
    tool("grep", &[], &[]),
    tool("file", &[], &["/usr/lib/file/magic.mgc"]),
    tool("mdadm", &[], &[]),
    // NTFS when the host kernel has no ntfs3 (Debian's cloud kernel): a FUSE driver.
    tool("ntfs-3g", &[], &[]),
    tool("mkntfs", &["mkfs.ntfs"], &[]),
    // guestfish's ntfs-3g-probe, ntfsresize, ntfsfix, ntfscat-i and ntfsclone-out/-in.
    tool("ntfs-3g.probe", &[], &[]),
    tool("ntfsresize", &[], &[]),
    tool("ntfsfix", &[], &[]),
    tool("ntfscat", &[], &[]),
    tool("ntfsclone", &[], &[]),
    // guestfish's mklost-and-found, zerofree, scrub-device and scrub-freespace.
    tool("mklost+found", &[], &[]),
    tool("zerofree", &[], &[]),
    tool("scrub", &[], &[]),
    // cmds-misc: mksquashfs, compress-out's bzip2 and lzop, sleuthkit's tools for
    // download-inode, download-blocks, filesystem-walk and find-inode, f2fs-expand, yara.
    tool("mksquashfs", &[], &[]),
    tool("bzip2", &[], &[]),
    tool("lzop", &[], &[]),
    tool("icat", &[], &[]),
    tool("blkls", &[], &[]),
    tool("fls", &[], &[]),
    tool("istat", &[], &[]),
    tool("resize.f2fs", &[], &[]),
    tool("yara", &[], &[]),
    // cmds-last: guestfish's deprecated sfdisk, sfdisk-N, sfdisk-l and geometry commands.
    tool("sfdisk", &[], &[]),
    // cmds-libs: guestfish's journal-* commands read `journalctl -o export`.
    tool("journalctl", &[], &[]),
    // libguestfs's `debug sh` (its applets need no other program; no `sh` link, so nothing
    // else finds a shell in the appliance).
    tool("busybox", &[], &[]),
    // virt-rescue's shell is bash, as in libguestfs's appliance: its scripts and the manual's
    // `/dev/tcp/HOST/PORT` connections need bash, not busybox's ash.
    tool("bash", &[], &[]),
    // guestfish's `blkid`: libguestfs's hashtable is blkid's own `-o export` output.
    tool("blkid", &[], &[]),
    // guestfish's syslinux (Debian's is the mtools installer: it runs mattrib, mcopy and
    // mmove, through busybox's shell) and extlinux.
    tool("syslinux", &[], &[]),
    tool(
        "mtools",
        &["mcopy", "mattrib", "mmove"],
        &[
            "/etc/mtools.conf",
            // FAT names go through iconv to mtools' default code page, 850.
            "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules",
            "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
            "/usr/lib/x86_64-linux-gnu/gconv/IBM850.so",
        ],
    ),
    tool("extlinux", &[], &[]),
    // guestfish's ldmtool-* and list-ldm-* (Windows dynamic disks), rsync, rsync-in and
    // rsync-out, and grub-install with GRUB's i386-pc modules (a directory: its files).
    tool("ldmtool", &[], &[]),
    tool("rsync", &[], &[]),
    tool("grub-install", &[], &["/usr/lib/grub/i386-pc"]),
];

/// Where tools are looked for, in order (the first is the canonical place on merged-/usr).
pub(crate) const SEARCH_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Libraries glibc loads with dlopen (unwinding for pthread_cancel): not in any DT_NEEDED.
const DLOPENED: &[&str] = &["libgcc_s.so.1"];

/// Everything carried: files to copy, links to make, and the tools that come out of it.
#[derive(Debug, Default, Clone)]
pub(crate) struct CarryPlan {
    /// Sorted by destination, no destination twice.
    pub(crate) files: Vec<LibFile>,
    /// (path in the appliance, link target).
    pub(crate) symlinks: Vec<(PathBuf, String)>,
    pub(crate) tools: Vec<CarriedTool>,
    /// For each tool's path (links included): every file it needs to run (itself, the link's
    /// target, its loader, libraries and configuration files), so the daemon can copy just
    /// those out of the extras disk when the tool is first run.
    pub(crate) needs: Vec<(PathBuf, Vec<PathBuf>)>,
}

/// Plans what to carry of `tools`, looking for them in `search_dirs`.
pub(crate) fn plan(
    resolver: &mut LibResolver,
    tools: &[ToolSpec],
    search_dirs: &[&str],
) -> CarryPlan {
    let mut plan = CarryPlan::default();
    for spec in tools {
        let Some(program) = search_dirs
            .iter()
            .map(|d| Path::new(d).join(spec.name))
            .find(|p| p.is_file())
        else {
            log::debug!("not carrying {}: not installed", spec.name);
            continue;
        };
        let libs = match resolver.closure(&program) {
            Ok(libs) => libs,
            Err(e) => {
                log::warn!("not carrying {}: {e}", program.display());
                continue;
            }
        };
        let mut needs = vec![program.clone()];
        needs.extend(libs.iter().map(|l| l.dest.clone()));
        plan.files.push(LibFile {
            source: program.clone(),
            dest: program.clone(),
        });
        plan.files.extend(libs);
        for config in spec.configs {
            for file in data_files(config) {
                needs.push(file.clone());
                plan.files.push(LibFile {
                    source: file.clone(),
                    dest: file,
                });
            }
        }
        plan.tools.push(CarriedTool {
            name: spec.name.to_string(),
            path: program.clone(),
        });
        let dir = program.parent().unwrap_or(Path::new("/"));
        plan.needs.push((program.clone(), needs.clone()));
        for link in spec.links {
            let path = dir.join(link);
            let mut link_needs = vec![path.clone()];
            link_needs.extend(needs.iter().cloned());
            plan.needs.push((path.clone(), link_needs));
            plan.symlinks.push((path.clone(), spec.name.to_string()));
            plan.tools.push(CarriedTool {
                name: link.to_string(),
                path,
            });
        }
    }
    if let Some(interp) = plan.files.iter().find(|f| {
        f.dest
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("ld-linux"))
    }) {
        // Place dlopen'd libraries next to libc, where the loader finds them.
        let interp = interp.source.clone();
        for name in DLOPENED {
            match resolver.closure_of_soname(name, &interp) {
                Some(lib) => {
                    for (_, needs) in &mut plan.needs {
                        needs.push(lib.dest.clone());
                    }
                    plan.files.push(lib)
                }
                None => {
                    log::debug!("{name} not found; pthread_cancel in carried tools would abort")
                }
            }
        }
    }
    plan.files.sort();
    plan.files.dedup_by(|a, b| a.dest == b.dest);
    plan
}

/// The files to carry for a data path: the file itself, or a directory's files (not its
/// subdirectories), sorted; nothing when it is not there.
fn data_files(path: &str) -> Vec<PathBuf> {
    let path = Path::new(path);
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        log::debug!("no {} to carry", path.display());
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// A C library the daemon loads at run time (with dlopen) for a family of guestfish
/// commands, and the data it reads. Like a tool, it is carried when the host has it, and the
/// daemon copies it (with its libraries and data) out of the extras disk when first needed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LibSpec {
    /// The name the daemon asks for (`libaugeas.so.0`), also its name in the carried list.
    pub(crate) soname: &'static str,
    /// Files it reads, and directories whose files it reads, carried when present.
    pub(crate) data_dirs: &'static [&'static str],
}

/// guestfish's Augeas and hivex commands (cmds-libs): the daemon implements them on the same
/// C libraries as libguestfs's daemon. The journal commands run `journalctl` (in `TOOLS`):
/// libsystemd needs dynamic TLS, which the static daemon's `dlopen` cannot set up.
pub(crate) const LIBRARIES: &[LibSpec] = &[
    LibSpec {
        soname: "libaugeas.so.0",
        data_dirs: &["/usr/share/augeas/lenses/dist"],
    },
    // hivex converts names and strings with iconv from Latin-1 and UTF-16LE, which the C
    // library loads as modules.
    LibSpec {
        soname: "libhivex.so.0",
        data_dirs: &[
            "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules",
            "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
            "/usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so",
            "/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so",
        ],
    },
];

/// Adds the libraries of `libs` the host has to `plan`: each with the libraries it needs and
/// its data files, listed as a carried "tool" named by its soname so the daemon finds it
/// (and what it needs) the same way.
pub(crate) fn plan_libraries(resolver: &mut LibResolver, plan: &mut CarryPlan, libs: &[LibSpec]) {
    let Some(like) = plan
        .files
        .iter()
        .find(|f| {
            f.dest
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libc.so"))
        })
        .map(|f| f.source.clone())
    else {
        log::debug!("not carrying the run-time libraries: no tool brought the C library");
        return;
    };
    for spec in libs {
        let Some(lib) = resolver.closure_of_soname(spec.soname, &like) else {
            log::debug!("not carrying {}: not installed", spec.soname);
            continue;
        };
        let deps = match resolver.closure(&lib.source) {
            Ok(deps) => deps,
            Err(e) => {
                log::warn!("not carrying {}: {e}", spec.soname);
                continue;
            }
        };
        let mut needs = vec![lib.dest.clone()];
        needs.extend(deps.iter().map(|l| l.dest.clone()));
        for dir in spec.data_dirs {
            for file in data_files(dir) {
                needs.push(file.clone());
                plan.files.push(LibFile {
                    source: file.clone(),
                    dest: file,
                });
            }
        }
        plan.tools.push(CarriedTool {
            name: spec.soname.to_string(),
            path: lib.dest.clone(),
        });
        log::debug!("carrying {} ({} files)", spec.soname, needs.len());
        plan.needs.push((lib.dest.clone(), needs));
        plan.files.push(lib);
        plan.files.extend(deps);
    }
    plan.files.sort();
    plan.files.dedup_by(|a, b| a.dest == b.dest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_tools_are_skipped_and_links_point_at_the_program() {
        let specs = [
            tool(
                "mke2fs",
                &["mkfs.ext4"],
                &["/etc/mke2fs.conf", "/etc/definitely-not-here.conf"],
            ),
            tool("no-such-tool-guestwright", &["alias"], &[]),
        ];
        let plan = plan(&mut LibResolver::from_host(), &specs, SEARCH_DIRS);
        let names: Vec<&str> = plan.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["mke2fs", "mkfs.ext4"]);
        assert_eq!(plan.tools[0].path, Path::new("/usr/sbin/mke2fs"));
        assert_eq!(
            plan.symlinks,
            [(PathBuf::from("/usr/sbin/mkfs.ext4"), "mke2fs".to_string())]
        );
        let dests: Vec<&Path> = plan.files.iter().map(|f| f.dest.as_path()).collect();
        assert!(dests.contains(&Path::new("/usr/sbin/mke2fs")));
        assert!(dests.contains(&Path::new("/etc/mke2fs.conf")));
        assert!(!dests
            .iter()
            .any(|d| d.ends_with("definitely-not-here.conf")));
        assert!(dests.iter().any(|d| d.ends_with("ld-linux-x86-64.so.2")));
        assert!(dests.iter().any(|d| d.ends_with("libext2fs.so.2")));
        let mut sorted = dests.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), dests.len(), "a destination twice");
        // What each tool needs is carried, and a link needs itself and its program.
        let (link, needs) = &plan.needs[1];
        assert_eq!(link, Path::new("/usr/sbin/mkfs.ext4"));
        assert_eq!(
            needs[..2],
            [link.clone(), PathBuf::from("/usr/sbin/mke2fs")]
        );
        assert!(needs.iter().any(|n| n.ends_with("libext2fs.so.2")));
        assert!(needs.iter().any(|n| n.ends_with("/etc/mke2fs.conf")));
        for (_, needs) in &plan.needs {
            for n in needs {
                assert!(
                    dests.contains(&n.as_path()) || n == link,
                    "{n:?} not carried"
                );
            }
        }
    }

    #[test]
    fn a_data_directory_is_carried_as_its_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("normal.mod"), "m").unwrap();
        std::fs::write(dir.path().join("modinfo.sh"), "s").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let d = dir.path().to_str().unwrap();
        assert_eq!(
            data_files(d),
            [dir.path().join("modinfo.sh"), dir.path().join("normal.mod")]
        );
        let file = dir.path().join("normal.mod");
        assert_eq!(
            data_files(file.to_str().unwrap()),
            std::slice::from_ref(&file)
        );
        assert!(data_files(&format!("{d}/absent")).is_empty());
    }

    #[test]
    fn run_time_libraries_come_with_their_libraries_and_data() {
        let mut resolver = LibResolver::from_host();
        let mut plan = plan(&mut resolver, &[tool("mke2fs", &[], &[])], SEARCH_DIRS);
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("hosts.aug"), "module Hosts =\n").unwrap();
        let dir: &'static str = Box::leak(data.path().to_string_lossy().into_owned().into());
        let dirs: &'static [&'static str] = Box::leak(vec![dir].into_boxed_slice());
        let libs = [
            LibSpec {
                soname: "libhivex.so.0",
                data_dirs: dirs,
            },
            LibSpec {
                soname: "libno-such-library-guestwright.so.9",
                data_dirs: &[],
            },
        ];
        plan_libraries(&mut resolver, &mut plan, &libs);
        let lib = plan
            .tools
            .iter()
            .find(|t| t.name == "libhivex.so.0")
            .expect("libhivex0 is installed (scripts/apt-packages.txt)");
        assert!(!plan.tools.iter().any(|t| t.name.starts_with("libno-such")));
        let (_, needs) = plan.needs.iter().find(|(p, _)| *p == lib.path).unwrap();
        assert_eq!(needs[0], lib.path);
        assert!(needs.iter().any(|n| n.ends_with("libc.so.6")), "{needs:?}");
        assert!(needs.iter().any(|n| n.ends_with("hosts.aug")), "{needs:?}");
        let dests: Vec<&Path> = plan.files.iter().map(|f| f.dest.as_path()).collect();
        for n in needs {
            assert!(
                dests.contains(&n.as_path()),
                "{} is not carried",
                n.display()
            );
        }
        let mut sorted = dests.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), dests.len(), "a destination twice");
    }
}
