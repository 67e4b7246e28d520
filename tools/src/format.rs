//! Text formatting shared by the listing commands: mode strings, dates, human sizes, and
//! printing guest-supplied names safely.

use std::io::{self, Write};

/// `1.5G`, `512K`, `12` (powers of 1024, like `df -h`).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["", "K", "M", "G", "T", "P"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}")
    } else if v < 10.0 {
        format!("{v:.1}{}", UNITS[unit])
    } else {
        format!("{v:.0}{}", UNITS[unit])
    }
}

/// Writes a guest-supplied name: escaped on a terminal, raw bytes otherwise (so scripts get
/// the exact name).
pub fn write_name(out: &mut impl Write, name: &[u8], escape: bool) -> io::Result<()> {
    if escape {
        out.write_all(guestwright::protocol::escape_bytes(name).as_bytes())
    } else {
        out.write_all(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human(512), "512");
        assert_eq!(human(1536), "1.5K");
        assert_eq!(human(64 << 20), "64M");
        assert_eq!(human(3 << 30), "3.0G");
    }
}
