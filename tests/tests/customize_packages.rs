//! `guestwright customize` running the guest's own programs: `--install`, `--update`,
//! `--uninstall`, `--run-command`, `--firstboot-command` and `--firstboot-install` on a real
//! Debian 12 guest (debootstrap, cached), with apt fetching from a repository this test builds
//! and serves on 127.0.0.1, which the appliance reaches as 169.254.2.2 through QEMU's user-mode
//! network. Nothing leaves the machine: the guest's sources are replaced by the local one
//! before anything runs, and afterwards apt's lists must hold that source only.

use guestwright::prelude::*;
use guestwright_tests::{
    debootstrap_debian, guestwright, index_repo, launch, run_within, Check, DebPackage, RepoServer,
};
use std::path::Path;
use std::time::Duration;

/// Per customize run: apt under TCG on two shared cores is slow.
const DEADLINE: Duration = Duration::from_secs(900);

const HELLO_BIN: (&str, &str) = (
    "/usr/bin/gw-hello",
    "#!/bin/sh\ncat /usr/share/gw-hello/hello.txt\n",
);

fn packages(hello: &str) -> Vec<DebPackage<'static>> {
    let (version, text): (&'static str, &'static str) = match hello {
        "1.0" => ("1.0", "hello 1.0\n"),
        _ => ("1.1", "hello 1.1\n"),
    };
    let hello_files: &'static [(&'static str, &'static str)] = match version {
        "1.0" => &[HELLO_BIN, ("/usr/share/gw-hello/hello.txt", "hello 1.0\n")],
        _ => &[HELLO_BIN, ("/usr/share/gw-hello/hello.txt", "hello 1.1\n")],
    };
    assert!(hello_files[1].1 == text);
    vec![
        DebPackage {
            name: "gw-hello",
            version,
            files: hello_files,
        },
        DebPackage {
            name: "gw-extra",
            version: "1.0",
            files: &[("/usr/share/gw-extra/extra.txt", "extra\n")],
        },
    ]
}

fn customize(img: &Path, args: &[&str]) -> std::process::Output {
    run_within(
        guestwright()
            .arg("customize")
            .arg("-a")
            .arg(img)
            .arg("--json")
            .args(args),
        DEADLINE,
    )
}

