//! The fuzz targets on stable: each body runs over its seeds, over mutations of them and over
//! pseudo-random input from a fixed-seed xorshift generator, so every run tries the same
//! inputs and a failure reproduces. A failing input is saved under
//! `target/fuzz-failures/` and can be replayed with the real fuzzer
//! (`cargo fuzz run TARGET FILE`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Values that tend to sit on the edge of a check.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x1ff,
    0x200,
    0x1000,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    u64::MAX,
];

/// One to four random edits of `seed`: bit flips, byte and integer overwrites with interesting
/// values, truncation and extension. Edits favour non-zero bytes, which is where a superblock's
/// fields are.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        if data.is_empty() {
            let len = 1 + rng.below(64);
            data = rng.bytes(len);
            continue;
        }
        let mut at = rng.below(data.len());
        for _ in 0..8 {
            if data[at] != 0 {
                break;
            }
            at = rng.below(data.len());
        }
        match rng.below(6) {
            0 => data[at] ^= 1 << rng.below(8),
            1 => data[at] = rng.next() as u8,
            2 => {
                let value = INTERESTING[rng.below(INTERESTING.len())];
                let width = [1, 2, 4, 8][rng.below(4)];
                let (le, be) = (value.to_le_bytes(), value.to_be_bytes());
                let src = if rng.below(2) == 0 {
                    &le[..width]
                } else {
                    &be[8 - width..]
                };
                let end = (at + width).min(data.len());
                data[at..end].copy_from_slice(&src[..end - at]);
            }
            3 => data.truncate(at),
            4 => {
                let len = rng.below(256);
                let extra = rng.bytes(len);
                data.extend_from_slice(&extra);
            }
            _ => {
                // Copy a stretch from elsewhere over this spot (duplicates magic and headers).
                let from = rng.below(data.len());
                let len = rng.below(64).min(data.len() - from).min(data.len() - at);
                let piece = data[from..from + len].to_vec();
                data[at..at + len].copy_from_slice(&piece);
            }
        }
    }
    data
}

/// Runs `body` on `input`; on a panic, saves the input and fails the test naming it.
fn run(target: &str, what: &str, body: fn(&[u8]), input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| body(input))).is_err() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{target}-{}", what.replace(['/', ' '], "_")));
        std::fs::write(&file, input).unwrap();
        panic!(
            "{target} panicked on {what} ({} bytes), saved as {}",
            input.len(),
            file.display()
        );
    }
}

/// Seeds, then `mutations` mutations of each seed, then `random` random inputs of up to
/// `max_random` bytes.
/// `FUZZ_SCALE=N` multiplies the counts, for a longer soak on stable.
fn exercise(
    target: &str,
    body: fn(&[u8]),
    seeds: &[(String, Vec<u8>)],
    mutations: usize,
    random: usize,
    max_random: usize,
) {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    let scale: usize = std::env::var("FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let (mutations, random) = (mutations * scale, random * scale);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
    for (name, seed) in seeds {
        run(target, name, body, seed);
        for i in 0..mutations {
            let input = mutate(&mut rng, seed);
            run(target, &format!("{name}-mutation-{i}"), body, &input);
        }
    }
    for i in 0..random {
        let len = rng.below(max_random + 1);
        let input = rng.bytes(len);
        run(target, &format!("random-{i}"), body, &input);
    }
}

/// The disk image seeds, made once into `target/seed-corpus` by `make-corpus.sh
/// --images-only`, plus the in-code devices. Never `corpus/probe`: libFuzzer adds every input
/// that finds new coverage there, most of them no longer images.
fn probe_seeds() -> Vec<(String, Vec<u8>)> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = here.join("target/seed-corpus");
    if !has_files(&cache.join("probe")) {
        let out = Command::new("bash")
            .arg(here.join("make-corpus.sh"))
            .arg("--images-only")
            .arg(&cache)
            .output()
            .expect("cannot run make-corpus.sh");
        assert!(
            out.status.success(),
            "make-corpus.sh failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = cache.join("probe");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path: PathBuf = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    seeds.sort();
    seeds.extend(
        crate::seeds::devices()
            .into_iter()
            .map(|(n, d)| (n.to_string(), d)),
    );
    seeds
}

fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

fn named(seeds: Vec<Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    seeds
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("seed-{i}"), s))
        .collect()
}

