//! Hostile guests: configuration files that are symbolic links (to /etc/passwd, to
//! /etc/shadow, to `../../..`, dangling, to a directory, to themselves). Every customize
//! operation and every sysprep operation runs against each kind, and nothing may change but
//! the paths the operation names: whole-file writes replace the link itself, edits, appends
//! and mode changes refuse with a message naming the link and its target, and no link is
//! ever written through.
//!
//! One launch per kind of link: each operation runs on its own (a refusal stops a run) on
//! the mounted guest, with the tree compared before and after it; at the end the image is
//! read on the host with debugfs, the independent reader, and compared with the tree the
//! test built. The command-line test checks exit status, message and image for the four
//! reported cases.

use crate::customize_images;

use customize_images::{debian_entries, Entry, KEY};
use guestwright::customize::{self, Options, Plan, Report, Word};
use guestwright::prelude::*;
use guestwright_tests::tree::{changed_paths, describe_changes, ext4_tree, Node, Tree};
use guestwright_tests::{assert_fsck_clean, guestwright, launch, Check};
use std::path::Path;

/// Files made symlinks in every scenario, with what reaches them.
const LINKED: &[&str] = &[
    "/etc/hostname",                                     // --hostname
    "/etc/hosts",                                        // --hostname
    "/etc/shadow",                                       // --root-password, --password, --user-add
    "/etc/gshadow",                                      // --user-add
    "/root/.ssh/authorized_keys",                        // --ssh-inject (a directory link in "dir")
    "/etc/network/interfaces",                           // --net-config
    "/etc/udev/rules.d/70-persistent-net.rules",         // --udev-net, --udev-net-clear, sysprep
    "/etc/motd",                                         // --write
    "/etc/issue",                                        // --append-line
    "/etc/app.conf",                                     // --upload
    "/srv/data",                                         // --mkdir
    "/var/tmp/junk",                                     // --delete, sysprep tmp-files
    "/etc/chmod-me",                                     // --chmod
    "/etc/zone-link",                                    // --link
    "/etc/timezone",                                     // --timezone
    "/etc/ssh/sshd_config",                              // --edit
    "/usr/lib/systemd/system/guestfs-firstboot.service", // --firstboot-command
    "/etc/machine-id",                                   // lifecycle, sysprep machine-id
    "/var/lib/dbus/machine-id",                          // sysprep machine-id
    "/var/lib/systemd/random-seed",                      // lifecycle random seed
    "/var/log/syslog",                                   // sysprep logfiles
    "/root/.bash_history",                               // sysprep bash-history
    "/etc/ssh/ssh_host_ed25519_key",                     // sysprep ssh-hostkeys
    "/etc/sysconfig/network-scripts/ifcfg-eth0",         // sysprep net-hwaddr, net-hostname
    "/var/lib/dhcp/dhclient.eth0.leases",                // sysprep dhcp-client-state
    // The library's primitives, each on its own link.
    "/etc/prim-write-file",
    "/etc/prim-replace-file",
    "/etc/prim-upload",
    "/etc/prim-append",
    "/etc/prim-pwrite",
    "/etc/prim-truncate",
    "/etc/prim-upload-offset",
];

/// A kind of link: its name and the target given to the link at a path.
struct Kind {
    name: &'static str,
    target: fn(&str) -> String,
}

const PASSWD: Kind = Kind {
    name: "passwd",
    target: |_| "/etc/passwd".into(),
};
const SHADOW: Kind = Kind {
    name: "shadow",
    target: |p| {
        if p == "/etc/shadow" {
            "/etc/passwd".into()
        } else {
            "/etc/shadow".into()
        }
    },
};
const UP: Kind = Kind {
    name: "up",
    target: |_| "../../..".into(),
};
const DANGLING: Kind = Kind {
    name: "dangling",
    target: |_| "/nonexistent/target".into(),
};
const DIR: Kind = Kind {
    name: "dir",
    target: |_| "/etc/ssh".into(),
};
const LOOP: Kind = Kind {
    name: "loop",
    target: |p| p.rsplit('/').next().unwrap().into(),
};

fn entry_path<'a>(e: &Entry<'a>) -> &'a str {
    match e {
        Entry::File(p, ..) | Entry::Dir(p, ..) | Entry::Link(p, _) | Entry::BlockDev(p) => p,
    }
}

/// The links of a scenario: every path of [`LINKED`]; in "dir" /root/.ssh itself is the link.
fn links(kind: &Kind) -> Vec<(String, String)> {
    LINKED
        .iter()
        .map(|p| {
            let p = if kind.name == "dir" && *p == "/root/.ssh/authorized_keys" {
                "/root/.ssh"
            } else {
                p
            };
            (p.to_string(), (kind.target)(p))
        })
        .collect()
}

