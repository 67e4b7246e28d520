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
    /// Configuration files it reads, carried when present.
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
            if Path::new(config).is_file() {
                needs.push(config.into());
                plan.files.push(LibFile {
                    source: config.into(),
                    dest: config.into(),
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
}
