//! Installing guestwright like any tool: the shell completions load and complete images as
//! files, every manual page renders without a warning, and the Debian package built by
//! scripts/build-deb carries what it should, depends on what it needs, installs with
//! `apt-get install ./guestwright_*.deb` into a clean Debian 12 root and runs from there.

use guestwright_tests::{
    debootstrap_debian, file, gpt_ext4, guestwright, guestwright_bin, require, run,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `cmd` under coreutils' `timeout`, which kills its whole process group at the end.
fn within(secs: u32, cmd: &mut Command) -> Output {
    let mut t = Command::new("timeout");
    t.args(["-k", "10", &secs.to_string()])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => t.env(k, v),
            None => t.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        t.current_dir(d);
    }
    run(&mut t)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn bash_completion_loads_and_completes_images() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("disk.img"), b"").unwrap();
    std::fs::write(dir.path().join("data.qcow2"), b"").unwrap();
    let script = dir.path().join("guestwright.bash");
    let out = run(guestwright().args(["completions", "bash"]));
    std::fs::write(&script, &out.stdout).unwrap();
    // The check of the issue, then what `guestwright cat -a di<TAB>` offers.
    let out = within(
        30,
        Command::new("bash")
            .arg("-c")
            .arg(
                "set -e; source \"$1\"; complete -p guestwright; compopt() { :; }; \
                 COMP_WORDS=(guestwright cat -a di); COMP_CWORD=3; \
                 COMP_LINE='guestwright cat -a di'; COMP_POINT=${#COMP_LINE}; \
                 _guestwright guestwright di -a; printf '<%s>\\n' \"${COMPREPLY[@]}\"",
            )
            .arg("bash")
            .arg(&script)
            .current_dir(dir.path()),
    );
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    let complete = lines.next().unwrap_or_default();
    assert!(
        complete.starts_with("complete ")
            && complete.contains(" -F _guestwright ")
            && complete.ends_with(" guestwright"),
        "{stdout}"
    );
    assert_eq!(lines.collect::<Vec<_>>(), ["<disk.img>"], "{stdout}");

    for (shell, first) in [("zsh", "#compdef guestwright"), ("fish", "")] {
        let out = run(guestwright().args(["completions", shell]));
        let s = text(&out.stdout);
        assert!(s.starts_with(first), "{shell}: {}", &s[..80.min(s.len())]);
        assert!(s.contains("customize"), "{shell}");
    }
}

#[test]
fn every_manual_page_renders_without_warnings() {
    require("groff", "groff-base");
    let dir = tempfile::tempdir().unwrap();
    run(guestwright().arg("man").arg("--out").arg(dir.path()));
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    let names: Vec<String> = pages
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for n in [
        "guestwright.1",
        "guestwright-cat.1",
        "guestwright-customize.1",
        "guestwright-shell.1",
    ] {
        assert!(names.contains(&n.to_string()), "{n} not in {names:?}");
    }
    for page in &pages {
        let out = within(
            60,
            Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(page),
        );
        assert!(
            out.stderr.is_empty(),
            "{}: groff warns:\n{}",
            page.display(),
            text(&out.stderr)
        );
    }
    // The shell's page lists the table's commands, rendered.
    let out = run(Command::new("groff")
        .args(["-man", "-Tutf8"])
        .arg(dir.path().join("guestwright-shell.1"))
        .env("GROFF_NO_SGR", "1"));
    // Without a terminal grotty overstrikes bold and underlined text: keep the last of each.
    let mut shown = String::new();
    for c in text(&out.stdout).chars() {
        match c {
            '\u{8}' => {
                shown.pop();
            }
            '\u{2010}' => shown.push('-'),
            c => shown.push(c),
        }
    }
    assert!(shown.contains("SHELL COMMANDS"), "{}", &shown[..400]);
    let shown = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    for usage in [
        "mount device mountpoint",
        "pwrite path content offset",
        "add IMAGE",
    ] {
        assert!(shown.contains(usage), "{usage} not in guestwright-shell(1)");
    }
    // `guestwright man COMMAND` prints the page that --out writes.
    let out = run(guestwright().args(["man", "customize"]));
    assert_eq!(
        out.stdout,
        std::fs::read(dir.path().join("guestwright-customize.1")).unwrap()
    );
}

