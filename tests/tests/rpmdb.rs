//! The rpm database readers against the real tools, without a VM: databases written by
//! Debian's `rpm` (SQLite) and Berkeley DB's `db_load` (hash files of every page size and
//! both byte orders), read back by guestwright and compared with what `rpm -qa` and the
//! loaded pairs say. Debian's rpm has no NDB backend, so SUSE's `Packages.db` is written by
//! the test helper from the format's description, holding the blobs rpm wrote to SQLite.

use guestwright::inspect::packages::Application;
use guestwright::inspect::rpmdb::{self, bdb};
use guestwright_tests::rpmguest::{db_load, install_rpmdb, ndb_file, sqlite_blobs};
use guestwright_tests::{require, run};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// What Debian's rpm (librpm 4.18) reports for every package of the database in `db`, in
/// the fields and order virt-inspector reports them.
fn rpm_says(db: &Path) -> Vec<Application> {
    require("rpm", "rpm");
    let out = run(Command::new("rpm")
        .arg("--define")
        .arg(format!("_dbpath {}", db.display()))
        .args([
            "-qa",
            "--qf",
            "%{NAME}\x1f%{EPOCHNUM}\x1f%{VERSION}\x1f%{RELEASE}\x1f%{ARCH}\x1f%{URL}\x1f%{SUMMARY}\x1f%{DESCRIPTION}\x1e",
        ]));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut apps: Vec<Application> = text
        .split_terminator('\x1e')
        .map(|r| {
            let f: Vec<&str> = r.split('\x1f').collect();
            assert_eq!(f.len(), 8, "{r:?}");
            Application {
                name: f[0].into(),
                epoch: f[1].parse().unwrap(),
                version: f[2].into(),
                release: f[3].into(),
                arch: f[4].into(),
                url: f[5].into(),
                summary: f[6].into(),
                description: f[7].into(),
                ..Application::default()
            }
        })
        .collect();
    apps.sort_by(|a, b| a.name.cmp(&b.name).then(a.version.cmp(&b.version)));
    apps
}

#[test]
fn sqlite_and_berkeley_db_read_as_rpm_reads_them() {
    for bdb in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        install_rpmdb(dir.path(), bdb);
        let db = dir.path().join("var/lib/rpm");
        let decoded = if bdb {
            let file = std::fs::File::open(db.join("Packages")).unwrap();
            let len = file.metadata().unwrap().len();
            rpmdb::from_bdb(&file, len).unwrap()
        } else {
            rpmdb::from_sqlite(&db.join("rpmdb.sqlite")).unwrap()
        };
        assert!(decoded.damaged.is_empty(), "{:?}", decoded.damaged);
        let want = rpm_says(&db);
        assert_eq!(want.len(), 6, "the six test packages");
        let mut ours = decoded.apps.clone();
        ours.sort_by(|a, b| a.name.cmp(&b.name).then(a.version.cmp(&b.version)));
        assert_eq!(ours, want, "bdb: {bdb}");
        // Sorted by name; of one name, the last recorded first (virt-inspector's order).
        assert!(decoded.apps.windows(2).all(|w| w[0].name <= w[1].name));
        let kernels: Vec<&str> = decoded
            .apps
            .iter()
            .filter(|a| a.name == "kernel-core")
            .map(|a| a.version.as_str())
            .collect();
        assert_eq!(kernels, ["6.5.7", "6.5.6"], "bdb: {bdb}");
        // The epoch-less package says (none) for its URL, as librpm's headerFormat does.
        let tz = want.iter().find(|a| a.name == "tzdata").unwrap();
        assert_eq!((tz.url.as_str(), tz.epoch), ("(none)", 0));
    }
}

#[test]
fn ndb_packages_db_reads_as_rpm_reads_the_same_headers() {
    let dir = tempfile::tempdir().unwrap();
    install_rpmdb(dir.path(), false);
    let db = dir.path().join("var/lib/rpm");
    let want = rpm_says(&db);
    assert_eq!(want.len(), 6, "the six test packages");
    let rows = sqlite_blobs(&db);
    for slot_pages in [1, 3] {
        let file = ndb_file(&rows, slot_pages);
        let d = rpmdb::from_ndb(&file[..], file.len() as u64).unwrap();
        assert!(d.damaged.is_empty(), "{:?}", d.damaged);
        let mut ours = d.apps.clone();
        ours.sort_by(|a, b| a.name.cmp(&b.name).then(a.version.cmp(&b.version)));
        assert_eq!(ours, want, "slot pages: {slot_pages}");
        // rpm lists NDB packages in file order, which the helper made the reverse of the
        // header numbers; virt-inspector reverses that and sorts by name, stably.
        let kernels: Vec<&str> = d
            .apps
            .iter()
            .filter(|a| a.name == "kernel-core")
            .map(|a| a.version.as_str())
            .collect();
        assert_eq!(kernels, ["6.5.6", "6.5.7"]);
    }

    // Through a file on disk, as inspection reads its copy.
    let file = ndb_file(&rows, 1);
    let path = dir.path().join("Packages.db");
    std::fs::write(&path, &file).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    assert_eq!(
        rpmdb::from_ndb(&f, file.len() as u64).unwrap().apps.len(),
        6
    );

    // One blob's bytes flipped: that package is named as damaged, the others are listed.
    let mut bad = file.clone();
    let last = bad.len() - 40;
    bad[last] ^= 0xff;
    let d = rpmdb::from_ndb(&bad[..], bad.len() as u64).unwrap();
    assert_eq!(d.apps.len(), 5);
    assert_eq!(d.damaged.len(), 1);
    assert_eq!(
        d.damaged[0].1.to_string(),
        "its frame in the database is damaged: the blob's checksum does not match"
    );

    // Cut short: the slots point past the end, an error that says so, never a partial list.
    let cut = &file[..file.len() - 16];
    let e = rpmdb::from_ndb(cut, cut.len() as u64).unwrap_err();
    assert!(e.to_string().contains("outside the blob area"), "{e}");
    // A damaged slot area is an error for the whole file, as in rpm.
    let mut bad = file.clone();
    bad[48..52].copy_from_slice(b"XXXX");
    let e = rpmdb::from_ndb(&bad[..], bad.len() as u64).unwrap_err();
    assert_eq!(
        e.to_string(),
        "slot 3: no slot magic: the slot area is damaged"
    );
    // Not an NDB file.
    let e = rpmdb::from_ndb(&[0u8; 4096][..], 4096).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not an rpm NDB package file (magic 0x00000000, want \"RpmP\")"
    );
}

