//! Finds the shared libraries a host program needs, the way the dynamic loader would, so the
//! program can be carried into the appliance and still run there.
//!
//! Reads `PT_INTERP`, `DT_NEEDED`, `DT_RUNPATH` and `DT_RPATH` (only the headers and the
//! dynamic section are read from disk, not whole files) and searches, transitively: the run
//! paths, the loader's built-in directories, then the directories of `/etc/ld.so.conf`. The
//! appliance has no `ld.so.cache`, so its loader searches only run paths and built-in
//! directories: preferring those on the host too means the appliance loads what was found,
//! and a library found only through `ld.so.conf` is placed in the first built-in directory.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::ReadCache;

/// What the loader needs to know about one ELF file.
#[derive(Debug, Clone, Default)]
pub(crate) struct ElfInfo {
    pub(crate) machine: u16,
    pub(crate) interp: Option<PathBuf>,
    pub(crate) needed: Vec<String>,
    pub(crate) runpath: Vec<String>,
    pub(crate) rpath: Vec<String>,
}

/// A file to copy into the appliance: read from `source`, stored at `dest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct LibFile {
    pub(crate) source: PathBuf,
    pub(crate) dest: PathBuf,
}

/// Why a program's libraries could not all be found.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ElfDepsError {
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a 64-bit ELF program for this machine", .0.display())]
    NotElf(PathBuf),
    #[error("library {soname} (needed by {}) is not installed", .needed_by.display())]
    Missing { soname: String, needed_by: PathBuf },
}

/// Parses the loader-relevant parts of a 64-bit little-endian ELF file; `Ok(None)` when the
/// file is not one (a script, a 32-bit binary).
pub(crate) fn read_elf(path: &Path) -> io::Result<Option<ElfInfo>> {
    let cache = ReadCache::new(File::open(path)?);
    let data = &cache;
    let Ok(header) = elf::FileHeader64::<object::LittleEndian>::parse(data) else {
        return Ok(None);
    };
    let Ok(endian) = header.endian() else {
        return Ok(None);
    };
    let bad = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: bad {what}", path.display()),
        )
    };
    let mut info = ElfInfo {
        machine: header.e_machine(endian).0,
        ..ElfInfo::default()
    };
    let segments = header
        .program_headers(endian, data)
        .map_err(|_| bad("program headers"))?;
    let mut dynamic = None;
    for segment in segments {
        if let Some(interp) = segment
            .interpreter(endian, data)
            .map_err(|_| bad("PT_INTERP"))?
        {
            info.interp = Some(PathBuf::from(String::from_utf8_lossy(interp).into_owned()));
        }
        if let Some(entries) = segment
            .dynamic(endian, data)
            .map_err(|_| bad("PT_DYNAMIC"))?
        {
            dynamic = Some(entries);
        }
    }
    let Some(entries) = dynamic else {
        return Ok(Some(info));
    };
    // The string table is addressed by virtual address: map it through the PT_LOAD segments.
    let strtab = entries
        .iter()
        .find(|d| d.d_tag(endian) == elf::DT_STRTAB)
        .map(|d| d.d_val(endian));
    let strsz = entries
        .iter()
        .find(|d| d.d_tag(endian) == elf::DT_STRSZ)
        .map(|d| d.d_val(endian));
    let (Some(strtab), Some(strsz)) = (strtab, strsz) else {
        return Ok(Some(info));
    };
    let offset = segments
        .iter()
        .filter(|s| s.p_type(endian) == elf::PT_LOAD)
        .find_map(|s| {
            let (vaddr, filesz) = (s.p_vaddr(endian), s.p_filesz(endian));
            (strtab >= vaddr && strtab - vaddr < filesz)
                .then(|| strtab - vaddr + s.p_offset(endian))
        })
        .ok_or_else(|| bad("DT_STRTAB address"))?;
    let strings =
        object::ReadRef::read_bytes_at(data, offset, strsz).map_err(|_| bad("string table"))?;
    let string = |val: u64| -> Option<String> {
        let tail = strings.get(usize::try_from(val).ok()?..)?;
        let end = tail.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&tail[..end]).into_owned())
    };
    for d in entries {
        let tag = d.d_tag(endian);
        if tag == elf::DT_NULL {
            break;
        }
        let list = |s: String| s.split(':').map(str::to_string).collect::<Vec<_>>();
        if tag == elf::DT_NEEDED {
            info.needed.extend(string(d.d_val(endian)));
        } else if tag == elf::DT_RUNPATH {
            info.runpath
                .extend(string(d.d_val(endian)).map(list).unwrap_or_default());
        } else if tag == elf::DT_RPATH {
            info.rpath
                .extend(string(d.d_val(endian)).map(list).unwrap_or_default());
        }
    }
    Ok(Some(info))
}

