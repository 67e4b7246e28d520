//! `guestwright customize` against virt-customize 1.48, without libguestfs: every command line
//! of `tests/customize-diff/cases.txt` runs on a fresh copy of the same Debian-like image, and
//! what changed in the image (path, kind, mode, owner, size, SHA-256 or link target; read back
//! with debugfs, never through the appliance) and the exit status must equal what
//! virt-customize did, as `scripts/record-customize` recorded it in
//! `tests/customize-diff/expected/NAME`. Password hashes are compared by their method (`$6$`)
//! only, machine-id and random seeds not at all: they are random by design.
//!
//! Cases with `tool: sysprep` run `guestwright sysprep` against virt-sysprep 1.48 the same
//! way, on a guest that holds something for every sysprep operation to remove (`image:
//! sysprep-debian` or `sysprep-rhel`, built here once and shared by the cases).
//!
//! `CUSTOMIZE_DIFF_CASES=a,b` runs only the cases whose names contain these.

use crate::customize_images;

use customize_images::{debian_entries, image, Entry};
use guestwright_tests::guestwright;
use guestwright_tests::tree::{ext4_tree, Node, Tree};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Files random by design in both tools' runs.
const RANDOM: &[&str] = &[
    "/etc/machine-id",
    "/var/lib/dbus/machine-id",
    "/var/lib/systemd/random-seed",
    "/var/lib/urandom/random-seed",
];

/// Files whose second field is a password hash.
const HASHED: &[&str] = &["/etc/shadow", "/etc/gshadow"];

/// `@PROBE@` in a case: a command for the guest (dash builtins only) that finds the disk given
/// with --attach by its size (1 MiB) and first line, counts the CPUs it is given and says
/// whether its memory is about the 700 MiB asked for.
const PROBE: &str = "for s in /sys/block/*/size; do read -r n < \"$s\"; [ \"$n\" = 2048 ] || continue; \
     b=${s%/size}; read -r x < /dev/${b##*/}; [ \"$x\" = guestwright-attached ] && echo found > /root/attached; \
     done; n=0; while read -r l; do case $l in processor*) n=$((n+1));; esac; done < /proc/cpuinfo; \
     echo $n > /root/cpus; read -r k v u < /proc/meminfo; \
     if [ $v -gt 500000 ] && [ $v -lt 720000 ]; then echo about-700 > /root/mem; else echo $v > /root/mem; fi";

/// How long one tool may take on one case.
const DEADLINE: Duration = Duration::from_secs(600);

struct Case {
    name: String,
    /// `customize` or `sysprep`.
    tool: String,
    /// `base`, `sysprep-debian` or `sysprep-rhel`.
    image: String,
    args: Vec<String>,
    /// `libvirt: NAME`: the image is the disk of libvirt guest NAME, given with
    /// `-c test://@HOST@/node.xml -d NAME` instead of `-a`.
    domain: Option<String>,
    /// A deliberate difference in guestwright's exit status.
    guestwright_status: Option<i32>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("customize-diff")
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(root().join("cases.txt")).unwrap();
    let filter: Vec<String> = std::env::var("CUSTOMIZE_DIFF_CASES")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut out: Vec<Case> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("== ") {
            out.push(Case {
                name: name.trim().to_owned(),
                tool: "customize".into(),
                image: "base".into(),
                args: Vec::new(),
                domain: None,
                guestwright_status: None,
            });
        } else if let Some(t) = line.strip_prefix("tool: ") {
            out.last_mut().unwrap().tool = t.trim().to_owned();
        } else if let Some(i) = line.strip_prefix("image: ") {
            out.last_mut().unwrap().image = i.trim().to_owned();
        } else if let Some(d) = line.strip_prefix("libvirt: ") {
            out.last_mut().unwrap().domain = Some(d.trim().to_owned());
        } else if let Some(s) = line.strip_prefix("guestwright-status: ") {
            out.last_mut().unwrap().guestwright_status = Some(s.trim().parse().unwrap());
        } else {
            out.last_mut().unwrap().args.push(line.to_owned());
        }
    }
    out.retain(|c| filter.is_empty() || filter.iter().any(|f| c.name.contains(f.as_str())));
    out
}