/// The `--json` report of a customize run that must have succeeded.
pub(crate) fn report(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "customize failed with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// What the step whose operation starts with `op` printed.
pub(crate) fn output_of(report: &serde_json::Value, op: &str) -> String {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["operation"].as_str().unwrap().starts_with(op))
        .unwrap_or_else(|| panic!("no step {op}: {report:#}"))["output"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn install_update_uninstall_and_firstboot_from_a_local_repository() {
    let dir = tempfile::tempdir().unwrap();
    let img = debootstrap_debian(dir.path());
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    index_repo(&repo, &packages("1.0"));
    let server = RepoServer::start(&repo, Duration::from_secs(3600));
    let sources = format!(
        "/etc/apt/sources.list:deb [trusted=yes] http://169.254.2.2:{}/ ./\n",
        server.port
    );

    // The guest's resolv.conf before: commands get the appliance's, then it is put back.
    let h = launch(&[(&img, DriveOptions::readonly())]);
    h.run(args::Mount::new("/dev/sda", "/").readonly(true))
        .check("mount");
    let resolv_before = h.read_file("/etc/resolv.conf").map(|c| c.0).ok();
    drop(h);

    // Without a network, apt cannot reach the repository: the error says why, with apt's
    // output, and the exit status is 1.
    let out = customize(
        &img,
        &["--no-network", "--write", &sources, "--install", "gw-hello"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("command exited with an error")
            && stderr.contains("the appliance had no network")
            && stderr.contains("169.254.2.2"),
        "{stderr}"
    );

    let first = report(&customize(
        &img,
        &[
            "--delete",
            "/etc/apt/sources.list.d/*",
            "--write",
            &sources,
            "--install",
            "gw-hello,gw-extra",
            "--run-command",
            "gw-hello; cat /etc/resolv.conf",
        ],
    ));
    let install = output_of(&first, "install");
    assert!(
        install.contains("Setting up gw-hello (1.0) ...")
            && install.contains("Setting up gw-extra (1.0) ..."),
        "{install}"
    );
    // What debconf's apt hook says in a guest without apt-utils, whether it ran or the
    // shell hook that stands in for it did.
    assert!(
        install.contains(
            "debconf: delaying package configuration, since apt-utils is not installed\n"
        ),
        "{install}"
    );
    assert_eq!(
        output_of(&first, "run-command"),
        "hello 1.0\nnameserver 169.254.2.3\n"
    );

    index_repo(&repo, &packages("1.1"));
    let second = report(&customize(
        &img,
        &[
            "--update",
            "--uninstall",
            "gw-extra",
            "--run-command",
            "COLUMNS=80 dpkg -l 'gw-*'",
            "--firstboot-command",
            "gw-hello > /root/fb.txt",
            "--firstboot-install",
            "gw-extra",
        ],
    ));
    assert!(
        output_of(&second, "update").contains("Setting up gw-hello (1.1) ..."),
        "{second:#}"
    );
    // gw-extra had no conffiles: removed, dpkg forgets it.
    assert_eq!(
        output_of(&second, "run-command"),
        "Desired=Unknown/Install/Remove/Purge/Hold\n\
         | Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n\
         |/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n\
         ||/ Name           Version      Architecture Description\n\
         +++-==============-============-============-=================================\n\
         ii  gw-hello       1.1          all          guestwright test package gw-hello\n"
    );
    let requests = server.requests();
    assert!(
        requests.contains(&"GET /./gw-hello_1.1_all.deb 200".to_owned()),
        "{requests:#?}"
    );

    // Read back from the image.
    let h = launch(&[(&img, DriveOptions::readonly())]);
    h.run(args::Mount::new("/dev/sda", "/").readonly(true))
        .check("mount");
    let read = |p: &str| String::from_utf8(h.read_file(p).check(p).0).unwrap();
    assert_eq!(read("/usr/share/gw-hello/hello.txt"), "hello 1.1\n");
    assert!(!h.exists("/usr/share/gw-extra/extra.txt").check("exists"));
    assert_eq!(
        h.read_file("/etc/resolv.conf").map(|c| c.0).ok(),
        resolv_before,
        "the guest's resolv.conf is put back"
    );
    let etc: Vec<String> = h
        .ls("/etc")
        .check("ls")
        .into_iter()
        .map(|n| String::from_utf8_lossy(n.as_bytes()).into_owned())
        .collect();
    assert!(
        !etc.iter().any(|n| n.starts_with(".guestwright-resolv")),
        "{etc:?}"
    );
    // apt only ever knew the local source.
    for name in h.ls("/var/lib/apt/lists").check("ls") {
        let name = String::from_utf8_lossy(name.as_bytes()).into_owned();
        assert!(
            ["lock", "partial", "auxfiles"].contains(&name.as_str())
                || name.starts_with("169.254.2.2"),
            "apt fetched from somewhere else: {name}"
        );
    }
    // Everything that ran logged to /tmp/builder.log, as in virt-customize.
    let log = read("/tmp/builder.log");
    assert!(log.contains(" http://169.254.2.2:"), "{log}");
    assert!(log.contains("hello 1.0\nnameserver 169.254.2.3\n"), "{log}");
    // Firstboot, in virt-customize's layout.
    let s1 = "/usr/lib/virt-sysprep/scripts/5000-0001-gw-hello----root-fb-txt";
    assert_eq!(read(s1), "gw-hello > /root/fb.txt");
    assert_eq!(h.lstat(s1).check(s1).mode & 0o7777, 0o755);
    let s2 = "/usr/lib/virt-sysprep/scripts/5000-0002-install-gw-extra";
    assert_eq!(
        read(s2),
        "\n        export DEBIAN_FRONTEND=noninteractive\n        apt_opts='-q -y -o Dpkg::Options::=--force-confnew'\n        apt-get $apt_opts update\n        apt-get $apt_opts install 'gw-extra'\n      "
    );
    assert_eq!(
        h.readlink("/etc/systemd/system/multi-user.target.wants/guestfs-firstboot.service")
            .check("readlink")
            .to_string(),
        "/usr/lib/systemd/system/guestfs-firstboot.service"
    );
    assert_eq!(
        h.readlink("/etc/rc2.d/S99guestfs-firstboot")
            .check("readlink")
            .to_string(),
        "../init.d/guestfs-firstboot"
    );
    drop(h);
    drop(server);
    // The image is one bare filesystem.
    guestwright_tests::run(std::process::Command::new("e2fsck").arg("-fn").arg(&img));
}

/// On a guest without apt-utils, `--install`, `--update` and `--uninstall` replace debconf's
/// apt hook (Perl that takes seconds under TCG to say it delays configuration) by a shell
/// hook that says the same. The images must come out the same as with the guest's own hook
/// (`GUESTWRIGHT_APT_DEBCONF_SKIP=0`): every file's kind, mode, owner and content, the log
/// of what ran included, except what differs between any two runs (times in apt's and
/// dpkg's logs, apt's caches that record file times, random seeds).
#[test]
fn skipping_debconfs_hook_leaves_the_same_image() {
    let dir = tempfile::tempdir().unwrap();
    let base = debootstrap_debian(dir.path());
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    index_repo(&repo, &packages("1.0"));
    let server = RepoServer::start(&repo, Duration::from_secs(3600));
    let sources = format!(
        "/etc/apt/sources.list:deb [trusted=yes] http://169.254.2.2:{}/ ./\n",
        server.port
    );
    let run_on_copy = |name: &str, skip: Option<&str>| {
        let img = dir.path().join(name);
        guestwright_tests::run(
            std::process::Command::new("cp")
                .arg("--sparse=always")
                .arg(&base)
                .arg(&img),
        );
        let mut cmd = guestwright();
        cmd.arg("customize")
            .arg("-a")
            .arg(&img)
            .arg("--json")
            .args([
                "--delete",
                "/etc/apt/sources.list.d/*",
                "--write",
                &sources,
                "--install",
                "gw-hello",
                "--uninstall",
                "gw-hello",
            ]);
        if let Some(v) = skip {
            cmd.env("GUESTWRIGHT_APT_DEBCONF_SKIP", v);
        }
        let r = report(&run_within(&mut cmd, DEADLINE));
        (img, r)
    };
    let (kept, kept_report) = run_on_copy("kept.img", Some("0"));
    let (skipped, skipped_report) = run_on_copy("skipped.img", None);
    let said = "debconf: delaying package configuration, since apt-utils is not installed\n";
    for r in [&kept_report, &skipped_report] {
        assert!(output_of(r, "install").contains(said), "{r:#}");
    }
    let len = std::fs::metadata(&base).unwrap().len();
    let a = guestwright_tests::tree::ext4_tree_at(&kept, 0, len);
    let b = guestwright_tests::tree::ext4_tree_at(&skipped, 0, len);
    // Lines with times or speeds in them.
    let timeless = |c: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(c)
            .lines()
            .filter(|l| {
                !l.starts_with("Fetched ")
                    && !l.starts_with("Start-Date: ")
                    && !l.starts_with("End-Date: ")
                    && !l.starts_with("Log started: ")
                    && !l.starts_with("Log ended: ")
            })
            .map(str::to_owned)
            .collect()
    };
    let mut differ = Vec::new();
    for p in guestwright_tests::tree::changed_paths(&a, &b) {
        let (x, y) = (a.get(&p), b.get(&p));
        let same_but_content = matches!((x, y), (Some(x), Some(y))
            if (x.kind, x.mode, x.uid, x.gid) == (y.kind, y.mode, y.uid, y.gid));
        // Their times differ; what else they say must not (apt's history holds its
        // command line).
        let logs = [
            "/tmp/builder.log",
            "/var/log/apt/history.log",
            "/var/log/apt/term.log",
        ];
        if same_but_content && logs.contains(&p.as_str()) {
            let (x, y) = (x.unwrap(), y.unwrap());
            assert_eq!(timeless(&x.content), timeless(&y.content), "{p}");
            continue;
        }
        let timed = [
            "/var/log/dpkg.log",
            "/var/log/apt/eipp.log.xz",
            "/var/cache/apt/pkgcache.bin",
            "/var/cache/apt/srcpkgcache.bin",
            "/var/lib/urandom/random-seed",
            "/var/lib/systemd/random-seed",
            "/etc/machine-id",
        ];
        if same_but_content && timed.contains(&p.as_str()) {
            continue;
        }
        differ.push(p);
    }
    assert!(
        differ.is_empty(),
        "the images differ:\n{}",
        guestwright_tests::tree::describe_changes(&a, &b, &differ)
    );
    drop(server);
}
