//! Bodies of the targets that feed guest files to the host library's parsers and editors
//! (`guestwright::inspect`, `guestwright::edit`). Every byte of a guest file is hostile; each
//! body checks what the parser or editor promises in its documentation, not only that it
//! returns: editors are idempotent (a second customize changes nothing), keep the lines they
//! do not own, and read back what they wrote; parsers report single-line fields.
//!
//! Editor targets take a control line first (see [`crate::input`]).

use crate::input::{self, bodies, control, in_order, pick};
use guestwright::edit::hostname::{self, Hostname, LoopbackAlias};
use guestwright::edit::network::{
    self, debian, ifcfg, keyfile, netplan, networkd, GuestFile, GuestNetwork, IpConfig,
    NetworkSpec, NetworkStyle,
};
use guestwright::edit::password::PasswordSelector;
use guestwright::edit::ssh::{self, PublicKey};
use guestwright::edit::udev::{self, UdevNet};
use guestwright::edit::users::{self, LoginDefs, UserDb, UserSpec};
use guestwright::edit::{shadow, sysconfig, sysprep, timezone, FileChange, FileEdit};
use guestwright::inspect::{fstab, osrelease, packages, rpmdb};
use guestwright::protocol::{Device, Filesystem};

fn lossy(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

// ---------------------------------------------------------------------------------------
// Inspection: /etc/fstab, os-release and the older release files, the package databases.

/// The appliance's name of the disk at `index`, as the kernel names SCSI disks: `sda` ..
/// `sdz`, `sdaa` .. `sdzz`, `sdaaa` ...
fn sd_name(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    format!("/dev/sd{}", String::from_utf8(letters).expect("ASCII"))
}

fn filesystem(dev: &str, fstype: &str, label: Option<&str>, uuid: Option<&str>) -> Filesystem {
    Filesystem {
        device: Device::from(dev),
        fstype: fstype.into(),
        label: label.map(Into::into),
        uuid: uuid.map(Into::into),
    }
}

/// `fstab`: the input is /etc/fstab; its first byte is also the number of disks attached.
/// Every entry mounts a local filesystem on an absolute path, with single-word type and
/// options; a spec resolves only to a device the appliance has; and the guest's name of every
/// attached disk (`/dev/vdN`, `/dev/nvmeNn1`) resolves to the disk at that position.
pub fn fstab(data: &[u8]) {
    let disks = usize::from(data.first().copied().unwrap_or(1));
    let text = lossy(data);
    let mut filesystems = vec![
        filesystem("/dev/sda1", "vfat", Some("EFI"), Some("A1B2-C3D4")),
        filesystem(
            "/dev/sda2",
            "ext4",
            Some("root"),
            Some("4a8c1a5e-1d3f-4c2b-9f61-3d7e0e1f2a3b"),
        ),
        filesystem(
            "/dev/rhel/root",
            "xfs",
            None,
            Some("0b5e2c9a-77d1-4e8b-a7a2-51f7c9e0d6aa"),
        ),
        filesystem("/dev/vg-data/lv-srv", "btrfs", Some("srv data"), None),
    ];
    for i in 1..disks.min(40) {
        filesystems.push(filesystem(&format!("{}1", sd_name(i)), "ext4", None, None));
    }
    let partuuids: fstab::PartUuids = vec![
        ("6f1c2d3e-01".into(), Device::from("/dev/sda1")),
        (
            "5d0b0d1c-8a7e-4b4e-9d55-1c7e0c6f2b11".into(),
            Device::from("/dev/sda2"),
        ),
    ];
    let known = |d: &Device| {
        filesystems.iter().any(|f| f.device == *d) || partuuids.iter().any(|(_, p)| p == d)
    };

    let entries = fstab::parse(&text);
    assert!(entries.len() <= text.lines().count());
    for e in &entries {
        assert!(e.mountpoint.starts_with('/'), "{e:?}");
        for field in [&e.fstype, &e.options] {
            assert!(
                !field.is_empty() && !field.contains(char::is_whitespace),
                "{e:?}"
            );
        }
        assert!(!["swap", "proc", "tmpfs", "none", "nfs"].contains(&e.fstype.as_str()));
        assert!(!e.options.split(',').any(|o| o == "bind"), "{e:?}");
        if let Some(d) = fstab::resolve(&e.spec, &filesystems, &partuuids, disks) {
            assert!(
                known(&d),
                "{} resolved to {d}, which does not exist",
                e.spec
            );
        }
    }
    // Any word of the file as a spec (the guest's device names in all their spellings).
    for word in text.split_whitespace().take(64) {
        if let Some(d) = fstab::resolve(word, &filesystems, &partuuids, disks) {
            assert!(known(&d), "{word} resolved to {d}, which does not exist");
        }
    }
    for i in 1..disks.min(40) {
        let want = Device::from(format!("{}1", sd_name(i)));
        let vd = format!("/dev/vd{}1", (b'a' + i as u8) as char);
        for spec in [format!("/dev/nvme{i}n1p1"), vd] {
            if spec.starts_with("/dev/vd") && i >= 26 {
                continue;
            }
            assert_eq!(
                fstab::resolve(&spec, &filesystems, &partuuids, disks).as_ref(),
                Some(&want),
                "{spec} with {disks} disks"
            );
        }
    }
}

fn well_formed_release(r: &osrelease::Release) {
    assert!(!r.distro.is_empty(), "{r:?}");
    for field in [&r.distro, &r.product_name] {
        assert!(!field.contains('\n'), "a field spans lines: {r:?}");
    }
    let _ = osrelease::package_tools(&r.distro, r.major, true);
    let _ = osrelease::osinfo(&r.distro, r.major, r.minor);
}

/// `os_release`: the input is /etc/os-release (or lsb-release, or /etc/sysconfig/network,
/// which inspection reads with the same parser), and also each older release file. Keys are
/// shell names, values single lines; whatever the files say, a release has a distro and
/// one-line names.
pub fn os_release(data: &[u8]) {
    let text = lossy(data);
    let pairs = osrelease::parse_os_release(&text);
    for (k, v) in &pairs {
        assert!(
            !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{k:?}"
        );
        assert!(!v.contains('\n'), "{k}={v:?} spans lines");
    }
    for path in osrelease::RELEASE_FILES {
        let r = osrelease::detect(|p| (p == *path).then(|| text.clone()));
        well_formed_release(&r);
    }
    let all = osrelease::detect(|_| Some(text.clone()));
    well_formed_release(&all);
    assert_eq!(osrelease::detect(|_| None).distro, "unknown");
}

fn well_formed_app(a: &packages::Application) {
    for field in [&a.name, &a.version, &a.release, &a.arch] {
        assert!(!field.contains('\n'), "a field spans lines: {a:?}");
    }
}

/// `dpkg_status`: the input is /var/lib/dpkg/status. Packages come sorted by name with
/// one-line fields, and what is reported is what the file says: written back as a status
/// file, the packages parse to the same list.
pub fn dpkg_status(data: &[u8]) {
    let text = lossy(data);
    let apps = packages::parse_dpkg_status(&text);
    assert!(apps.len() <= text.split("\n\n").count());
    assert!(apps.windows(2).all(|w| w[0].name <= w[1].name));
    let mut again = String::new();
    for a in &apps {
        well_formed_app(a);
        let mut version = format!("{}:{}", a.epoch, a.version);
        if !a.release.is_empty() {
            version = format!("{version}-{}", a.release);
        }
        again.push_str(&format!(
            "Package: {}\nStatus: install ok installed\nArchitecture: {}\nVersion: {version}\n\n",
            a.name, a.arch
        ));
    }
    let back = packages::parse_dpkg_status(&again);
    // Sorting is stable: compare as multisets of names, and whole when names are unique.
    let names = |v: &[packages::Application]| v.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&back), names(&apps), "{again:?}");
    // The fields a status line holds (not the description and friends, not written back).
    let core = |v: &[packages::Application]| {
        v.iter()
            .map(|a| {
                (
                    a.name.clone(),
                    a.epoch,
                    a.version.clone(),
                    a.release.clone(),
                    a.arch.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    if !text.contains('\r') {
        assert_eq!(core(&back), core(&apps), "written back as {again:?}");
    }
}

/// A header blob holding the fields inspection reads, as strings (the epoch as INT32).
fn rpm_header_of(a: &packages::Application) -> Vec<u8> {
    let strings: [(u32, &str); 7] = [
        (1000, &a.name),
        (1001, &a.version),
        (1002, &a.release),
        (1004, &a.summary),
        (1005, &a.description),
        (1020, &a.url),
        (1022, &a.arch),
    ];
    let mut index = Vec::new();
    let mut data = a.epoch.to_be_bytes().to_vec();
    for v in [1003u32, 4, 0, 1] {
        index.extend_from_slice(&v.to_be_bytes());
    }
    for (tag, text) in strings {
        // Type 6 (STRING) for some, 9 (I18NSTRING) for the translatable ones, as rpm does.
        let ty: u32 = if tag == 1004 || tag == 1005 { 9 } else { 6 };
        for v in [tag, ty, data.len() as u32, 1] {
            index.extend_from_slice(&v.to_be_bytes());
        }
        data.extend_from_slice(text.as_bytes());
        data.push(0);
    }
    let mut out = 8u32.to_be_bytes().to_vec();
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(&index);
    out.extend_from_slice(&data);
    out
}

/// Checks what every rpm database reader promises: packages sorted by name, and each one
/// written back as a header blob decodes to the same package.
fn rpm_apps_hold(apps: &[packages::Application]) {
    assert!(apps.windows(2).all(|w| w[0].name <= w[1].name));
    for a in apps {
        assert!(!a.name.contains('\0'), "{a:?}");
        assert_eq!(
            &rpmdb::header::application(&rpm_header_of(a)).expect("a blob we wrote"),
            a
        );
    }
}

/// `rpm_header`: the input is one header blob from the rpm database (any backend). It
/// decodes or is an error; what decodes has no NUL in its fields and round-trips through a
/// blob written from it.
pub fn rpm_header(data: &[u8]) {
    if let Ok(app) = rpmdb::header::application(data) {
        rpm_apps_hold(&[app]);
    }
}

/// `rpm_bdb`: the input is a Berkeley DB `Packages` file. Read as it is, and behind a length
/// that lies (twice its size); either lists packages that hold or is an error.
pub fn rpm_bdb(data: &[u8]) {
    if let Ok(d) = rpmdb::from_bdb(data, data.len() as u64) {
        rpm_apps_hold(&d.apps);
    }
    if let Ok(d) = rpmdb::from_bdb(data, 2 * data.len() as u64) {
        rpm_apps_hold(&d.apps);
    }
}

/// `rpm_ndb`: the input is an NDB `Packages.db` (SUSE). Read as it is, and behind a length
/// that lies (longer than the bytes there, and cut to a whole number of blocks).
pub fn rpm_ndb(data: &[u8]) {
    for len in [
        data.len() as u64,
        2 * data.len() as u64,
        data.len() as u64 / 16 * 16,
    ] {
        if let Ok(d) = rpmdb::from_ndb(data, len) {
            rpm_apps_hold(&d.apps);
        }
    }
}

/// `rpm_sqlite`: the input is an `rpmdb.sqlite` (written to a private file, as inspection
/// copies it). SQLite reads it or refuses it; what is listed holds.
pub fn rpm_sqlite(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("rpmdb.sqlite");
    std::fs::write(&path, data).expect("write the database");
    if let Ok(d) = rpmdb::from_sqlite(&path) {
        rpm_apps_hold(&d.apps);
    }
}

/// `apk_installed`: the input is /lib/apk/db/installed. Packages come sorted by name with
/// one-line fields; written back as an apk database they parse to the same list.
pub fn apk_installed(data: &[u8]) {
    let apps = packages::parse_apk_installed(data);
    assert!(apps.len() <= data.iter().filter(|&&b| b == b'\n').count());
    assert!(apps.windows(2).all(|w| w[0].name <= w[1].name));
    let mut again = String::new();
    for a in &apps {
        well_formed_app(a);
        for f in [&a.url, &a.description] {
            assert!(!f.contains('\n') && !f.contains('\0'), "{a:?}");
        }
        assert!(a.summary.is_empty() && !a.version.contains('-'), "{a:?}");
        again.push_str(&format!(
            "P:{}\nV:{}:{}{}\nA:{}\nU:{}\nT:{}\n\n",
            a.name,
            a.epoch,
            a.version,
            if a.release.is_empty() {
                String::new()
            } else {
                format!("-r{}", a.release)
            },
            a.arch,
            a.url,
            a.description
        ));
    }
    assert_eq!(
        packages::parse_apk_installed(again.as_bytes()),
        apps,
        "written back as {again:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Accounts: passwd, shadow, group, gshadow, login.defs.

const USER_SPECS: &[&str] = &[
    "alice",
    "alice:uid=1500,groups=wheel,docker,shell=/bin/zsh",
    "bob:groups=sudo,adm",
    "svc$:home=/srv/svc",
    "debian",
    "ops:uid=0",
    "carol:uid=65534,groups=users",
];

/// `passwd`: the control line is a `--user-add` argument; the files are /etc/passwd,
/// /etc/shadow, /etc/group, /etc/gshadow and /etc/login.defs (a missing passwd or group is
/// empty, a missing shadow or gshadow absent). `--user-add` appends to passwd and shadow and
/// changes nothing on a second run; the user then reads back with the uid it got.
pub fn passwd(data: &[u8]) {
    let (ctl, rest) = control(data);
    let files = input::files(rest);
    let passwd = input::file(&files, "/etc/passwd").unwrap_or_default();
    let group = input::file(&files, "/etc/group").unwrap_or_default();
    let shadow = input::file(&files, "/etc/shadow");
    let gshadow = input::file(&files, "/etc/gshadow");
    let defs = LoginDefs::parse(input::file(&files, "/etc/login.defs"));
    assert!(defs.home_mode <= 0o7777);

    for e in users::passwd_entries(passwd) {
        assert!(!e.name.is_empty() && !e.name.contains(':'), "{e:?}");
        for field in [&e.home, &e.shell] {
            assert!(!field.contains([':', '\n']), "{e:?}");
        }
        assert_eq!(
            users::lookup_user(passwd, &e.name).map(|f| f.name),
            Some(e.name.clone())
        );
    }

    let spec: UserSpec = match ctl.parse() {
        Ok(s) => s,
        Err(_) => pick(USER_SPECS, &ctl)
            .parse()
            .expect("the sample specs parse"),
    };
    let db = UserDb {
        passwd,
        shadow,
        group,
        gshadow,
    };
    let Ok(out) = users::add_user(&db, &spec, &defs, 20000) else {
        return;
    };
    assert!(out.passwd.starts_with(passwd), "passwd lost bytes");
    if let (Some(before), Some(after)) = (shadow, &out.shadow) {
        assert!(after.starts_with(before), "shadow lost bytes");
    }
    assert_eq!(out.shadow.is_some(), shadow.is_some());
    assert_eq!(out.gshadow.is_some(), gshadow.is_some());
    let user = users::lookup_user(&out.passwd, &spec.name).expect("the user reads back");
    assert_eq!((user.uid, user.gid), (out.home.uid, out.home.gid));
    if let Some(uid) = spec.uid {
        assert_eq!(user.uid, uid);
    }
    // Group lines other than the groups the user joins stay as they were.
    let joined = |l: &&[u8]| {
        spec.groups
            .iter()
            .any(|g| l.split(|&b| b == b':').next() == Some(g.as_bytes()))
    };
    let before: Vec<&[u8]> = bodies(group).into_iter().filter(|l| !joined(l)).collect();
    let after: Vec<&[u8]> = bodies(&out.group)
        .into_iter()
        .filter(|l| !joined(l))
        .collect();
    assert!(in_order(&before, &after), "a group line was lost");

    let db2 = UserDb {
        passwd: &out.passwd,
        shadow: out.shadow.as_deref(),
        group: &out.group,
        gshadow: out.gshadow.as_deref(),
    };
    let again =
        users::add_user(&db2, &spec, &defs, 20001).expect("a second identical --user-add succeeds");
    assert_eq!(
        again, out,
        "a second identical --user-add changed something"
    );
}

const SHADOW_FIELDS: &[&str] = &[
    "*",
    "!",
    "!!",
    "$6$GhUQZ0xTgQvZqNsb$2bW6eGvfwhMHe2N9uZkqnCAnx1n8bf5BhFfy8ZMvFtN9ZT0pPbO7IXl5iWcoByP1CpBgQpC3nwVGzUQ1nXXAe/",
    "!$6$x$y",
];

/// `shadow`: the control line is `USER [SELECTOR]` (a `--password` selector such as
/// `password:secret`, `locked:disabled`); the input is /etc/shadow. Setting a field changes
/// only that user's lines, reads back, and a second run changes nothing; a user without a
/// line is an error, never a new line.
pub fn shadow(data: &[u8]) {
    let (ctl, content) = control(data);
    let mut words = ctl.split_whitespace();
    let user = words.next().unwrap_or("root");
    let field = *pick(SHADOW_FIELDS, &ctl);
    let has_user = bodies(content)
        .iter()
        .any(|l| l.split(|&b| b == b':').next() == Some(user.as_bytes()));
    assert_eq!(shadow::password_field(content, user).is_some(), has_user);

    match shadow::set_password_field(content, user, field, 20000) {
        Err(e) => assert!(!has_user, "{e}"),
        Ok(out) => {
            assert!(has_user);
            assert_eq!(shadow::password_field(&out, user).as_deref(), Some(field));
            let others = |d: &[u8]| -> Vec<Vec<u8>> {
                bodies(d)
                    .into_iter()
                    .filter(|l| l.split(|&b| b == b':').next() != Some(user.as_bytes()))
                    .map(<[u8]>::to_vec)
                    .collect()
            };
            assert_eq!(others(content), others(&out), "another user's line changed");
            assert_eq!(bodies(content).len(), bodies(&out).len());
            let again = shadow::set_password_field(&out, user, field, 20001).expect("user exists");
            assert_eq!(again, out, "setting the same field twice changed the file");
        }
    }

    // A selector: the guest's current field is read (and checked as a hash) to keep an equal
    // password unchanged. Only cheap selectors: a SHA-512 crypt costs milliseconds.
    if let Some(sel) = words
        .next()
        .and_then(|s| s.parse::<PasswordSelector>().ok())
    {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        if let Ok(change) = shadow::set_user_password(content, user, &sel, None, 20000, &mut rng) {
            let field = shadow::password_field(&change.shadow, user).expect("user exists");
            assert!(!field.contains([':', '\n']));
            let again =
                shadow::set_user_password(&change.shadow, user, &sel, None, 20001, &mut rng)
                    .expect("the same selector works twice");
            if change.generated.is_none() {
                assert_eq!(
                    again.shadow, change.shadow,
                    "the same password changed the file"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shell-style KEY=value files, hostname and hosts, udev rules, authorized_keys.

const SYSCONFIG_KEYS: &[(&str, &str)] = &[
    ("HOSTNAME", "web-01.example.com"),
    ("BOOTPROTO", "none"),
    ("ZONE", "America/Argentina/Buenos_Aires"),
    ("PRETTY_HOSTNAME", "Lennart's \"laptop\" $HOME `x` \\"),
    ("DNS1", "2001:db8::53"),
    ("NAME", "System eth0"),
    ("EMPTY", ""),
];

fn sysconfig_key(line: &[u8]) -> Option<String> {
    sysconfig::entries(line).into_iter().next().map(|(k, _)| k)
}

/// `sysconfig`: the control line is `KEY=VALUE` (a key of letters, digits and `_`, which is
/// what callers pass; otherwise a sample); the input is a shell-style file (sysconfig/network,
/// ifcfg-*, machine-info, sysconfig/clock). `set` reads back through `get` and `entries`, is
/// idempotent and keeps every line that does not assign the key; `remove` leaves no
/// assignment of the key and every other line byte for byte.
pub fn sysconfig(data: &[u8]) {
    let (ctl, content) = control(data);
    let (key, value) = match ctl.split_once('=') {
        Some((k, v))
            if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            (k.to_string(), v.to_string())
        }
        _ => {
            let (k, v) = pick(SYSCONFIG_KEYS, &ctl);
            (k.to_string(), v.to_string())
        }
    };
    let _ = sysconfig::get(content, &key);
    let entries = sysconfig::entries(content);
    for (k, _) in &entries {
        assert!(!k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }

    let out = sysconfig::set(content, &key, &value);
    assert_eq!(
        sysconfig::get(&out, &key).as_deref(),
        Some(value.as_bytes()),
        "set {key}={value:?} does not read back"
    );
    let last = sysconfig::entries(&out)
        .into_iter()
        .rev()
        .find(|(k, _)| *k == key);
    assert_eq!(last.map(|(_, v)| v).as_deref(), Some(value.as_bytes()));
    assert_eq!(sysconfig::set(&out, &key, &value), out, "set twice differs");
    let other = |d: &[u8]| -> Vec<Vec<u8>> {
        bodies(d)
            .into_iter()
            .filter(|l| sysconfig_key(l).as_deref() != Some(key.as_str()))
            .map(<[u8]>::to_vec)
            .collect()
    };
    assert!(
        in_order(&other(content), &other(&out)),
        "set dropped a line it does not own"
    );

    let removed = sysconfig::remove(content, &key);
    assert_eq!(sysconfig::get(&removed, &key), None);
    assert_eq!(
        other(content),
        bodies(&removed),
        "remove changed another line"
    );
    assert_eq!(sysconfig::remove(&removed, &key), removed);
    let no_hw = sysprep::drop_lines(content, &["HWADDR="]);
    assert_eq!(sysconfig::get(&no_hw, "HWADDR"), None);
    let no_host = sysprep::drop_lines(content, &["HOSTNAME=", "DHCP_HOSTNAME="]);
    assert_eq!(sysconfig::get(&no_host, "HOSTNAME"), None);
    assert_eq!(sysconfig::get(&no_host, "DHCP_HOSTNAME"), None);

    if let Ok(tz) = timezone::Timezone::parse(&value) {
        let clock = timezone::edit_sysconfig_clock(Some(content), &tz);
        assert_eq!(
            sysconfig::get(&clock, "ZONE").as_deref(),
            Some(value.as_bytes())
        );
        let file = timezone::edit_timezone_file(Some(content), &tz);
        assert_eq!(timezone::edit_timezone_file(Some(&file), &tz), file);
    }
}

const HOSTNAMES: &[&str] = &["web-01.example.com", "db1", "new.lab.example", "a"];

/// Whether a hosts line (before any `#`) names `name` after its address.
fn carries(line: &[u8], name: &str) -> bool {
    let data = line.split(|&b| b == b'#').next().unwrap_or(line);
    data.split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty())
        .skip(1)
        .any(|w| w.eq_ignore_ascii_case(name.as_bytes()))
}

/// `hosts`: the control line is `OLD NEW [debian]` (`-` for an unknown old name); the input
/// is /etc/hosts, and also /etc/hostname. The hosts edit is idempotent (with the new name as
/// the old one, and with the stale old name again), keeps lines that name neither host, and
/// on Debian leaves a line that carries the new name; the hostname file reads back the name.
pub fn hosts(data: &[u8]) {
    let (ctl, content) = control(data);
    let mut words = ctl.split_whitespace();
    let old = words.next().filter(|w| *w != "-");
    let new = match words.next().map(Hostname::parse) {
        Some(Ok(h)) => h,
        _ => Hostname::parse(pick::<&str>(HOSTNAMES, &ctl)).expect("sample names are valid"),
    };
    let alias = if words.next() == Some("debian") {
        LoopbackAlias::AddIfMissing
    } else {
        LoopbackAlias::Never
    };

    let out = hostname::edit_hosts(Some(content), old, &new, alias);
    assert_eq!(
        hostname::edit_hosts(Some(&out), Some(new.as_str()), &new, alias),
        out,
        "hosts: a second run (old name = new name) changed the file"
    );
    assert_eq!(
        hostname::edit_hosts(Some(&out), old, &new, alias),
        out,
        "hosts: a second run with the same arguments changed the file"
    );
    if alias == LoopbackAlias::AddIfMissing {
        assert!(
            bodies(&out).iter().any(|l| carries(l, new.as_str())),
            "no line carries the new name"
        );
    }
    let untouched = |l: &&[u8]| {
        let names_old = old.is_some_and(|o| {
            carries(l, o.trim()) || carries(l, o.trim().split('.').next().unwrap_or(o))
        });
        let data = l.split(|&b| b == b'#').next().unwrap_or(l);
        let loopback = data
            .split(|&b| b == b' ' || b == b'\t')
            .find(|w| !w.is_empty())
            == Some(b"127.0.1.1");
        !names_old && !loopback
    };
    let kept: Vec<&[u8]> = bodies(content).into_iter().filter(untouched).collect();
    assert!(
        in_order(&kept, &bodies(&out)),
        "hosts: a line naming neither host was changed or lost"
    );

    let file = hostname::edit_hostname_file(Some(content), &new);
    assert_eq!(
        hostname::read_hostname(&file).as_deref(),
        Some(new.as_str())
    );
    assert_eq!(hostname::edit_hostname_file(Some(&file), &new), file);
    let _ = hostname::read_hostname(content);
    let mi = hostname::edit_machine_info(Some(content), &new);
    assert_eq!(
        sysconfig::get(&mi, "PRETTY_HOSTNAME").as_deref(),
        Some(new.as_str().as_bytes())
    );
}

const UDEV_NETS: &[&str] = &[
    "eth0=52:54:00:12:34:56",
    "lan0=52:54:00:AA:BB:01",
    "wlan0=02:00:00:00:00:01",
    "enp1s0=52-54-00-aa-bb-02",
];

/// `udev_rules`: the control line is `IFACE=MAC`; the input is 70-persistent-net.rules. The
/// result holds the rule exactly once, keeps every line that mentions neither the name nor
/// the MAC, and a second run changes nothing.
pub fn udev_rules(data: &[u8]) {
    let (ctl, content) = control(data);
    let net: UdevNet = match ctl.parse() {
        Ok(n) => n,
        Err(_) => pick(UDEV_NETS, &ctl).parse().expect("sample specs parse"),
    };
    let out = udev::set_udev_net(Some(content), &net);
    let rule = net.rule();
    let lines = bodies(&out);
    assert_eq!(
        lines.iter().filter(|l| **l == rule.as_bytes()).count(),
        1,
        "the rule is not there exactly once"
    );
    assert_eq!(udev::set_udev_net(Some(&out), &net), out, "not idempotent");
    let mac = net.mac.to_string();
    let unrelated = |l: &&[u8]| {
        let s = String::from_utf8_lossy(l).to_ascii_lowercase();
        !s.contains(net.iface.as_str()) && !s.contains(&mac)
    };
    let kept: Vec<&[u8]> = bodies(content).into_iter().filter(unrelated).collect();
    assert!(in_order(&kept, &lines), "an unrelated line was lost");
    let rest: Vec<&[u8]> = lines
        .iter()
        .copied()
        .filter(|l| *l != rule.as_bytes())
        .collect();
    assert!(
        in_order(&rest, &bodies(content)) || content.is_empty(),
        "a line appeared that was not in the file"
    );
}

/// A public key of `key_type` with 32 bytes of key material, as `ssh-keygen` lays a blob out.
fn sample_key(key_type: &str, fill: u8, comment: &str) -> PublicKey {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut raw = (key_type.len() as u32).to_be_bytes().to_vec();
    raw.extend_from_slice(key_type.as_bytes());
    raw.extend_from_slice(&32u32.to_be_bytes());
    raw.extend((0..32u8).map(|i| i.wrapping_mul(fill)));
    let mut blob = String::new();
    for chunk in raw.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                blob.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                blob.push('=');
            }
        }
    }
    ssh::parse_public_key(&format!("{key_type} {blob} {comment}")).expect("sample keys parse")
}

/// `authorized_keys`: the control line is a public key line (a sample key when it does not
/// parse); the input is ~/.ssh/authorized_keys. The file's bytes are kept, the key is there
/// afterwards, and a second run changes nothing.
pub fn authorized_keys(data: &[u8]) {
    let (ctl, content) = control(data);
    let key = ssh::parse_public_key(&ctl).unwrap_or_else(|_| {
        let (t, fill) = *pick(
            &[
                ("ssh-ed25519", 7u8),
                ("ecdsa-sha2-nistp256", 3),
                ("ssh-rsa", 11),
            ],
            &ctl,
        );
        sample_key(t, fill, "alice@laptop")
    });
    let out = ssh::add_authorized_key(Some(content), &key);
    assert!(out.starts_with(content), "authorized_keys lost bytes");
    assert_eq!(
        ssh::add_authorized_key(Some(&out), &key),
        out,
        "not idempotent"
    );
    if out.len() > content.len() {
        assert!(bodies(&out).last() == Some(&key.line.as_bytes()));
    }
}

// ---------------------------------------------------------------------------------------
// Network configuration in each style.

const NETWORK_SPECS: &[&str] = &[
    "eth0:dhcp",
    "eth0:static:192.0.2.10/24:192.0.2.1:1.1.1.1,2606:4700:4700::1111",
    "ens3:static:10.0.0.5/8",
    "ens3:static:2001:db8::5/64:2001:db8::1",
    "enp1s0:static:[2001:db8::5]/64:[2001:db8::1]:2001:4860:4860::8888,8.8.8.8",
    "eth1:static:198.51.100.7/32::9.9.9.9",
    "wlan0:dhcp",
];

/// The file every style creates when no file configures the interface.
fn new_path(style: NetworkStyle, spec: &NetworkSpec) -> String {
    match style {
        NetworkStyle::Netplan => netplan::path(spec.iface.as_str()),
        NetworkStyle::Keyfile => keyfile::path(&spec.iface),
        NetworkStyle::Ifcfg => ifcfg::path(&spec.iface),
        NetworkStyle::Debian => debian::MAIN.to_string(),
        NetworkStyle::Networkd => networkd::path(&spec.iface),
        other => panic!("no expected path for the network style {other:?}: teach new_path it"),
    }
}

fn written(edits: &[FileEdit]) -> Vec<(String, Vec<u8>, Option<u32>)> {
    edits
        .iter()
        .map(|e| match &e.change {
            FileChange::Write { content, mode } => (e.path.clone(), content.clone(), *mode),
            other => panic!("--network only writes files, not {other:?} at {}", e.path),
        })
        .collect()
}

const IFCFG_MANAGED: &[&str] = &[
    "BOOTPROTO",
    "IPADDR",
    "PREFIX",
    "NETMASK",
    "GATEWAY",
    "IPV6INIT",
    "IPV6_AUTOCONF",
    "IPV6ADDR",
    "IPV6ADDR_SECONDARIES",
    "IPV6_DEFAULTGW",
    "ONBOOT",
];

fn ifcfg_managed(key: &str) -> bool {
    IFCFG_MANAGED.contains(&key)
        || ["IPADDR", "PREFIX", "NETMASK", "GATEWAY", "DNS"]
            .iter()
            .any(|b| {
                key.strip_prefix(b)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
            })
}

/// What an ifcfg file must say after the edit, and that it kept the lines it does not own.
fn check_ifcfg(before: Option<&[u8]>, after: &[u8], spec: &NetworkSpec) {
    let get = |k: &str| sysconfig::get(after, k).map(|v| lossy(&v));
    assert_eq!(get("ONBOOT").as_deref(), Some("yes"));
    match &spec.config {
        IpConfig::Dhcp => assert_eq!(get("BOOTPROTO").as_deref(), Some("dhcp")),
        IpConfig::Static(s) if s.address.is_ipv4() => {
            assert_eq!(get("BOOTPROTO").as_deref(), Some("none"));
            assert_eq!(get("IPADDR"), Some(s.address.to_string()));
            assert_eq!(get("PREFIX"), Some(s.prefix.to_string()));
            assert_eq!(get("GATEWAY"), s.gateway.map(|g| g.to_string()));
        }
        IpConfig::Static(s) => {
            assert_eq!(get("IPV6ADDR"), Some(s.cidr()));
            assert_eq!(get("IPV6_DEFAULTGW"), s.gateway.map(|g| g.to_string()));
        }
        other => panic!("no ifcfg check for {other:?}: teach check_ifcfg it"),
    }
    if let Some(before) = before {
        let unmanaged = |d: &[u8]| -> Vec<Vec<u8>> {
            bodies(d)
                .into_iter()
                .filter(|l| !sysconfig_key(l).is_some_and(|k| ifcfg_managed(&k)))
                .map(<[u8]>::to_vec)
                .collect()
        };
        assert!(
            in_order(&unmanaged(before), &unmanaged(after)),
            "ifcfg: a line the edit does not own was lost"
        );
    }
}

/// The network targets: the control line is `SPEC [netplan] [nm] [ifcfg]` (a `--network`
/// argument, then which of /etc/netplan, /etc/NetworkManager and network-scripts exist); the
/// files are the guest's network configuration. The edits of `style` only write files the
/// guest has or the style's own new file, keyfiles and netplan files mode 0600, and a second
/// run over the edited files writes the same bytes again.
fn network_style(style: NetworkStyle, data: &[u8]) {
    let (ctl, rest) = control(data);
    let mut words = ctl.split_whitespace();
    let spec: NetworkSpec = match words.next().map(str::parse) {
        Some(Ok(s)) => s,
        _ => pick(NETWORK_SPECS, &ctl)
            .parse()
            .expect("sample specs parse"),
    };
    let flags: Vec<&str> = words.collect();
    let files = input::files(rest);
    let mut state: Vec<(String, Vec<u8>)> =
        files.iter().map(|(p, c)| (p.clone(), c.to_vec())).collect();
    let run = |state: &[(String, Vec<u8>)]| {
        let guest = GuestNetwork {
            files: state
                .iter()
                .map(|(p, c)| GuestFile {
                    path: p,
                    content: c,
                })
                .collect(),
            netplan_dir: flags.contains(&"netplan"),
            networkmanager: flags.contains(&"nm"),
            ifcfg_dir: flags.contains(&"ifcfg"),
        };
        let _ = network::pick_style(&guest, &spec.iface);
        written(&network::network_edits(&guest, &spec, style))
    };

    let first = run(&state);
    assert!(!first.is_empty(), "no edit for {spec}");
    let fresh = new_path(style, &spec);
    for (path, content, mode) in &first {
        assert!(
            *path == fresh || state.iter().any(|(p, _)| p == path),
            "{style:?} wrote {path}, which is neither a guest file nor its own new file"
        );
        if matches!(style, NetworkStyle::Netplan | NetworkStyle::Keyfile) {
            assert_eq!(*mode, Some(0o600), "{path}");
        }
        if style == NetworkStyle::Ifcfg {
            let before = state
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, c)| c.as_slice());
            check_ifcfg(before, content, &spec);
        }
    }
    for (path, content, _) in &first {
        match state.iter_mut().find(|(p, _)| p == path) {
            Some(slot) => slot.1 = content.clone(),
            None => state.push((path.clone(), content.clone())),
        }
    }
    for (path, content, _) in run(&state) {
        let before = state.iter().find(|(p, _)| *p == path).map(|(_, c)| c);
        assert_eq!(
            before.map(|c| lossy(c)),
            Some(lossy(&content)),
            "{style:?}: a second run of --network {spec} changed {path}"
        );
    }
}

/// `netplan`: /etc/netplan/*.yaml.
pub fn netplan(data: &[u8]) {
    network_style(NetworkStyle::Netplan, data);
}

/// `ifcfg`: /etc/sysconfig/network-scripts/ifcfg-*.
pub fn ifcfg(data: &[u8]) {
    network_style(NetworkStyle::Ifcfg, data);
}

/// `interfaces`: /etc/network/interfaces and the files it sources.
pub fn interfaces(data: &[u8]) {
    network_style(NetworkStyle::Debian, data);
}

/// `nm_keyfile`: NetworkManager's system-connections/*.nmconnection.
pub fn nm_keyfile(data: &[u8]) {
    network_style(NetworkStyle::Keyfile, data);
}

/// `networkd`: /etc/systemd/network/*.network.
pub fn networkd(data: &[u8]) {
    network_style(NetworkStyle::Networkd, data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_names() {
        assert_eq!(sd_name(0), "/dev/sda");
        assert_eq!(sd_name(25), "/dev/sdz");
        assert_eq!(sd_name(26), "/dev/sdaa");
        assert_eq!(sd_name(27), "/dev/sdab");
        assert_eq!(sd_name(701), "/dev/sdzz");
        assert_eq!(sd_name(702), "/dev/sdaaa");
    }

    #[test]
    fn sample_keys_parse() {
        for t in ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"] {
            assert_eq!(sample_key(t, 5, "c").key_type, t);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Windows: the registry hives (SOFTWARE, SYSTEM) inspection reads from the guest.

/// `hive`: the input is a registry hive file. It loads or is refused, never panics; once
/// loaded, every read inspection makes (CurrentVersion, Select, the control set's hostname,
/// MountedDevices, both Uninstall keys) returns, and a walk of the tree finds every subkey it
/// lists by name (any case), with string values that stop at their NUL.
pub fn hive(data: &[u8]) {
    use guestwright::inspect::windows::hive::Hive;
    let Ok(hive) = Hive::parse(data.to_vec(), "fuzz") else {
        return;
    };
    let string_ok = |s: Option<String>| {
        if let Some(s) = s {
            assert!(!s.contains('\0'), "{s:?}");
        }
    };
    let cv = r"Microsoft\Windows NT\CurrentVersion";
    for name in [
        "ProductName",
        "CurrentVersion",
        "InstallationType",
        "CurrentBuildNumber",
        "EditionID",
    ] {
        string_ok(hive.string(cv, name));
    }
    let _ = hive.dword(cv, "CurrentMajorVersionNumber");
    if let Some(current) = hive.dword("Select", "Current") {
        let params = format!(r"ControlSet{current:03}\Services\Tcpip\Parameters");
        string_ok(hive.string(&params, "Hostname"));
    }
    let _ = hive.values("MountedDevices");
    for uninstall in [
        r"Microsoft\Windows\CurrentVersion\Uninstall",
        r"WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
    ] {
        for sub in hive.subkeys(uninstall).unwrap_or_default() {
            string_ok(hive.string(&format!(r"{uninstall}\{sub}"), "DisplayName"));
        }
    }
    // The whole tree, breadth first, bounded.
    let mut pending = vec![String::new()];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        seen += 1;
        if seen > 2000 {
            break;
        }
        assert!(hive.has_key(&path), "{path:?} was listed but does not open");
        for (name, _) in hive.values(&path).unwrap_or_default() {
            string_ok(hive.string(&path, &name));
            let _ = hive.dword(&path, &name);
        }
        for sub in hive.subkeys(&path).unwrap_or_default() {
            // A name with a backslash, or an empty one, cannot be named in a path.
            if sub.is_empty() || sub.contains('\\') {
                continue;
            }
            let child = if path.is_empty() {
                sub
            } else {
                format!(r"{path}\{sub}")
            };
            pending.push(child.to_uppercase());
        }
    }
}
