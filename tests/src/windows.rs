//! A phony Windows guest, enough for inspection: an MBR disk with two NTFS partitions (a
//! "System Reserved" one and C:), `/Windows/System32/cmd.exe` (a PE header, for the
//! architecture) and the SOFTWARE and SYSTEM registry hives, written by `hivexregedit` from
//! the `.reg` texts below onto an empty hive made here.
//!
//! The NTFS filesystems are made on the host with `mkntfs` and filled through guestwright
//! itself (ntfs-3g in the appliance), so building the guest also exercises NTFS writes.

use crate::{require, run, Check};
use guestwright::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The MBR disk signature of [`windows_guest`] (bytes 0x1b8..0x1bc, little-endian).
pub const WINDOWS_DISK_ID: u32 = 0x1234_5678;
/// Where C: (`/dev/sda2`) starts, in bytes.
pub const WINDOWS_C_OFFSET: u64 = 17 << 20;
/// The NTFS serial numbers (blkid's UUID) of the two partitions.
pub const WINDOWS_RESERVED_SERIAL: &str = "0123456789ABCDEF";
/// The serial of C:.
pub const WINDOWS_C_SERIAL: &str = "FEDCBA9876543210";
/// The hostname in the SYSTEM hive.
pub const WINDOWS_HOSTNAME: &str = "WIN-GUESTWRIGHT";
const DISK_SIZE: u64 = 64 << 20;
const RESERVED_OFFSET: u64 = 1 << 20;
const RESERVED_SIZE: u64 = 16 << 20;

/// The SOFTWARE hive: Windows 10 Pro, and two installed applications (one 64-bit, one
/// 32-bit under WOW6432Node).
pub const WINDOWS_SOFTWARE_REG: &str = r#"Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows 10 Pro"
"CurrentVersion"="6.3"
"CurrentMajorVersionNumber"=dword:0000000a
"CurrentMinorVersionNumber"=dword:00000000
"CurrentBuild"="19045"
"CurrentBuildNumber"="19045"
"InstallationType"="Client"
"EditionID"="Professional"
"SystemRoot"="C:\\Windows"

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\GuestwrightEditor]
"DisplayName"="Guestwright Phony Editor"
"DisplayVersion"="2.4.1"
"Publisher"="Guestwright Tests"
"InstallLocation"="C:\\Program Files\\Phony Editor"
"URLInfoAbout"="https://example.invalid/editor"
"Comments"="An editor that is not there"

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall]

[HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{8E1D8F5A-1C2B-4D3E-9F00-0123456789AB}]
"DisplayName"="Phony 32-bit Runtime"
"DisplayVersion"="10.0.1"
"Publisher"="Guestwright Tests"
"#;

/// The SYSTEM hive: the current control set, the hostname, and C: mapped to the second
/// partition of the disk with signature [`WINDOWS_DISK_ID`] at [`WINDOWS_C_OFFSET`].
pub const WINDOWS_SYSTEM_REG: &str = r#"Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\Select]
"Current"=dword:00000001
"Default"=dword:00000001
"LastKnownGood"=dword:00000002

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001]

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services]

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\Tcpip]

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\Tcpip\Parameters]
"Hostname"="WIN-GUESTWRIGHT"

[HKEY_LOCAL_MACHINE\SYSTEM\MountedDevices]
"\\DosDevices\\C:"=hex:78,56,34,12,00,00,10,01,00,00,00,00
"\\DosDevices\\D:"=hex:78,56,34,12,00,00,00,7f,00,00,00,00
"#;

