//! LUKS volumes through the carried `cryptsetup`: open one as `/dev/mapper/NAME`, close it.
//! The key goes to cryptsetup on its standard input, never on a command line or in a file.

use crate::block::blockdev::ResolvedDevice;
use crate::boot::modules::Modules;
use crate::{block::lvm, boot::tools};
use guestwright_protocol::{escape_bytes, Device, Secret};
use guestwright_sync::Mutex;
use std::io;
use std::path::Path;

/// The mappings this daemon opened, by name.
static OPENED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The names of the opened LUKS volumes (`/dev/mapper/NAME`).
pub fn opened() -> Vec<String> {
    OPENED.lock().clone()
}

fn check_mapname(name: &str) -> io::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 127
        && name != "control"
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "'{}' is not a usable mapping name: use letters, digits and _ . + -",
                escape_bytes(name.as_bytes())
            ),
        ))
    }
}

const ENV: &[(&str, &str)] = &[("DM_DISABLE_UDEV", "1")];

/// `cryptsetup open --type luks`: unlocks `dev` as `/dev/mapper/{mapname}`. A wrong key is
/// `EKEYREJECTED`-like: `EPERM` with cryptsetup's message.
pub fn open(
    modules: &Modules,
    dev: &ResolvedDevice,
    key: &Secret,
    mapname: &str,
) -> io::Result<()> {
    check_mapname(mapname)?;
    let path = dev.node();
    tools::find("cryptsetup")?;
    modules.load("dm_mod")?;
    modules.load("dm_crypt")?;
    for m in ["xts", "ecb", "cbc", "algif_skcipher", "af_alg"] {
        let _ = modules.load(m);
    }
    std::fs::create_dir_all("/run/cryptsetup")?;
    let args = [
        "open".as_ref(),
        "--type".as_ref(),
        "luks".as_ref(),
        "--key-file=-".as_ref(),
        path.as_os_str(),
        mapname.as_ref(),
    ];
    let out = tools::run_status("cryptsetup", &args, ENV, Some(key.expose()))?;
    if !out.status.success() {
        let e = tools::failed("cryptsetup", &args, &out);
        // Exit code 2: no key slot matched the passphrase.
        return Err(if out.status.code() == Some(2) {
            io::Error::new(io::ErrorKind::PermissionDenied, e.to_string())
        } else {
            e
        });
    }
    OPENED.lock().push(mapname.to_string());
    lvm::allow_device(&format!("/dev/mapper/{mapname}"));
    Ok(())
}

/// `cryptsetup close`: `dev` is `/dev/mapper/NAME` of a volume opened with [`open`].
pub fn close(dev: &Device) -> io::Result<()> {
    let name = dev
        .as_str()
        .strip_prefix("/dev/mapper/")
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{dev}: name the opened volume as /dev/mapper/NAME"),
            )
        })?
        .to_string();
    check_mapname(&name)?;
    if !Path::new("/dev/mapper").join(&name).exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{dev}: no such opened volume"),
        ));
    }
    tools::run_with("cryptsetup", &["close", name.as_str()], ENV, None)?;
    OPENED.lock().retain(|n| *n != name);
    Ok(())
}
