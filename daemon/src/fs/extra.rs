//! guestfish's FILES group (cmds-files): comparisons, case-insensitive lookups, temporary
//! names, scrubbing, attribute copies, `strings -e`, binary architectures, the umask, and
//! the appliance kernel's name and messages.

use crate::fs::{attrs, dirs, fileops, files, guestfs, walk};
use crate::sys;
use guestwright_protocol::{Errno, FishXAttr, GuestPath, Line, RemoteError, Utsname};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

fn remote(errno: Errno, msg: impl Into<String>) -> io::Error {
    io::Error::from(RemoteError::new(errno, msg.into()))
}

/// `equal`: whether two files have the same bytes.
pub fn equal(a: &GuestPath, b: &GuestPath) -> io::Result<bool> {
    let (fa, fb) = (files::open_regular(a)?, files::open_regular(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut at = 0u64;
    loop {
        let n = fa.read_at(&mut ba, at)?;
        let mut m = 0;
        while m < n {
            let k = fb.read_at(&mut bb[m..n], at + m as u64)?;
            if k == 0 {
                return Ok(false);
            }
            m += k;
        }
        if n == 0 {
            return Ok(true);
        }
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
        at += n as u64;
    }
}

/// `case_sensitive_path`: each existing component matched ignoring ASCII case; from the
/// first one that does not exist, the rest as given.
pub fn case_sensitive_path(path: &GuestPath) -> io::Result<GuestPath> {
    let rel = guestfs::relative(path)?;
    let mut out = Vec::new();
    let mut dir = Some(dirs::open_dir(&GuestPath::from("/"))?);
    for comp in rel.as_bytes().split(|&b| b == b'/') {
        if comp.is_empty() || comp == b"." {
            continue;
        }
        if comp == b".." {
            return Err(invalid(format!(
                "{path}: path must not contain '..' components"
            )));
        }
        let mut name = comp.to_vec();
        if let Some(d) = dir.take() {
            let found = walk::names(d.as_fd())?
                .into_iter()
                .find(|e| !e.is_dot() && e.name.eq_ignore_ascii_case(comp));
            if let Some(e) = found {
                name = e.name;
                let cname = CString::new(name.clone()).map_err(|_| invalid("NUL in a name"))?;
                let st = walk::lstat_at(d.as_fd(), &cname)?;
                if walk::is_dir(&st) {
                    dir = Some(walk::open_dir_at(d.as_fd(), &cname)?);
                }
            }
        }
        out.push(b'/');
        out.extend_from_slice(&name);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    Ok(GuestPath::from(out))
}

/// Random characters for a template's `XXXXXX`.
fn random_name_chars(n: usize) -> io::Result<Vec<u8>> {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = vec![0u8; n];
    File::open("/dev/urandom")?.read_exact(&mut raw)?;
    Ok(raw
        .into_iter()
        .map(|b| CHARS[b as usize % CHARS.len()])
        .collect())
}

/// Makes something new from a template (`...XXXXXX`): `make` is given the directory and
/// the new name, and returns EEXIST to be tried again.
fn from_template(
    tmpl: &GuestPath,
    suffix: &str,
    make: impl Fn(std::os::fd::BorrowedFd<'_>, &CString) -> io::Result<()>,
) -> io::Result<GuestPath> {
    if !tmpl.as_bytes().ends_with(b"XXXXXX") || suffix.contains('/') {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let (dir, name) = guestfs::parent(tmpl)?;
    let stem = &name.as_bytes()[..name.as_bytes().len() - 6];
    for _ in 0..100 {
        let mut new = stem.to_vec();
        new.extend(random_name_chars(6)?);
        new.extend_from_slice(suffix.as_bytes());
        let cname = CString::new(new.clone()).map_err(|_| invalid("NUL in a name"))?;
        match make(dir.as_fd(), &cname) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => return Err(e),
            Ok(()) => {
                let t = tmpl.as_bytes();
                let mut full = t[..t.len() - name.as_bytes().len()].to_vec();
                full.extend_from_slice(&new);
                return Ok(GuestPath::from(full));
            }
        }
    }
    Err(io::Error::from_raw_os_error(libc::EEXIST))
}

/// `mkdtemp`: a new directory (mode 0700) from the template.
pub fn mkdtemp(tmpl: &GuestPath) -> io::Result<GuestPath> {
    from_template(tmpl, "", |dir, name| sys::mkdirat(dir, name, 0o700))
}

/// `mktemp`: a new empty file (mode 0600) from the template, with `suffix`.
pub fn mktemp(tmpl: &GuestPath, suffix: &str) -> io::Result<GuestPath> {
    from_template(tmpl, suffix, |dir, name| {
        sys::openat2(
            dir,
            name,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600,
            sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS,
        )
        .map(drop)
    })
}

/// `scrub_file`: overwrites the file (a symbolic link is followed inside the guest) with
/// random bytes, then zeros, syncing each pass, and removes it.
pub fn scrub_file(path: &GuestPath) -> io::Result<()> {
    let real = fileops::realpath(path)?;
    let (dir, name) = guestfs::parent(&real)?;
    let fd = sys::openat2(
        dir.as_fd(),
        &name,
        libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
        0,
        sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS,
    )?;
    let f = File::from(fd);
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(invalid(format!("{path}: not a regular file")));
    }
    let len = meta.len();
    let mut urandom = File::open("/dev/urandom")?;
    let mut buf = vec![0u8; 1 << 20];
    for random in [true, false] {
        let mut at = 0u64;
        while at < len {
            let n = (len - at).min(buf.len() as u64) as usize;
            if random {
                urandom.read_exact(&mut buf[..n])?;
            } else {
                buf[..n].fill(0);
            }
            f.write_all_at(&buf[..n], at)?;
            at += n as u64;
        }
        f.sync_all()?;
    }
    drop(f);
    sys::unlinkat(dir.as_fd(), &name, 0)
}

/// What `copy_attributes` copies.
#[derive(Debug, Clone, Copy)]
pub struct AttrHow {
    /// Permission bits.
    pub mode: bool,
    /// Extended attributes.
    pub xattrs: bool,
    /// Owner and group.
    pub ownership: bool,
}

/// `copy_attributes`: copies the chosen attributes of `src` to `dest` (both followed inside
/// the guest).
pub fn copy_attributes(src: &GuestPath, dest: &GuestPath, how: AttrHow) -> io::Result<()> {
    let from = guestfs::open(src, libc::O_PATH, 0)?;
    let to = guestfs::open(dest, libc::O_PATH, 0)?;
    let st = walk::fstat(from.as_fd())?;
    if how.ownership {
        let p = attrs::proc_fd(to.as_fd());
        // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
        if unsafe { libc::chown(p.as_ptr(), st.st_uid, st.st_gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    if how.mode {
        attrs::chmod_fd(to.as_fd(), st.st_mode & 0o7777)?;
    }
    if how.xattrs {
        attrs::copy_xattrs(from.as_fd(), to.as_fd())?;
    }
    Ok(())
}

/// `strings_e`: runs of at least 4 printable characters in the encoding GNU strings names
/// `s` (7-bit), `S` (8-bit), `b`/`l` (16-bit), `B`/`L` (32-bit).
pub fn strings_e(encoding: &str, path: &GuestPath) -> io::Result<Vec<Line>> {
    let (width, big, eight) = match encoding {
        "s" => (1, false, false),
        "S" => (1, false, true),
        "b" => (2, true, false),
        "l" => (2, false, false),
        "B" => (4, true, false),
        "L" => (4, false, false),
        _ => return Err(invalid(format!("strings_e: {encoding}: invalid encoding"))),
    };
    let mut data = Vec::new();
    files::open_regular(path)?.read_to_end(&mut data)?;
    let mut found = Vec::new();
    let mut run = Vec::new();
    let printable =
        |c: u32| c == 9 || (0x20..0x7f).contains(&c) || (eight && (0x80..=0xff).contains(&c));
    for unit in data.chunks_exact(width) {
        let c = unit.iter().enumerate().fold(0u32, |acc, (i, &b)| {
            let shift = if big { (width - 1 - i) * 8 } else { i * 8 };
            acc | (u32::from(b) << shift)
        });
        if printable(c) {
            run.push(c as u8);
        } else {
            if run.len() >= 4 {
                found.push(Line(std::mem::take(&mut run)));
            }
            run.clear();
        }
    }
    if run.len() >= 4 {
        found.push(Line(run));
    }
    Ok(found)
}

/// `file_architecture`: the architecture of an ELF binary, by its header.
pub fn file_architecture(path: &GuestPath) -> io::Result<String> {
    let f = files::open_regular(path)?;
    let mut h = [0u8; 20];
    let n = f.read_at(&mut h, 0)?;
    if n < 20 || &h[..4] != b"\x7fELF" {
        return Err(remote(
            Errno::EINVAL,
            format!("file_architecture: unknown architecture: {path}"),
        ));
    }
    let is64 = h[4] == 2;
    let le = h[5] == 1;
    let machine = if le {
        u16::from_le_bytes([h[18], h[19]])
    } else {
        u16::from_be_bytes([h[18], h[19]])
    };
    let arch = match machine {
        3 => "i386",
        62 => "x86_64",
        40 => "arm",
        183 => "aarch64",
        20 => "ppc",
        21 if le => "ppc64le",
        21 => "ppc64",
        22 if is64 => "s390x",
        22 => "s390",
        43 | 2 if is64 => "sparc64",
        2 | 18 => "sparc",
        8 if is64 => "mips64",
        8 => "mips",
        50 => "ia64",
        243 if is64 => "riscv64",
        243 => "riscv32",
        258 => "loongarch64",
        _ => {
            return Err(remote(
                Errno::EINVAL,
                format!("file_architecture: unknown architecture: {path} (ELF machine {machine})"),
            ))
        }
    };
    Ok(arch.to_string())
}

/// `zfile`: what `file` says of the decompressed contents.
pub fn zfile(meth: &str, path: &GuestPath) -> io::Result<String> {
    let f = files::open_regular(path)?;
    let mut data = Vec::new();
    // `file` looks at the start only.
    let limit = 1 << 20;
    match meth {
        "gzip" | "compress" => flate2::read::MultiGzDecoder::new(f)
            .take(limit)
            .read_to_end(&mut data)?,
        "xz" => liblzma::read::XzDecoder::new_multi_decoder(f)
            .take(limit)
            .read_to_end(&mut data)?,
        _ => {
            return Err(invalid(format!(
                "zfile: unknown method: {meth} (use gzip or xz)"
            )))
        }
    };
    let out = crate::boot::tools::run_status(
        "file",
        &["-m", "/usr/lib/file/magic.mgc", "-bS", "-"],
        &[],
        Some(&data),
    )?;
    if !out.status.success() {
        return Err(crate::boot::tools::failed("file", &["-b", "-"], &out));
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

/// `umask`: sets the daemon's file creation mask and returns the previous one.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
    unsafe { libc::umask((mask & 0o777) as libc::mode_t) as u32 }
}

/// `get_umask`: the daemon's file creation mask.
pub fn get_umask() -> u32 {
    let old = umask(0o022);
    umask(old);
    old
}

/// `utsname`: the appliance kernel's uname.
pub fn utsname() -> io::Result<Utsname> {
    // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
    if unsafe { libc::uname(&mut u) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let s = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(Utsname {
        uts_sysname: s(&u.sysname),
        uts_release: s(&u.release),
        uts_version: s(&u.version),
        uts_machine: s(&u.machine),
    })
}

/// `dmesg`: the kernel's message buffer as `dmesg` prints it (`[ seconds] text`).
pub fn dmesg() -> io::Result<String> {
    const SYSLOG_ACTION_READ_ALL: libc::c_int = 3;
    const SYSLOG_ACTION_SIZE_BUFFER: libc::c_int = 10;
    // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
    let size = unsafe { libc::klogctl(SYSLOG_ACTION_SIZE_BUFFER, std::ptr::null_mut(), 0) };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; size.max(4096) as usize];
    // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
    let n = unsafe {
        libc::klogctl(
            SYSLOG_ACTION_READ_ALL,
            buf.as_mut_ptr().cast(),
            buf.len() as libc::c_int,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    let mut out = String::new();
    for line in String::from_utf8_lossy(&buf).lines() {
        // Each record starts with its level as `<N>`.
        let text = match line.strip_prefix('<') {
            Some(rest) => rest.split_once('>').map_or(line, |(_, t)| t),
            None => line,
        };
        out.push_str(text);
        out.push('\n');
    }
    Ok(out)
}

/// `drop_caches`: writes `what` to /proc/sys/vm/drop_caches after a sync.
pub fn drop_caches(what: i32) -> io::Result<()> {
    if !(1..=3).contains(&what) {
        return Err(invalid(format!(
            "drop_caches: whattodrop must be 1, 2 or 3, not {what}"
        )));
    }
    sys::sync();
    let mut f = File::options()
        .write(true)
        .open("/proc/sys/vm/drop_caches")?;
    f.write_all(format!("{what}\n").as_bytes())
}

/// `lxattrlist`: for each name in `dir`, an entry with an empty name and the count of its
/// extended attributes, then the attributes (a name that cannot be read counts 0).
pub fn lxattrlist(dir: &GuestPath, names: &[String]) -> io::Result<Vec<FishXAttr>> {
    let fd = dirs::open_dir(dir)?;
    let mut out = Vec::new();
    for name in names {
        let list = walk::component(name.as_bytes())
            .and_then(|c| attrs::xattrs_at(fd.as_fd(), &c))
            .unwrap_or_default();
        out.push(FishXAttr {
            attrname: String::new(),
            // libguestfs counts the terminating NUL in.
            attrval: format!("{}\0", list.len()).into_bytes(),
        });
        for x in list {
            out.push(FishXAttr {
                attrname: String::from_utf8_lossy(x.name.as_bytes()).into_owned(),
                attrval: x.value.0,
            });
        }
    }
    Ok(out)
}

/// `ls -laZ` from `ls -la`: a `?` context column (the appliance has no SELinux) after the
/// group.
pub fn with_context_column(ll: &str) -> String {
    let mut out = String::new();
    for line in ll.lines() {
        if line.starts_with("total ") {
            out.push_str(line);
        } else {
            // The end of the fourth column (mode, links, owner, group).
            let mut end = 0;
            let mut cols = 0;
            let b = line.as_bytes();
            while cols < 4 && end < b.len() {
                while end < b.len() && b[end] == b' ' {
                    end += 1;
                }
                while end < b.len() && b[end] != b' ' {
                    end += 1;
                }
                cols += 1;
            }
            out.push_str(&line[..end]);
            out.push_str(" ?");
            out.push_str(&line[end..]);
        }
        out.push('\n');
    }
    out
}
