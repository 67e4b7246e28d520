//! The partition-table edits guestfish added last: moving a partition's end
//! (`part_resize`, parted's resizepart) and setting GPT identities and attribute bits
//! (`part_set_disk_guid`, `part_set_gpt_guid`, `part_set_gpt_attributes`, sgdisk's `-U`,
//! `-u` and `-A`). Errors are worded as libguestfs 1.48 words them, with the caller's
//! device name, because scripts compare them.

use super::{edit, einval, Disk, Table, GPT_ENTRIES};
use std::io;
use std::path::Path;

/// libguestfs's check of a partition number, before anything is read.
fn check_partnum(op: &str, partnum: i32) -> io::Result<u32> {
    u32::try_from(partnum)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| einval(format!("{op}: partition number must be >= 1")))
}

/// A GUID as libguestfs's stub accepts it: 8-4-4-4-12 hexadecimal digits.
pub(crate) fn parse_guid(op: &str, guid: &str) -> io::Result<uuid::Uuid> {
    let shaped = guid.len() == 36
        && guid.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    shaped
        .then(|| uuid::Uuid::parse_str(guid).ok())
        .flatten()
        .ok_or_else(|| einval(format!("{op}: guid: parameter is not a valid GUID")))
}

/// A parted error for `part_resize`: `part_resize: parted: DEV: Error: WHAT:` (the final
/// colon is libguestfs's).
fn parted_err(dev: &str, what: &str) -> io::Error {
    einval(format!("part_resize: parted: {dev}: {what}:"))
}

/// `part_resize`: partition `partnum` of the disk `path` (named `dev` by the caller) ends
/// at sector `endsect`, inclusive. Only growing is done: parted in script mode refuses to
/// shrink, and so does this.
pub fn part_resize(
    path: &Path,
    dev: &str,
    whole_disk: bool,
    partnum: i32,
    endsect: i64,
) -> io::Result<()> {
    let n = check_partnum("part_resize", partnum)?;
    if !whole_disk {
        return Err(parted_err(
            dev,
            &format!("Error: {dev}: unrecognised disk label"),
        ));
    }
    let mut disk = Disk::open(path, false)?;
    let sectors = disk.size / disk.sector;
    let table = disk
        .read_table()
        .map_err(|_| parted_err(dev, &format!("Error: {dev}: unrecognised disk label")))?;
    drop(disk);
    let end = u64::try_from(endsect)
        .ok()
        .filter(|e| *e < sectors)
        .ok_or_else(|| {
            parted_err(
                dev,
                &format!("Error: The location {endsect}s is outside of the device {dev}."),
            )
        })?;
    let missing = || parted_err(dev, "Error: Partition doesn't exist.");
    // (first sector, last sector) of the partition and of every other one it must not meet.
    let (first, last, others): (u64, u64, Vec<(u64, u64)>) = match &table {
        Table::Gpt(g) => {
            let p = g.parts.get(&n).ok_or_else(missing)?;
            let others = g
                .parts
                .iter()
                .filter(|(k, _)| **k != n)
                .map(|(_, p)| (p.first_lba, p.last_lba))
                .collect();
            (p.first_lba, p.last_lba, others)
        }
        Table::Mbr(m) => {
            let span = |p: &mbrman::MBRPartitionEntry| {
                let s = u64::from(p.starting_lba);
                (s, s + u64::from(p.sectors).max(1) - 1)
            };
            let idx = n as usize;
            let me = m
                .get(idx)
                .filter(|p| p.is_used())
                .ok_or_else(missing)?
                .clone();
            let logical = idx >= 5;
            let others = m
                .iter()
                .filter(|(k, p)| *k != idx && p.is_used())
                // A logical partition lies inside the extended one, which is no obstacle.
                .filter(|(k, p)| !(logical && *k <= 4 && super::is_extended(p.sys)))
                .map(|(_, p)| span(p))
                .collect();
            let (a, b) = span(&me);
            (a, b, others)
        }
    };
    if end < first {
        let length = end as i64 - first as i64 + 1;
        return Err(parted_err(
            dev,
            &format!(
                "Error: Can't have the end before the start! (start sector={first} length={length})"
            ),
        ));
    }
    if end < last {
        return Err(parted_err(
            dev,
            "Warning: Shrinking a partition can cause data loss, are you sure you want to \
             continue?",
        ));
    }
    if others.iter().any(|o| super::overlap((first, end), *o)) {
        return Err(parted_err(dev, "Error: Can't have overlapping partitions."));
    }
    if let Table::Gpt(g) = &table {
        if end > g.header.last_usable {
            return Err(parted_err(
                dev,
                &format!("Error: The location {endsect}s is outside of the device {dev}."),
            ));
        }
    }
    edit(path, |_, table| {
        match table {
            Table::Gpt(g) => {
                if let Some(p) = g.parts.get_mut(&n) {
                    p.last_lba = end;
                }
            }
            Table::Mbr(m) => {
                let count = u32::try_from(end + 1 - first)
                    .map_err(|_| parted_err(dev, "Error: partition too large for an MBR."))?;
                if let Some(p) = m.get_mut(n as usize) {
                    p.sectors = count;
                }
            }
        }
        Ok(())
    })
}

