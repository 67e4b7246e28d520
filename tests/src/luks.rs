//! Guests with LUKS-encrypted roots. The host kernel has no device-mapper, so the encrypted
//! payload is written by `qemu-img convert -O luks` (QEMU's LUKS1 format, which dm-crypt
//! opens), from a filesystem or LVM image made beforehand; the payload is then placed in a
//! partition. Making one costs QEMU's key derivation, and the LVM one an appliance launch, so
//! built images are cached under the user's cache directory, keyed by the recipe (the source
//! of these fixtures and the passphrase).

use crate::{
    debian_like, DEBIAN_ESP_OFFSET, DEBIAN_ESP_SIZE, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE,
};
use crate::{extract, launch, run, Check, File};
use guestwright::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The volume group inside [`lvm_on_luks`].
pub const LUKS_LVM_VG: &str = "vgcrypt";
/// Its root logical volume.
pub const LUKS_LVM_ROOT: &str = "/dev/vgcrypt/root";

/// A disk image from the cache, built by `build` into the given path when missing.
pub(crate) fn cached(recipe: &str, dir: &Path, name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    use sha2_free::hex_digest;
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("guestwright-tests");
    std::fs::create_dir_all(&base).unwrap();
    let key = hex_digest(recipe.as_bytes());
    let file = base.join(format!("{name}-{}.img", &key[..16]));
    if !file.is_file() {
        // Tests of one binary run in threads of one process: the name must differ per build.
        let partial = base.join(format!(
            ".{name}-{}.{}.{:08x}",
            &key[..16],
            std::process::id(),
            rand::random::<u32>()
        ));
        build(&partial);
        // Images of earlier recipes are of no use any more.
        for old in std::fs::read_dir(&base).unwrap().flatten() {
            let n = old.file_name().to_string_lossy().into_owned();
            if n.starts_with(&format!("{name}-")) && n.ends_with(".img") && old.path() != file {
                let _ = std::fs::remove_file(old.path());
            }
        }
        std::fs::rename(&partial, &file).unwrap();
    }
    let copy = dir.join(format!("{name}.img"));
    run(Command::new("cp")
        .arg("--sparse=always")
        .arg(&file)
        .arg(&copy));
    copy
}

/// SHA-256 through the host's `sha256sum`, for cache keys.
mod sha2_free {
    pub fn hex_digest(data: &[u8]) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sha256sum");
        child.stdin.take().unwrap().write_all(data).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }
}

/// Encrypts the bytes of `plain` into a LUKS1 volume at `out` with `passphrase` (fast key
/// derivation: 10 ms of PBKDF2 on this host).
pub fn luks_encrypt(plain: &Path, out: &Path, passphrase: &str) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, passphrase).unwrap();
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "luks", "--object"])
        .arg(format!("secret,id=sec0,file={}", key.display()))
        .args(["-o", "key-secret=sec0,iter-time=10"])
        .arg(plain)
        .arg(out));
}

/// The UUID in a LUKS header (LUKS1 and LUKS2 keep it at byte 168).
pub fn luks_uuid(disk: &Path, offset: u64) -> String {
    let part = extract(disk, offset, 4096);
    let bytes = std::fs::read(part.path()).unwrap();
    assert_eq!(&bytes[..6], b"LUKS\xba\xbe", "no LUKS header at {offset}");
    let raw = &bytes[168..208];
    String::from_utf8_lossy(&raw[..raw.iter().position(|&b| b == 0).unwrap_or(40)]).into_owned()
}

/// Where the LUKS partition of [`debian_luks`] and [`lvm_on_luks`] starts.
pub const LUKS_PART_OFFSET: u64 = DEBIAN_ROOT_OFFSET;

/// A GPT disk: `/dev/sda1` the ESP of `esp` (when given) and the LUKS volume `luks` as
/// the next partition, at [`LUKS_PART_OFFSET`].
fn disk_with(out: &Path, esp: Option<&Path>, luks: &Path) {
    let luks_len = std::fs::metadata(luks).unwrap().len();
    let part_len = luks_len.div_ceil(1 << 20) << 20;
    let total = LUKS_PART_OFFSET + part_len + (1 << 20);
    std::fs::File::create(out).unwrap().set_len(total).unwrap();
    let mut table = String::from("label: gpt\n");
    if esp.is_some() {
        table.push_str(&format!(
            "start={}, size={}, type=U, name=\"EFI System\"\n",
            DEBIAN_ESP_OFFSET / 512,
            DEBIAN_ESP_SIZE / 512
        ));
    }
    table.push_str(&format!(
        "start={}, size={}, type=L, name=cryptroot\n",
        LUKS_PART_OFFSET / 512,
        part_len / 512
    ));
    crate::sfdisk(out, &table);
    use std::io::{Seek, SeekFrom};
    let mut dst = std::fs::OpenOptions::new().write(true).open(out).unwrap();
    if let Some(esp) = esp {
        dst.seek(SeekFrom::Start(DEBIAN_ESP_OFFSET)).unwrap();
        std::io::copy(&mut std::fs::File::open(esp).unwrap(), &mut dst).unwrap();
    }
    dst.seek(SeekFrom::Start(LUKS_PART_OFFSET)).unwrap();
    std::io::copy(&mut std::fs::File::open(luks).unwrap(), &mut dst).unwrap();
}

