//! `guestwright customize --install`, `--update` and `--uninstall` with dnf, on a guest that
//! inspection reports as Fedora 40.
//!
//! **The guest is a Debian root dressed as Fedora** ([`dnf_fedora`]): this host's Debian 12
//! dnf, Python 3 and libraries, with `ID=fedora VERSION_ID=40` in `/etc/os-release` and an
//! rpm database at `/var/lib/rpm` made by `rpm --root --initdb` holding packages built here
//! with rpmbuild. No rpm-based root can be had offline, so this tests guestwright's side
//! (inspection choosing dnf, the dnf commands virt-customize runs, run chrooted in the
//! guest, their output, exit status and errors) and dnf's and rpm's real work on the guest's
//! files and database, not a real Fedora userland.
//!
//! The repository is a directory of rpms indexed by createrepo_c, copied into the guest with
//! `--copy-in` and named by a `.repo` file with a `file://` URL, so nothing leaves the
//! machine. Everything is checked afterwards from the host: the rpm database with
//! `rpm --root DIR --dbpath /var/lib/rpm -q` on a copy of it dumped by debugfs, the files
//! with debugfs, and the filesystem with e2fsck.

use crate::customize_packages::{output_of, report};
use guestwright_tests::{
    dnf_fedora, guestwright, rpm_repo, run, run_within, RpmPackage, RPM_DBPATH,
};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Per customize run: dnf under TCG on two shared cores is slow.
const DEADLINE: Duration = Duration::from_secs(900);

const REPO_FILE: &str = "/etc/yum.repos.d/gw.repo:[gw]\nname=guestwright test repository\n\
baseurl=file:///srv/gw-repo\nenabled=1\ngpgcheck=0\nmetadata_expire=0\n";

const HELLO_BIN: (&str, u32, &str) = (
    "/usr/bin/gw-hello",
    0o755,
    "#!/bin/sh\ncat /usr/share/gw-hello/hello.txt\n",
);

/// The repository's packages, at the first (`1.0`) or second (`1.1`) version.
fn packages(v: &str) -> Vec<RpmPackage<'static>> {
    let (version, hello, base): (&'static str, &'static str, &'static str) = match v {
        "1.0" => ("1.0", "hello 1.0\n", "base 1.0\n"),
        _ => ("1.1", "hello 1.1\n", "base 1.1\n"),
    };
    let hello_files: &'static [(&'static str, u32, &'static str)] = Box::leak(Box::new([
        HELLO_BIN,
        ("/usr/share/gw-hello/hello.txt", 0o644, hello),
    ]));
    let base_files: &'static [(&'static str, u32, &'static str)] =
        Box::leak(Box::new([("/usr/share/gw-base/base.txt", 0o644, base)]));
    vec![
        RpmPackage {
            name: "gw-hello",
            version,
            release: "1.fc40",
            files: hello_files,
            provides: &[],
        },
        RpmPackage {
            name: "gw-extra",
            version: "1.0",
            release: "1.fc40",
            files: &[("/usr/share/gw-extra/extra.txt", 0o644, "extra\n")],
            provides: &[],
        },
        // The guest has gw-base 1.0 installed; --update takes the repository's.
        RpmPackage {
            name: "gw-base",
            version,
            release: "1.fc40",
            files: base_files,
            provides: &[],
        },
    ]
}

fn customize(img: &Path, args: &[&str]) -> Output {
    run_within(
        guestwright()
            .arg("customize")
            .arg("-a")
            .arg(img)
            .arg("--no-network")
            .arg("--json")
            .args(args),
        DEADLINE,
    )
}

