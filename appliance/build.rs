//! Builds the in-guest daemon as a static binary and hands it to `include_bytes!`.
//!
//! The daemon is a separate workspace package compiled for the same target as this crate, with
//! `+crt-static`, by a nested `cargo build` into its own target directory: that directory has
//! its own lock, so the nested cargo never waits on the outer one, and the explicit `--target`
//! keeps the static flags away from build scripts and proc macros. `GUESTWRIGHT_DAEMON_BIN`
//! names a prebuilt binary and skips the nested build.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

const DAEMON_PACKAGE: &str = "guestwright-daemon";
const DAEMON_BIN: &str = "guestwright-daemon";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("the appliance crate lives inside the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    println!("cargo:rerun-if-env-changed=GUESTWRIGHT_DAEMON_BIN");
    println!("cargo:rerun-if-changed=build.rs");

    let binary = match env::var_os("GUESTWRIGHT_DAEMON_BIN") {
        Some(prebuilt) if !prebuilt.is_empty() => {
            let prebuilt = PathBuf::from(prebuilt);
            println!("cargo:rerun-if-changed={}", prebuilt.display());
            prebuilt
        }
        _ => {
            for watched in ["daemon", "protocol", "Cargo.lock", "Cargo.toml"] {
                println!(
                    "cargo:rerun-if-changed={}",
                    workspace.join(watched).display()
                );
            }
            build_daemon(&workspace)
        }
    };

    let bytes = fs::read(&binary)
        .unwrap_or_else(|e| panic!("cannot read the daemon binary {}: {e}", binary.display()));
    if let Err(why) = check_static(&bytes) {
        panic!(
            "the daemon binary {} is not usable as the appliance's /init: {why}",
            binary.display()
        );
    }
    let dest = out_dir.join("guestwright-daemon");
    write_if_changed(&dest, &bytes);
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    write_if_changed(
        &out_dir.join("guestwright-daemon.sha256"),
        digest.as_bytes(),
    );
}

/// Runs the nested `cargo build` and returns the path of the static daemon binary.
fn build_daemon(workspace: &Path) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let target = env::var("TARGET").expect("TARGET");
    let target_dir = match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("daemon"),
        _ => workspace.join("target").join("daemon"),
    };

    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .arg("build")
        .arg("--release")
        .args(["-p", DAEMON_PACKAGE, "--bin", DAEMON_BIN])
        .args(["--target", &target])
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"));
    scrub_env(&mut cmd);
    // Static glibc executable, not static-pie: `file` then says "statically linked" and the
    // kernel maps it without relocation work.
    cmd.env(
        "CARGO_ENCODED_RUSTFLAGS",
        "-Ctarget-feature=+crt-static\u{1f}-Crelocation-model=static",
    );
    // Keep symbol names (panic backtraces stay readable) but drop the DWARF that the workspace's
    // release profile asks for: it would make the binary, and so every initramfs, 4x larger.
    cmd.env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    // Cargo parses this script's stdout for directives: keep the nested cargo's output apart.
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());

    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {DAEMON_PACKAGE}: {e}"));
    if !output.status.success() {
        panic!(
            "building {DAEMON_PACKAGE} as a static binary failed ({}):\n{}{}\n\
             (set GUESTWRIGHT_DAEMON_BIN to a prebuilt static daemon to skip this step)",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    target_dir.join(&target).join("release").join(DAEMON_BIN)
}

/// Removes what the outer build put in the environment that would change the nested build:
/// flags, wrappers (clippy-driver), target and profile overrides, cargo's internal variables.
fn scrub_env(cmd: &mut Command) {
    const KEEP: &[&str] = &["CARGO_HOME", "CARGO_MAKEFLAGS", "CARGO_TERM_COLOR"];
    const KEEP_PREFIXES: &[&str] = &[
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
    ];
    const DROP: &[&str] = &[
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        "CARGO_INCREMENTAL",
    ];
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let cargo_owned = key.starts_with("CARGO_")
            && !KEEP.contains(&key)
            && !KEEP_PREFIXES.iter().any(|p| key.starts_with(p));
        if cargo_owned || key.starts_with("__CARGO") || DROP.contains(&key) {
            cmd.env_remove(key);
        }
    }
}

/// A static executable has no program interpreter, so it cannot need shared libraries.
fn check_static(elf: &[u8]) -> Result<(), String> {
    const PT_INTERP: u32 = 3;
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return Err("not a little-endian 64-bit ELF file".into());
    }
    let u16_at = |off: usize| u16::from_le_bytes([elf[off], elf[off + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().expect("8 bytes")) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    for i in 0..phnum {
        let off = phoff + i * phentsize;
        let p_type = elf
            .get(off..off + 4)
            .ok_or("program headers run past the end of the file")?;
        if u32::from_le_bytes(p_type.try_into().expect("4 bytes")) == PT_INTERP {
            return Err("it is dynamically linked (it has a PT_INTERP program header)".into());
        }
    }
    Ok(())
}

fn write_if_changed(path: &Path, bytes: &[u8]) {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
