//! rpm databases for test guests, made by the real tools: small packages built with
//! `rpmbuild` from specs written here, recorded with Debian's `rpm --justdb` into a SQLite
//! `rpmdb.sqlite`, and, for older guests, the same header blobs loaded into a Berkeley DB
//! hash `Packages` file with `db_load` (Debian's rpm 4.18 reads Berkeley DB but no longer
//! writes it).

use crate::{require, run};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// One package: what the spec says.
struct Spec {
    name: &'static str,
    epoch: Option<u32>,
    version: &'static str,
    release: &'static str,
    arch: &'static str,
    summary: &'static str,
    url: Option<&'static str>,
    description: String,
}

fn specs() -> Vec<Spec> {
    // Long enough that its header spills over several Berkeley DB overflow pages.
    let mut long =
        String::from("zlib is a general-purpose, patent-free, lossless data compression library.");
    for i in 0..120 {
        let _ = write!(
            long,
            "\nLine {i} of a long description, to make the header larger than a page."
        );
    }
    vec![
        Spec {
            name: "hello",
            epoch: Some(2),
            version: "2.12.1",
            release: "3.fc38",
            arch: "x86_64",
            summary: "Prints a familiar, friendly greeting",
            url: Some("https://www.gnu.org/software/hello/"),
            description: "The GNU Hello program produces a familiar, friendly greeting.\nIt also shows <markup> & \"quotes\".\n\nA second paragraph."
                .into(),
        },
        Spec {
            name: "tzdata",
            epoch: None,
            version: "2023c",
            release: "1.fc38",
            arch: "noarch",
            summary: "Timezone data: café, naïve, 東京",
            url: None,
            description: "This package contains data files with rules for various timezones.".into(),
        },
        Spec {
            name: "zlib",
            epoch: Some(0),
            version: "1.2.13",
            release: "4.fc38",
            arch: "x86_64",
            summary: "Compression and decompression library",
            url: Some("https://www.zlib.net/"),
            description: long,
        },
        Spec {
            name: "kernel-core",
            epoch: None,
            version: "6.5.6",
            release: "300.fc38",
            arch: "x86_64",
            summary: "The Linux kernel",
            url: Some("https://www.kernel.org/"),
            description: "The kernel package contains the Linux kernel.".into(),
        },
        Spec {
            name: "kernel-core",
            epoch: None,
            version: "6.5.7",
            release: "300.fc38",
            arch: "x86_64",
            summary: "The Linux kernel",
            url: Some("https://www.kernel.org/"),
            description: "The kernel package contains the Linux kernel.".into(),
        },
        Spec {
            name: "bash",
            epoch: None,
            version: "5.2.15",
            release: "3.fc38",
            arch: "x86_64",
            summary: "The GNU Bourne Again shell",
            url: Some("https://www.gnu.org/software/bash"),
            description: "The GNU Bourne Again shell (Bash) is a shell or command language\ninterpreter that is compatible with the Bourne shell (sh).".into(),
        },
    ]
}

fn spec_text(s: &Spec) -> String {
    let mut t = format!(
        "Name: {}\nVersion: {}\nRelease: {}\nSummary: {}\nLicense: MIT\nBuildArch: {}\n",
        s.name, s.version, s.release, s.summary, s.arch
    );
    if let Some(e) = s.epoch {
        let _ = writeln!(t, "Epoch: {e}");
    }
    if let Some(u) = s.url {
        let _ = writeln!(t, "URL: {u}");
    }
    let _ = write!(t, "%description\n{}\n%files\n", s.description);
    t
}

/// Builds the packages and records them in a new SQLite database at `root/var/lib/rpm`,
/// with `/usr/lib/rpm/macros` naming that path (librpm, which virt-inspector runs chrooted
/// in the guest, finds its database there). With `bdb`, the database is then replaced by a
/// Berkeley DB `Packages` file holding the same headers.
pub fn install_rpmdb(root: &Path, bdb: bool) {
    require("rpmbuild", "rpm");
    let work = tempfile::tempdir().unwrap();
    let top = work.path().join("top");
    let specs_dir = top.join("SPECS");
    std::fs::create_dir_all(&specs_dir).unwrap();
    let mut rpms = Vec::new();
    for (i, s) in specs().iter().enumerate() {
        let spec = specs_dir.join(format!("{i}-{}.spec", s.name));
        std::fs::write(&spec, spec_text(s)).unwrap();
        run(Command::new("rpmbuild")
            .arg("-bb")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .arg("--define")
            .arg("_build_id_links none")
            .arg(&spec));
        rpms.push(top.join("RPMS").join(s.arch).join(format!(
            "{}-{}-{}.{}.rpm",
            s.name, s.version, s.release, s.arch
        )));
    }
    let db = root.join("var/lib/rpm");
    std::fs::create_dir_all(&db).unwrap();
    let dbpath = format!("_dbpath {}", db.display());
    run(Command::new("rpm").args(["--define", &dbpath, "--initdb"]));
    // One at a time, so the header numbers follow the list.
    for rpm in &rpms {
        run(Command::new("rpm")
            .args(["--define", &dbpath])
            .args(["-i", "--justdb", "--nodeps", "--noscripts", "--notriggers"])
            .args(["--ignorearch", "--ignoreos"])
            .arg(rpm));
    }
    // rpm leaves its lock file, the write-ahead log and its index beside the database, as
    // on a real guest; librpm needs the last two to open the database on a read-only mount.
    // librpm reads its configuration from the guest: without an rpmrc it reads no macros,
    // and without a macro naming the database it opens none.
    let config = root.join("usr/lib/rpm");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("rpmrc"), "# the defaults built into rpm hold\n").unwrap();
    std::fs::write(config.join("macros"), "%_dbpath /var/lib/rpm\n").unwrap();
    if bdb {
        sqlite_to_bdb(&db);
    }
}