/// A file of the image, read by debugfs; `None` when it is not there.
fn guest_file(img: &Path, path: &str) -> Option<String> {
    let out = run(Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {path}"))
        .arg(img));
    let err = String::from_utf8_lossy(&out.stderr);
    (!err.contains("File not found")).then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `rpm -q` of `names` against the image's database, dumped out by debugfs: one line each,
/// `NAME-VERSION-RELEASE.ARCH` or `package NAME is not installed`.
fn rpm_q(img: &Path, names: &[&str]) -> Vec<String> {
    let root = tempfile::tempdir().unwrap();
    let db = root.path().join(RPM_DBPATH.trim_start_matches('/'));
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    run(Command::new("debugfs")
        .arg("-R")
        .arg(format!(
            "rdump {RPM_DBPATH} {}",
            db.parent().unwrap().display()
        ))
        .arg(img));
    let out = Command::new("rpm")
        .arg("--root")
        .arg(root.path())
        .args(["--dbpath", RPM_DBPATH, "-q"])
        .args(names)
        .output()
        .expect("rpm (apt-get install rpm)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn install_update_uninstall_with_dnf_on_a_fedora_guest() {
    let dir = tempfile::tempdir().unwrap();
    let img = dnf_fedora(dir.path());
    assert_eq!(
        rpm_q(&img, &["fedora-release", "gw-base", "gw-hello"]),
        [
            "fedora-release-40-1.noarch",
            "gw-base-1.0-1.fc40.noarch",
            "package gw-hello is not installed"
        ]
    );

    // Inspection sees Fedora 40 with dnf.
    let out = run_within(
        guestwright().arg("inspect").arg("-a").arg(&img),
        Duration::from_secs(300),
    );
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "inspect: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let os = &found[0];
    assert_eq!(
        (
            &os["distro"],
            &os["major_version"],
            &os["package_format"],
            &os["package_management"]
        ),
        (
            &serde_json::json!("fedora"),
            &serde_json::json!(40),
            &serde_json::json!("rpm"),
            &serde_json::json!("dnf")
        ),
        "{found:#}"
    );

    let repo1 = dir.path().join("v1").join("gw-repo");
    rpm_repo(&repo1, &packages("1.0"));
    let repo1_in = format!("{}:/srv", repo1.display());
    let first = report(&customize(
        &img,
        &[
            "--copy-in",
            &repo1_in,
            "--write",
            REPO_FILE,
            "--install",
            "gw-hello,gw-extra",
            "--run-command",
            "gw-hello",
        ],
    ));
    let install = output_of(&first, "install");
    assert!(
        install.contains("Installing:")
            && install.contains("gw-hello")
            && install.contains("gw-extra")
            && install.contains("Complete!"),
        "{install}"
    );
    assert_eq!(output_of(&first, "run-command"), "hello 1.0\n");
    assert_eq!(
        rpm_q(&img, &["gw-hello", "gw-extra", "gw-base"]),
        [
            "gw-hello-1.0-1.fc40.noarch",
            "gw-extra-1.0-1.fc40.noarch",
            "gw-base-1.0-1.fc40.noarch"
        ]
    );
    assert_eq!(
        guest_file(&img, "/usr/share/gw-hello/hello.txt").as_deref(),
        Some("hello 1.0\n")
    );
    assert_eq!(
        guest_file(&img, "/usr/share/gw-extra/extra.txt").as_deref(),
        Some("extra\n")
    );

    // A new repository: --update takes gw-hello and gw-base 1.1, --uninstall removes
    // gw-extra and its file.
    let repo2 = dir.path().join("v2").join("gw-repo");
    rpm_repo(&repo2, &packages("1.1"));
    let repo2_in = format!("{}:/srv", repo2.display());
    let second = report(&customize(
        &img,
        &[
            "--delete",
            "/srv/gw-repo",
            "--copy-in",
            &repo2_in,
            "--update",
            "--uninstall",
            "gw-extra",
            "--run-command",
            "gw-hello; rpm -q gw-hello gw-base",
        ],
    ));
    let update = output_of(&second, "update");
    assert!(
        update.contains("Upgrading:") && update.contains("Complete!"),
        "{update}"
    );
    let uninstall = output_of(&second, "uninstall");
    assert!(
        uninstall.contains("Removing:") && uninstall.contains("Complete!"),
        "{uninstall}"
    );
    assert_eq!(
        output_of(&second, "run-command"),
        "hello 1.1\ngw-hello-1.1-1.fc40.noarch\ngw-base-1.1-1.fc40.noarch\n"
    );
    assert_eq!(
        rpm_q(&img, &["gw-hello", "gw-base", "gw-extra"]),
        [
            "gw-hello-1.1-1.fc40.noarch",
            "gw-base-1.1-1.fc40.noarch",
            "package gw-extra is not installed"
        ]
    );
    assert_eq!(
        guest_file(&img, "/usr/share/gw-hello/hello.txt").as_deref(),
        Some("hello 1.1\n")
    );
    assert_eq!(
        guest_file(&img, "/usr/share/gw-base/base.txt").as_deref(),
        Some("base 1.1\n")
    );
    assert_eq!(guest_file(&img, "/usr/share/gw-extra/extra.txt"), None);

    // An unknown package: dnf's own message, exit status 1, and nothing changed.
    let out = customize(&img, &["--install", "gw-no-such-package"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("command exited with an error")
            && stderr.contains("No match for argument: gw-no-such-package"),
        "{stderr}"
    );
    assert_eq!(
        rpm_q(&img, &["gw-hello", "gw-base", "gw-no-such-package"]),
        [
            "gw-hello-1.1-1.fc40.noarch",
            "gw-base-1.1-1.fc40.noarch",
            "package gw-no-such-package is not installed"
        ]
    );
    // Everything dnf ran is in the guest's log, as with virt-customize.
    let log = guest_file(&img, "/tmp/builder.log").unwrap_or_default();
    assert!(
        log.contains("No match for argument: gw-no-such-package"),
        "{log}"
    );
    run(Command::new("e2fsck").arg("-fn").arg(&img));
}