/// The Debian-like guest with every path of `links` replaced by its link.
fn hostile_image(dir: &Path, kind: &Kind) -> std::path::PathBuf {
    let links = links(kind);
    let mut entries: Vec<Entry<'_>> = debian_entries()
        .into_iter()
        .filter(|e| {
            let p = entry_path(e);
            !links
                .iter()
                .any(|(l, _)| p == l || p.starts_with(&format!("{l}/")))
        })
        .collect();
    entries.extend(links.iter().map(|(l, t)| Entry::Link(l, t)));
    customize_images::image(dir, &format!("hostile-{}.raw", kind.name), &entries)
}

/// What an operation must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Refuse, naming this link (and its target); change nothing.
    Refuse(&'static str),
    /// Succeed; only the paths given may change.
    Succeed,
    /// Succeed or fail, as long as only the paths given change (a link to a directory is a
    /// directory for --mkdir, a link to a file is not).
    Either,
}

struct Case {
    op: &'static str,
    arg: String,
    expect: Expect,
    /// Paths that may change (a path and everything below it).
    may_change: Vec<String>,
}

fn case(op: &'static str, arg: &str, expect: Expect, may_change: &[&str]) -> Case {
    Case {
        op,
        arg: arg.to_string(),
        expect,
        may_change: may_change.iter().map(|s| s.to_string()).collect(),
    }
}

fn cases(kind: &Kind, upload: &Path) -> Vec<Case> {
    use Expect::*;
    let ssh = if kind.name == "dir" {
        "/root/.ssh"
    } else {
        "/root/.ssh/authorized_keys"
    };
    // --upload into a path that is a link to a directory puts the file in that directory,
    // as cp does; otherwise the link is replaced.
    let upload_into = match kind.name {
        "dir" => "/etc/ssh/app.conf",
        "up" => "/app.conf",
        _ => "/etc/app.conf",
    };
    vec![
        case("hostname", "web01", Refuse("/etc/hostname"), &[]),
        case(
            "root-password",
            "password:S3cret",
            Refuse("/etc/shadow"),
            &[],
        ),
        case("password", "bob:password:bobpw", Refuse("/etc/shadow"), &[]),
        case("user-add", "carol", Refuse("/etc/shadow"), &[]),
        case(
            "ssh-inject",
            &format!("root:string:{KEY}"),
            Refuse(ssh),
            &[],
        ),
        case(
            "net-config",
            "eth0:static:192.0.2.10/24:192.0.2.1:192.0.2.53",
            // The first configuration file read: ifcfg comes before ifupdown.
            Refuse("/etc/sysconfig/network-scripts/ifcfg-eth0"),
            &[],
        ),
        case(
            "udev-net",
            "eth0=52:54:00:12:34:56",
            Refuse("/etc/udev/rules.d/70-persistent-net.rules"),
            &[],
        ),
        case(
            "append-line",
            "/etc/issue:Managed",
            Refuse("/etc/issue"),
            &[],
        ),
        case("chmod", "0600:/etc/chmod-me", Refuse("/etc/chmod-me"), &[]),
        case("timezone", "Europe/Berlin", Refuse("/etc/timezone"), &[]),
        case(
            "edit",
            "/etc/ssh/sshd_config:s/^#PermitRootLogin.*/PermitRootLogin no/",
            Refuse("/etc/ssh/sshd_config"),
            &[],
        ),
        case(
            "firstboot-command",
            "touch /root/firstboot-ran",
            Refuse("/usr/lib/systemd/system/guestfs-firstboot.service"),
            // Written before the unit file is reached.
            &["/usr/lib/virt-sysprep"],
        ),
        case("write", "/etc/motd:Welcome", Succeed, &["/etc/motd"]),
        case(
            "upload",
            &format!("{}:/etc/app.conf", upload.display()),
            Succeed,
            &[upload_into],
        ),
        case("mkdir", "/srv/data", Either, &[]),
        case("delete", "/var/tmp/junk", Succeed, &["/var/tmp/junk"]),
        case(
            "link",
            "/usr/share/zoneinfo/Europe/Berlin:/etc/zone-link",
            Succeed,
            &["/etc/zone-link"],
        ),
        case(
            "udev-net-clear",
            "",
            Succeed,
            &["/etc/udev/rules.d/70-persistent-net.rules"],
        ),
    ]
}