/// The package: contents and fields with dpkg-deb, then installed and run in a chroot.
#[test]
fn debian_package_installs_and_runs_in_a_clean_root() {
    for (tool, package) in [
        ("dpkg-deb", "dpkg"),
        ("unshare", "util-linux"),
        ("resize2fs", "e2fsprogs"),
        ("timeout", "coreutils"),
    ] {
        require(tool, package);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    assert!(
        home.join(".cargo/bin/cargo-deb").is_file()
            || Command::new("cargo-deb").arg("--version").output().is_ok(),
        "cargo-deb is not installed: scripts/setup installs it (cargo install --locked cargo-deb)"
    );
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let debs = dir.path().join("debs");

    // The package of the debug binary the other tests use: a release build takes too long
    // for CI. What is packaged is the same, only the binary is slower.
    assert_eq!(
        guestwright_bin(),
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"))
            .join("debug/guestwright"),
        "scripts/build-deb --dev packages target/debug/guestwright"
    );
    within(
        600,
        Command::new(workspace.join("scripts/build-deb"))
            .arg("--dev")
            .arg("--output")
            .arg(&debs),
    );
    let deb = std::fs::read_dir(&debs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        deb.file_name().unwrap().to_string_lossy(),
        format!("guestwright_{version}_amd64.deb")
    );

    // Contents: the binary, every manual page, the completions, the docs, the links.
    let out = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let listing = text(&out.stdout);
    let entries: Vec<(String, String)> = listing
        .lines()
        .map(|l| {
            let path = l.split_whitespace().nth(5).unwrap_or_default();
            let link = l.split(" -> ").nth(1).unwrap_or_default();
            (path.trim_start_matches('.').to_string(), link.to_string())
        })
        .collect();
    let has = |p: &str| entries.iter().any(|(e, _)| e == p);
    let pages = dir.path().join("man");
    run(guestwright().arg("man").arg("--out").arg(&pages));
    let mut expected = vec![
        "/usr/bin/guestwright".to_string(),
        "/usr/share/bash-completion/completions/guestwright".to_string(),
        "/usr/share/zsh/vendor-completions/_guestwright".to_string(),
        "/usr/share/fish/vendor_completions.d/guestwright.fish".to_string(),
        "/usr/share/doc/guestwright/README.md".to_string(),
        "/usr/share/doc/guestwright/LICENSE-MIT".to_string(),
        "/usr/share/doc/guestwright/LICENSE-APACHE".to_string(),
        "/usr/share/doc/guestwright/copyright".to_string(),
    ];
    for page in std::fs::read_dir(&pages).unwrap() {
        let name = page.unwrap().file_name().to_string_lossy().into_owned();
        expected.push(format!("/usr/share/man/man1/{name}.gz"));
    }
    for e in &expected {
        assert!(has(e), "{e} is not in the package:\n{listing}");
    }
    // The links are the ones `install-links` makes, pointing at /usr/bin/guestwright.
    let links = dir.path().join("links");
    std::fs::create_dir(&links).unwrap();
    run(guestwright()
        .args(["install-links", "--to", "../../../bin/guestwright"])
        .arg(&links));
    let mut want: Vec<String> = std::fs::read_dir(&links)
        .unwrap()
        .map(|e| {
            format!(
                "/usr/lib/guestwright/bin/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    want.sort();
    let mut got: Vec<String> = entries
        .iter()
        .filter(|(e, _)| e.starts_with("/usr/lib/guestwright/bin/") && e.len() > 25)
        .map(|(e, l)| {
            assert_eq!(l, "../../../bin/guestwright", "{e}");
            e.clone()
        })
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert!(want.iter().any(|w| w.ends_with("/guestfish")), "{want:?}");

    // Depends: the libraries dpkg-shlibdeps found, then exactly the run-time needs.
    let out = run(Command::new("dpkg-deb")
        .args(["--field"])
        .arg(&deb)
        .arg("Depends"));
    let depends = text(&out.stdout);
    let mut fields: Vec<&str> = depends.trim().split(", ").collect();
    let libs: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| f.starts_with("libc6") || f.starts_with("libgcc-s1"))
        .collect();
    assert!(
        libs.iter().any(|l| l.starts_with("libc6 (>= ")),
        "{depends}"
    );
    fields.retain(|f| !libs.contains(f));
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "augeas-lenses",
            "btrfs-progs",
            "cryptsetup-bin",
            "e2fsprogs",
            "file",
            "fuse3",
            "libaugeas0",
            "libhivex0",
            "linux-image-cloud-amd64 | linux-image-amd64 | linux-image-generic",
            "lvm2",
            "mdadm",
            "ntfs-3g",
            "qemu-system-x86",
            "qemu-utils",
            "xfsprogs",
        ],
        "{depends}"
    );
    // Recommends: network drives and the tools only some guestfish commands run.
    let out = run(Command::new("dpkg-deb")
        .args(["--field"])
        .arg(&deb)
        .arg("Recommends"));
    let recommends = text(&out.stdout);
    let mut fields: Vec<&str> = recommends.trim().split(", ").collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "bzip2",
            "extlinux",
            "f2fs-tools",
            "grub-pc-bin",
            "ldmtool",
            "lzop",
            "mtools",
            "qemu-block-extra",
            "rsync",
            "scrub",
            "sleuthkit",
            "squashfs-tools",
            "syslinux",
            "yara",
            "zerofree",
        ],
        "{recommends}"
    );

    install_and_run(dir.path(), &deb);
}