#[test]
fn a_damaged_header_in_sqlite_is_named_and_the_rest_listed() {
    let dir = tempfile::tempdir().unwrap();
    install_rpmdb(dir.path(), false);
    let path = dir.path().join("var/lib/rpm/rpmdb.sqlite");
    {
        let conn = rusqlite_conn(&path);
        conn.execute(
            "UPDATE Packages SET blob = X'0000FFFF00000010' WHERE hnum = 2",
            [],
        )
        .unwrap();
    }
    let d = rpmdb::from_sqlite(&path).unwrap();
    assert_eq!(d.apps.len(), 5);
    assert_eq!(d.damaged.len(), 1);
    assert_eq!(d.damaged[0].0, 2);
    assert!(
        d.damaged[0].1.to_string().contains("shorter than"),
        "{}",
        d.damaged[0].1
    );
    // A database without a Packages table is an error that says so.
    let empty = dir.path().join("empty.sqlite");
    rusqlite_conn(&empty)
        .execute("CREATE TABLE Other (x)", [])
        .unwrap();
    let e = rpmdb::from_sqlite(&empty).unwrap_err();
    assert_eq!(e.to_string(), "it has no Packages table (found: nothing)");
}

fn rusqlite_conn(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

/// `n` pairs with keys 1..=n (4 bytes, `big`-endian or not) and values from 1 byte to a
/// few pages, deterministic.
fn pairs(n: u32, big: bool) -> Vec<([u8; 4], Vec<u8>)> {
    let mut seed = 0x2545_f491_u32;
    (1..=n)
        .map(|k| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let len = match k % 7 {
                0 => 9000 + (seed % 30000) as usize,
                1 => 1,
                _ => (seed % 700) as usize + 1,
            };
            let value: Vec<u8> = (0..len).map(|i| (i as u32 ^ k ^ seed) as u8).collect();
            let key = if big {
                k.to_be_bytes()
            } else {
                k.to_le_bytes()
            };
            (key, value)
        })
        .collect()
}

#[test]
fn berkeley_db_hash_pages_of_every_size_and_order() {
    let dir = tempfile::tempdir().unwrap();
    for (page, big) in [(512, false), (4096, false), (65536, false), (1024, true)] {
        let want = pairs(300, big);
        let mut text = String::new();
        for (k, v) in &want {
            for item in [&k[..], &v[..]] {
                for b in item {
                    let _ = write!(text, "\\{b:02x}");
                }
                text.push('\n');
            }
        }
        let file = dir.path().join(format!("db-{page}-{big}"));
        let pagesize = format!("db_pagesize={page}");
        let lorder = if big {
            "db_lorder=4321"
        } else {
            "db_lorder=1234"
        };
        db_load(&file, &text, &[&pagesize, lorder]);
        let bytes = std::fs::read(&file).unwrap();
        let mut db = bdb::HashDb::open(&bytes[..], bytes.len() as u64).unwrap();
        assert_eq!(db.big_endian(), big);
        let mut got: Vec<([u8; 4], Vec<u8>)> = Vec::new();
        db.for_each(|k, v| got.push((k.try_into().unwrap(), v)))
            .unwrap();
        got.sort();
        let mut want = want.clone();
        want.sort();
        assert_eq!(got.len(), want.len(), "page size {page}");
        assert!(
            got == want,
            "page size {page}, big-endian {big}: pairs differ"
        );
        // Cut short, the same file is an error, never a panic or a partial list.
        let cut = &bytes[..bytes.len() - page];
        let mut db = bdb::HashDb::open(cut, cut.len() as u64).unwrap();
        assert!(db.for_each(|_, _| {}).is_err());
    }
    // Checksummed pages are refused with a reason, not misread.
    let file = dir.path().join("chksum");
    db_load(&file, "\\01\n\\02\n", &["chksum=1"]);
    let bytes = std::fs::read(&file).unwrap();
    let e = bdb::HashDb::open(&bytes[..], bytes.len() as u64).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "the database is checksummed, which this reader does not support"
    );
    // Not a hash database at all.
    let e = bdb::HashDb::open(&[0u8; 4096][..], 4096).expect_err("not a database");
    assert!(
        e.to_string().starts_with("not a Berkeley DB hash database"),
        "{e}"
    );
}