/// The image every case starts from: the Debian-like guest of the customize tests, plus a
/// file without a final newline and one with CRLF line endings for --append-line.
fn base_image(dir: &Path) -> PathBuf {
    let mut entries = debian_entries();
    entries.push(Entry::File("/etc/nonl.txt", b"first", 0o644, 0, 0));
    entries.push(Entry::File("/etc/crlf.txt", b"a\r\nb\r\n", 0o644, 0, 0));
    entries.push(Entry::Dir("/srv", 0o755, 0, 0));
    image(dir, "base.raw", &entries)
}

/// Something for every sysprep operation to remove, truncate or edit, and things next to
/// them that must stay, on top of a Debian-like or RHEL-like guest.
fn sysprep_extra(rhel: bool) -> Vec<Entry<'static>> {
    use customize_images::f;
    let mut e = vec![
        // abrt-data, crash-data
        f("/var/spool/abrt/ccpp-2024-01-01/coredump", "core\n"),
        f("/var/crash/127.0.0.1-2024/vmcore", "vmcore\n"),
        f("/var/log/dump/dump.1", "dump\n"),
        // backup-files: in the searched trees at any depth, dot files too; not elsewhere,
        // not directories
        f("/etc/fstab.bak", "old\n"),
        f("/etc/default/grub~", "old\n"),
        f("/root/.profile~", "old\n"),
        f("/srv/site/deep/index.html.bak", "old\n"),
        f("/usr/share/doc/keep.bak", "kept\n"),
        Entry::Dir("/var/lib/dir.bak", 0o755, 0, 0),
        // bash-history, ssh-userdir (a home not under /home keeps its files)
        Entry::File("/home/bob/.bash_history", b"ls\n", 0o600, 1001, 1001),
        Entry::Dir("/home/bob/.ssh", 0o700, 1001, 1001),
        Entry::File("/home/bob/.ssh/known_hosts", b"host\n", 0o600, 1001, 1001),
        Entry::File("/srv/svc/.bash_history", b"kept\n", 0o600, 0, 0),
        // blkid-tab
        f("/etc/blkid/blkid.tab", "<device/>\n"),
        f("/etc/blkid.tab.old", "<device/>\n"),
        // cron-spool
        Entry::File(
            "/var/spool/cron/crontabs/debian",
            b"* * * * * true\n",
            0o600,
            1000,
            1000,
        ),
        f("/var/spool/cron/atjobs/a0001201a2b3c", "#!/bin/sh\n"),
        f("/var/spool/cron/atjobs/.SEQ", "0001b\n"),
        f("/var/spool/cron/atspool/spool.txt", "x\n"),
        // dhcp-server-state, dovecot-data
        f("/var/lib/dhcpd/dhcpd.leases", "lease {}\n"),
        f("/var/lib/dovecot/instances", "x\n"),
        f("/var/lib/dovecot/sub/kept", "x\n"),
        // firewall-rules
        f("/etc/sysconfig/iptables", "*filter\n"),
        f("/etc/firewalld/zones/public.xml", "<zone/>\n"),
        f("/etc/firewalld/firewalld.conf", "kept\n"),
        // ipa-client, kerberos-data, kerberos-hostkeytab
        f("/etc/ipa/default.conf", "[global]\n"),
        f("/etc/ipa/ca.crt", "cert\n"),
        f("/var/lib/ipa-client/sysrestore/sysrestore.state", "x\n"),
        f("/var/kerberos/krb5kdc/principal", "db\n"),
        f("/var/kerberos/krb5kdc/kdc.conf", "kept\n"),
        f("/var/kerberos/krb5kdc/kadm5.acl", "kept\n"),
        Entry::File("/etc/krb5.keytab", b"keytab\n", 0o600, 0, 0),
        // logfiles beyond the base image's
        f("/var/log/journal/0123/system.journal", "j\n"),
        f("/var/log/wtmp", "w\n"),
        f("/var/log/btmp.1", "b\n"),
        f("/var/cache/man/index.db", "m\n"),
        f("/root/anaconda-ks.cfg", "ks\n"),
        // mail-spool
        f("/var/mail/debian", "From x\n"),
        // package-manager-cache: files only, any depth; what is outside the cache stays
        f("/var/cache/apt/archives/partial/vim_9.1_amd64.deb", "deb\n"),
        f("/var/cache/apt/archives/lock", ""),
        // pam-data, utmp, and a blkid tab there (a real /var/run here)
        f("/var/run/faillock/debian", "x\n"),
        f("/var/run/console/debian", "x\n"),
        f("/var/run/utmp", "u\n"),
        f("/var/run/blkid.tab", "b\n"),
        // passwd-backups
        f("/etc/passwd-", "root:x:0:0:root:/root:/bin/bash\n"),
        Entry::File("/etc/shadow-", b"root:*:1::::::\n", 0o640, 0, 42),
        f("/etc/group-", "root:x:0:\n"),
        f("/etc/subuid-", "debian:100000:65536\n"),
        // puppet-data-log, samba-db-log, smolt-uuid, sssd-db-log
        f("/var/log/puppet/puppet.log", "p\n"),
        f("/var/lib/puppet/ssl/certs/host.pem", "pem\n"),
        f("/var/lib/puppet/state/state.yaml", "s\n"),
        f("/var/log/samba/log.smbd", "s\n"),
        f("/var/log/samba/old/log.nmbd", "s\n"),
        f("/var/lib/samba/private/secrets.tdb", "s\n"),
        f("/var/lib/samba/wins.dat", "s\n"),
        f("/etc/smolt/uuid", "u\n"),
        f("/var/log/sssd/sssd.log", "s\n"),
        f("/var/lib/sss/db/cache_default.ldb", "s\n"),
        // tmp-files: dot files too
        f("/tmp/.X11-unix/X0", ""),
        f("/var/tmp/.hidden", "h\n"),
        // udev-persistent-net
        f("/etc/udev/rules.d/70-persistent-net.rules", "# old\n"),
        // ca-certificates, and the command that rebuilds the store (records that it ran)
        f("/etc/pki/tls/certs/server.crt", "cert\n"),
        f("/etc/pki/tls/certs/ca-bundle.crt", "kept\n"),
        f("/etc/pki/tls/private/server.key", "key\n"),
        Entry::File(
            "/usr/sbin/update-ca-certificates",
            b"#!/bin/sh\necho \"${0##*/} $*\" >> /etc/ca-store-updated\n",
            0o755,
            0,
            0,
        ),
        Entry::File(
            "/usr/bin/update-ca-trust",
            b"#!/bin/sh\necho \"${0##*/} $*\" >> /etc/ca-store-updated\n",
            0o755,
            0,
            0,
        ),
    ];
    if rhel {
        e.extend([
            f("/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\r\nHWADDR=52:54:00:12:34:56\r\nDHCP_HOSTNAME=tmpl\r\nHOSTNAME=tmpl\r\nONBOOT=yes"),
            f("/var/account/pacct", "acct\n"),
            f("/var/account/pacct-20240101", "acct\n"),
            f("/etc/pki/consumer/cert.pem", "c\n"),
            f("/etc/pki/entitlement/1.pem", "e\n"),
            f("/etc/sysconfig/rhn/systemid", "id\n"),
            f("/var/lib/rpm/__db.001", "db\n"),
            f("/var/lib/rpm/rpmdb.sqlite", "kept\n"),
            f("/var/lib/yum/uuid", "kept on dnf guests\n"),
            f("/var/cache/dnf/rhel-9-appstream/packages/x.rpm", "rpm\n"),
        ]);
    } else {
        e.extend([
            Entry::Link("/var/spool/mail", "../mail"),
            f("/var/log/account/pacct", "acct\n"),
            f("/var/log/account/pacct.0", "acct\n"),
            f(
                "/etc/sysconfig/network-scripts/ifcfg-eth0",
                "HWADDR=kept on Debian\n",
            ),
            f(
                "/etc/NetworkManager/system-connections/w.nmconnection",
                "kept on Debian\n",
            ),
        ]);
    }
    e
}