/// An empty registry hive (regf format): the base block and one 4 KiB bin holding the root
/// key and its security descriptor. hivexregedit edits hives but cannot create one.
pub fn empty_hive(root_name: &str) -> Vec<u8> {
    const BIN: usize = 0x1000;
    let mut hive = vec![0u8; 0x1000 + BIN];
    let put32 = |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let put16 = |b: &mut [u8], at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    // Base block.
    hive[0..4].copy_from_slice(b"regf");
    put32(&mut hive, 0x04, 1); // primary sequence number
    put32(&mut hive, 0x08, 1); // secondary: equal, so the hive is clean
    put32(&mut hive, 0x14, 1); // major version
    put32(&mut hive, 0x18, 5); // minor version
    put32(&mut hive, 0x1c, 0); // primary file
    put32(&mut hive, 0x20, 1); // direct memory load
    let root = 0x20usize; // the root key's cell, relative to the first bin
    put32(&mut hive, 0x24, root as u32);
    put32(&mut hive, 0x28, BIN as u32); // size of the bins
    put32(&mut hive, 0x2c, 1); // clustering factor
    let checksum = (0..0x1fc)
        .step_by(4)
        .map(|i| u32::from_le_bytes(hive[i..i + 4].try_into().unwrap()))
        .fold(0, |a, b| a ^ b);
    put32(&mut hive, 0x1fc, checksum);

    let bin = &mut hive[0x1000..];
    bin[0..4].copy_from_slice(b"hbin");
    put32(bin, 0x04, 0); // offset of this bin
    put32(bin, 0x08, BIN as u32);
    // The root key (nk).
    let name = root_name.as_bytes();
    let nk_len = (0x50 + name.len()).div_ceil(8) * 8;
    let sk = root + nk_len;
    let nk = &mut bin[root..root + nk_len];
    put32(nk, 0x00, (-(nk_len as i32)) as u32); // allocated
    nk[4..6].copy_from_slice(b"nk");
    put16(nk, 0x06, 0x2c); // hive entry, no delete, ASCII name
    put32(nk, 0x18, 0); // subkeys
    put32(nk, 0x20, u32::MAX); // subkey list
    put32(nk, 0x24, u32::MAX); // volatile subkey list
    put32(nk, 0x28, 0); // values
    put32(nk, 0x2c, u32::MAX); // value list
    put32(nk, 0x30, sk as u32);
    put32(nk, 0x34, u32::MAX); // class name
    put16(nk, 0x4c, name.len() as u16);
    nk[0x50..0x50 + name.len()].copy_from_slice(name);
    // Its security descriptor (sk): a self-relative descriptor with no owner and a NULL DACL.
    let descriptor: [u8; 20] = [
        1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let sk_len = (0x18 + descriptor.len()).div_ceil(8) * 8;
    let cell = &mut bin[sk..sk + sk_len];
    put32(cell, 0x00, (-(sk_len as i32)) as u32);
    cell[4..6].copy_from_slice(b"sk");
    put32(cell, 0x08, sk as u32); // next: itself, the only one
    put32(cell, 0x0c, sk as u32); // previous
    put32(cell, 0x10, 1); // reference count: the root key
    put32(cell, 0x14, descriptor.len() as u32);
    cell[0x18..0x18 + descriptor.len()].copy_from_slice(&descriptor);
    // The rest of the bin is one free cell.
    let free = sk + sk_len;
    put32(bin, free, (BIN - free) as u32);
    hive
}

/// Writes `reg` into a new hive file at `path` with hivexregedit; `prefix` is the part of
/// the key names to strip (`HKEY_LOCAL_MACHINE\SOFTWARE`).
pub fn make_hive(path: &Path, prefix: &str, reg: &str) {
    require("hivexregedit", "libhivex-bin");
    std::fs::write(path, empty_hive("ROOT")).unwrap();
    let reg_file = path.with_extension("reg");
    std::fs::write(&reg_file, reg).unwrap();
    run(Command::new("hivexregedit")
        .arg("--merge")
        .arg("--prefix")
        .arg(prefix)
        .arg(path)
        .arg(&reg_file));
}

/// The smallest PE32+ image header `file` and inspection recognise as x86-64: a DOS stub
/// pointing at the PE signature, a COFF header and an empty optional header.
pub fn pe_x86_64() -> Vec<u8> {
    let mut pe = vec![0u8; 0x40 + 4 + 20 + 0xf0];
    pe[0..2].copy_from_slice(b"MZ");
    pe[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    pe[0x40..0x44].copy_from_slice(b"PE\0\0");
    let coff = 0x44;
    pe[coff..coff + 2].copy_from_slice(&0x8664u16.to_le_bytes()); // AMD64
    pe[coff + 16..coff + 18].copy_from_slice(&0xf0u16.to_le_bytes()); // optional header size
    pe[coff + 18..coff + 20].copy_from_slice(&0x22u16.to_le_bytes()); // executable, large address
    let opt = coff + 20;
    pe[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes()); // PE32+
    pe[opt + 68..opt + 70].copy_from_slice(&3u16.to_le_bytes()); // console subsystem
    pe
}

/// Builds the phony Windows guest in `dir` and returns its path: `/dev/sda1` NTFS "System
/// Reserved", `/dev/sda2` NTFS C: with `/Windows/System32/{cmd.exe,config/SOFTWARE,SYSTEM}`,
/// `/Program Files` and `/autoexec.bat`. One appliance launch fills C:.
pub fn windows_guest(dir: &Path, name: &str) -> PathBuf {
    require("sfdisk", "fdisk");
    require("mkntfs", "ntfs-3g");
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(DISK_SIZE)
        .unwrap();
    let table = format!(
        "label: dos\nlabel-id: 0x{WINDOWS_DISK_ID:08x}\nstart={}, size={}, type=7, bootable\nstart={}, type=7\n",
        RESERVED_OFFSET / 512,
        RESERVED_SIZE / 512,
        WINDOWS_C_OFFSET / 512,
    );
    crate::sfdisk(&img, &table);
    for (offset, size, label, serial) in [
        (
            RESERVED_OFFSET,
            RESERVED_SIZE,
            "System Reserved",
            WINDOWS_RESERVED_SERIAL,
        ),
        (
            WINDOWS_C_OFFSET,
            DISK_SIZE - WINDOWS_C_OFFSET,
            "Windows",
            WINDOWS_C_SERIAL,
        ),
    ] {
        let part = dir.join(format!("{name}.part"));
        std::fs::File::create(&part).unwrap().set_len(size).unwrap();
        run(Command::new("mkntfs")
            .args(["-q", "-F", "-Q", "-L", label, "-p"])
            .arg((offset / 512).to_string())
            .arg(&part));
        // mkntfs picks a random serial (the UUID blkid shows); the expected outputs need a
        // fixed one.
        run(Command::new("ntfslabel")
            .arg(format!("--new-serial={serial}"))
            .arg(&part));
        copy_into(&part, &img, offset);
        std::fs::remove_file(&part).unwrap();
    }
    let software = dir.join("SOFTWARE");
    make_hive(
        &software,
        r"HKEY_LOCAL_MACHINE\SOFTWARE",
        WINDOWS_SOFTWARE_REG,
    );
    let system = dir.join("SYSTEM");
    make_hive(&system, r"HKEY_LOCAL_MACHINE\SYSTEM", WINDOWS_SYSTEM_REG);
    let cmd = dir.join("cmd.exe");
    std::fs::write(&cmd, pe_x86_64()).unwrap();

    let mut h = crate::launch(&[(&img, DriveOptions::default())]);
    h.mount(Device::from("/dev/sda2"), "/").check("mount C:");
    h.mkdir_p("/Windows/System32/config").check("mkdir");
    h.mkdir("/Program Files").check("mkdir");
    for (host, guest) in [
        (&software, "/Windows/System32/config/SOFTWARE"),
        (&system, "/Windows/System32/config/SYSTEM"),
        (&cmd, "/Windows/System32/cmd.exe"),
    ] {
        let data = std::fs::read(host).unwrap();
        h.upload(guest, &mut &data[..]).check(guest);
    }
    h.touch("/autoexec.bat").check("touch");
    h.umount_all().check("umount");
    h.h.shutdown().check("shutdown");
    img
}

fn copy_into(part: &Path, img: &Path, offset: u64) {
    use std::io::{Seek, SeekFrom};
    let mut src = std::fs::File::open(part).unwrap();
    let mut dst = std::fs::OpenOptions::new().write(true).open(img).unwrap();
    dst.seek(SeekFrom::Start(offset)).unwrap();
    std::io::copy(&mut src, &mut dst).unwrap();
}
