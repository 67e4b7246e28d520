//! Input no tool would write: empty, zeroed and random devices, random devices carrying each
//! format's magic, structures crafted to loop or to claim huge sizes, and a failing device.

use super::super::crc::crc32;
use super::super::{probe, Fs, Kind, TableType};
use super::fixtures::*;
use std::io::{self, Read, Seek, SeekFrom};

const MIB: u64 = 1024 * 1024;

/// A virtual device: zeros (seed 0) or pseudo-random bytes that depend only on the offset,
/// with byte strings planted at fixed offsets, optionally failing beyond some offset.
struct Pattern {
    len: u64,
    pos: u64,
    seed: u64,
    planted: Vec<(u64, Vec<u8>)>,
    fail_from: Option<u64>,
}

impl Pattern {
    fn new(len: u64, seed: u64) -> Pattern {
        Pattern {
            len,
            pos: 0,
            seed,
            planted: Vec::new(),
            fail_from: None,
        }
    }

    fn plant(mut self, at: u64, bytes: &[u8]) -> Pattern {
        self.planted.push((at, bytes.to_vec()));
        self
    }

    fn byte(&self, at: u64) -> u8 {
        for (start, bytes) in &self.planted {
            if (*start..start + bytes.len() as u64).contains(&at) {
                return bytes[(at - start) as usize];
            }
        }
        if self.seed == 0 {
            return 0;
        }
        // splitmix64 of the offset: random-looking, reproducible, no state.
        let mut z = at.wrapping_add(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as u8
    }
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self
            .fail_from
            .is_some_and(|f| self.pos.saturating_add(buf.len() as u64) > f)
        {
            return Err(io::Error::from_raw_os_error(5));
        }
        let n = buf.len().min(self.len.saturating_sub(self.pos) as usize);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = self.byte(self.pos + i as u64);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Pattern {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Start(n) = to else {
            unreachable!("the probe seeks from the start")
        };
        self.pos = n;
        Ok(n)
    }
}

#[test]
fn empty_and_zeroed_devices_hold_nothing() {
    for size in [
        0,
        1,
        511,
        512,
        1024,
        4096,
        40960,
        65536,
        69632,
        MIB,
        64 * MIB,
        1 << 40,
    ] {
        let got = probe(&mut Pattern::new(size, 0), size).unwrap();
        assert_eq!(got, None, "{size} zero bytes");
    }
}

#[test]
fn random_devices_hold_nothing() {
    for seed in 1..300u64 {
        let size = [4096, 70_000, 200_000, 8 * MIB][seed as usize % 4];
        let got = probe(&mut Pattern::new(size, seed), size).unwrap();
        assert_eq!(got, None, "seed {seed}, {size} bytes");
    }
}

/// Random bytes behind every format's magic drive each parser past its first check. Whatever
/// it concludes, it must conclude it without failing.
#[test]
fn random_bytes_behind_each_magic() {
    let magics: &[(u64, &[u8])] = &[
        (0, b"LUKS\xba\xbe"),
        (0x4000, b"SKUL\xba\xbe"),
        (512, b"LABELONE"),
        (536, b"LVM2 001"),
        (0, b"XFSB"),
        (0, b"hsqs"),
        (3, b"EXFAT   "),
        (3, b"NTFS    "),
        (0x36, b"FAT16   "),
        (0x52, b"FAT32   "),
        (1024 + 0x38, &[0x53, 0xEF]),
        (4086, b"SWAPSPACE2"),
        (32769, b"CD001"),
        (32768 + 9, b"CDROM"),
        (65536 + 64, b"_BHRfS_M"),
        (512, b"EFI PART"),
    ];
    for (i, &(at, magic)) in magics.iter().enumerate() {
        for seed in 1..40u64 {
            let size = [200_000, 2 * MIB, 64 * MIB][seed as usize % 3];
            let mut dev = Pattern::new(size, seed * 100 + i as u64)
                .plant(at, magic)
                .plant(510, &[0x55, 0xAA]);
            probe(&mut dev, size).unwrap_or_else(|e| panic!("magic {magic:?}, seed {seed}: {e}"));
        }
    }
}

/// A GPT header with a valid CRC that claims four billion partition entries: refused without
/// allocating for them, leaving a protective MBR.
#[test]
fn gpt_claiming_billions_of_entries_is_refused() {
    let mut mbr = vec![0u8; 512];
    mbr[446 + 4] = 0xEE;
    mbr[446 + 8..446 + 12].copy_from_slice(&1u32.to_le_bytes());
    mbr[446 + 12..446 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    mbr[510..512].copy_from_slice(&[0x55, 0xAA]);
    let mut header = vec![0u8; 92];
    header[..8].copy_from_slice(b"EFI PART");
    header[12..16].copy_from_slice(&92u32.to_le_bytes());
    header[24..32].copy_from_slice(&1u64.to_le_bytes());
    header[72..80].copy_from_slice(&2u64.to_le_bytes());
    header[80..84].copy_from_slice(&u32::MAX.to_le_bytes());
    header[84..88].copy_from_slice(&128u32.to_le_bytes());
    let crc = crc32(&header);
    header[16..20].copy_from_slice(&crc.to_le_bytes());
    let mut dev = Pattern::new(64 * MIB, 0).plant(0, &mbr).plant(512, &header);
    let got = probe(&mut dev, 64 * MIB).unwrap().unwrap();
    assert_eq!(got.kind, Kind::PartitionTable(TableType::ProtectiveMbr));
}

/// A FAT32 root directory whose cluster chain loops on itself, full of deleted entries: the
/// search for the label entry gives up after a bounded walk.
#[test]
fn fat32_root_directory_loop_terminates() {
    let dir = tempfile::tempdir().unwrap();
    let img = sparse(dir.path(), "loop.img", 64 * MIB);
    run("mkfs.vfat", &["-F", "32", "-s", "1", "-n", "LOOPED"], &img);
    let bs = read_at(&img, 0, 512);
    let le16 = |o: usize| u64::from(u16::from_le_bytes([bs[o], bs[o + 1]]));
    let le32 = |o: usize| u64::from(u32::from_le_bytes([bs[o], bs[o + 1], bs[o + 2], bs[o + 3]]));
    let (sector, reserved, fats, fat_len, root) = (
        le16(0x0B),
        le16(0x0E),
        u64::from(bs[0x10]),
        le32(0x24),
        le32(0x2C),
    );
    let cluster = sector * u64::from(bs[0x0D]);
    let root_off = (reserved + fats * fat_len) * sector + (root - 2) * cluster;
    // Every entry of the root cluster deleted (name starting 0xE5), and the chain pointing back.
    let mut deleted = vec![0u8; cluster as usize];
    for entry in deleted.chunks_mut(32) {
        entry[0] = 0xE5;
        entry[1..11].copy_from_slice(b"DELETED   ");
    }
    patch(&img, root_off, &deleted);
    patch(
        &img,
        reserved * sector + root * 4,
        &(root as u32).to_le_bytes(),
    );
    let p = probe_path(&img).unwrap();
    assert_eq!((p.kind, p.label), (Kind::Filesystem(Fs::Vfat), None));
}

/// A device that fails is an error, not "nothing here".
#[test]
fn device_errors_are_reported() {
    let mut dev = Pattern::new(64 * MIB, 0);
    dev.fail_from = Some(0);
    assert_eq!(
        probe(&mut dev, 64 * MIB).unwrap_err().raw_os_error(),
        Some(5)
    );
    // Failing past the first 128 KiB: the LUKS2 backup-header search reads there.
    let mut dev = Pattern::new(64 * MIB, 0);
    dev.fail_from = Some(128 * 1024);
    assert_eq!(
        probe(&mut dev, 64 * MIB).unwrap_err().raw_os_error(),
        Some(5)
    );
}
