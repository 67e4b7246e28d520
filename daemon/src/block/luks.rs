//! LUKS volumes through the carried `cryptsetup`: open one as `/dev/mapper/NAME`, close it;
//! format one, add and remove its keys, read its UUID (as guestfish's `luks-*` commands).
//! A key goes to cryptsetup on its standard input, never on a command line. The one case
//! that needs two keys at once (`luks_add_key`) passes the new one in a file that lives in
//! the appliance's memory only (its root is a RAM filesystem), readable by root alone, for
//! the length of the call.

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

/// Loads what cryptsetup needs: the device mapper, dm-crypt and the usual ciphers.
fn prepare(modules: &Modules) -> io::Result<()> {
    tools::find("cryptsetup")?;
    modules.load("dm_mod")?;
    modules.load("dm_crypt")?;
    for m in ["xts", "ecb", "cbc", "algif_skcipher", "af_alg"] {
        let _ = modules.load(m);
    }
    std::fs::create_dir_all("/run/cryptsetup")
}

/// A key slot number as cryptsetup takes it: LUKS2 has slots 0 to 31 (LUKS1 0 to 7, which
/// cryptsetup checks itself).
fn slot(keyslot: i32) -> io::Result<String> {
    if (0..32).contains(&keyslot) {
        Ok(keyslot.to_string())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("key slot {keyslot} does not exist: use 0 to 7 (LUKS1) or 0 to 31 (LUKS2)"),
        ))
    }
}

/// Runs cryptsetup with `key` on its standard input; a rejected key (exit status 2) is
/// `EPERM` with cryptsetup's message.
fn cryptsetup(args: &[&std::ffi::OsStr], key: Option<&Secret>) -> io::Result<std::process::Output> {
    let out = tools::run_status("cryptsetup", args, ENV, key.map(Secret::expose))?;
    if out.status.success() {
        return Ok(out);
    }
    let e = tools::failed("cryptsetup", args, &out);
    Err(if out.status.code() == Some(2) {
        io::Error::new(io::ErrorKind::PermissionDenied, e.to_string())
    } else {
        e
    })
}

/// `cryptsetup luksFormat` of `dev` with `key` in `keyslot`, with `cipher` when given
/// (cryptsetup's defaults otherwise: LUKS2, aes-xts-plain64).
pub fn format(
    modules: &Modules,
    dev: &ResolvedDevice,
    key: &Secret,
    keyslot: i32,
    cipher: Option<&str>,
) -> io::Result<()> {
    prepare(modules)?;
    let slot = slot(keyslot)?;
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "-q".as_ref(),
        "luksFormat".as_ref(),
        "--key-file=-".as_ref(),
        "--key-slot".as_ref(),
        slot.as_ref(),
    ];
    if let Some(c) = cipher {
        if c.is_empty() || c.starts_with('-') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "'{}' is not a cipher: name one as cryptsetup does (aes-xts-plain64)",
                    escape_bytes(c.as_bytes())
                ),
            ));
        }
        args.push("--cipher".as_ref());
        args.push(c.as_ref());
    }
    args.push(dev.node().as_os_str());
    cryptsetup(&args, Some(key)).map(drop)
}

/// `cryptsetup luksAddKey`: `newkey` into `keyslot`, the volume unlocked by `key`.
pub fn add_key(
    modules: &Modules,
    dev: &ResolvedDevice,
    key: &Secret,
    newkey: &Secret,
    keyslot: i32,
) -> io::Result<()> {
    prepare(modules)?;
    let slot = slot(keyslot)?;
    let file = KeyFile::new(newkey)?;
    let args: [&std::ffi::OsStr; 6] = [
        "-q".as_ref(),
        "luksAddKey".as_ref(),
        "--key-file=-".as_ref(),
        "--new-key-slot".as_ref(),
        slot.as_ref(),
        dev.node().as_os_str(),
    ];
    let mut all = args.to_vec();
    all.push(file.path().as_os_str());
    cryptsetup(&all, Some(key)).map(drop)
}

/// `cryptsetup luksKillSlot`: empties `keyslot`, the volume unlocked by `key`.
pub fn kill_slot(
    modules: &Modules,
    dev: &ResolvedDevice,
    key: &Secret,
    keyslot: i32,
) -> io::Result<()> {
    prepare(modules)?;
    let slot = slot(keyslot)?;
    let args: [&std::ffi::OsStr; 5] = [
        "-q".as_ref(),
        "luksKillSlot".as_ref(),
        "--key-file=-".as_ref(),
        dev.node().as_os_str(),
        slot.as_ref(),
    ];
    cryptsetup(&args, Some(key)).map(drop)
}