#[test]
fn probe_seeds_are_recognised() {
    // The seeds are real images: the probe must know nearly all of them even cut to 128 KiB
    // (the target would learn little from seeds it rejects).
    let seeds = probe_seeds();
    let unknown: Vec<&str> = seeds
        .iter()
        .filter(|(_, data)| {
            guestwright_daemon::probe::probe(&mut std::io::Cursor::new(data), data.len() as u64)
                .unwrap()
                .is_none()
        })
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(seeds.len() >= 15, "only {} seeds", seeds.len());
    assert!(
        unknown.is_empty(),
        "seeds the probe does not recognise: {unknown:?}"
    );
}

#[test]
fn probe_target() {
    exercise(
        "probe",
        crate::probe,
        &probe_seeds(),
        2000,
        3000,
        140 * 1024,
    );
}

#[test]
fn luks_header_target() {
    // A LUKS2 and a LUKS1 header from the host's cryptsetup when it has one, and the magic
    // alone.
    let mut seeds = vec![("magic".to_string(), b"LUKS\xba\xbe\x00\x02".to_vec())];
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "x").unwrap();
    for t in ["luks2", "luks1"] {
        let img = dir.path().join(t);
        std::fs::File::create(&img)
            .unwrap()
            .set_len(20 << 20)
            .unwrap();
        let made = Command::new("cryptsetup")
            .args([
                "-q",
                "luksFormat",
                "--type",
                t,
                "--pbkdf-force-iterations=1000",
            ])
            .args(["--pbkdf=pbkdf2", "--key-file"])
            .arg(&key)
            .arg(&img)
            .status()
            .is_ok_and(|s| s.success());
        if made {
            let mut bytes = std::fs::read(&img).unwrap();
            bytes.truncate(1 << 20);
            seeds.push((t.to_string(), bytes));
        }
    }
    exercise(
        "luks_header",
        crate::luks_header,
        &seeds,
        300,
        300,
        64 * 1024,
    );
}

#[test]
fn frame_decode_target() {
    exercise(
        "frame_decode",
        crate::frame_decode,
        &named(crate::seeds::frames()),
        2000,
        5000,
        512,
    );
}

#[test]
fn shell_words_target() {
    exercise(
        "shell_words",
        crate::shell_words,
        &named(crate::seeds::shell_lines()),
        2000,
        5000,
        256,
    );
}

/// The seeds of a guest-file target, committed in `seeds/TARGET/`, and variants of each that
/// real guests produce: CRLF line endings, no final newline, a non-UTF-8 byte in every line,
/// and a very long line.
fn guest_seeds(target: &str, control: bool) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path: PathBuf = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    seeds.sort();
    let mut out = Vec::new();
    for (name, data) in seeds {
        out.extend(variants(&data, control).map(|(v, d)| (format!("{name}{v}"), d)));
        out.push((name, data));
    }
    out
}

/// The variants of one seed, named by a suffix. With `control`, the first line (the editor
/// targets' control line) stays as it is and the variants change the guest's bytes after it.
fn variants(data: &[u8], control: bool) -> impl Iterator<Item = (&'static str, Vec<u8>)> + '_ {
    let split = if control {
        data.iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| i + 1)
    } else {
        0
    };
    let (head, data) = data.split_at(split);
    let crlf = |d: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(d.len() * 2);
        for &b in d {
            if b == b'\n' && !out.ends_with(b"\r") {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    };
    let no_final_newline = |d: &[u8]| d.strip_suffix(b"\n").unwrap_or(d).to_vec();
    let latin1 = |d: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(d.len() * 2);
        for &b in d {
            if b == b'\n' {
                out.extend_from_slice(b" \xe9\xff");
            }
            out.push(b);
        }
        out
    };
    let long = |d: &[u8]| -> Vec<u8> {
        let mut out = d.to_vec();
        out.extend(std::iter::repeat_n(b'x', 70_000));
        out.extend_from_slice(b" y z\n");
        out.extend_from_slice(d);
        out
    };
    [
        ("-crlf", crlf(data)),
        ("-no-final-newline", no_final_newline(data)),
        ("-non-utf8", latin1(data)),
        ("-long-line", long(data)),
    ]
    .into_iter()
    .map(move |(name, d)| (name, [head, &d].concat()))
}