/// The images of the sysprep cases.
fn sysprep_image(dir: &Path, name: &str) -> PathBuf {
    let rhel = name == "sysprep-rhel";
    let mut entries = match rhel {
        true => customize_images::rhel_entries(),
        false => debian_entries(),
    };
    entries.extend(sysprep_extra(rhel));
    image(dir, &format!("{name}.raw"), &entries)
}

/// Host files the cases name (@HOST@): a small tree for --copy-in and a command file.
fn host_fixtures(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let host = dir.join("host");
    let payload = host.join("payload");
    std::fs::create_dir_all(payload.join("sub")).unwrap();
    std::fs::write(payload.join("a.txt"), "alpha\n").unwrap();
    std::fs::set_permissions(payload.join("a.txt"), PermissionsExt::from_mode(0o640)).unwrap();
    std::fs::write(payload.join("sub/run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(payload.join("sub/run.sh"), PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("a.txt", payload.join("link")).unwrap();
    std::fs::set_permissions(&payload, PermissionsExt::from_mode(0o750)).unwrap();
    // For sysprep --script: run in the guest's root, between samba-db-log and smolt-uuid, so
    // logfiles (before) leaves its log and tmp-files (after) removes its temporary file.
    std::fs::write(
        host.join("sysprep-script.sh"),
        "#!/bin/sh\nset -e\necho from-script > etc/from-script\necho log > var/log/script.log\necho t > tmp/script.tmp\ntest -f etc/hostname\n",
    )
    .unwrap();
    std::fs::set_permissions(
        host.join("sysprep-script.sh"),
        PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        host.join("script.sh"),
        "echo from-script > /root/script.txt\necho script-out\n",
    )
    .unwrap();
    // A subscription-manager that records its arguments, and a disk for --attach whose first
    // line the guest's commands look for.
    std::fs::write(
        host.join("subscription-manager"),
        "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done >> /root/sm.log\necho >> /root/sm.log\n",
    )
    .unwrap();
    std::fs::set_permissions(
        host.join("subscription-manager"),
        PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut attach = b"guestwright-attached\n".to_vec();
    attach.resize(1 << 20, 0);
    std::fs::write(host.join("attach.img"), attach).unwrap();
    std::fs::write(
        host.join("commands"),
        "# comments and blank lines are skipped\n\
         \n\
         touch /etc/from-commands\n\
         chmod 0600:/etc/from-commands\n\
         write /etc/motd:line 1\\\n\
         line 2\n\
         append-line /etc/fstab:# added\n",
    )
    .unwrap();
    host
}

/// Runs a command with a deadline, killing it when it passes.
fn run_with_deadline(mut cmd: Command) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The content compared for a file: hashes in shadow files reduced to their method.
fn comparable(path: &str, content: &[u8]) -> Vec<u8> {
    if !HASHED.contains(&path) {
        return content.to_vec();
    }
    let mut out = Vec::new();
    for line in content.split_inclusive(|&b| b == b'\n') {
        let mut f: Vec<Vec<u8>> = line.split(|&b| b == b':').map(<[u8]>::to_vec).collect();
        if f.len() > 2 && f[1].contains(&b'$') {
            let lock = f[1].starts_with(b"!");
            let id = f[1]
                .split(|&b| b == b'$')
                .nth(1)
                .unwrap_or_default()
                .to_vec();
            f[1] = [&b"!"[..lock as usize], b"$", &id, b"$<salt>$<hash>"].concat();
            // The last-change day is today's date.
            f[2] = b"<day>".to_vec();
        }
        out.extend_from_slice(&f.join(&b':'));
    }
    out
}

fn describe(path: &str, n: &Node) -> String {
    match n.kind {
        'l' => format!(
            "l 0 {} {} -> {}",
            n.uid,
            n.gid,
            String::from_utf8_lossy(&n.content)
        ),
        'f' => {
            let c = comparable(path, &n.content);
            format!(
                "f {:04o} {} {} {} {}",
                n.mode,
                n.uid,
                n.gid,
                c.len(),
                hex(&Sha256::digest(&c))
            )
        }
        k => format!("{k} {:04o} {} {}", n.mode, n.uid, n.gid),
    }
}

/// What changed between two trees, one line per path: `+ PATH ENTRY` for a new or changed
/// entry, `- PATH` for a removed one, sorted by path.
fn manifest(before: &Tree, after: &Tree) -> String {
    let mut out = String::new();
    let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
    paths.sort();
    paths.dedup();
    for p in paths {
        if RANDOM.contains(&p.as_str()) {
            continue;
        }
        match (before.get(p), after.get(p)) {
            (Some(b), Some(a)) if describe(p, b) == describe(p, a) => {}
            (_, Some(a)) => out.push_str(&format!("+ {p} {}\n", describe(p, a))),
            (Some(_), None) => out.push_str(&format!("- {p}\n")),
            (None, None) => unreachable!(),
        }
    }
    out
}

/// The recorded result: `status N` and, on success, the manifest.
fn result(status: i32, before: &Tree, img: &Path) -> String {
    match status {
        0 => format!("status 0\n{}", manifest(before, &ext4_tree(img))),
        s => format!("status {s}\n"),
    }
}

fn args(case: &Case, host: &Path) -> Vec<String> {
    case.args
        .iter()
        .map(|a| {
            a.replace("@HOST@", &host.display().to_string())
                .replace("@PROBE@", PROBE)
        })
        .collect()
}

/// The drive options: `-a IMAGE`, or the libvirt guest whose disk the image is.
fn drive_args(case: &Case, host: &Path, img: &Path, format: bool) -> Vec<String> {
    match &case.domain {
        Some(name) => {
            let node = host.join("node.xml");
            std::fs::write(&node, libvirt_node(name, img)).unwrap();
            vec![
                "-c".into(),
                format!("test://{}", node.display()),
                "-d".into(),
                name.clone(),
            ]
        }
        None => {
            let mut v = vec!["-a".to_owned(), img.display().to_string()];
            if format {
                v.insert(0, "--format=raw".into());
            }
            v
        }
    }
}

/// A libvirt test-driver node holding one shut-off guest whose only disk is `img`.
fn libvirt_node(name: &str, img: &Path) -> String {
    format!(
        "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n\
         <domain type='test'><name>{name}</name><memory>524288</memory>\n\
         <os><type>hvm</type></os><test:runstate>5</test:runstate>\n\
         <devices>\n\
         <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='{}'/><target dev='vda'/></disk>\n\
         </devices></domain></node>\n",
        img.display()
    )
}

fn run_guestwright(case: &Case, host: &Path, img: &Path) -> Output {
    let mut cmd = guestwright();
    // Relative host paths (--firstboot=script.sh names the script after its path) are
    // the same in both tools' runs.
    cmd.current_dir(host)
        .arg(&case.tool)
        .args(drive_args(case, host, img, false))
        .args(args(case, host));
    run_with_deadline(cmd)
}

fn run_virt_customize(case: &Case, host: &Path, img: &Path) -> Output {
    let mut cmd = Command::new(format!("virt-{}", case.tool));
    cmd.current_dir(host)
        .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
        .args(drive_args(case, host, img, true))
        .args(args(case, host));
    run_with_deadline(cmd)
}

struct Fixture {
    _dir: tempfile::TempDir,
    /// Every image the cases start from, and its tree, by name.
    images: Vec<(String, PathBuf, Tree)>,
    host: PathBuf,
    work: PathBuf,
}

fn fixture(cases: &[Case]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut names: Vec<&str> = cases.iter().map(|c| c.image.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let images = names
        .into_iter()
        .map(|n| {
            let img = match n {
                "base" => base_image(dir.path()),
                "sysprep-debian" | "sysprep-rhel" => sysprep_image(dir.path(), n),
                other => panic!("no image {other:?} in cases.txt"),
            };
            let tree = ext4_tree(&img);
            (n.to_owned(), img, tree)
        })
        .collect();
    let host = host_fixtures(dir.path());
    let work = dir.path().join("work.raw");
    Fixture {
        _dir: dir,
        images,
        host,
        work,
    }
}

/// A fresh copy of the case's image, and the tree it starts with.
fn fresh<'a>(f: &'a Fixture, case: &Case) -> (&'a Path, &'a Tree) {
    let (_, img, tree) = f.images.iter().find(|i| i.0 == case.image).unwrap();
    std::fs::copy(img, &f.work).unwrap();
    (&f.work, tree)
}

fn status_of(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn guestwright_matches_virt_customize() {
    let cases = cases();
    assert!(!cases.is_empty(), "no case selected");
    let f = fixture(&cases);
    let mut failures = Vec::new();
    for case in &cases {
        let path = root().join("expected").join(&case.name);
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: record it with CUSTOMIZE_DIFF_CASES={} scripts/record-customize",
                path.display(),
                case.name
            )
        });
        let (img, before) = fresh(&f, case);
        let out = run_guestwright(case, &f.host, img);
        let status = status_of(&out);
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Neither a run nor a dry run prints a password hash.
        for id in ["$1$", "$5$", "$6$", "$y$"] {
            if shown.contains(id) {
                failures.push(format!(
                    "{}: the output shows a {id} hash:\n{shown}",
                    case.name
                ));
            }
        }
        // Compare the image only when virt-customize succeeded (after an error it leaves
        // whatever it had done unflushed).
        let mut want = expected.clone();
        if let Some(s) = case.guestwright_status {
            want = want.replacen(
                expected.lines().next().unwrap_or_default(),
                &format!("status {s}"),
                1,
            );
        }
        let got = result(status, before, &f.work);
        if got != want {
            failures.push(format!(
                "{}: guestwright differs from virt-customize 1.48\n--- virt-customize\n{want}--- guestwright\n{got}--- guestwright's output\n{shown}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Records `tests/customize-diff/expected/` with virt-customize (run by
/// `scripts/record-customize`), then says how guestwright compares.
#[test]
#[ignore = "needs libguestfs 1.48: run scripts/record-customize"]
fn record() {
    if std::env::var_os("CUSTOMIZE_DIFF_RECORD").is_none() {
        return;
    }
    let cases = cases();
    let f = fixture(&cases);
    let dir = root().join("expected");
    std::fs::create_dir_all(&dir).unwrap();
    for case in cases {
        let (img, before) = fresh(&f, &case);
        let out = run_virt_customize(&case, &f.host, img);
        let status = status_of(&out);
        let recorded = result(status, before, &f.work);
        std::fs::write(dir.join(&case.name), &recorded).unwrap();
        eprintln!(
            "== {} (virt-customize exit {status})\n{}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| !l.starts_with('['))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let (img, before) = fresh(&f, &case);
        let gw = run_guestwright(&case, &f.host, img);
        let mut want = recorded.clone();
        if let Some(s) = case.guestwright_status {
            want = want.replacen(&format!("status {status}"), &format!("status {s}"), 1);
        }
        let got = result(status_of(&gw), before, &f.work);
        match got == want {
            true => eprintln!("   guestwright: same"),
            false => eprintln!(
                "   guestwright DIFFERS:\n--- virt-customize\n{want}--- guestwright\n{got}{}",
                String::from_utf8_lossy(&gw.stderr)
            ),
        }
    }
}
