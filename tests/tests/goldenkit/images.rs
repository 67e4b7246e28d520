//! The golden cases' disk images, built byte for byte the same way on every machine: fixed
//! UUIDs, hash seeds, volume ids and partition-table ids, every inode owned by 0:0 with the
//! times [`EPOCH`], the files from the recipe `tests/golden/tree.txt`. The reference run
//! (`scripts/record-golden`) and the comparison (`golden.rs`) both get their images here.
//!
//! Built once per recipe into the user's cache directory (the key hashes the recipe and this
//! file), and copied for each case, so no case sees another's writes.

use guestwright_tests::{require, run};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every inode's atime, mtime, ctime and crtime: 2020-09-13 12:26:40 UTC.
pub const EPOCH: u64 = 1_600_000_000;

/// The UUIDs the images are built with. The filter keeps these and replaces any other.
pub const FIXED_UUIDS: &[&str] = &[
    GPT_DISK,
    GPT_ROOT_PART,
    GPT_DATA_PART,
    ROOT_UUID,
    ROOT_HASH,
    BARE_UUID,
    BARE_HASH,
    BOOT_UUID,
    BOOT_HASH,
    XFS_UUID,
    GPT_LINUX_DATA,
    GPT_BASIC_DATA,
    LROOT_UUID,
    LROOT_HASH,
    LBOOT_UUID,
    LBOOT_HASH,
    LIBS_UUID,
    LIBS_HASH,
];

/// The GPT partition type of `gpt`'s first partition (sfdisk's `L`): Linux filesystem data.
const GPT_LINUX_DATA: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
/// The GPT partition type of `gpt`'s second partition: Microsoft basic data.
const GPT_BASIC_DATA: &str = "EBD0A0A2-B9E5-4433-87C0-68B6B97DAC72";

const GPT_DISK: &str = "0f0e0d0c-0b0a-4908-8706-050403020100";
const GPT_ROOT_PART: &str = "11111111-2222-4333-8444-555555555501";
const GPT_DATA_PART: &str = "11111111-2222-4333-8444-555555555502";
const ROOT_UUID: &str = "c0ffee00-0000-4000-8000-000000000001";
const ROOT_HASH: &str = "c0ffee00-0000-4000-8000-0000000000a1";
const BARE_UUID: &str = "c0ffee00-0000-4000-8000-000000000002";
const BARE_HASH: &str = "c0ffee00-0000-4000-8000-0000000000a2";
const BOOT_UUID: &str = "c0ffee00-0000-4000-8000-000000000003";
const BOOT_HASH: &str = "c0ffee00-0000-4000-8000-0000000000a3";
const XFS_UUID: &str = "c0ffee00-0000-4000-8000-000000000004";
/// The vfat volume id of `gpt`'s second partition (prints as 1234-ABCD).
const VFAT_ID: &str = "1234ABCD";
/// The MBR disk signature of `mbr`.
const MBR_ID: &str = "0x5eed1e55";
const LROOT_UUID: &str = "c0ffee00-0000-4000-8000-000000000005";
const LROOT_HASH: &str = "c0ffee00-0000-4000-8000-0000000000a5";
const LBOOT_UUID: &str = "c0ffee00-0000-4000-8000-000000000006";
const LBOOT_HASH: &str = "c0ffee00-0000-4000-8000-0000000000a6";
/// The MBR disk signature of `linux`.
const LINUX_MBR_ID: &str = "0x5eed1e56";

/// The images a case may name in its `image:` line.
pub const NAMES: &[&str] = &["gpt", "bare", "mbr", "linux", "libs"];

/// `gpt`: 64 MiB; GPT; `/dev/sda1` 1-41 MiB ext4 `root` with the tree; `/dev/sda2`
/// 41-63 MiB vfat `DATA` with three files.
fn build_gpt(dir: &Path, tree: &Path, out: &Path) {
    let img = create(out, 64 << 20);
    sfdisk(
        &img,
        &format!(
            "label: gpt\nlabel-id: {GPT_DISK}\nunit: sectors\n\
             start=2048, size=81920, type=L, uuid={GPT_ROOT_PART}, name=root\n\
             start=83968, size=45056, type=EBD0A0A2-B9E5-4433-87C0-68B6B97DAC72, \
             uuid={GPT_DATA_PART}, name=data\n"
        ),
    );
    let root = ext4(dir, tree, "root", ROOT_UUID, ROOT_HASH, 40 << 20);
    place(&img, &root, 1 << 20);
    let fat = vfat(dir, 22 << 20);
    place(&img, &fat, 41 << 20);
}