/// Resolves libraries like the host's dynamic loader, remembering what it has parsed.
#[derive(Debug)]
pub(crate) struct LibResolver {
    /// The loader's built-in directories, in its order.
    builtin_dirs: Vec<PathBuf>,
    /// Directories from `/etc/ld.so.conf` (what `ld.so.cache` indexes).
    conf_dirs: Vec<PathBuf>,
    parsed: HashMap<PathBuf, Option<ElfInfo>>,
}

impl LibResolver {
    /// The host's search configuration.
    pub(crate) fn from_host() -> Self {
        let triple = format!("{}-linux-gnu", std::env::consts::ARCH);
        let builtin_dirs = [
            format!("/lib/{triple}"),
            format!("/usr/lib/{triple}"),
            "/lib64".into(),
            "/usr/lib64".into(),
            "/lib".into(),
            "/usr/lib".into(),
        ]
        .into_iter()
        .map(PathBuf::from)
        .collect();
        let mut conf_dirs = Vec::new();
        read_ld_so_conf(Path::new("/etc/ld.so.conf"), &mut conf_dirs, 0);
        LibResolver {
            builtin_dirs,
            conf_dirs,
            parsed: HashMap::new(),
        }
    }

    fn info(&mut self, path: &Path) -> Result<Option<ElfInfo>, ElfDepsError> {
        if let Some(info) = self.parsed.get(path) {
            return Ok(info.clone());
        }
        let info = read_elf(path).map_err(|source| ElfDepsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.parsed.insert(path.to_path_buf(), info.clone());
        Ok(info)
    }

    /// The interpreter and every library `program` needs, transitively, with where each goes
    /// in the appliance. The program itself is not in the list.
    pub(crate) fn closure(&mut self, program: &Path) -> Result<Vec<LibFile>, ElfDepsError> {
        let root = self
            .info(program)?
            .ok_or_else(|| ElfDepsError::NotElf(program.to_path_buf()))?;
        let machine = root.machine;
        let interp = root.interp.clone();
        let mut out: Vec<LibFile> = Vec::new();
        if let Some(interp) = &root.interp {
            out.push(LibFile {
                source: interp.clone(),
                dest: interp.clone(),
            });
        }
        let mut seen: HashSet<String> = HashSet::new();
        let mut queue = VecDeque::from([(program.to_path_buf(), root)]);
        while let Some((object_path, info)) = queue.pop_front() {
            for soname in &info.needed {
                if !seen.insert(soname.clone()) {
                    continue;
                }
                let (source, dest, lib) = self
                    .find(soname, &object_path, &info, machine)?
                    .ok_or_else(|| ElfDepsError::Missing {
                        soname: soname.clone(),
                        needed_by: object_path.clone(),
                    })?;
                // The loader's own name is already carried as the interpreter.
                if interp.as_ref() != Some(&dest) && !out.iter().any(|f| f.dest == dest) {
                    out.push(LibFile {
                        source: source.clone(),
                        dest,
                    });
                }
                queue.push_back((source, lib));
            }
        }
        Ok(out)
    }

    /// Finds a library that is loaded with dlopen (so no DT_NEEDED names it), for programs
    /// of the same machine as `like`. Its own dependencies are not followed.
    pub(crate) fn closure_of_soname(&mut self, soname: &str, like: &Path) -> Option<LibFile> {
        let machine = self.info(like).ok()??.machine;
        let (source, dest, _) = self
            .find(soname, like, &ElfInfo::default(), machine)
            .ok()??;
        Some(LibFile { source, dest })
    }

    /// Finds `soname` for `object`: its RPATH (when it has no RUNPATH), its RUNPATH, the
    /// ld.so.conf directories, the built-in directories.
    fn find(
        &mut self,
        soname: &str,
        object: &Path,
        info: &ElfInfo,
        machine: u16,
    ) -> Result<Option<(PathBuf, PathBuf, ElfInfo)>, ElfDepsError> {
        if soname.contains('/') {
            let path = PathBuf::from(soname);
            return Ok(self
                .usable(&path, machine)?
                .map(|lib| (path.clone(), path, lib)));
        }
        let origin = object.parent().unwrap_or(Path::new("/"));
        let expand = |dirs: &[String]| -> Vec<PathBuf> {
            dirs.iter()
                .filter_map(|d| {
                    let d = d
                        .replace("${ORIGIN}", "$ORIGIN")
                        .replace("$ORIGIN", &origin.to_string_lossy());
                    (!d.is_empty() && !d.contains('$')).then(|| PathBuf::from(d))
                })
                .collect()
        };
        let mut run_dirs = if info.runpath.is_empty() {
            expand(&info.rpath)
        } else {
            Vec::new()
        };
        run_dirs.extend(expand(&info.runpath));
        // Run paths are also searched by the appliance's loader, so the library keeps its path.
        for dir in run_dirs.iter().chain(self.builtin_dirs.clone().iter()) {
            let path = dir.join(soname);
            if let Some(lib) = self.usable(&path, machine)? {
                return Ok(Some((path.clone(), path, lib)));
            }
        }
        for dir in self.conf_dirs.clone() {
            let path = dir.join(soname);
            if let Some(lib) = self.usable(&path, machine)? {
                let dest = self.builtin_dirs[0].join(soname);
                return Ok(Some((path, dest, lib)));
            }
        }
        Ok(None)
    }

    fn usable(&mut self, path: &Path, machine: u16) -> Result<Option<ElfInfo>, ElfDepsError> {
        if !path.is_file() {
            return Ok(None);
        }
        Ok(self.info(path)?.filter(|lib| lib.machine == machine))
    }
}

/// Reads an `ld.so.conf`, following `include` globs (only the `*` wildcard in the last path
/// component, which is what distributions use).
fn read_ld_so_conf(path: &Path, dirs: &mut Vec<PathBuf>, depth: u32) {
    let Ok(text) = fs::read_to_string(path) else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pattern) = line
            .strip_prefix("include")
            .filter(|r| r.starts_with(char::is_whitespace))
        {
            if depth > 4 {
                continue;
            }
            for file in glob_last_component(Path::new(pattern.trim())) {
                read_ld_so_conf(&file, dirs, depth + 1);
            }
        } else if line.starts_with('/') {
            let dir = PathBuf::from(line);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
}

fn glob_last_component(pattern: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (
        pattern.parent(),
        pattern.file_name().and_then(|n| n.to_str()),
    ) else {
        return Vec::new();
    };
    let Some((prefix, suffix)) = name.split_once('*') else {
        return vec![pattern.to_path_buf()];
    };
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_needed_and_interp_of_a_host_program() {
        let info = read_elf(Path::new("/usr/sbin/mke2fs"))
            .expect("read")
            .expect("an ELF file");
        assert_eq!(info.machine, elf::EM_X86_64.0);
        assert!(
            info.interp
                .as_deref()
                .is_some_and(|p| p.ends_with("ld-linux-x86-64.so.2")),
            "{info:?}"
        );
        assert!(
            info.needed.iter().any(|n| n == "libext2fs.so.2"),
            "{info:?}"
        );
        assert!(
            info.needed.iter().any(|n| n.starts_with("libc.so")),
            "{info:?}"
        );
    }

    #[test]
    fn scripts_are_not_elf() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s");
        fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        assert!(read_elf(&script).unwrap().is_none());
    }