/// [`debian_like`] with its root encrypted: GPT, `/dev/sda1` the ESP, `/dev/sda2` a LUKS1
/// volume with `passphrase` holding the ext4 root (same files, same UUIDs, the same fstab).
/// Returns the image and the LUKS UUID.
pub fn debian_luks(dir: &Path, passphrase: &str) -> (PathBuf, String) {
    let recipe = format!(
        "debian_luks v1\n{passphrase}\n{}\n{}",
        include_str!("luks.rs"),
        include_str!("guests.rs")
    );
    let img = cached(&recipe, dir, "debian-luks", |out| {
        let work = tempfile::tempdir().unwrap();
        let plain = debian_like(work.path(), "plain.img", &[]);
        let esp = extract(&plain, DEBIAN_ESP_OFFSET, DEBIAN_ESP_SIZE);
        let root = extract(&plain, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
        let luks = work.path().join("root.luks");
        luks_encrypt(root.path(), &luks, passphrase);
        disk_with(out, Some(esp.path()), &luks);
    });
    let uuid = luks_uuid(&img, LUKS_PART_OFFSET);
    (img, uuid)
}

/// LVM on LUKS: GPT, `/dev/sda1` the ESP of [`debian_like`], `/dev/sda2` a LUKS1 volume with
/// `passphrase` holding an LVM PV of volume group [`LUKS_LVM_VG`], whose [`LUKS_LVM_ROOT`]
/// (ext4, label `root`) holds `files` and whose `swap` LV is swap. Built in the appliance
/// (one launch), then encrypted on the host.
pub fn lvm_on_luks(dir: &Path, passphrase: &str, files: &[File<'_>]) -> (PathBuf, String) {
    let mut recipe = format!(
        "lvm_on_luks v1\n{passphrase}\n{}\n{}\n",
        include_str!("luks.rs"),
        include_str!("guests.rs")
    );
    for f in files {
        recipe.push_str(&format!("{} {:o} {:?}\n", f.path, f.mode, f.content));
    }
    let img = cached(&recipe, dir, "lvm-on-luks", |out| {
        let work = tempfile::tempdir().unwrap();
        let plain = debian_like(work.path(), "plain.img", &[]);
        let esp = extract(&plain, DEBIAN_ESP_OFFSET, DEBIAN_ESP_SIZE);
        let pv = work.path().join("pv.img");
        std::fs::File::create(&pv)
            .unwrap()
            .set_len(64 << 20)
            .unwrap();
        {
            let mut h = launch(&[(&pv, DriveOptions::readwrite())]);
            h.pvcreate("/dev/sda").check("pvcreate");
            h.vgcreate(LUKS_LVM_VG, vec![Device::from("/dev/sda")])
                .check("vgcreate");
            h.lvcreate("root", LUKS_LVM_VG, 40u64 << 20)
                .check("lvcreate root");
            h.lvcreate_free("swap", LUKS_LVM_VG, 100u32)
                .check("lvcreate swap");
            h.run(args::Mkfs::new("ext4", LUKS_LVM_ROOT).label("root"))
                .check("mkfs root");
            h.mkswap(format!("/dev/{LUKS_LVM_VG}/swap").as_str())
                .check("mkswap");
            h.mount(LUKS_LVM_ROOT, "/").check("mount root");
            for f in files {
                if let Some((parent, _)) = f.path.rsplit_once('/') {
                    if !parent.is_empty() {
                        h.mkdir_p(parent).check("mkdir -p");
                    }
                }
                h.write_file(f.path, f.content).check("write");
                h.chmod(Mode(f.mode), f.path).check("chmod");
            }
            h.shutdown().check("shutdown");
        }
        let luks = work.path().join("pv.luks");
        luks_encrypt(&pv, &luks, passphrase);
        disk_with(out, Some(esp.path()), &luks);
    });
    let uuid = luks_uuid(&img, LUKS_PART_OFFSET);
    (img, uuid)
}
