//! The checksums superblocks carry, so a probe can tell a real header from a look-alike.
//!
//! All are reflected CRC-32s, differing in polynomial, seed and final inversion:
//! GPT uses zlib's CRC-32; ext4, XFS and btrfs use CRC-32C (Castagnoli); LVM2 uses CRC-32's
//! polynomial with its own seed and no final inversion.

// Runs at compile time: `i < 256` and `bit < 8` bound the index and the counters, and an
// overflow would fail the build rather than panic (const fns cannot use `get_mut`).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn table(poly: u32) -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0u32;
    while i < 256 {
        let mut crc = i;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ poly
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i as usize] = crc;
        i += 1;
    }
    table
}

static CRC32: [u32; 256] = table(0xEDB8_8320);
static CRC32C: [u32; 256] = table(0x82F6_3B78);

fn update(table: &[u32; 256], mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let [low, ..] = crc.to_le_bytes();
        let index = usize::from(low ^ b);
        crc = (crc >> 8) ^ table.get(index).copied().unwrap_or(0);
    }
    crc
}

/// zlib's CRC-32, as in the GPT header and partition array.
pub(super) fn crc32(data: &[u8]) -> u32 {
    !update(&CRC32, !0, data)
}

/// The raw CRC-32C register after `data`, starting from `seed`, without the final inversion:
/// the form the Linux kernel's `crc32c()` computes and ext4 stores.
pub(super) fn crc32c_raw(seed: u32, data: &[u8]) -> u32 {
    update(&CRC32C, seed, data)
}

/// The standard CRC-32C (seed `!0`, inverted at the end), as btrfs and XFS store it.
pub(super) fn crc32c(data: &[u8]) -> u32 {
    !crc32c_raw(!0, data)
}

/// LVM2's label checksum (`calc_crc` in lvm2's `lib/misc/crc.c`): the CRC-32 polynomial,
/// seeded with `0xf597a6cf`, not inverted.
pub(super) fn lvm_crc(data: &[u8]) -> u32 {
    update(&CRC32, 0xf597_a6cf, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        // The standard check values for "123456789".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_raw(!0, b"123456789"), !0xE306_9283);
        assert_eq!(lvm_crc(b""), 0xf597_a6cf);
        assert_ne!(lvm_crc(b"a"), lvm_crc(b"b"));
    }
}