    #[test]
    fn closure_of_lvm_matches_ldd() {
        let mut resolver = LibResolver::from_host();
        let libs = resolver
            .closure(Path::new("/usr/sbin/lvm"))
            .expect("closure");
        let ours: HashSet<String> = libs
            .iter()
            .map(|l| l.dest.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let ldd = std::process::Command::new("ldd")
            .arg("/usr/sbin/lvm")
            .output()
            .expect("run ldd");
        let ldd = String::from_utf8_lossy(&ldd.stdout);
        for line in ldd.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            let name = Path::new(name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.is_empty() || name.starts_with("linux-vdso") {
                continue;
            }
            assert!(ours.contains(&name), "ldd lists {name}, we found {ours:?}");
        }
        assert!(libs.iter().all(|l| l.source.is_file()));
    }

    #[test]
    fn missing_library_is_reported() {
        // A copy of a real program with one DT_NEEDED name changed to a library that does not
        // exist (same length, so the string table stays valid).
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = fs::read("/usr/sbin/mke2fs").unwrap();
        let needle = b"libext2fs.so.2\0";
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("DT_NEEDED string");
        bytes[at..at + needle.len()].copy_from_slice(b"libnothe.so.99\0");
        let program = dir.path().join("mke2fs");
        fs::write(&program, &bytes).unwrap();
        let err = LibResolver::from_host()
            .closure(&program)
            .expect_err("missing library");
        assert!(matches!(err, ElfDepsError::Missing { .. }), "{err}");
    }

    #[test]
    fn ld_so_conf_includes_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("conf.d");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("a.conf"), "/opt/a/lib\n# comment\n").unwrap();
        fs::write(d.join("b.conf"), "/opt/b/lib # trailing\n").unwrap();
        fs::write(d.join("ignored.txt"), "/opt/c/lib\n").unwrap();
        let main = dir.path().join("ld.so.conf");
        fs::write(
            &main,
            format!("include {}/*.conf\n/usr/local/lib\n", d.display()),
        )
        .unwrap();
        let mut dirs = Vec::new();
        read_ld_so_conf(&main, &mut dirs, 0);
        assert_eq!(
            dirs,
            [
                PathBuf::from("/opt/a/lib"),
                "/opt/b/lib".into(),
                "/usr/local/lib".into()
            ]
        );
    }
}