/// `bare`: 32 MiB, no partition table, ext4 `bare` with the tree on the whole disk.
fn build_bare(dir: &Path, tree: &Path, out: &Path) {
    let fs = ext4(dir, tree, "bare", BARE_UUID, BARE_HASH, 32 << 20);
    std::fs::rename(&fs, out).unwrap();
}

/// `mbr`: 400 MiB; MBR; `/dev/sda1` 1-33 MiB ext4 `boot` (bootable) with two files;
/// `/dev/sda2` 33-399 MiB empty xfs `xdata` (xfs needs 300 MiB).
fn build_mbr(dir: &Path, out: &Path) {
    let img = create(out, 400 << 20);
    sfdisk(
        &img,
        &format!(
            "label: dos\nlabel-id: {MBR_ID}\nunit: sectors\n\
             start=2048, size=65536, type=83, bootable\n\
             start=67584, size=749568, type=83\n"
        ),
    );
    let boot_tree = dir.join("boot-tree");
    write_tree(
        &boot_tree,
        "f /grub/grub.cfg 0644 set timeout=5\\nmenuentry golden {\\n}\\n\n\
         f /config-6.1.0 0644 CONFIG_EXT4_FS=y\\n\n",
    );
    let boot = ext4(dir, &boot_tree, "boot", BOOT_UUID, BOOT_HASH, 32 << 20);
    place(&img, &boot, 1 << 20);
    require("mkfs.xfs", "xfsprogs");
    let xfs = create(&dir.join("xfs.part"), 366 << 20);
    // bigtime=0: xfs_db below writes plain seconds into the inodes' times.
    run(Command::new("mkfs.xfs")
        .args(["-q", "-f", "-L", "xdata", "-m"])
        .arg(format!("bigtime=0,uuid={XFS_UUID}"))
        .arg(&xfs));
    // mkfs.xfs stamps the root, realtime-bitmap and realtime-summary inodes with the clock;
    // xfs_db (which takes no SOURCE_DATE_EPOCH) sets them to a fixed value (which it stores
    // as 0, the Unix epoch, in this xfsprogs).
    for ino in ["128", "129", "130"] {
        let mut db = Command::new("xfs_db");
        db.args(["-x", "-c"]).arg(format!("inode {ino}"));
        for field in ["core.atime", "core.mtime", "core.ctime", "v3.crtime"] {
            db.arg("-c").arg(format!("write {field}.sec 0"));
            db.arg("-c").arg(format!("write {field}.nsec 0"));
        }
        run(db.arg(&xfs).stdout(Stdio::null()));
    }
    place(&img, &xfs, 33 << 20);
}

/// The ELF header of an x86-64 executable (64 bytes, no program): what inspection reads
/// to find a guest's architecture.
const ELF_X86_64: &str = "\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x3e\\x00\\x01\\x00\\x00\\x00\\x00\\x10\\x40\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x40\\x00\\x38\\x00\\x00\\x00\\x40\\x00\\x00\\x00\\x00\\x00";

/// `linux`: 64 MiB; MBR; `/dev/sda1` 1-41 MiB ext4 `lroot` holding a small Debian 12 root
/// that inspection recognises (os-release, hostname, fstab naming both partitions, a dpkg
/// database, an x86-64 ELF header as /bin/ls and /bin/sh); `/dev/sda2` 41-63 MiB ext4
/// `lboot`, its /boot.
fn build_linux(dir: &Path, out: &Path) {
    let img = create(out, 64 << 20);
    sfdisk(
        &img,
        &format!(
            "label: dos\nlabel-id: {LINUX_MBR_ID}\nunit: sectors\n\
             start=2048, size=81920, type=83\n\
             start=83968, size=45056, type=83\n"
        ),
    );
    let root_tree = dir.join("linux-tree");
    write_tree(
        &root_tree,
        &format!(
            "f /bin/ls 0755 {ELF_X86_64}\n\
             f /bin/sh 0755 {ELF_X86_64}\n\
             d /usr/bin 0755\n\
             d /boot 0755\n\
             f /etc/fstab 0644 LABEL=lroot / ext4 defaults 0 1\\nLABEL=lboot /boot ext4 defaults 0 2\\n\n\
             f /etc/hostname 0644 bookworm-golden\\n\n\
             f /etc/debian_version 0644 12.5\\n\n\
             f /etc/os-release 0644 PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\\nNAME=\"Debian GNU/Linux\"\\nVERSION_ID=\"12\"\\nVERSION=\"12 (bookworm)\"\\nVERSION_CODENAME=bookworm\\nID=debian\\n\n\
             f /var/lib/dpkg/status 0644 Package: bash\\nStatus: install ok installed\\nArchitecture: amd64\\nSource: bash (5.2.15-2)\\nVersion: 5.2.15-2+b2\\nDescription: GNU Bourne Again SHell\\n\\nPackage: vim-tiny\\nStatus: install ok installed\\nArchitecture: amd64\\nVersion: 2:9.0.1378-2\\nHomepage: https://www.vim.org/\\nDescription: Vi IMproved - compact version\\n more text\\n\\nPackage: gone\\nStatus: deinstall ok config-files\\nArchitecture: amd64\\nVersion: 1.0-1\\n\n"
        ),
    );
    let root = ext4(dir, &root_tree, "lroot", LROOT_UUID, LROOT_HASH, 40 << 20);
    place(&img, &root, 1 << 20);
    let boot_tree = dir.join("lboot-tree");
    write_tree(
        &boot_tree,
        "f /vmlinuz-6.1.0-18-amd64 0644 not a kernel\\n\n",
    );
    let boot = ext4(dir, &boot_tree, "lboot", LBOOT_UUID, LBOOT_HASH, 22 << 20);
    place(&img, &boot, 41 << 20);
}

