//! A guest that inspection reports as Fedora 40 with dnf, for the tests of `customize
//! --install`, `--update` and `--uninstall` on an rpm guest.
//!
//! **This is a Debian root dressed as Fedora, not a Fedora guest.** No rpm-based root can be
//! had offline here (no Fedora packages are reachable), so the root is built from this
//! host's own Debian 12 packages: `dnf` with its Python 3, librpm, libdnf, libsolv and every
//! library they need (the installed closure of their dependencies, copied file by file as
//! `dpkg -L` lists them), then dressed: `/etc/os-release` says `ID=fedora VERSION_ID=40`,
//! the rpm database at `/var/lib/rpm` is made by `rpm --root --initdb` and holds packages
//! built here with `rpmbuild` (`fedora-release`, which gives dnf its `$releasever`, and
//! `gw-base`), and `/etc/rpm/macros` points librpm at that database (Debian's rpm keeps its
//! own in `~/.rpmdb`). What it tests is guestwright's side: inspection choosing dnf, the
//! commands run in the guest, their output, exit status and errors, and dnf's and rpm's
//! real work on the guest's files and database. It does not test a real Fedora userland
//! (its dnf configuration, plugins, SELinux contexts, systemd macros in scriptlets).
//!
//! The image is one bare ext4 filesystem (no partition table), 1 GiB sparse, cached under
//! the user's cache directory, keyed by this file and the versions of the host packages it
//! is made from.

use crate::luks::cached;
use crate::{require, run};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The host packages the root is made from (with everything they depend on): dnf and rpm,
/// a shell for the commands, and the dynamic loader's configuration (libc-bin).
const ROOTS: &[&str] = &["dnf", "rpm", "dash", "bash", "coreutils", "libc-bin"];

/// Where the guest's database is, in the guest and under `rpm --root`.
pub const RPM_DBPATH: &str = "/var/lib/rpm";

/// One file of an rpm: path, mode, contents.
pub type RpmFile<'a> = (&'a str, u32, &'a str);

/// An rpm to build: name, version, release, its files, and what it provides beyond itself.
#[derive(Debug, Clone)]
pub struct RpmPackage<'a> {
    /// Name.
    pub name: &'a str,
    /// Version.
    pub version: &'a str,
    /// Release.
    pub release: &'a str,
    /// Its files.
    pub files: &'a [RpmFile<'a>],
    /// `Provides:` lines.
    pub provides: &'a [&'a str],
}

fn spec(p: &RpmPackage<'_>) -> String {
    let mut s = format!(
        "Name: {}\nVersion: {}\nRelease: {}\nSummary: guestwright test package {}\n\
         License: MIT\nBuildArch: noarch\nAutoReqProv: no\n",
        p.name, p.version, p.release, p.name
    );
    for prov in p.provides {
        s.push_str(&format!("Provides: {prov}\n"));
    }
    s.push_str(&format!(
        "%description\nguestwright test package {}\n%install\n",
        p.name
    ));
    for (path, _, content) in p.files {
        assert!(
            !content.contains('\'') && !path.contains('\''),
            "no quotes in test files"
        );
        let dir = Path::new(path).parent().unwrap().display().to_string();
        s.push_str(&format!(
            "mkdir -p %{{buildroot}}{dir}\nprintf '%%s' '{content}' > %{{buildroot}}{path}\n"
        ));
    }
    s.push_str("%files\n");
    for (path, mode, _) in p.files {
        s.push_str(&format!("%attr({mode:04o},root,root) {path}\n"));
    }
    s
}