/// `cryptsetup luksUUID`: the volume's UUID.
pub fn uuid(modules: &Modules, dev: &ResolvedDevice) -> io::Result<String> {
    prepare(modules)?;
    let args: [&std::ffi::OsStr; 2] = ["luksUUID".as_ref(), dev.node().as_os_str()];
    let out = cryptsetup(&args, None)?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A key in a file of the appliance's memory, mode 0600, overwritten and removed on drop.
struct KeyFile(std::path::PathBuf, usize);

impl KeyFile {
    fn new(key: &Secret) -> io::Result<KeyFile> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        static NEXT: Mutex<u64> = Mutex::new(0);
        let n = {
            let mut next = NEXT.lock();
            *next += 1;
            *next
        };
        std::fs::create_dir_all("/run/cryptsetup")?;
        let path = Path::new("/run/cryptsetup").join(format!(".newkey-{n}"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let file = KeyFile(path, key.expose().len());
        f.write_all(key.expose())?;
        Ok(file)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, vec![0u8; self.1]);
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `cryptsetup open --type luks`: unlocks `dev` as `/dev/mapper/{mapname}`. A wrong key is
/// `EKEYREJECTED`-like: `EPERM` with cryptsetup's message.
pub fn open(
    modules: &Modules,
    dev: &ResolvedDevice,
    key: &Secret,
    mapname: &str,
) -> io::Result<()> {
    open_with(modules, dev, key, mapname, false)
}

/// [`open`], read-only when `readonly` (`luks_open_ro`).
pub fn open_with(
    modules: &Modules,
    dev: &ResolvedDevice,
    key: &Secret,
    mapname: &str,
    readonly: bool,
) -> io::Result<()> {
    open_typed(modules, dev, key, mapname, readonly, "luks")
}

/// `cryptsetup_open`: the type is `crypttype` (`luks`, `bitlk`, or another cryptsetup
/// knows), or found from the device's signature when not given.
pub fn cryptsetup_open(
    modules: &Modules,
    dev: &ResolvedDevice,
    key: &Secret,
    mapname: &str,
    readonly: bool,
    crypttype: Option<&str>,
) -> io::Result<()> {
    let devmapper = Path::new("/dev/mapper").join(mapname);
    if mapname != "control" && devmapper.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "cryptsetup_open: {}: device already exists",
                escape_bytes(devmapper.as_os_str().as_encoded_bytes())
            ),
        ));
    }
    let found;
    let crypttype = match crypttype {
        Some(t) => t,
        None => {
            let probed = crate::block::fsinfo::probe_path(dev.node())?
                .map(|p| p.fstype.to_string())
                .unwrap_or_default();
            found = match probed.as_str() {
                "crypto_LUKS" => "luks",
                "BitLocker" => "bitlk",
                other => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("cryptsetup_open: {other}: unknown encrypted device type"),
                    ))
                }
            };
            found
        }
    };
    open_typed(modules, dev, key, mapname, readonly, crypttype).map_err(|e| {
        // libguestfs's words (daemon/cryptsetup.ml), which scripts see after the call's
        // name; the errno stays (EPERM for a key no slot takes).
        match e
            .get_ref()
            .and_then(|i| i.downcast_ref::<CryptsetupFailed>())
        {
            Some(f) => io::Error::new(
                e.kind(),
                format!(
                    "cryptsetup_open: cryptsetup exited with status {}: {}",
                    f.status,
                    f.stderr.trim_end()
                ),
            ),
            None => e,
        }
    })
}

/// cryptsetup's exit status and standard error, kept beside the error's message so that
/// `cryptsetup_open` can say it in libguestfs's words.
#[derive(Debug)]
struct CryptsetupFailed {
    message: String,
    status: i32,
    stderr: String,
}

impl std::fmt::Display for CryptsetupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CryptsetupFailed {}