/// The key of the current recipe: changes when the tree or this builder changes.
pub fn recipe_key() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in recipe_text()
        .bytes()
        .chain(include_str!("images.rs").bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn recipe_text() -> String {
    std::fs::read_to_string(super::golden_dir().join("tree.txt")).expect("tests/golden/tree.txt")
}

/// The directory holding the built images for the current recipe, building them first if
/// needed (under `$XDG_CACHE_HOME` or `~/.cache`, `guestwright-tests/golden-KEY`).
pub fn built() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("guestwright-tests");
    let dir = base.join(format!("golden-{}", recipe_key()));
    if NAMES.iter().all(|n| dir.join(format!("{n}.img")).is_file()) {
        return dir;
    }
    std::fs::create_dir_all(&base).unwrap();
    let work = tempfile::Builder::new()
        .prefix("golden-build-")
        .tempdir_in(&base)
        .unwrap();
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let tree = work.path().join("tree");
    write_tree(&tree, &recipe_text());
    build_gpt(work.path(), &tree, &out.join("gpt.img"));
    build_bare(work.path(), &tree, &out.join("bare.img"));
    build_mbr(work.path(), &out.join("mbr.img"));
    build_linux(work.path(), &out.join("linux.img"));
    build_libs(work.path(), &out.join("libs.img"));
    // Another test process may have won the race: its images are the same bytes.
    if std::fs::rename(&out, &dir).is_err() {
        assert!(
            dir.is_dir(),
            "cannot store the golden images in {}",
            dir.display()
        );
    }
    dir
}

/// Copies image `name` to `to` (sparse), for one case.
pub fn copy_to(name: &str, to: &Path) {
    assert!(
        NAMES.contains(&name),
        "unknown image {name:?}: use one of {NAMES:?}"
    );
    let from = built().join(format!("{name}.img"));
    run(Command::new("cp").arg("--sparse=always").arg(&from).arg(to));
}

fn create(path: &Path, len: u64) -> PathBuf {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
    path.to_path_buf()
}

fn sfdisk(img: &Path, script: &str) {
    use std::io::Write;
    require("sfdisk", "fdisk");
    let mut child = Command::new("sfdisk")
        .arg("-q")
        .arg(img)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("sfdisk (fdisk)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed on {script}");
}

/// Copies the non-zero 64 KiB blocks of `part` into `img` at `offset`, keeping `img` sparse.
fn place(img: &Path, part: &Path, offset: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut src = std::fs::File::open(part).unwrap();
    let mut dst = std::fs::OpenOptions::new().write(true).open(img).unwrap();
    let mut buf = vec![0u8; 64 << 10];
    let mut at = offset;
    loop {
        let n = src.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|&b| b != 0) {
            dst.seek(SeekFrom::Start(at)).unwrap();
            dst.write_all(&buf[..n]).unwrap();
        }
        at += n as u64;
    }
    dst.sync_all().unwrap();
}