/// Builds `packages` with rpmbuild into `out` (one `.rpm` each, noarch); returns their paths.
pub fn build_rpms(out: &Path, packages: &[RpmPackage<'_>]) -> Vec<PathBuf> {
    require("rpmbuild", "rpm");
    let work = tempfile::tempdir().unwrap();
    let top = work.path();
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    std::fs::create_dir_all(out).unwrap();
    let mut built = Vec::new();
    for p in packages {
        let spec_file = top
            .join("SPECS")
            .join(format!("{}-{}.spec", p.name, p.version));
        std::fs::write(&spec_file, spec(p)).unwrap();
        run(Command::new("rpmbuild")
            .arg("-bb")
            .arg("--quiet")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .args(["--define", "_build_id_links none"])
            .args(["--define", "__os_install_post %{nil}"])
            .arg(&spec_file));
        let name = format!("{}-{}-{}.noarch.rpm", p.name, p.version, p.release);
        let to = out.join(&name);
        std::fs::rename(top.join("RPMS/noarch").join(&name), &to).unwrap();
        built.push(to);
    }
    built
}

/// A dnf repository of `packages` in `dir` (built with rpmbuild, indexed by createrepo_c).
pub fn rpm_repo(dir: &Path, packages: &[RpmPackage<'_>]) {
    require("createrepo_c", "createrepo-c");
    build_rpms(dir, packages);
    run(Command::new("createrepo_c").arg("--quiet").arg(dir));
}

/// The packages installed in the guest when it is made.
fn base_packages() -> Vec<RpmPackage<'static>> {
    vec![
        RpmPackage {
            name: "fedora-release",
            version: "40",
            release: "1",
            files: &[("/etc/fedora-release", 0o644, "Fedora release 40 (Forty)\n")],
            provides: &["system-release", "system-release(releasever) = 40"],
        },
        RpmPackage {
            name: "gw-base",
            version: "1.0",
            release: "1.fc40",
            files: &[("/usr/share/gw-base/base.txt", 0o644, "base 1.0\n")],
            provides: &[],
        },
    ]
}

/// The installed host packages: name -> (version, dependencies, what it provides).
struct Installed {
    packages: BTreeMap<String, (String, String)>,
    provided_by: BTreeMap<String, String>,
}

fn installed() -> Installed {
    let out = run(Command::new("dpkg-query").args([
        "-W",
        "-f",
        "${db:Status-Abbrev}\t${Package}\t${Version}\t${Provides}\t${Pre-Depends}, ${Depends}\n",
    ]));
    let mut packages = BTreeMap::new();
    let mut provided_by = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 || !f[0].starts_with("ii") {
            continue;
        }
        packages.insert(f[1].to_owned(), (f[2].to_owned(), f[4].to_owned()));
        for p in f[3].split(',').filter_map(dep_name) {
            provided_by.entry(p).or_insert_with(|| f[1].to_owned());
        }
    }
    Installed {
        packages,
        provided_by,
    }
}

/// The package name of one dependency (`libc6 (>= 2.34)`, `python3:any`).
fn dep_name(dep: &str) -> Option<String> {
    let name = dep.split_whitespace().next()?;
    let name = name.split(':').next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// `roots` and every installed package they depend on, the first installed alternative of
/// each `a | b`; a dependency nothing installed satisfies fails (the root would be broken).
fn closure(inst: &Installed, roots: &[&str]) -> BTreeSet<String> {
    let mut done = BTreeSet::new();
    let mut todo: Vec<String> = roots.iter().map(|r| (*r).to_owned()).collect();
    while let Some(p) = todo.pop() {
        if !done.insert(p.clone()) {
            continue;
        }
        let (_, deps) = inst.packages.get(&p).unwrap_or_else(|| {
            panic!("{p} is not installed on this host: apt-get install dnf createrepo-c rpm")
        });
        for dep in deps.split(',').filter(|d| !d.trim().is_empty()) {
            let found = dep.split('|').filter_map(dep_name).find_map(|alt| {
                if inst.packages.contains_key(&alt) {
                    Some(alt)
                } else {
                    inst.provided_by.get(&alt).cloned()
                }
            });
            match found {
                Some(f) => todo.push(f),
                None => panic!("{p} depends on {dep}, which nothing installed here provides"),
            }
        }
    }
    done
}

/// Copies the files of `packages` from this host into `root`, each at its canonical place
/// (so `/bin/sh` lands in `/usr/bin`, beside the merged-/usr links of the root), without
/// documentation, manual pages and translations.
fn copy_packages(root: &Path, packages: &BTreeSet<String>) {
    let out = run(Command::new("dpkg-query").arg("-L").args(packages));
    let skip = [
        "/usr/share/doc",
        "/usr/share/man",
        "/usr/share/locale",
        "/usr/share/info",
    ];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let path = Path::new(line);
        if !line.starts_with('/') || line == "/." || skip.iter().any(|s| line.starts_with(s)) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            continue;
        };
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            continue;
        };
        let parent = std::fs::canonicalize(parent).unwrap();
        let dest_dir = root.join(parent.strip_prefix("/").unwrap());
        let dest = dest_dir.join(name);
        if meta.is_dir() {
            // A directory may be a link on the host (/bin): its canonical form is made.
            let canon = std::fs::canonicalize(path).unwrap();
            std::fs::create_dir_all(root.join(canon.strip_prefix("/").unwrap())).unwrap();
            continue;
        }
        std::fs::create_dir_all(&dest_dir).unwrap();
        if std::fs::symlink_metadata(&dest).is_ok() {
            continue;
        }
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(path).unwrap(), &dest).unwrap();
        } else {
            std::fs::copy(path, &dest).unwrap();
        }
    }
}

