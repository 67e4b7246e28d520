//! Streams made by a tool or a compressor (cmds-misc): `compress-out` and
//! `compress-device-out`, sleuthkit's `download-inode` (icat) and `download-blocks` (blkls),
//! and `mksquashfs`. Error messages use libguestfs's words: scripts grep them.

use crate::boot::tools;
use crate::call::Call;
use crate::fs::{files, guestfs};
use guestwright_protocol::GuestPath;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::process::Stdio;

fn failed(call: &str, msg: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{call}: {msg}"))
}

/// How one `ctype` compresses: with flate2 or liblzma in the daemon, or with a carried tool
/// (`bzip2`, `lzop`), as guestfish's appliance does.
enum Compressor {
    Gzip(u32),
    Xz(u32),
    Tool(&'static str, Option<i32>),
}

/// guestfish's checks of `ctype` and `level`, in its order and words.
fn compressor(call: &str, ctype: &str, level: Option<i32>) -> io::Result<Compressor> {
    let range = |lo: i32| match level {
        None => Ok(None),
        Some(l) if (lo..=9).contains(&l) => Ok(Some(l)),
        Some(_) => Err(failed(
            call,
            format!("{ctype}: incorrect value for level parameter"),
        )),
    };
    let tool = |name: &'static str| {
        if tools::has(name) {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{call}: compression type {name} is not supported, because external \
                     program '{name}' is not available in the appliance"
                ),
            ))
        }
    };
    Ok(match ctype {
        // guestfish's appliance has no `compress` (ncompress) either.
        "compress" => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{call}: compression type compress is not supported, because external \
                     program 'compress' is not available in the appliance"
                ),
            ))
        }
        "gzip" => Compressor::Gzip(range(1)?.unwrap_or(6) as u32),
        "xz" => Compressor::Xz(range(0)?.unwrap_or(6) as u32),
        "bzip2" => {
            tool("bzip2")?;
            Compressor::Tool("bzip2", range(1)?)
        }
        "lzop" => {
            tool("lzop")?;
            Compressor::Tool("lzop", range(1)?)
        }
        _ => return Err(failed(call, "unknown compression type")),
    })
}

fn compress(call: &mut Call, how: Compressor, mut src: File) -> io::Result<()> {
    let mut w = call.output();
    match how {
        Compressor::Gzip(level) => {
            let mut enc = flate2::write::GzEncoder::new(&mut w, flate2::Compression::new(level));
            io::copy(&mut src, &mut enc)?;
            enc.finish()?;
        }
        Compressor::Xz(level) => {
            let mut enc = liblzma::write::XzEncoder::new(&mut w, level);
            io::copy(&mut src, &mut enc)?;
            enc.finish()?;
        }
        Compressor::Tool(name, level) => {
            let mut args = vec!["-c".to_string()];
            args.extend(level.map(|l| format!("-{l}")));
            tools::stream(name, &args, Stdio::from(src), &mut w)?;
        }
    }
    w.flush()
}

/// `compress_out`: the guest file `path` compressed with `ctype`.
pub fn compress_out(
    call: &mut Call,
    ctype: &str,
    path: &GuestPath,
    level: Option<i32>,
) -> io::Result<()> {
    let how = compressor("compress_out", ctype, level)?;
    compress(call, how, files::open_regular(path)?)
}

/// `compress_device_out`: the whole device compressed with `ctype`.
pub fn compress_device_out(
    call: &mut Call,
    ctype: &str,
    node: &Path,
    level: Option<i32>,
) -> io::Result<()> {
    let how = compressor("compress_device_out", ctype, level)?;
    compress(call, how, File::open(node)?)
}

/// `download_inode`: the content of an inode of the (unmounted) filesystem on `node`,
/// deleted files too (`icat -r`).
pub fn download_inode(call: &mut Call, node: &Path, inode: i64) -> io::Result<()> {
    if inode < 0 {
        return Err(failed("download_inode", "inode must be >= 0"));
    }
    let inode = inode.to_string();
    let args = ["-r".as_ref(), node.as_os_str(), inode.as_ref()];
    let mut w = call.output();
    tools::stream("icat", &args, Stdio::null(), &mut w)?;
    w.flush()
}

/// `download_blocks`: data units `start` to `stop` of the filesystem on `node` (`blkls`,
/// every unit with `-e` unless `unallocated:true`).
pub fn download_blocks(
    call: &mut Call,
    node: &Path,
    start: i64,
    stop: i64,
    unallocated: bool,
) -> io::Result<()> {
    if start < 0 {
        return Err(failed(
            "download_blocks",
            "starting address must be greater than zero",
        ));
    }
    if stop <= start {
        return Err(failed(
            "download_blocks",
            "stopping address must greater than starting address",
        ));
    }
    let mut args = vec![node.as_os_str().to_owned()];
    if !unallocated {
        args.push("-e".into());
    }
    args.push(format!("{start}-{stop}").into());
    let mut w = call.output();
    tools::stream("blkls", &args, Stdio::null(), &mut w)?;
    w.flush()
}

/// `mksquashfs`: a squashfs image of the guest directory `path`, made in a temporary file
/// and streamed.
pub fn mksquashfs(
    call: &mut Call,
    path: &GuestPath,
    compress: Option<&str>,
    excludes: &[String],
) -> io::Result<()> {
    let dir = guestfs::open(path, libc::O_PATH | libc::O_DIRECTORY, 0)
        .and_then(|fd| guestfs::real_path(&fd))
        .map_err(|e| match e.raw_os_error() {
            // What mksquashfs says of a source that is not there (libguestfs passes the
            // path unchecked).
            Some(libc::ENOENT) => failed(
                "mksquashfs",
                format!(
                    "{path}: Cannot stat source directory \"{}{path}\" because No such file \
                     or directory",
                    guestfs::SYSROOT
                ),
            ),
            _ => failed("mksquashfs", format!("{path}: {e}")),
        })?;
    let work = tempdir()?;
    let image = work.join("squashfs");
    let mut args: Vec<std::ffi::OsString> = vec![
        dir.clone().into(),
        image.clone().into(),
        "-noappend".into(),
        "-root-becomes".into(),
        dir.into(),
        "-wildcards".into(),
        "-no-recovery".into(),
        "-no-progress".into(),
        "-quiet".into(),
    ];
    if let Some(c) = compress {
        args.push("-comp".into());
        args.push(c.into());
    }
    if !excludes.is_empty() {
        let list = work.join("excludes");
        std::fs::write(&list, excludes.join("\n") + "\n")?;
        args.push("-ef".into());
        args.push(list.into());
    }
    let made = tools::run_status("mksquashfs", &args, &[], None);
    let result = match made {
        Ok(out) if out.status.success() => {
            let mut w = call.output();
            io::copy(&mut File::open(&image)?, &mut w).and_then(|_| w.flush())
        }
        Ok(out) => Err(failed(
            "mksquashfs",
            format!(
                "{path}: {}",
                String::from_utf8_lossy(&out.stderr).trim_end()
            ),
        )),
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// A fresh private directory under /var/tmp (the appliance's /tmp may be small).
fn tempdir() -> io::Result<std::path::PathBuf> {
    let base = Path::new("/var/tmp");
    std::fs::create_dir_all(base)?;
    for n in 0..1000u32 {
        let dir = base.join(format!("guestwright-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "cannot make a temporary directory in /var/tmp",
    ))
}