fn open_typed(
    modules: &Modules,
    dev: &ResolvedDevice,
    key: &Secret,
    mapname: &str,
    readonly: bool,
    crypttype: &str,
) -> io::Result<()> {
    check_mapname(mapname)?;
    let path = dev.node();
    prepare(modules)?;
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "open".as_ref(),
        "--type".as_ref(),
        crypttype.as_ref(),
        "--key-file=-".as_ref(),
    ];
    if readonly {
        args.push("--readonly".as_ref());
    }
    args.extend([path.as_os_str(), mapname.as_ref()]);
    let out = tools::run_status("cryptsetup", &args, ENV, Some(key.expose()))?;
    if !out.status.success() {
        let failed = CryptsetupFailed {
            message: tools::failed("cryptsetup", &args, &out).to_string(),
            status: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        // Exit code 2: no key slot matched the passphrase.
        let kind = if failed.status == 2 {
            io::ErrorKind::PermissionDenied
        } else {
            io::ErrorKind::Other
        };
        return Err(io::Error::new(kind, failed));
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

/// Reads `len` bytes at `offset` of `file`.
fn read_at(file: &std::fs::File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

/// `luks_keyslots`: the header of `dev` as the host needs it to derive the volume key (see
/// `luksmeta`).
pub fn keyslots(dev: &ResolvedDevice) -> io::Result<guestwright_protocol::LuksUnlockInfo> {
    let file = crate::block::blockdev::open_read(dev.node())?;
    let size = crate::sys::block_size64(&file)?;
    super::luksmeta::unlock_info(size, &mut |offset, len| read_at(&file, offset, len))
}

/// `luks_open_volume_key`: maps `dev` as `/dev/mapper/{mapname}` with the volume key the
/// host derived, with a dm-crypt table built from the segment parsed here (never from the
/// host). The device-mapper calls are the daemon's own: no cryptsetup, no key derivation.
/// Any failure leaves nothing mapped, and the host then runs `luks_open`, whose errors are
/// the ones users see.
pub fn open_volume_key(
    modules: &Modules,
    dev: &ResolvedDevice,
    key: &Secret,
    mapname: &str,
    readonly: bool,
) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    use std::os::unix::fs::MetadataExt;
    check_mapname(mapname)?;
    let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let file = crate::block::blockdev::open_read(dev.node())?;
    let size = crate::sys::block_size64(&file)?;
    let header = super::luksmeta::parse(size, &mut |offset, len| read_at(&file, offset, len))?
        .map_err(|u| invalid(format!("the fast LUKS path does not apply: {}", u.0)))?;
    let key_len = key.expose().len();
    if !header
        .keyslots
        .iter()
        .any(|(k, _, _)| k.key_size as usize == key_len)
    {
        return Err(invalid(format!(
            "a volume key of {key_len} bytes fits no key slot"
        )));
    }
    let seg = &header.segment;
    let bytes = match seg.size {
        Some(n) => n,
        None => size - seg.offset,
    };
    if bytes % u64::from(seg.sector_size) != 0 || bytes == 0 {
        return Err(invalid(
            "the data segment is not a whole number of sectors".into(),
        ));
    }
    let meta = std::fs::metadata(dev.node())?;
    if !meta.file_type().is_block_device() {
        return Err(invalid(format!(
            "{} is not a block device",
            dev.node().display()
        )));
    }
    let rdev = meta.rdev();
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    let mapped = Path::new("/dev/mapper").join(mapname);
    if mapped.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{}: already exists", mapped.display()),
        ));
    }
    let ro = readonly
        || std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/ro"))
            .is_ok_and(|s| s.trim() == "1");
    modules.load("dm_mod")?;
    modules.load("dm_crypt")?;
    for m in ["xts", "ecb", "cbc"] {
        let _ = modules.load(m);
    }
    // As cryptsetup names it, so that `cryptsetup close` and status know it.
    let uuid: String = header.uuid.chars().filter(|c| *c != '-').collect();
    let mut dm_uuid = format!("CRYPT-LUKS{}-{uuid}-{mapname}", header.version);
    dm_uuid.truncate(128);
    let mut params = Vec::with_capacity(256);
    params.extend_from_slice(seg.cipher.as_bytes());
    params.push(b' ');
    for b in key.expose() {
        params.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    params.extend_from_slice(
        format!(" {} {major}:{minor} {}", seg.iv_tweak, seg.offset / 512).as_bytes(),
    );
    if seg.sector_size != 512 {
        params.extend_from_slice(format!(" 1 sector_size:{}", seg.sector_size).as_bytes());
    }
    let created = crate::sys::dm::create(mapname, &dm_uuid, "crypt", bytes / 512, &params, ro);
    params.fill(0);
    std::hint::black_box(&params);
    let devno = created?;
    let node = crate::sys::cstring(mapped.as_os_str().as_encoded_bytes())?;
    let dir = std::fs::File::open("/")?;
    use std::os::fd::AsFd;
    if let Err(e) = crate::sys::mknodat(dir.as_fd(), &node, libc::S_IFBLK | 0o600, devno) {
        let _ = crate::sys::dm::remove(mapname);
        return Err(e);
    }
    OPENED.lock().push(mapname.to_string());
    lvm::allow_device(&format!("/dev/mapper/{mapname}"));
    Ok(())
}