/// A copy of the cached dnf guest (see the module's documentation) in `dir`.
pub fn dnf_fedora(dir: &Path) -> PathBuf {
    let inst = installed();
    let packages = closure(&inst, ROOTS);
    let versions: String = packages
        .iter()
        .map(|p| format!("{p} {}\n", inst.packages[p].0))
        .collect();
    let recipe = format!("dnf-fedora v1\n{versions}{}", include_str!("dnfguest.rs"));
    cached(&recipe, dir, "dnf-fedora40", |out| {
        require("mkfs.ext4", "e2fsprogs");
        require("ldconfig", "libc-bin");
        let work = tempfile::tempdir().unwrap();
        let root = work.path().join("root");
        for d in ["usr/bin", "usr/sbin", "usr/lib", "usr/lib64"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for (link, to) in [
            ("bin", "usr/bin"),
            ("sbin", "usr/sbin"),
            ("lib", "usr/lib"),
            ("lib64", "usr/lib64"),
        ] {
            std::os::unix::fs::symlink(to, root.join(link)).unwrap();
        }
        copy_packages(&root, &packages);
        if std::fs::symlink_metadata(root.join("usr/bin/sh")).is_err() {
            std::os::unix::fs::symlink("dash", root.join("usr/bin/sh")).unwrap();
        }
        for d in [
            "etc/rpm",
            "etc/yum.repos.d",
            "var/lib/rpm",
            "var/cache",
            "var/log",
            "var/tmp",
            "tmp",
            "root",
            "srv",
            "proc",
            "sys",
            "dev",
            "run",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        for t in ["tmp", "var/tmp"] {
            std::fs::set_permissions(root.join(t), std::fs::Permissions::from_mode(0o1777))
                .unwrap();
        }
        let etc =
            |name: &str, text: &str| std::fs::write(root.join("etc").join(name), text).unwrap();
        etc(
            "os-release",
            "NAME=\"Fedora Linux\"\nVERSION=\"40 (Forty)\"\nID=fedora\nVERSION_ID=40\n\
             PRETTY_NAME=\"Fedora Linux 40 (Forty)\"\n",
        );
        etc("hostname", "fedora-dnf\n");
        etc("fstab", "LABEL=root / ext4 defaults 0 1\n");
        etc("machine-id", "");
        etc("passwd", "root:x:0:0:root:/root:/bin/bash\n");
        etc("group", "root:x:0:\n");
        etc("rpm/macros", &format!("%_dbpath {RPM_DBPATH}\n"));
        run(Command::new("ldconfig").arg("-r").arg(&root));
        // The database, and the packages installed from rpms (files and all).
        let rpms = build_rpms(&work.path().join("rpms"), &base_packages());
        run(Command::new("rpm")
            .arg("--root")
            .arg(&root)
            .args(["--dbpath", RPM_DBPATH, "--initdb"]));
        run(Command::new("rpm")
            .arg("--root")
            .arg(&root)
            .args(["--dbpath", RPM_DBPATH, "-i", "--nodeps"])
            .args(&rpms));
        std::fs::File::create(out)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-L", "root", "-d"])
            .arg(&root)
            .arg(out));
    })
}