/// A copy of the cached debootstrap guest (Debian 12 minbase), grown and loop-mounted in a
/// private mount namespace (every mount goes away with it, whatever happens), as the root
/// of a chroot: `apt-get install ./guestwright_*.deb` from the Debian mirror, then
/// `guestwright cat` and `virt-cat` on a small image from there. Downloaded packages are
/// kept under the test cache, so later runs fetch only the indexes.
fn install_and_run(dir: &Path, deb: &Path) {
    let root_img = debootstrap_debian(dir);
    run(Command::new("e2fsck").args(["-fy"]).arg(&root_img));
    run(Command::new("resize2fs").arg("-f").arg(&root_img).arg("4G"));
    let disk = gpt_ext4(
        dir,
        "disk.img",
        &[
            file("/etc/hostname", "installed-from-deb\n"),
            file("/hello", "hello from the deb\n"),
        ],
    );
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("guestwright-tests/deb-apt-archives");
    std::fs::create_dir_all(cache.join("partial")).unwrap();
    let mnt = dir.join("root");
    std::fs::create_dir(&mnt).unwrap();
    let accel = std::env::var("GUESTWRIGHT_ACCEL").unwrap_or_else(|_| "tcg".to_string());
    let script = r#"
set -eu
img=$1 root=$2 deb=$3 disk=$4 cache=$5 accel=$6
mount -o loop "$img" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/tmp"
mount --bind "$cache" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No service starts in a chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp "$deb" "$disk" "$root/tmp/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" >/dev/null
echo "== cat"
in_root env GUESTWRIGHT_ACCEL="$accel" guestwright cat -a /tmp/disk.img -m /dev/sda1 /etc/hostname /hello
echo "== virt-cat"
in_root env GUESTWRIGHT_ACCEL="$accel" /usr/lib/guestwright/bin/virt-cat -a /tmp/disk.img -m /dev/sda1 /hello
echo "== files"
in_root sh -c 'ls /usr/share/man/man1/guestwright-shell.1.gz /usr/share/bash-completion/completions/guestwright'
"#;
    let out = within(
        1200,
        Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
            ])
            .arg(&root_img)
            .arg(&mnt)
            .arg(deb)
            .arg(&disk)
            .arg(&cache)
            .arg(&accel),
    );
    assert_eq!(
        text(&out.stdout),
        "== cat\ninstalled-from-deb\nhello from the deb\n== virt-cat\nhello from the deb\n\
         == files\n/usr/share/bash-completion/completions/guestwright\n\
         /usr/share/man/man1/guestwright-shell.1.gz\n",
        "stderr:\n{}",
        text(&out.stderr)
    );
}