/// The guest's tree as the appliance sees it (lstat of every entry, symlink targets,
/// sha256 of every regular file): two calls, so it can be taken around every operation.
fn guest_tree(h: &Handle) -> Tree {
    let mut tree = Tree::new();
    let mut listed = std::collections::BTreeSet::new();
    let mut todo = vec!["/".to_string()];
    while let Some(dir) = todo.pop() {
        for listing in h.readdir_tree(dir.as_str()).check("readdir_tree") {
            assert!(listing.complete, "{} listed in parts", listing.path);
            let base = String::from_utf8_lossy(listing.path.as_bytes()).into_owned();
            let base = base.trim_end_matches('/').to_string();
            listed.insert(if base.is_empty() {
                "/".into()
            } else {
                base.clone()
            });
            for e in listing.entries {
                let path = format!("{base}/{}", String::from_utf8_lossy(&e.name.0));
                let kind = match e.stat.mode & 0o170000 {
                    0o120000 => 'l',
                    0o040000 => 'd',
                    0o100000 => 'f',
                    _ => 'o',
                };
                tree.insert(
                    path,
                    Node {
                        kind,
                        mode: if kind == 'l' { 0 } else { e.stat.mode & 0o7777 },
                        uid: e.stat.uid,
                        gid: e.stat.gid,
                        content: e.link.map(|l| l.as_bytes().to_vec()).unwrap_or_default(),
                    },
                );
            }
        }
        // Directories past what one answer holds are listed from themselves.
        if todo.is_empty() {
            todo = tree
                .iter()
                .filter(|(p, n)| n.kind == 'd' && !listed.contains(*p))
                .map(|(p, _)| p.clone())
                .collect();
        }
    }
    let mut sums = Vec::new();
    h.checksums_out(ChecksumType::Sha256, "/", &mut sums)
        .check("checksums_out");
    for line in String::from_utf8(sums).unwrap().lines() {
        let (hash, path) = line.split_once("  ").unwrap();
        let path = format!("/{}", path.trim_start_matches("./"));
        let node = tree
            .get_mut(&path)
            .unwrap_or_else(|| panic!("checksums_out names {path}, readdir_tree did not"));
        node.content = hash.as_bytes().to_vec();
    }
    tree
}

fn allowed(path: &str, may_change: &[String]) -> bool {
    may_change
        .iter()
        .any(|m| path == m || path.starts_with(&format!("{m}/")))
}

/// Runs one customize operation on the mounted guest; the error chain on failure.
fn run_one(
    h: &Handle,
    os: &guestwright::inspect::OsInfo,
    op: &str,
    arg: &str,
) -> Result<Report, String> {
    let word = if arg.is_empty() {
        Word::new(op, None)
    } else {
        Word::new(op, Some(arg))
    };
    let operations = customize::expand(&[word]).map_err(|e| guestwright::error::chain(&e))?;
    let plan = Plan {
        operations,
        ..Plan::default()
    };
    let mut report = Report::default();
    customize::run_plan(h, os, &plan, &Options::default(), &mut report)
        .map(|()| report)
        .map_err(|e| guestwright::error::chain(&e))
}

