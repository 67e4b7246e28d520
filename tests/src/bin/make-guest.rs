//! Builds one of the test guests at a path, to try tools on it by hand: `make-guest
//! windows|coreos OUT.img` (`scripts/record-inspector` builds them with the other parity
//! guests). `make-guest hives DIR`
//! writes the test guest's registry hives (and a larger one) as seeds for the `hive` fuzz
//! target (`fuzz/seeds/hive`). `make-guest ndb-seeds DIR` writes NDB `Packages.db` files of
//! the rpm test packages as seeds for the `rpm_ndb` fuzz target (`fuzz/seeds/rpm_ndb`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, out] = args.as_slice() else {
        eprintln!(
            "usage: make-guest windows|coreos OUT.img | make-guest hives DIR | make-guest ndb-seeds DIR"
        );
        return ExitCode::from(2);
    };
    if kind == "hives" {
        return hives(std::path::Path::new(out));
    }
    if kind == "ndb-seeds" {
        return ndb_seeds(std::path::Path::new(out));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let img = match kind.as_str() {
        "windows" => guestwright_tests::windows_guest(dir.path(), "guest.img"),
        "coreos" => guestwright_tests::coreos_guest(dir.path(), "guest.img"),
        other => {
            eprintln!("make-guest: no guest called {other:?}: windows or coreos");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::copy(&img, out) {
        eprintln!("make-guest: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The fuzz seeds: SOFTWARE and SYSTEM as the Windows guest has them, an empty hive, and one
/// with several bins (hundreds of keys, a value too large for one cell, every value type).
fn hives(dir: &std::path::Path) -> ExitCode {
    use guestwright_tests::{empty_hive, make_hive, WINDOWS_SOFTWARE_REG, WINDOWS_SYSTEM_REG};
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("make-guest: cannot make {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let work = tempfile::tempdir().expect("a temporary directory");
    let mut large = String::from(
        "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Many]\n\n",
    );
    for i in 0..120 {
        large.push_str(&format!(
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Many\\Key{i:04}]\n\"Name\"=\"value {i}\"\n\"Count\"=dword:{i:08x}\n\n"
        ));
    }
    let big: Vec<String> = (0..17_000).map(|i| format!("{:02x}", i % 251)).collect();
    large.push_str(&format!(
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Types]\n\"Big\"=hex:{}\n\"Multi\"=hex(7):61,00,00,00,62,00,00,00,00,00\n\"Expand\"=hex(2):25,00,53,00,59,00,53,00,25,00,00,00\n\"Qword\"=hex(b):01,02,03,04,05,06,07,08\n\"Odd\"=hex:01,02,03\n@=\"default\"\n\n",
        big.join(",")
    ));
    for (name, prefix, reg) in [
        (
            "software",
            r"HKEY_LOCAL_MACHINE\SOFTWARE",
            WINDOWS_SOFTWARE_REG,
        ),
        ("system", r"HKEY_LOCAL_MACHINE\SYSTEM", WINDOWS_SYSTEM_REG),
        ("large", r"HKEY_LOCAL_MACHINE\SOFTWARE", large.as_str()),
    ] {
        let path = work.path().join(name);
        make_hive(&path, prefix, reg);
        if let Err(e) = std::fs::copy(&path, dir.join(name)) {
            eprintln!("make-guest: cannot write {}: {e}", dir.join(name).display());
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = std::fs::write(dir.join("empty"), empty_hive("ROOT")) {
        eprintln!(
            "make-guest: cannot write {}: {e}",
            dir.join("empty").display()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The `rpm_ndb` seeds: the six rpm test packages in one and three slot pages, and one
/// package alone.
fn ndb_seeds(dir: &std::path::Path) -> ExitCode {
    use guestwright_tests::rpmguest::{install_rpmdb, ndb_file, sqlite_blobs};
    let root = tempfile::tempdir().expect("a temporary directory");
    install_rpmdb(root.path(), false);
    let rows = sqlite_blobs(&root.path().join("var/lib/rpm"));
    let seeds = [
        ("six-packages", ndb_file(&rows, 1)),
        ("six-packages-3-slot-pages", ndb_file(&rows, 3)),
        ("one-package", ndb_file(&rows[..1], 1)),
    ];
    for (name, bytes) in seeds {
        if let Err(e) =
            std::fs::create_dir_all(dir).and_then(|()| std::fs::write(dir.join(name), bytes))
        {
            eprintln!("make-guest: cannot write {}: {e}", dir.join(name).display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
