//! libguestfs's `debug` command, the subcommands its test scripts use, on the appliance
//! itself (never the guest): `sh` runs a shell command line (busybox's shell, whose applets
//! need no other program), `binaries` lists the carried programs and `ldd` shows the
//! libraries one of them loads, as `ldd -r` does.

use crate::boot::tools;
use crate::fs::guestfs::SYSROOT;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

/// The subcommands, as `debug help` lists them.
const SUBCOMMANDS: &[&str] = &["help", "binaries", "ldd", "sh"];

/// The dynamic loaders ldd would use (x86-64, then arm64).
const LOADERS: &[&str] = &["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"];

fn error(message: impl Into<String>) -> io::Error {
    io::Error::other(message.into())
}

/// `debug SUBCMD EXTRAARGS`.
pub fn debug(subcmd: &str, args: &[String]) -> io::Result<String> {
    match subcmd.to_ascii_lowercase().as_str() {
        "help" => Ok(format!("Commands supported: {}", SUBCOMMANDS.join(" "))),
        "sh" => sh(args),
        "binaries" => Ok(binaries()),
        "ldd" => ldd(args),
        _ => Err(error("use 'debug help 0' to list the supported commands")),
    }
}

/// The words put back together (guestfish split the line into a list), run by the shell
/// with `$root` the guest's root and `$sd` the prefix of the disks' names; stdout and
/// stderr as one text, or the error with that text when the command fails.
fn sh(args: &[String]) -> io::Result<String> {
    if args.is_empty() {
        return Err(error("sh: expecting a command to run"));
    }
    let line = args.join(" ");
    let sd = ["sd", "vd", "hd"]
        .into_iter()
        .find(|p| Path::new(&format!("/sys/block/{p}a")).exists())
        .unwrap_or("vd");
    let root = format!("root={SYSROOT}");
    let sd = format!("sd={sd}");
    let argv = ["env", root.as_str(), sd.as_str(), "sh", "-c", line.as_str()];
    let (status, text) = tools::run_folded("busybox", &argv)?;
    let text = String::from_utf8_lossy(&text).into_owned();
    if status.success() {
        Ok(text)
    } else {
        Err(error(text))
    }
}

/// Every program the appliance carries, one path a line.
fn binaries() -> String {
    tools::programs()
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect()
}

/// `ldd -r FILE`: the loader lists the libraries and, binding every symbol now, reports
/// the undefined ones; stdout then stderr. A program that is not dynamic is an error.
fn ldd(args: &[String]) -> io::Result<String> {
    let [file] = args else {
        return Err(error("ldd: no file argument"));
    };
    let path = Path::new(file);
    tools::unpack_program(path)?;
    let loader = LOADERS
        .iter()
        .find(|l| Path::new(l).exists())
        .ok_or_else(|| error(format!("ldd: {file}: no dynamic loader in the appliance")))?;
    let run = |verify: bool| {
        let mut cmd = Command::new(loader);
        if verify {
            cmd.arg("--verify");
        } else {
            cmd.env("LD_TRACE_LOADED_OBJECTS", "1")
                .env("LD_WARN", "yes")
                .env("LD_BIND_NOW", "yes");
        }
        cmd.arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::boot::reaper::spawn(&mut cmd).and_then(crate::boot::reaper::wait)
    };
    if !run(true)?.status.success() {
        return Err(error(format!("ldd: {file}: \tnot a dynamic executable")));
    }
    let out = run(false)?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(error(format!("ldd: {file}: {text}")))
    }
}
