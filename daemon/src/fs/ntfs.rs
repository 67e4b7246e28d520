//! NTFS through ntfs-3g's tools, carried from the host: `ntfs_3g_probe`, `ntfsresize`,
//! `ntfsfix`, `ntfscat_i` and `ntfsclone_out`/`ntfsclone_in`, with libguestfs's arguments
//! and words (each message starts with the call's name, as libguestfs's do). The
//! filesystem is parsed by these tools inside the appliance only.

use crate::block::blockdev;
use crate::boot::{reaper, tools};
use crate::call::Call;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

fn failed(msg: impl std::fmt::Display) -> io::Error {
    io::Error::other(msg.to_string())
}

/// The text a tool said, trimmed: its stderr, or its stdout when stderr is empty.
fn said(out: &std::process::Output) -> String {
    let text = if out.stderr.iter().all(u8::is_ascii_whitespace) {
        &out.stdout
    } else {
        &out.stderr
    };
    String::from_utf8_lossy(text).trim().to_string()
}

/// `ntfs_3g_probe`: ntfs-3g.probe's exit status for `-w` (`rw`) or `-r`.
pub fn probe(rw: bool, node: &Path, device: &str) -> io::Result<i32> {
    let flag = if rw { "-w" } else { "-r" };
    let out = tools::run_status(
        "ntfs-3g.probe",
        &[flag.as_ref(), node.as_os_str()],
        &[],
        None,
    )?;
    out.status.code().ok_or_else(|| {
        failed(format!(
            "ntfs_3g_probe: {device}: ntfs-3g.probe was killed by a signal"
        ))
    })
}

/// `ntfsresize` (or `ntfsresize_size`, the `call` named in messages): to `size` bytes, or to
/// fill the device; `force` resizes a filesystem that is marked for a check (as every resize
/// leaves it).
pub fn resize(
    call: &str,
    node: &Path,
    device: &str,
    size: Option<i64>,
    force: bool,
) -> io::Result<()> {
    let mut args: Vec<OsString> = vec!["-P".into()];
    if let Some(size) = size {
        if size <= 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{call}: size is zero or negative"),
            ));
        }
        args.push("--size".into());
        args.push(size.to_string().into());
    }
    if force {
        args.push("--force".into());
    }
    args.push(node.into());
    let (status, text) = tools::run_folded("ntfsresize", &args)?;
    if status.success() {
        return Ok(());
    }
    Err(failed(format!(
        "{call}: {device}: {}",
        String::from_utf8_lossy(&text).trim()
    )))
}

/// `ntfsfix`, with `-b` for `clearbadsectors`.
pub fn fix(node: &Path, device: &str, clear_bad_sectors: bool) -> io::Result<()> {
    let mut args: Vec<OsString> = Vec::new();
    if clear_bad_sectors {
        args.push("-b".into());
    }
    args.push(node.into());
    let out = tools::run_status("ntfsfix", &args, &[], None)?;
    if out.status.success() {
        return Ok(());
    }
    Err(failed(format!("ntfsfix: {device}: {}", said(&out))))
}

/// `ntfscat_i`: the file of inode `inode`, streamed.
pub fn cat_inode(call: &mut Call, node: &Path, inode: i64) -> io::Result<()> {
    if inode < 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "ntfscat_i: inode must be >= 0",
        ));
    }
    let inode = inode.to_string();
    let args = ["-i".as_ref(), inode.as_ref(), node.as_os_str()];
    let mut w = call.output();
    tools::stream("ntfscat", &args, Stdio::null(), &mut w)
        .map_err(|e| io::Error::new(e.kind(), format!("ntfscat_i: {e}")))?;
    w.flush()
}

/// ntfsclone's options of `ntfsclone_out`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CloneOut {
    pub metadata_only: bool,
    pub rescue: bool,
    pub ignore_fs_check: bool,
    pub preserve_timestamps: bool,
    pub force: bool,
}

/// `ntfsclone_out`: the filesystem in ntfsclone's image format, streamed.
pub fn clone_out(call: &mut Call, node: &Path, opts: CloneOut) -> io::Result<()> {
    let mut args: Vec<OsString> = vec!["-o".into(), "-".into(), "--save-image".into()];
    for (on, flag) in [
        (opts.metadata_only, "--metadata"),
        (opts.rescue, "--rescue"),
        (opts.ignore_fs_check, "--ignore-fs-check"),
        (opts.preserve_timestamps, "--preserve-timestamps"),
        (opts.force, "--force"),
    ] {
        if on {
            args.push(flag.into());
        }
    }
    args.push(node.into());
    let mut w = call.output();
    tools::stream("ntfsclone", &args, Stdio::null(), &mut w)
        .map_err(|e| io::Error::new(e.kind(), format!("ntfsclone_out: {e}")))?;
    w.flush()
}

/// `ntfsclone_in`: the call's input stream (an ntfsclone image) restored onto the device.
/// The whole stream is read even when ntfsclone stops early, so the channel stays in step.
pub fn clone_in(call: &mut Call, node: &Path, device: &str) -> io::Result<()> {
    blockdev::open_write(node)?;
    let path = tools::find("ntfsclone")?;
    let mut cmd = Command::new(&path);
    cmd.args(["-O".as_ref(), node.as_os_str()])
        .args(["--restore-image", "-"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = reaper::spawn(&mut cmd)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run ntfsclone: {e}")))?;
    let errpipe = child.stderr.take();
    let errs = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut p) = errpipe {
            let _ = p.read_to_end(&mut text);
        }
        text
    });
    let mut stdin = child.stdin.take();
    let mut write_error = None;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = call.input().read(&mut buf)?;
        if n == 0 {
            break;
        }
        if let Some(pipe) = stdin.as_mut() {
            if let Err(e) = pipe.write_all(&buf[..n]) {
                // ntfsclone stopped reading: drain the rest, then report what it said.
                write_error = Some(e);
                stdin = None;
            }
        }
    }
    drop(stdin);
    let mut out = reaper::wait(child)?;
    out.stderr = errs.join().unwrap_or_default();
    let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if write_error.is_some() && !out.status.success() {
        return Err(failed(format!(
            "ntfsclone_in: write error on device: {device}: {text}"
        )));
    }
    if !out.status.success() {
        return Err(failed(format!(
            "ntfsclone_in: ntfsclone subcommand failed on device: {device}: {text}"
        )));
    }
    if let Some(e) = write_error {
        return Err(failed(format!(
            "ntfsclone_in: write error on device: {device}: {e}"
        )));
    }
    // A write that returns success is durable.
    blockdev::open_write(node)?.sync_all()
}