/// The guest-file targets: name, body, whether the input starts with a control line, and
/// the maximum size of a random input. Each runs over its seeds and their variants, 150
/// mutations of each, and 1500 random inputs: a few seconds in all.
type GuestTarget = (&'static str, fn(&[u8]), bool, usize);

const GUEST_TARGETS: &[GuestTarget] = &[
    ("fstab", crate::guest::fstab, false, 512),
    ("os_release", crate::guest::os_release, false, 512),
    ("dpkg_status", crate::guest::dpkg_status, false, 512),
    ("rpm_header", crate::guest::rpm_header, false, 2048),
    ("rpm_bdb", crate::guest::rpm_bdb, false, 8192),
    ("rpm_ndb", crate::guest::rpm_ndb, false, 8192),
    ("rpm_sqlite", crate::guest::rpm_sqlite, false, 8192),
    ("apk_installed", crate::guest::apk_installed, false, 512),
    ("passwd", crate::guest::passwd, true, 512),
    ("shadow", crate::guest::shadow, true, 256),
    ("sysconfig", crate::guest::sysconfig, true, 256),
    ("hosts", crate::guest::hosts, true, 256),
    ("udev_rules", crate::guest::udev_rules, true, 256),
    ("authorized_keys", crate::guest::authorized_keys, true, 256),
    ("netplan", crate::guest::netplan, true, 512),
    ("ifcfg", crate::guest::ifcfg, true, 512),
    ("interfaces", crate::guest::interfaces, true, 512),
    ("nm_keyfile", crate::guest::nm_keyfile, true, 512),
    ("networkd", crate::guest::networkd, true, 512),
    ("hive", crate::guest::hive, false, 8192),
];

fn guest_target(name: &str) {
    let &(_, body, control, max_random) = GUEST_TARGETS
        .iter()
        .find(|t| t.0 == name)
        .expect("a listed target");
    let seeds = guest_seeds(name, control);
    assert!(
        seeds.len() >= 10,
        "{name}: only {} seeds and variants",
        seeds.len()
    );
    exercise(name, body, &seeds, 150, 1500, max_random);
}

#[test]
fn every_guest_target_has_seeds_and_a_binary() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(here.join("Cargo.toml")).unwrap();
    for (name, _, _, _) in GUEST_TARGETS {
        assert!(
            here.join("fuzz_targets")
                .join(format!("{name}.rs"))
                .exists(),
            "{name}: no fuzz_targets/{name}.rs"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name}: no [[bin]] in Cargo.toml"
        );
        assert!(
            has_files(&here.join("seeds").join(name)),
            "{name}: no seeds"
        );
    }
}

macro_rules! guest_tests {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                guest_target($name);
            }
        )*
    };
}

guest_tests! {
    fstab_target => "fstab",
    os_release_target => "os_release",
    dpkg_status_target => "dpkg_status",
    rpm_header_target => "rpm_header",
    rpm_bdb_target => "rpm_bdb",
    rpm_ndb_target => "rpm_ndb",
    rpm_sqlite_target => "rpm_sqlite",
    apk_installed_target => "apk_installed",
    passwd_target => "passwd",
    shadow_target => "shadow",
    sysconfig_target => "sysconfig",
    hosts_target => "hosts",
    udev_rules_target => "udev_rules",
    authorized_keys_target => "authorized_keys",
    netplan_target => "netplan",
    ifcfg_target => "ifcfg",
    interfaces_target => "interfaces",
    nm_keyfile_target => "nm_keyfile",
    networkd_target => "networkd",
    hive_target => "hive",
}
