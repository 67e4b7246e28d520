//! guestfish's `df` and `df-h`: the mounted guest filesystems in df(1)'s table, under the
//! appliance's /sysroot as guestfish shows them.

use crate::fs::guestfs;
use guestwright_protocol::MountEntry;
use std::io;
use std::os::fd::AsFd;

/// One row: the filesystem's sizes in bytes.
struct Row {
    source: String,
    size: u64,
    used: u64,
    avail: u64,
    target: String,
}

/// `n` bytes in units of `unit`, rounded up (df rounds sizes up).
fn ceil_div(n: u64, unit: u64) -> u64 {
    n.div_ceil(unit)
}

/// df -h's form: powers of 1024, one decimal below 10, rounded up.
pub fn human(n: u64) -> String {
    const SUFFIXES: [&str; 8] = ["K", "M", "G", "T", "P", "E", "Z", "Y"];
    if n < 1024 {
        return n.to_string();
    }
    let mut unit: u128 = 1024;
    let mut i = 0;
    let n128 = u128::from(n);
    while i + 1 < SUFFIXES.len() && n128 >= unit * 1024 {
        unit *= 1024;
        i += 1;
    }
    // Tenths, rounded up.
    let tenths = (n128 * 10).div_ceil(unit);
    if tenths < 100 {
        return format!("{}.{}{}", tenths / 10, tenths % 10, SUFFIXES[i]);
    }
    let whole = n128.div_ceil(unit);
    if whole >= 1024 && i + 1 < SUFFIXES.len() {
        // 1023.1K rounds up to 1.0M.
        return format!("1.0{}", SUFFIXES[i + 1]);
    }
    format!("{whole}{}", SUFFIXES[i])
}

fn percent(used: u64, avail: u64) -> String {
    let total = u128::from(used) + u128::from(avail);
    if total == 0 {
        return "-".to_string();
    }
    format!("{}%", (u128::from(used) * 100).div_ceil(total))
}

/// The table as df(1) prints it: left-aligned source and target, right-aligned numbers,
/// each column as wide as its widest cell or its minimum.
fn table(rows: &[Row], human_sizes: bool) -> String {
    let header: [&str; 6] = if human_sizes {
        ["Filesystem", "Size", "Used", "Avail", "Use%", "Mounted on"]
    } else {
        [
            "Filesystem",
            "1K-blocks",
            "Used",
            "Available",
            "Use%",
            "Mounted on",
        ]
    };
    let min = [14usize, 5, 5, 5, 4, 0];
    let num = |n: u64| {
        if human_sizes {
            human(n)
        } else {
            ceil_div(n, 1024).to_string()
        }
    };
    let mut cells: Vec<[String; 6]> = vec![header.map(str::to_string)];
    for r in rows {
        cells.push([
            r.source.clone(),
            num(r.size),
            num(r.used),
            num(r.avail),
            percent(r.used, r.avail),
            r.target.clone(),
        ]);
    }
    let mut width = min;
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            let pad = width[i] - c.chars().count();
            if i == 0 || i == 5 {
                line.push_str(c);
                if i == 0 {
                    line.push_str(&" ".repeat(pad));
                }
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `df` (`human_sizes`: `df -h`) of the mounted guest filesystems.
pub fn df(mounts: &[MountEntry], human_sizes: bool) -> io::Result<String> {
    let mut rows = Vec::new();
    for m in mounts {
        let fd = guestfs::open(&m.mountpoint, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        let st = crate::sys::fstatvfs(fd.as_fd())?;
        let frsize: u64 = st.f_frsize;
        let size = st.f_blocks * frsize;
        let used = st.f_blocks.saturating_sub(st.f_bfree) * frsize;
        let avail = st.f_bavail * frsize;
        let mp = m.mountpoint.to_string();
        let target = if mp == "/" {
            guestfs::SYSROOT.to_string()
        } else {
            format!("{}{mp}", guestfs::SYSROOT)
        };
        rows.push(Row {
            source: m.device.as_str().to_string(),
            size,
            used,
            avail,
            target,
        });
    }
    Ok(table(&rows, human_sizes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_round_up_like_df() {
        assert_eq!(human(0), "0");
        assert_eq!(human(1024), "1.0K");
        assert_eq!(human(33519 * 1024), "33M");
        assert_eq!(human(9 * 1024 * 1024 + 1), "9.1M");
        assert_eq!(human(1023 * 1024 + 1), "1.0M");
    }

    #[test]
    fn the_table_is_aligned_like_df() {
        let rows = [Row {
            source: "/dev/sda1".into(),
            size: 33519 * 1024,
            used: 338 * 1024,
            avail: 30314 * 1024,
            target: "/sysroot".into(),
        }];
        assert_eq!(
            table(&rows, false),
            "Filesystem     1K-blocks  Used Available Use% Mounted on\n\
             /dev/sda1          33519   338     30314   2% /sysroot\n"
        );
    }
}
