//! guestfish's `isoinfo-device` and `isoinfo`: the primary volume descriptor of an ISO 9660
//! filesystem, read straight from the device or image (never mounted).

use guestwright_protocol::Isoinfo;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Where the primary volume descriptor sits: sector 16 of 2048-byte sectors.
const PVD_OFFSET: u64 = 32768;
const PVD_LEN: usize = 2048;

/// `isoinfo_device`: the descriptor of the ISO on `dev`. `shown` names it in errors, as the
/// caller gave it (`/dev/sdb`, `/boot.iso`); `call` is libguestfs's call name.
pub fn isoinfo(file: &File, call: &str, shown: &str) -> io::Result<Isoinfo> {
    let mut pvd = [0u8; PVD_LEN];
    let mut got = 0;
    while got < PVD_LEN {
        match file.read_at(&mut pvd[got..], PVD_OFFSET + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    parse(&pvd[..got])
        .ok_or_else(|| io::Error::other(format!("{call}: {shown}: not an ISO file or CD-ROM")))
}

/// `isoinfo_device` of a device node.
pub fn isoinfo_device(node: &Path, shown: &str) -> io::Result<Isoinfo> {
    isoinfo(&File::open(node)?, "isoinfo_device", shown)
}

/// The descriptor's fields, or `None` when the bytes are not a primary volume descriptor.
pub fn parse(pvd: &[u8]) -> Option<Isoinfo> {
    if pvd.len() != PVD_LEN || pvd[0] != 1 || &pvd[1..6] != b"CD001" {
        return None;
    }
    // Text fields are padded with spaces; the lengths are both-endian, the little-endian
    // half first.
    let text = |at: usize, len: usize| {
        let s = &pvd[at..at + len];
        let end = s.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
        String::from_utf8_lossy(&s[..end]).into_owned()
    };
    let le16 = |at: usize| u32::from(u16::from_le_bytes([pvd[at], pvd[at + 1]]));
    let le32 = |at: usize| u32::from_le_bytes([pvd[at], pvd[at + 1], pvd[at + 2], pvd[at + 3]]);
    let time = |at: usize| datetime(&pvd[at..at + 17]);
    Some(Isoinfo {
        iso_system_id: text(8, 32),
        iso_volume_id: text(40, 32),
        iso_volume_space_size: le32(80),
        iso_volume_set_size: le16(120),
        iso_volume_sequence_number: le16(124),
        iso_logical_block_size: le16(128),
        iso_volume_set_id: text(190, 128),
        iso_publisher_id: text(318, 128),
        iso_data_preparer_id: text(446, 128),
        iso_application_id: text(574, 128),
        iso_copyright_file_id: text(702, 37),
        iso_abstract_file_id: text(739, 37),
        iso_bibliographic_file_id: text(776, 37),
        iso_volume_creation_t: time(813),
        iso_volume_modification_t: time(830),
        iso_volume_expiration_t: time(847),
        iso_volume_effective_t: time(864),
    })
}

/// An ISO "dec-datetime" (`YYYYMMDDhhmmsscc` in ASCII, then the zone offset in 15-minute
/// steps, signed) as Unix seconds; -1 when unset (all digits zero).
fn datetime(field: &[u8]) -> i64 {
    if field[..16].iter().all(|&b| b == b'0') {
        return -1;
    }
    let num = |at: usize, len: usize| -> i64 {
        field[at..at + len]
            .iter()
            .fold(0, |n, &b| n * 10 + i64::from(b.wrapping_sub(b'0').min(9)))
    };
    let days = days_from_civil(num(0, 4), num(4, 2), num(6, 2));
    let secs = days * 86400 + num(8, 2) * 3600 + num(10, 2) * 60 + num(12, 2);
    secs - i64::from(field[16] as i8) * 15 * 60
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pvd() -> Vec<u8> {
        let mut p = vec![0u8; PVD_LEN];
        p[0] = 1;
        p[1..6].copy_from_slice(b"CD001");
        p[8..40].copy_from_slice(&[b' '; 32]);
        p[8..13].copy_from_slice(b"LINUX");
        p[40..72].copy_from_slice(&[b' '; 32]);
        p[40..45].copy_from_slice(b"CDROM");
        p[80..84].copy_from_slice(&180u32.to_le_bytes());
        p[84..88].copy_from_slice(&180u32.to_be_bytes());
        p[120] = 1;
        p[124] = 1;
        p[128..130].copy_from_slice(&2048u16.to_le_bytes());
        p[813..829].copy_from_slice(b"2020010212304500");
        p[829] = 4; // GMT+1
        p[830..846].copy_from_slice(b"2020010212304500");
        p[847..863].copy_from_slice(b"0000000000000000");
        p[864..880].copy_from_slice(b"0000000000000000");
        p
    }

    #[test]
    fn reads_the_fields_guestfish_prints() {
        let i = parse(&pvd()).unwrap();
        assert_eq!(i.iso_system_id, "LINUX");
        assert_eq!(i.iso_volume_id, "CDROM");
        assert_eq!(i.iso_volume_space_size, 180);
        assert_eq!(i.iso_volume_set_size, 1);
        assert_eq!(i.iso_logical_block_size, 2048);
        // 2020-01-02 12:30:45 at GMT+1 is 11:30:45 UTC.
        assert_eq!(i.iso_volume_creation_t, 1_577_964_645);
        assert_eq!(i.iso_volume_expiration_t, -1);
    }

    #[test]
    fn refuses_what_is_not_a_primary_volume_descriptor() {
        let mut p = pvd();
        p[0] = 2;
        assert!(parse(&p).is_none());
        assert!(parse(&pvd()[..100]).is_none());
    }
}
