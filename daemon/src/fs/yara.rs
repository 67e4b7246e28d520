//! guestfish's Yara calls (cmds-misc): `yara-load` keeps one set of rules (source, or
//! compiled by yarac) in the appliance, `yara-scan` runs the `yara` tool with them over one
//! guest file, `yara-destroy` forgets them. Messages use libguestfs's words.

use crate::boot::tools;
use crate::call::Call;
use crate::fs::guestfs;
use guestwright_protocol::{GuestPath, YaraDetection};
use guestwright_sync::Mutex;
use std::io;
use std::path::PathBuf;

/// The loaded rules: where they are and whether yarac compiled them.
#[derive(Clone)]
struct Rules {
    path: PathBuf,
    compiled: bool,
}

static RULES: Mutex<Option<Rules>> = Mutex::new(None);

const DIR: &str = "/var/tmp/guestwright-yara";

fn failed(call: &str, msg: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{call}: {msg}"))
}

fn args(rules: &Rules, target: PathBuf) -> Vec<std::ffi::OsString> {
    let mut a: Vec<std::ffi::OsString> = Vec::new();
    if rules.compiled {
        a.push("-C".into());
    }
    a.push("-w".into());
    a.push(rules.path.clone().into());
    a.push(target.into());
    a
}

/// `yara_load`: the rules from the input stream, compiled to check them; rules loaded
/// before are dropped first, as libguestfs drops them.
pub fn load(call: &mut Call) -> io::Result<()> {
    let mut data = Vec::new();
    call.input().read_to_end(&mut data)?;
    tools::find("yara")?;
    *RULES.lock() = None;
    std::fs::create_dir_all(DIR)?;
    let path = PathBuf::from(DIR).join("rules");
    std::fs::write(&path, &data)?;
    // Files compiled by yarac start with this magic.
    let rules = Rules {
        path,
        compiled: data.starts_with(b"YARA"),
    };
    let out = tools::run_status("yara", &args(&rules, "/dev/null".into()), &[], None)?;
    if !out.status.success() {
        let errors = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("error"))
            .count();
        if errors > 0 && !rules.compiled {
            return Err(failed(
                "yara_load",
                format!("found {errors} errors when compiling the rules"),
            ));
        }
        return Err(tools::failed(
            "yara",
            &args(&rules, "/dev/null".into()),
            &out,
        ));
    }
    *RULES.lock() = Some(rules);
    Ok(())
}

/// `yara_destroy`.
pub fn destroy() -> io::Result<()> {
    let had = RULES.lock().take();
    if had.is_none() {
        return Err(failed("yara_destroy", "no yara rules loaded"));
    }
    Ok(())
}

/// `yara_scan`: the rules that match the guest file `path`, in the rules' order.
pub fn scan(path: &GuestPath) -> io::Result<Vec<YaraDetection>> {
    let loaded = RULES.lock().clone();
    let Some(rules) = loaded.as_ref() else {
        return Err(failed("internal_yara_scan", "no yara rules loaded"));
    };
    let fd = guestfs::open(path, libc::O_RDONLY | libc::O_CLOEXEC, 0)?;
    let real = guestfs::real_path(&fd)?;
    let out = tools::run_status("yara", &args(rules, real.clone()), &[], None)?;
    if !out.status.success() {
        return Err(tools::failed("yara", &args(rules, real), &out));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(rule, _)| YaraDetection {
            yara_name: path.to_string(),
            yara_rule: rule.to_string(),
        })
        .collect())
}