/// An ext4 filesystem image of `len` bytes holding `tree`, with every inode's owner and
/// times fixed afterwards (mke2fs -d copies them from the host files, and the host cannot
/// set a ctime).
fn ext4(dir: &Path, tree: &Path, label: &str, uuid: &str, hash: &str, len: u64) -> PathBuf {
    require("mke2fs", "e2fsprogs");
    require("debugfs", "e2fsprogs");
    let fs = create(&dir.join(format!("{label}.ext4")), len);
    run(Command::new("mke2fs")
        .env("E2FSPROGS_FAKE_TIME", EPOCH.to_string())
        .args([
            "-q", "-F", "-t", "ext4", "-b", "1024", "-L", label, "-U", uuid, "-E",
        ])
        .arg(format!("hash_seed={hash}"))
        .arg("-d")
        .arg(tree)
        .arg(&fs));
    let mut script = String::new();
    for path in walk(tree) {
        let p = if path.is_empty() { "/".into() } else { path };
        let q = format!("\"{p}\"");
        script.push_str(&format!("sif {q} uid 0\nsif {q} gid 0\n"));
        for field in ["atime", "mtime", "ctime", "crtime"] {
            script.push_str(&format!("sif {q} {field} @{EPOCH}\n"));
        }
    }
    let mut child = Command::new("debugfs")
        .env("E2FSPROGS_FAKE_TIME", EPOCH.to_string())
        .args(["-w", "-f", "-"])
        .arg(&fs)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("debugfs (e2fsprogs)");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.lines().all(|l| l.starts_with("debugfs ")),
        "debugfs could not fix the inodes:\n{err}"
    );
    fs
}

/// A vfat filesystem image of `len` bytes labelled `DATA` with a fixed volume id, its files
/// stamped [`EPOCH`] (mtools honours SOURCE_DATE_EPOCH).
fn vfat(dir: &Path, len: u64) -> PathBuf {
    require("mkfs.fat", "dosfstools");
    require("mcopy", "mtools");
    let fs = create(&dir.join("data.vfat"), len);
    run(Command::new("mkfs.fat")
        .args(["--invariant", "-i", VFAT_ID, "-n", "DATA"])
        .arg(&fs));
    let src = dir.join("vfat-src");
    write_tree(
        &src,
        "f /README.TXT 0644 Data partition.\\n\n\
         f /docs/manual.txt 0644 Chapter 1\\nChapter 2\\n\n\
         f /docs/index.txt 0644 manual.txt\\n\n",
    );
    run(Command::new("mcopy")
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .arg("-s")
        .arg("-i")
        .arg(&fs)
        .arg(src.join("README.TXT"))
        .arg(src.join("docs"))
        .arg("::/"));
    fs
}

/// Writes the recipe `text` (the format of tests/golden/tree.txt) under `root`.
fn write_tree(root: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(root).unwrap();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.splitn(4, ' ');
        let kind = f.next().unwrap();
        let path = unescape(f.next().unwrap_or_default());
        let rel = String::from_utf8(path).unwrap_or_else(|_| bad_line(n + 1, line));
        let p = root.join(rel.trim_start_matches('/'));
        let mode = |s: Option<&str>| {
            u32::from_str_radix(s.unwrap_or_else(|| bad_line(n + 1, line)), 8)
                .unwrap_or_else(|_| bad_line(n + 1, line))
        };
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        match kind {
            "d" => {
                std::fs::create_dir_all(&p).unwrap();
                let m = mode(f.next());
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
            }
            "f" | "g" => {
                let m = mode(f.next());
                let rest = f.next().unwrap_or_default();
                let content = if kind == "f" {
                    unescape(rest)
                } else {
                    let size: usize = rest
                        .trim()
                        .parse()
                        .unwrap_or_else(|_| bad_line(n + 1, line));
                    (0..size).map(|i| ((i * 7 + 3) % 251) as u8).collect()
                };
                std::fs::write(&p, content).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
            }
            "l" => {
                let target = f.next().unwrap_or_else(|| bad_line(n + 1, line));
                std::os::unix::fs::symlink(target, &p).unwrap();
            }
            _ => bad_line(n + 1, line),
        }
    }
    // Parents made on the way get 0755 whatever the umask.
    for path in walk(root) {
        let p = root.join(path.trim_start_matches('/'));
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() && !text.contains(&format!("d {path} ")) {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

fn bad_line(n: usize, line: &str) -> ! {
    panic!("tree recipe line {n}: cannot read {line:?}")
}

/// Every path under `root` as a guest path ("" for the root itself), parents first.
fn walk(root: &Path) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut i = 0;
    while i < out.len() {
        let here = root.join(out[i].trim_start_matches('/'));
        if std::fs::symlink_metadata(&here).unwrap().is_dir() {
            let mut names: Vec<String> = std::fs::read_dir(&here)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            for n in names {
                out.push(format!("{}/{n}", out[i]));
            }
        }
        i += 1;
    }
    out
}

/// `\n`, `\t`, `\\` and `\xHH` in a recipe field.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if i + 4 <= b.len() => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).expect("\\xHH"));
                    i += 4;
                    continue;
                }
                other => {
                    out.push(b'\\');
                    out.push(other);
                }
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