fn scenario(kind: &Kind) {
    let dir = tempfile::tempdir().unwrap();
    let img = hostile_image(dir.path(), kind);
    let upload = dir.path().join("app.conf");
    std::fs::write(&upload, "listen = 8080\n").unwrap();
    let built = ext4_tree(&img);
    let links = links(kind);
    for (l, t) in &links {
        assert_eq!(built[l].kind, 'l', "{l} is a link in the image");
        assert_eq!(built[l].content, t.as_bytes());
    }

    let mut h = launch(&[(&img, DriveOptions::default())]);
    let os = guestwright::inspect::inspect_and_mount(&h, false).check("inspect");
    let mut may_change_overall: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    for c in cases(kind, &upload) {
        let before = guest_tree(&h);
        let result = run_one(&h, &os, c.op, &c.arg);
        let after = guest_tree(&h);
        let changed = changed_paths(&before, &after);
        let stray: Vec<String> = changed
            .iter()
            .filter(|p| !allowed(p, &c.may_change))
            .cloned()
            .collect();
        let label = format!("[{}] --{} {}", kind.name, c.op, c.arg);
        if !stray.is_empty() {
            failures.push(format!(
                "{label}: changed what it does not name ({result:?}):\n{}",
                describe_changes(&before, &after, &stray)
            ));
        }
        match (c.expect, &result) {
            (Expect::Refuse(link), Err(msg)) => {
                let target = links
                    .iter()
                    .find(|(l, _)| l == link)
                    .map(|(_, t)| t.clone())
                    .unwrap();
                let want = format!("{link} is a symbolic link to {target}");
                if !msg.contains(&want) {
                    failures.push(format!("{label}: message lacks {want:?}: {msg}"));
                }
            }
            (Expect::Refuse(_), Ok(_)) => {
                failures.push(format!("{label}: succeeded, must refuse"));
            }
            (Expect::Succeed, Err(msg)) => failures.push(format!("{label}: failed: {msg}")),
            _ => {}
        }
        if c.expect == Expect::Succeed {
            for p in &c.may_change {
                if let Some(n) = after.get(p) {
                    if n.kind == 'l' && c.op != "link" {
                        failures.push(format!("{label}: {p} is still a link"));
                    }
                }
            }
        }
        may_change_overall.extend(c.may_change);
    }

    // The primitives the front ends use, on links of their own.
    let before = guest_tree(&h);
    let prim = |name: &str| format!("/etc/prim-{name}");
    let mut replaced = Vec::new();
    let mut refused = Vec::new();
    match h.write_file(prim("write-file").as_str(), Data(b"w\n".to_vec())) {
        Ok(()) => replaced.push(prim("write-file")),
        Err(e) => failures.push(format!(
            "[{}] write_file: {}",
            kind.name,
            guestwright::error::chain(&e)
        )),
    }
    match h.replace_file(prim("replace-file").as_str(), Data(b"r\n".to_vec())) {
        Ok(()) => replaced.push(prim("replace-file")),
        Err(e) => failures.push(format!(
            "[{}] replace_file: {}",
            kind.name,
            guestwright::error::chain(&e)
        )),
    }
    match h.upload(prim("upload").as_str(), &mut &b"u\n"[..]) {
        Ok(()) => replaced.push(prim("upload")),
        Err(e) => failures.push(format!(
            "[{}] upload: {}",
            kind.name,
            guestwright::error::chain(&e)
        )),
    }
    let refusals: Vec<(&str, Result<(), guestwright::Error>)> = vec![
        (
            "append",
            h.write_append(prim("append").as_str(), Data(b"a\n".to_vec())),
        ),
        (
            "pwrite",
            h.pwrite(prim("pwrite").as_str(), Data(b"p".to_vec()), ByteSize(0))
                .map(|_| ()),
        ),
        ("truncate", h.truncate(prim("truncate").as_str())),
        (
            "upload-offset",
            h.upload_offset(
                prim("upload-offset").as_str(),
                ByteSize(0),
                &mut &b"o\n"[..],
            ),
        ),
    ];
    for (name, r) in refusals {
        let link = prim(name);
        let target = (kind.target)(&link);
        match r {
            Ok(()) => failures.push(format!("[{}] {name} through a link succeeded", kind.name)),
            Err(e) => {
                let msg = guestwright::error::chain(&e);
                let want = format!("{link} is a symbolic link to {target}");
                if e.errno() != Some(Errno::ELOOP) || !msg.contains(&want) {
                    failures.push(format!(
                        "[{}] {name}: want ELOOP and {want:?}: {msg}",
                        kind.name
                    ));
                }
                refused.push(link);
            }
        }
    }
    let after = guest_tree(&h);
    let changed = changed_paths(&before, &after);
    replaced.sort();
    if changed != replaced {
        failures.push(format!(
            "[{}] primitives: changed {changed:?}, want exactly {replaced:?}:\n{}",
            kind.name,
            describe_changes(&before, &after, &changed)
        ));
    }
    for p in &replaced {
        if after.get(p).map(|n| n.kind) != Some('f') {
            failures.push(format!(
                "[{}] {p} is not a regular file after its write",
                kind.name
            ));
        }
    }
    may_change_overall.extend(replaced);

    // Every sysprep operation: they only remove what they name (a link is removed as a
    // link), and skip what they would edit or truncate when it is a link.
    let before = guest_tree(&h);
    let plan = Plan {
        operations: Vec::new(),
        // user-account would remove the accounts' homes, which is what it is for.
        sysprep: guestwright::edit::sysprep::OPERATIONS
            .iter()
            .filter(|o| o.name != "user-account")
            .collect(),
        ..Plan::default()
    };
    let mut report = Report::default();
    if let Err(e) = customize::run_plan(&h, &os, &plan, &Options::default(), &mut report) {
        failures.push(format!(
            "[{}] sysprep: {}",
            kind.name,
            guestwright::error::chain(&e)
        ));
    }
    let after = guest_tree(&h);
    let changed = changed_paths(&before, &after);
    let sysprep_names = [
        "/root/.bash_history",
        "/home/debian/.bash_history",
        "/var/lib/dhcp/dhclient.eth0.leases",
        "/var/log/syslog",
        "/var/log/auth.log",
        "/var/log/apt/history.log",
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssh/ssh_host_ed25519_key.pub",
        "/var/cache/apt/archives/vim_9.0_amd64.deb",
        "/var/cache/apt/pkgcache.bin",
        "/tmp/scratch.txt",
        "/var/tmp",
        "/root/.ssh",
        "/etc/udev/rules.d/70-persistent-net.rules",
    ]
    .map(String::from);
    for p in &changed {
        let removed = before.contains_key(p) && !after.contains_key(p);
        if (!removed || !allowed(p, &sysprep_names)) && !sysprep_created(p, &before, &after) {
            failures.push(format!(
                "[{}] sysprep changed what it does not name:\n{}",
                kind.name,
                describe_changes(&before, &after, std::slice::from_ref(p))
            ));
        }
    }
    for p in [
        "/root/.bash_history",
        "/var/log/syslog",
        "/etc/ssh/ssh_host_ed25519_key",
    ] {
        if after.contains_key(p) {
            failures.push(format!("[{}] sysprep left the link {p}", kind.name));
        }
    }
    may_change_overall.extend(sysprep_names);
    may_change_overall.extend(SYSPREP_CREATES.iter().map(|p| p.to_string()));
    h.shutdown().check("shutdown");
    drop(h);

    // The independent reader: debugfs on the host, against the tree the test built.
    let end = ext4_tree(&img);
    let changed = changed_paths(&built, &end);
    let stray: Vec<String> = changed
        .into_iter()
        .filter(|p| !allowed(p, &may_change_overall))
        .collect();
    if !stray.is_empty() {
        failures.push(format!(
            "[{}] debugfs: changed outside what the operations name:\n{}",
            kind.name,
            describe_changes(&built, &end, &stray)
        ));
    }
    // What the links point to, above all.
    for (l, t) in &links {
        if let (Some(a), Some(b)) = (built.get(t), end.get(t)) {
            if a != b && !allowed(t, &may_change_overall) {
                failures.push(format!(
                    "[{}] {t}, the target of {l}, changed: {} => {}",
                    kind.name,
                    a.describe(),
                    b.describe()
                ));
            }
        }
    }
    assert_fsck_clean(&img);
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn links_to_passwd() {
    scenario(&PASSWD);
}

#[test]
fn links_to_shadow() {
    scenario(&SHADOW);
}

#[test]
fn links_up_and_out() {
    scenario(&UP);
}

#[test]
fn dangling_links() {
    scenario(&DANGLING);
}

#[test]
fn links_to_a_directory() {
    scenario(&DIR);
}

#[test]
fn links_to_themselves() {
    scenario(&LOOP);
}

/// The four reported cases through the command line: exit status 1, a message naming the
/// link and its target, and not a byte of the image changed.
#[test]
fn reported_cases_refuse_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries: Vec<Entry<'_>> = debian_entries()
        .into_iter()
        .filter(|e| {
            ![
                "/etc/shadow",
                "/etc/hostname",
                "/root/.ssh/authorized_keys",
                "/etc/udev/rules.d/70-persistent-net.rules",
                "/etc/motd",
            ]
            .contains(&entry_path(e))
        })
        .collect();
    entries.extend([
        Entry::Link("/etc/shadow", "/etc/passwd"),
        Entry::Link("/etc/hostname", "/etc/passwd"),
        Entry::Link("/root/.ssh/authorized_keys", "/etc/shadow"),
        Entry::Link("/etc/udev/rules.d/70-persistent-net.rules", "/etc/passwd"),
        Entry::Link("/etc/motd", "/etc/passwd"),
    ]);
    let img = customize_images::image(dir.path(), "reported.raw", &entries);
    let built = ext4_tree(&img);
    let refusals: [(&[&str], &str); 4] = [
        (
            &["--root-password", "password:x"],
            "/etc/shadow is a symbolic link to /etc/passwd",
        ),
        (
            &["--hostname", "web01"],
            "/etc/hostname is a symbolic link to /etc/passwd",
        ),
        (
            &["--ssh-inject", &format!("root:string:{KEY}")],
            "/root/.ssh/authorized_keys is a symbolic link to /etc/shadow",
        ),
        (
            &["--udev-net", "eth0=52:54:00:12:34:56"],
            "/etc/udev/rules.d/70-persistent-net.rules is a symbolic link to /etc/passwd",
        ),
    ];
    for (args, want) in refusals {
        let out = guestwright()
            .args(["customize", "-a"])
            .arg(&img)
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in:\n{err}");
        let now = ext4_tree(&img);
        let changed = changed_paths(&built, &now);
        assert!(
            changed.is_empty(),
            "{args:?} changed the image:\n{}",
            describe_changes(&built, &now, &changed)
        );
    }
    // `guestwright write` replaces the link itself; /etc/passwd keeps every byte.
    let out = guestwright()
        .args(["write", "-a"])
        .arg(&img)
        .args(["/etc/motd", "Welcome\n"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let now = ext4_tree(&img);
    assert_eq!(changed_paths(&built, &now), ["/etc/motd"]);
    assert_eq!(
        now["/etc/motd"],
        Node {
            kind: 'f',
            mode: 0o644,
            uid: 0,
            gid: 0,
            content: b"Welcome\n".to_vec()
        }
    );
    assert_fsck_clean(&img);
}

/// A kind of link to a directory on the way: the target given to each linked directory.
struct DirKind {
    name: &'static str,
    target: fn(&str) -> String,
}

/// Directories that operations reach on their own (never named by the user), each made a
/// link, with what reaches them.
const LINKED_DIRS: &[&str] = &[
    "/var/log/journal",    // sysprep logfiles: /var/log/journal/*
    "/var/lib/dhcp",       // sysprep dhcp-client-state: /var/lib/dhcp/*
    "/tmp",                // sysprep tmp-files: /tmp/*
    "/var/lib/dbus",       // sysprep machine-id: /var/lib/dbus/machine-id
    "/etc/udev/rules.d",   // --udev-net, --udev-net-clear, sysprep udev-persistent-net
    "/home/debian",        // --ssh-inject debian: ~/.ssh, sysprep bash-history
    "/etc/systemd/system", // --firstboot-command: the unit
];

/// What a sysprep operation creates by name, beside what the operations remove:
/// flag-reconfiguration's `/.unconfigured` (at the guest's root, never behind a link here).
const SYSPREP_CREATES: &[&str] = &["/.unconfigured"];

/// True when `p` is one of [`SYSPREP_CREATES`], absent before and a new file after.
fn sysprep_created(p: &str, before: &Tree, after: &Tree) -> bool {
    SYSPREP_CREATES.contains(&p) && !before.contains_key(p) && after.contains_key(p)
}

/// A link that distributions ship (like `/var/run -> /run`) on the way to a sysprep glob
/// that matches nothing: it must not produce a warning.
const QUIET_LINK: (&str, &str) = ("/var/cache/fontconfig", "/run/fontconfig");

const DIR_TO_ETC: DirKind = DirKind {
    name: "etc",
    target: |_| "/etc".into(),
};
const DIR_UP: DirKind = DirKind {
    name: "up",
    target: |_| "../../..".into(),
};
const DIR_DANGLING: DirKind = DirKind {
    name: "dangling",
    target: |_| "/nonexistent/dir".into(),
};
const DIR_LOOP: DirKind = DirKind {
    name: "loop",
    target: |p| p.rsplit('/').next().unwrap().into(),
};
const DIR_TO_FILE: DirKind = DirKind {
    name: "file",
    target: |_| "/etc/passwd".into(),
};

/// The Debian-like guest with every directory of [`LINKED_DIRS`] replaced by a link, plus
/// the quiet link, and decoys in /etc where a link to /etc would lead a write or a removal.
fn dir_links_image(dir: &Path, kind: &DirKind) -> (std::path::PathBuf, Vec<(String, String)>) {
    let links: Vec<(String, String)> = LINKED_DIRS
        .iter()
        .map(|p| (p.to_string(), (kind.target)(p)))
        .collect();
    let mut entries: Vec<Entry<'_>> = debian_entries()
        .into_iter()
        .filter(|e| {
            let p = entry_path(e);
            !links
                .iter()
                .any(|(l, _)| p == l || p.starts_with(&format!("{l}/")))
        })
        .collect();
    entries.extend(links.iter().map(|(l, t)| Entry::Link(l, t)));
    entries.extend([
        Entry::Dir("/run/fontconfig", 0o755, 0, 0),
        Entry::Link(QUIET_LINK.0, QUIET_LINK.1),
        // What --udev-net-clear and sysprep would remove through /etc/udev/rules.d -> /etc.
        customize_images::f("/etc/70-persistent-net.rules", "decoy\n"),
    ]);
    let img = customize_images::image(dir, &format!("dirlinks-{}.raw", kind.name), &entries);
    (img, links)
}

/// Every operation that chooses its own paths, and every sysprep operation, on a guest whose
/// directories on those paths are links: nothing outside what they name changes, customize
/// operations refuse naming the link, sysprep skips with a warning naming it.
fn dir_scenario(kind: &DirKind) {
    use Expect::*;
    let dir = tempfile::tempdir().unwrap();
    let (img, links) = dir_links_image(dir.path(), kind);
    let built = ext4_tree(&img);
    for (l, t) in &links {
        assert_eq!(built[l].kind, 'l', "{l} is a link in the image");
        assert_eq!(built[l].content, t.as_bytes());
    }
    // Where a link leads somewhere real, the operation must refuse; elsewhere it may also
    // fail for another reason (no home directory), as long as nothing changes.
    let leads = matches!(kind.name, "etc" | "up");
    let refuse_if_leads = |link: &'static str| if leads { Refuse(link) } else { Either };
    let cases = vec![
        case(
            "ssh-inject",
            &format!("debian:string:{KEY}"),
            refuse_if_leads("/home/debian"),
            &[],
        ),
        case(
            "udev-net",
            "eth0=52:54:00:12:34:56",
            Refuse("/etc/udev/rules.d"),
            &[],
        ),
        case(
            "udev-net-clear",
            "",
            match kind.name {
                "etc" => Refuse("/etc/udev/rules.d"),
                _ => Either,
            },
            &[],
        ),
        case(
            "firstboot-command",
            "touch /root/firstboot-ran",
            Refuse("/etc/systemd/system"),
            &["/usr/lib/virt-sysprep", "/usr/lib/systemd"],
        ),
        // Named by the user: followed inside the guest, as virt-customize does.
        case(
            "write",
            "/var/lib/dbus/named-by-user:x",
            if leads { Succeed } else { Either },
            &[match kind.name {
                "etc" => "/etc/named-by-user",
                _ => "/named-by-user",
            }],
        ),
    ];
    // What customize renews after any change.
    let lifecycle = ["/etc/machine-id", "/var/lib/systemd/random-seed"].map(String::from);
    let mut h = launch(&[(&img, DriveOptions::default())]);
    let os = guestwright::inspect::inspect_and_mount(&h, false).check("inspect");
    let mut may_change_overall: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    for c in cases {
        let before = guest_tree(&h);
        let result = run_one(&h, &os, c.op, &c.arg);
        let after = guest_tree(&h);
        let changed = changed_paths(&before, &after);
        let stray: Vec<String> = changed
            .iter()
            .filter(|p| !allowed(p, &c.may_change) && !allowed(p, &lifecycle))
            .cloned()
            .collect();
        let label = format!("[dir {}] --{} {}", kind.name, c.op, c.arg);
        if !stray.is_empty() {
            failures.push(format!(
                "{label}: changed what it does not name ({result:?}):\n{}",
                describe_changes(&before, &after, &stray)
            ));
        }
        match (c.expect, &result) {
            (Refuse(link), Err(msg)) => {
                let target = (kind.target)(link);
                let want = format!("{link} is a symbolic link to {target}");
                if !msg.contains(&want) {
                    failures.push(format!("{label}: message lacks {want:?}: {msg}"));
                }
            }
            (Refuse(_), Ok(_)) => failures.push(format!("{label}: succeeded, must refuse")),
            (Succeed, Err(msg)) => failures.push(format!("{label}: failed: {msg}")),
            _ => {}
        }
        may_change_overall.extend(c.may_change);
    }
    may_change_overall.extend(lifecycle.clone());

    // Every sysprep operation: removals only of what they name, nothing through a link.
    let before = guest_tree(&h);
    let plan = Plan {
        operations: Vec::new(),
        // user-account would remove the accounts' homes, which is what it is for.
        sysprep: guestwright::edit::sysprep::OPERATIONS
            .iter()
            .filter(|o| o.name != "user-account")
            .collect(),
        ..Plan::default()
    };
    let mut report = Report::default();
    if let Err(e) = customize::run_plan(&h, &os, &plan, &Options::default(), &mut report) {
        failures.push(format!(
            "[dir {}] sysprep: {}",
            kind.name,
            guestwright::error::chain(&e)
        ));
    }
    let after = guest_tree(&h);
    let removable = [
        "/root/.bash_history",
        "/root/.ssh",
        "/var/log/syslog",
        "/var/log/auth.log",
        "/var/log/apt/history.log",
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssh/ssh_host_ed25519_key.pub",
        "/var/cache/apt/archives/vim_9.0_amd64.deb",
        "/var/cache/apt/pkgcache.bin",
        "/var/tmp/junk",
    ]
    .map(String::from);
    for p in changed_paths(&before, &after) {
        let removed = before.contains_key(&p) && !after.contains_key(&p);
        // The machine-id truncated, the random seed renewed.
        let named = removed && allowed(&p, &removable);
        if !named && !allowed(&p, &lifecycle) && !sysprep_created(&p, &before, &after) {
            failures.push(format!(
                "[dir {}] sysprep changed what it does not name:\n{}",
                kind.name,
                describe_changes(&before, &after, std::slice::from_ref(&p))
            ));
        }
    }
    let notes: Vec<&String> = report.steps.iter().flat_map(|s| &s.notes).collect();
    if leads {
        for link in ["/var/log/journal", "/var/lib/dhcp", "/tmp"] {
            let want = format!("{link} is a symbolic link to {}", (kind.target)(link));
            if !notes.iter().any(|n| n.contains(&want)) {
                failures.push(format!(
                    "[dir {}] sysprep gave no warning with {want:?}: {notes:?}",
                    kind.name
                ));
            }
        }
    }
    if let Some(n) = notes.iter().find(|n| n.contains(QUIET_LINK.0)) {
        failures.push(format!(
            "[dir {}] a warning for a link with nothing behind it: {n}",
            kind.name
        ));
    }
    may_change_overall.extend(removable);
    may_change_overall.extend(SYSPREP_CREATES.iter().map(|p| p.to_string()));
    h.shutdown().check("shutdown");
    drop(h);

    // The independent reader.
    let end = ext4_tree(&img);
    let stray: Vec<String> = changed_paths(&built, &end)
        .into_iter()
        .filter(|p| !allowed(p, &may_change_overall))
        .collect();
    if !stray.is_empty() {
        failures.push(format!(
            "[dir {}] debugfs: changed outside what the operations name:\n{}",
            kind.name,
            describe_changes(&built, &end, &stray)
        ));
    }
    assert_fsck_clean(&img);
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn directory_links_to_etc() {
    dir_scenario(&DIR_TO_ETC);
}

#[test]
fn directory_links_up_and_out() {
    dir_scenario(&DIR_UP);
}

#[test]
fn dangling_directory_links() {
    dir_scenario(&DIR_DANGLING);
}

#[test]
fn directory_links_to_themselves() {
    dir_scenario(&DIR_LOOP);
}

#[test]
fn directory_links_to_a_file() {
    dir_scenario(&DIR_TO_FILE);
}

/// Runs `words` as one plan on the mounted guest (one `Guest` for them all, so what
/// it learnt about the guest's directories in one operation is there for the next).
fn run_words(
    h: &Handle,
    os: &guestwright::inspect::OsInfo,
    words: &[(&str, &str)],
) -> Result<Report, String> {
    let words: Vec<Word> = words.iter().map(|(o, a)| Word::new(o, Some(a))).collect();
    let operations = customize::expand(&words).map_err(|e| guestwright::error::chain(&e))?;
    let plan = Plan {
        operations,
        ..Plan::default()
    };
    let mut report = Report::default();
    customize::run_plan(h, os, &plan, &Options::default(), &mut report)
        .map(|()| report)
        .map_err(|e| guestwright::error::chain(&e))
}

/// Customize remembers which directories it found real (no link) for the rest of the run,
/// so that a firstboot script does not cost a round trip per directory per file. An
/// operation that puts a link where such a directory was must make it forget: the next
/// operation that chooses its own paths there refuses, naming the link, as it would on a
/// guest that had the link from the start, and writes nothing through it. Both ways to put
/// the link there: a command run in the guest, and `--delete` then `--link`.
#[test]
fn a_directory_made_a_link_during_the_run_is_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    // The host's rm and ln (they need only the C library, which the image has) for the
    // command that swaps the directory for a link.
    let rm = std::fs::read("/usr/bin/rm").expect("coreutils");
    let ln = std::fs::read("/usr/bin/ln").expect("coreutils");
    let mut entries: Vec<Entry<'_>> = debian_entries();
    entries.extend([
        Entry::File("/usr/bin/rm", &rm, 0o755, 0, 0),
        Entry::File("/usr/bin/ln", &ln, 0o755, 0, 0),
    ]);
    let img = customize_images::image(dir.path(), "dir-becomes-link.raw", &entries);
    let mut h = launch(&[(&img, DriveOptions::default())]);
    let os = guestwright::inspect::inspect_and_mount(&h, false).check("inspect");
    let swaps: [&[(&str, &str)]; 2] = [
        &[(
            "run-command",
            "rm -rf /usr/lib/virt-sysprep && ln -s /etc /usr/lib/virt-sysprep",
        )],
        &[
            ("delete", "/usr/lib/virt-sysprep"),
            ("link", "/etc:/usr/lib/virt-sysprep"),
        ],
    ];
    for swap in swaps {
        // The first firstboot command makes and walks /usr/lib/virt-sysprep.
        let mut words: Vec<(&str, &str)> = vec![("firstboot-command", "touch /root/first")];
        words.extend_from_slice(swap);
        words.push(("firstboot-command", "touch /root/second"));
        let result = run_words(&h, &os, &words);
        let msg = result.expect_err("the second firstboot command must refuse");
        assert!(
            msg.contains("/usr/lib/virt-sysprep is a symbolic link to /etc"),
            "{swap:?}: {msg}"
        );
        for p in ["/etc/firstboot.sh", "/etc/scripts"] {
            assert!(
                !h.exists(p).check("exists"),
                "{swap:?}: wrote {p} through the link"
            );
        }
        assert_eq!(
            h.readlink("/usr/lib/virt-sysprep")
                .check("readlink")
                .to_string(),
            "/etc"
        );
        // Back to a real directory for the next way.
        h.rm("/usr/lib/virt-sysprep").check("rm");
    }
    h.shutdown().check("shutdown");
}