/// Replaces `db/rpmdb.sqlite` with a Berkeley DB hash `db/Packages` of the same blobs, keyed
/// by header number in this machine's byte order, with key 0 holding the next free number,
/// as rpm wrote it.
fn sqlite_to_bdb(db: &Path) {
    require("db_load", "db-util");
    let sqlite = db.join("rpmdb.sqlite");
    let rows = sqlite_blobs(db);
    let next = rows.last().map_or(1, |r| r.0 + 1);
    let mut text = String::new();
    let mut pair = |key: u32, value: &[u8]| {
        for b in key.to_ne_bytes() {
            let _ = write!(text, "\\{b:02x}");
        }
        text.push('\n');
        for b in value {
            let _ = write!(text, "\\{b:02x}");
        }
        text.push('\n');
    };
    pair(0, &next.to_ne_bytes());
    for (hnum, blob) in &rows {
        pair(*hnum, blob);
    }
    db_load(&db.join("Packages"), &text, &[]);
    std::fs::remove_file(sqlite).unwrap();
}

/// `db_load -T -t hash` of `text` (key and value lines, bytes as `\xx`) into `file`, with
/// extra `-c` settings (`db_pagesize=512`, `db_lorder=4321`).
pub fn db_load(file: &Path, text: &str, settings: &[&str]) {
    require("db_load", "db-util");
    let mut cmd = Command::new("db_load");
    cmd.args(["-T", "-t", "hash"]);
    for s in settings {
        cmd.args(["-c", s]);
    }
    let mut child = cmd
        .arg(file)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("db_load");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "db_load failed");
}

/// An NDB `Packages.db` (rpm's `_db_backend ndb`, SUSE) holding `blobs` (package number,
/// header blob), written from the format's description (rpm's `lib/backend/ndb/rpmpkg.c`)
/// because Debian's rpm is built without that backend. As rpm leaves a file after
/// installs and erases: a 32-byte header, `slot_pages` pages of slots in which the first
/// slot is free (an erased package), the used slots in the order given, and the blobs laid
/// out in the reverse of that order after a free gap of one block, so that file order (which
/// rpm lists in) is not slot order.
pub fn ndb_file(blobs: &[(u32, Vec<u8>)], slot_pages: u32) -> Vec<u8> {
    fn le(out: &mut Vec<u8>, words: &[u32]) {
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    fn adler(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u64, 0u64);
        for &x in data {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        ((b << 16) | a) as u32
    }
    let area = slot_pages as usize * 4096;
    assert!(
        area >= 32 + 16 * (blobs.len() + 1),
        "too many packages for the slot area"
    );
    let next = blobs.iter().map(|b| b.0).max().unwrap_or(0) + 1;
    let mut out = Vec::new();
    le(
        &mut out,
        &[u32::from_le_bytes(*b"RpmP"), 0, 7, slot_pages, next],
    );
    out.resize(32, 0);
    // The blobs, back to front, after a free block.
    let mut data = vec![0u8; 16];
    let mut placed = vec![(0u32, 0u32); blobs.len()];
    for (i, (pkg, blob)) in blobs.iter().enumerate().rev() {
        let start = area + data.len();
        let mut b = Vec::new();
        le(
            &mut b,
            &[u32::from_le_bytes(*b"BlbS"), *pkg, 7, blob.len() as u32],
        );
        b.extend_from_slice(blob);
        while (b.len() + 12) % 16 != 0 {
            b.push(0);
        }
        let sum = adler(&b);
        le(
            &mut b,
            &[sum, blob.len() as u32, u32::from_le_bytes(*b"BlbE")],
        );
        placed[i] = ((start / 16) as u32, (b.len() / 16) as u32);
        data.extend_from_slice(&b);
    }
    // A free slot, then the used ones, then free ones to the end of the area.
    le(&mut out, &[u32::from_le_bytes(*b"Slot"), 0, 0, 0]);
    for ((pkg, _), (off, count)) in blobs.iter().zip(&placed) {
        le(
            &mut out,
            &[u32::from_le_bytes(*b"Slot"), *pkg, *off, *count],
        );
    }
    while out.len() < area {
        le(&mut out, &[u32::from_le_bytes(*b"Slot"), 0, 0, 0]);
    }
    out.extend_from_slice(&data);
    out
}

/// The (header number, blob) rows of the SQLite database `db/rpmdb.sqlite`, by number.
pub fn sqlite_blobs(db: &Path) -> Vec<(u32, Vec<u8>)> {
    let conn = rusqlite::Connection::open_with_flags(
        db.join("rpmdb.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}