/// The error sgdisk's refusal of a disk without a GPT becomes.
fn not_gpt(op: &str, dev: &str) -> io::Error {
    einval(format!(
        "{op}: {dev}: not a GPT disk (sgdisk: Non-GPT disk; not saving changes)"
    ))
}

/// `part_set_disk_guid` (`None`: a random one, `part_set_disk_guid_random`).
pub fn set_disk_guid(path: &Path, dev: &str, guid: Option<&str>) -> io::Result<()> {
    let op = if guid.is_some() {
        "part_set_disk_guid"
    } else {
        "part_set_disk_guid_random"
    };
    let guid = match guid {
        Some(g) => parse_guid(op, g)?,
        None => uuid::Uuid::new_v4(),
    };
    edit(path, |_, table| match table {
        Table::Gpt(g) => {
            g.header.disk_guid = guid;
            Ok(())
        }
        Table::Mbr(_) => Err(not_gpt(op, dev)),
    })
}

/// `part_set_gpt_guid`: the partition's unique GUID. Setting it on an unused entry does
/// nothing, as with sgdisk.
pub fn set_gpt_guid(path: &Path, dev: &str, partnum: i32, guid: &str) -> io::Result<()> {
    let op = "part_set_gpt_guid";
    let n = check_partnum(op, partnum)?;
    let guid = parse_guid(op, guid)?;
    edit(path, |_, table| match table {
        Table::Gpt(g) => {
            if let Some(p) = g.parts.get_mut(&n) {
                p.part_guid = guid;
            }
            Ok(())
        }
        Table::Mbr(_) => Err(not_gpt(op, dev)),
    })
}

/// `part_set_gpt_attributes`: all 64 attribute bits at once. An unused entry is left
/// alone without an error, as sgdisk does.
pub fn set_gpt_attributes(path: &Path, dev: &str, partnum: i32, attributes: i64) -> io::Result<()> {
    let op = "part_set_gpt_attributes";
    let n = check_partnum(op, partnum)?;
    if n > GPT_ENTRIES {
        return Err(einval(format!(
            "{op}: sgdisk: Error: Invalid partition number {n}"
        )));
    }
    edit(path, |_, table| match table {
        Table::Gpt(g) => {
            // An unused entry is left alone, as sgdisk does, without an error.
            if let Some(p) = g.parts.get_mut(&n) {
                p.flags = attributes as u64;
            }
            Ok(())
        }
        Table::Mbr(_) => Err(not_gpt(op, dev)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_must_have_the_dashed_shape() {
        assert!(parse_guid("x", "01234567-89ab-CDEF-0123-456789ABCDEF").is_ok());
        for bad in [
            "",
            "zzz",
            "0123456789abcdef0123456789abcdef",
            "{01234567-89ab-cdef-0123-456789abcdef}",
        ] {
            let e = parse_guid("x", bad).unwrap_err();
            assert_eq!(e.to_string(), "x: guid: parameter is not a valid GUID");
        }
    }

    #[test]
    fn partition_numbers_start_at_one() {
        assert_eq!(check_partnum("p", 1).unwrap(), 1);
        assert_eq!(
            check_partnum("p", 0).unwrap_err().to_string(),
            "p: partition number must be >= 1"
        );
        assert!(check_partnum("p", -1).is_err());
    }
}