// ==== cmds-libs: the image of the Augeas, hivex and journal cases ====

const LIBS_UUID: &str = "c0ffee00-0000-4000-8000-000000000007";
const LIBS_HASH: &str = "c0ffee00-0000-4000-8000-0000000000a7";
/// The journal's directory name (a machine id) and its boot id.
const LIBS_MACHINE: &str = "5eed0000000040008000000000000001";
const LIBS_BOOT: &str = "5eed0000000040008000000000000002";

/// The registry keys of `libs`'s hive, merged into an empty hive by hivexregedit.
const LIBS_REG: &str = "Windows Registry Editor Version 5.00\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Golden]\r\n\
\"Name\"=\"golden hive\"\r\n\
\"Count\"=dword:0000002a\r\n\
\"Blob\"=hex:01,02,03,ff\r\n\
\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Golden\\Child]\r\n\
@=\"the default\"\r\n\
\"Multi\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n\
\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Other]\r\n\
\r\n";

/// The entries of `libs`'s journal, in journal export format (fields in this order).
fn libs_journal_export() -> String {
    let mut s = String::new();
    for (i, (prio, msg)) in [
        ("6", "golden started"),
        ("3", "disk almost full"),
        ("5", "golden stopped"),
    ]
    .iter()
    .enumerate()
    {
        s.push_str(&format!(
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID={LIBS_BOOT}\n\
             PRIORITY={prio}\nSYSLOG_IDENTIFIER=golden\nMESSAGE={msg}\n\n",
            (EPOCH + i as u64) * 1_000_000,
            (i as u64 + 1) * 1_000_000,
        ));
    }
    s
}

/// `libs`: 32 MiB, no partition table, ext4 `libs`: configuration files for Augeas
/// (`/etc/hosts`, `/etc/passwd`, `/etc/hostname`, `/etc/fstab`), a registry hive
/// `/hive/software` written by hivexregedit, and a systemd journal
/// `/var/log/journal/MACHINE/system.journal` written by systemd-journal-remote from a text
/// export (no daemon runs). The hive and journal bytes are generated here; only what the
/// libraries read back from them is compared.
fn build_libs(dir: &Path, out: &Path) {
    let tree = dir.join("libs-tree");
    write_tree(
        &tree,
        "f /etc/hosts 0644 127.0.0.1\\tlocalhost\\n::1\\tlocalhost ip6-localhost\\n192.0.2.10\\tgolden.example.org golden\\n\n\
         f /etc/passwd 0644 root:x:0:0:root:/root:/bin/bash\\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\\n\n\
         f /etc/hostname 0644 golden\\n\n\
         f /etc/fstab 0644 LABEL=libs / ext4 defaults 0 1\\n\n\
         d /hive 0755\n\
         d /var/log/journal 0755\n",
    );
    guestwright_tests::make_hive(
        &tree.join("hive/software"),
        "HKEY_LOCAL_MACHINE\\SOFTWARE",
        LIBS_REG,
    );
    // hivexregedit leaves its input next to the hive: not part of the image.
    let _ = std::fs::remove_file(tree.join("hive/software.reg"));
    let jdir = tree.join("var/log/journal").join(LIBS_MACHINE);
    std::fs::create_dir_all(&jdir).unwrap();
    let remote = "/lib/systemd/systemd-journal-remote";
    assert!(
        Path::new(remote).is_file(),
        "{remote} is not installed: apt-get install systemd-journal-remote (scripts/setup does this)"
    );
    let mut child = Command::new(remote)
        .arg("-o")
        .arg(jdir.join("system.journal"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut sin = child.stdin.take().unwrap();
        sin.write_all(libs_journal_export().as_bytes()).unwrap();
    }
    let done = child.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "systemd-journal-remote failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    let fs = ext4(dir, &tree, "libs", LIBS_UUID, LIBS_HASH, 32 << 20);
    std::fs::rename(&fs, out).unwrap();
}
