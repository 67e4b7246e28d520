//! Runs one [`Operation`] against the mounted guest: reads the files it needs, calls the pure
//! editors of [`crate::edit`], and writes back what changed through [`Guest`].
//!
//! The distribution decides where some settings live (see [`hostname`]); everything else is
//! chosen from the files the guest has.

use std::io::Read;

use guestwright_protocol::{ChecksumType, Client, Errno, GuestPath};
use rand::Rng;

use super::files;
use super::guest::{guest_err, parent, Guest};
use super::ops::Operation;
use super::report::{Change, Step};
use super::CustomizeError;
use crate::edit::hostname::{self, Hostname, LoopbackAlias};
use crate::edit::network::{self, GuestFile, GuestNetwork};
use crate::edit::password::{Crypto, Secret};
use crate::edit::{firstboot, packages, shadow, ssh, text, timezone, udev, users};
use crate::inspect::OsInfo;

/// Files up to this size are uploaded with one `replace_file`; larger ones are streamed with
/// `upload`, which replaces the file in the same way (a new unnamed file renamed over the old
/// one when complete, with its owner and attributes), so a kill leaves no temporary name.
const UPLOAD_INLINE_MAX: u64 = 2 << 20;

/// What every operation may need besides the guest.
#[derive(Debug)]
pub struct Context<'a> {
    /// The inspected guest.
    pub os: &'a OsInfo,
    /// Days since 1970-01-01, for shadow's last-change field.
    pub today: u64,
    /// Passwords made by `random` selectors.
    pub generated: Vec<(String, Secret)>,
    /// How new password hashes are made (the last `--password-crypto` of the run); when not
    /// given, the guest's /etc/login.defs decides.
    pub crypto: Option<Crypto>,
    /// The last `--sm-credentials` of the run.
    pub sm_credentials: Option<super::ops::SmCredentials>,
    /// The appliance has a network (for the hint when a package command fails).
    pub network: bool,
    /// Firstboot scripts installed so far in this run (they are numbered from 1).
    pub firstboot_count: u32,
    /// Edit as virt-customize does where its result differs from guestwright's own
    /// ([`super::Options::virt_order`]): passwords keep shadow's last-change day and lock
    /// with `!!`, and a user the guest lacks is passed over.
    pub virt: bool,
}

/// Runs one operation; the changes it made are in `g` (take them after).
pub fn run<R: Rng>(
    g: &mut Guest<'_>,
    cx: &mut Context<'_>,
    op: &Operation,
    step: &mut Step,
    rng: &mut R,
) -> Result<(), CustomizeError> {
    match op {
        Operation::Hostname(name) => set_hostname(g, cx.os, name),
        Operation::Password { user, selector } => {
            let old = g.read("/etc/shadow")?.ok_or_else(|| {
                CustomizeError::Refused("the guest has no /etc/shadow: cannot set passwords".into())
            })?;
            let crypto = match cx.crypto {
                Some(c) => c,
                // As the guest's own passwd would hash it.
                None => g
                    .read("/etc/login.defs")?
                    .and_then(|t| Crypto::from_login_defs(&t))
                    .unwrap_or_default(),
            };
            let selector = &crate::edit::password::PasswordSelector {
                crypto,
                ..selector.clone()
            };
            let change = match cx.virt {
                false => shadow::set_user_password(&old, user, selector, None, cx.today, rng),
                true => shadow::set_user_password_as_virt_customize(&old, user, selector, rng),
            };
            let change = match change {
                Ok(c) => c,
                // virt-customize passes over a user the guest does not have, saying nothing.
                Err(shadow::ShadowError::NoSuchUser(_)) if cx.virt => return Ok(()),
                Err(e) => return Err(CustomizeError::Refused(crate::error::chain(&e))),
            };
            g.write("/etc/shadow", Some(&old), &change.shadow, None, false)?;
            if let Some(p) = change.generated {
                cx.generated.push((user.clone(), p));
            }
            Ok(())
        }
        Operation::UserAdd(spec) => add_user(g, cx, spec),
        Operation::SshInject(s) => ssh_inject(g, s),
        Operation::Network(spec) => set_network(g, spec, step),
        Operation::UdevNet(net) => {
            g.edit_file(udev::RULES_PATH, |old| udev::set_udev_net(old, net), true)?;
            Ok(())
        }
        Operation::UdevNetClear => {
            g.delete(udev::RULES_PATH)?;
            Ok(())
        }
        Operation::Write { path, content } => {
            // The content does not depend on the old one: a link there is replaced.
            let old = g.read_replaceable(path)?;
            if old.is_none() && !g.is_dir(parent(path))? {
                return Err(CustomizeError::Refused(format!(
                    "cannot write {path}: {} does not exist in the guest (add --mkdir {} before it)",
                    parent(path),
                    parent(path)
                )));
            }
            g.write(path, old.as_deref(), content, None, false)?;
            Ok(())
        }
        Operation::AppendLine { path, line } => {
            let old = g.read(path)?;
            // An empty LINE always adds a blank line (virt-customize's way to insert one).
            let present = !line.is_empty()
                && old
                    .as_deref()
                    .is_some_and(|c| text::lines(c).iter().any(|l| l.body == line.as_bytes()));
            if !present {
                let new = text::append_line(old.as_deref().unwrap_or_default(), line.as_bytes());
                g.write(path, old.as_deref(), &new, None, false)?;
            }
            Ok(())
        }
        Operation::Upload { host, path } => upload(g, host, path),
        Operation::Mkdir(p) => {
            g.mkdir_p(p)?;
            Ok(())
        }
        Operation::Copy { src, dest } => files::copy(g, src, dest),
        Operation::CopyIn { local, dir } => files::copy_in(g, local, dir),
        Operation::Move { src, dest } => files::move_to(g, src, dest),
        Operation::Scrub(p) => files::scrub(g, p),
        Operation::Touch(p) => files::touch(g, p),
        Operation::Truncate(p) => files::truncate(g, p),
        Operation::TruncateRecursive(p) => files::truncate_recursive(g, p),
        // Read before the run (see `run_plan`): it applies to every password.
        Operation::PasswordCrypto(_)
        | Operation::SelinuxRelabel
        | Operation::NoLogfile
        | Operation::SmCredentials(_) => Ok(()),
        Operation::SmRegister
        | Operation::SmAttach(_)
        | Operation::SmRemove
        | Operation::SmUnregister => {
            let (cmd, display) = op.sm_command(cx.sm_credentials.as_ref()).ok_or_else(|| {
                CustomizeError::Refused(
                    "subscription-manager credentials required for --sm-register".into(),
                )
            })?;
            run_in_guest(g, cx, &display, &cmd, step, true)
        }
        Operation::Delete(p) => {
            g.delete_glob(p)?;
            Ok(())
        }
        Operation::Chmod { mode, path, .. } => {
            match cx.virt {
                true => g.chmod_always(path, *mode)?,
                false => g.chmod(path, *mode)?,
            };
            Ok(())
        }
        Operation::Link { target, links } => {
            for l in links {
                g.symlink(l, target)?;
            }
            Ok(())
        }
        Operation::Timezone(tz) => {
            let zone = tz.zoneinfo_path();
            let found = g
                .stat(&zone)?
                .is_some_and(|s| s.mode & libc::S_IFMT == libc::S_IFREG);
            if !found {
                return Err(CustomizeError::Refused(format!(
                    "time zone {} is not installed in the guest ({zone} is missing): pick one that exists (install tzdata) or use UTC",
                    tz.as_str()
                )));
            }
            let etc_tz = g.read("/etc/timezone")?;
            let clock = g.read("/etc/sysconfig/clock")?;
            g.apply(&timezone::timezone_edits(
                tz,
                etc_tz.as_deref(),
                clock.as_deref(),
            ))
        }
        Operation::Edit { path, expr, .. } => {
            let old = g.read(path)?.ok_or_else(|| {
                CustomizeError::Refused(format!(
                    "{path} does not exist in the guest: nothing to edit"
                ))
            })?;
            let new = expr.apply(&old);
            g.write(path, Some(&old), &new, None, false)?;
            Ok(())
        }
        Operation::RunCommand(cmd) => run_in_guest(g, cx, cmd, cmd, step, false),
        Operation::Run { path, script } => {
            run_in_guest(g, cx, &path.display().to_string(), script, step, false)
        }
        // The report shows virt-customize's command; the one run may add apt configuration
        // (see `apt_conf`).
        Operation::Install(pkgs) => {
            let manager = &cx.os.package_management;
            let shown = packages::install_command(manager, pkgs)
                .map_err(|e| CustomizeError::Refused(e.to_string()))?;
            let conf = apt_conf(g, cx)?;
            let cmd = packages::install_command_with(manager, pkgs, conf.as_deref())
                .map_err(|e| CustomizeError::Refused(e.to_string()))?;
            run_in_guest(g, cx, &shown, &cmd, step, true)
        }
        Operation::Update => {
            let manager = &cx.os.package_management;
            let shown = packages::update_command(manager)
                .map_err(|e| CustomizeError::Refused(e.to_string()))?;
            let conf = apt_conf(g, cx)?;
            let cmd = packages::update_command_with(manager, conf.as_deref())
                .map_err(|e| CustomizeError::Refused(e.to_string()))?;
            run_in_guest(g, cx, &shown, &cmd, step, true)
        }
        Operation::Uninstall(pkgs) => {
            let manager = &cx.os.package_management;
            let shown = packages::uninstall_command(manager, pkgs)
                .map_err(|e| CustomizeError::Refused(e.to_string()))?;
            let conf = apt_conf(g, cx)?;
            let cmd = packages::uninstall_command_with(manager, pkgs, conf.as_deref())
                .map_err(|e| CustomizeError::Refused(e.to_string()))?;
            run_in_guest(g, cx, &shown, &cmd, step, false)
        }
        Operation::FirstbootCommand(cmd) => firstboot(g, cx, cmd, cmd),
        Operation::Firstboot { path, script } => {
            firstboot(g, cx, &path.display().to_string(), script)
        }
        Operation::FirstbootInstall(pkgs) => {
            let cmd = packages::install_command(&cx.os.package_management, pkgs)
                .map_err(|e| CustomizeError::Refused(e.to_string()))?;
            let name = format!("install {}", pkgs.join(" "));
            firstboot(g, cx, &name, &cmd)
        }
    }
}

/// Turns off the skipping of debconf's apt hook (on a guest without apt-utils) when set to
/// `0`, so that apt runs exactly as the guest configures it (for comparisons).
pub const DEBCONF_SKIP_ENV: &str = "GUESTWRIGHT_APT_DEBCONF_SKIP";

/// Files where debconf may be told to keep its warnings to itself (`Nowarnings: yes`).
const DEBCONF_CONFIGS: &[&str] = &[
    "/root/.debconfrc",
    "/etc/debconf.conf",
    "/usr/share/debconf/debconf.conf",
];

/// apt configuration for the apt-get runs of `--install`, `--update` and `--uninstall` on
/// an apt guest without apt-utils: debconf's hook (`dpkg-preconfigure --apt`) only says
/// then that it delays configuration, after Perl spent seconds under TCG loading debconf,
/// so it is replaced by a shell hook that says the same, every other hook kept
/// ([`packages::debconf_delay_config`]). The guest's files and the log end up the same.
/// `None` (apt as configured) whenever that cannot be known: apt-utils installed,
/// `dpkg-preconfigure` missing, debconf configured to be quiet, an unusual hook list, or
/// `apt-config` failing.
fn apt_conf(g: &Guest<'_>, cx: &Context<'_>) -> Result<Option<String>, CustomizeError> {
    if cx.os.package_management != "apt" || std::env::var(DEBCONF_SKIP_ENV).is_ok_and(|v| v == "0")
    {
        return Ok(None);
    }
    // perl's -x as root: any execute bit, or a directory; a link is followed.
    let executable = |path: &str| match g.h.stat(GuestPath::from(path)) {
        Ok(st) => st.mode & libc::S_IFMT == libc::S_IFDIR || st.mode & 0o111 != 0,
        Err(e) => !matches!(e.errno(), Some(Errno::ENOENT) | Some(Errno::ENOTDIR)),
    };
    if !g
        .lstat("/usr/sbin/dpkg-preconfigure")?
        .is_some_and(|s| s.mode & libc::S_IFMT == libc::S_IFREG && s.mode & 0o111 != 0)
    {
        return Ok(None);
    }
    for path in DEBCONF_CONFIGS {
        if g.read_config(path)
            .unwrap_or_else(|_| Some(b"nowarnings".to_vec()))
            .is_some_and(|c| {
                c.to_ascii_lowercase()
                    .windows(10)
                    .any(|w| w == b"nowarnings")
            })
        {
            return Ok(None);
        }
    }
    let dump = match g
        .h
        .command(vec!["apt-config".to_owned(), "dump".to_owned()])
    {
        Ok(d) => d,
        Err(e) => {
            log::debug!(
                "apt-config dump failed, apt runs as configured: {}",
                crate::error::chain(&e)
            );
            return Ok(None);
        }
    };
    // The configuration files go to the appliance's /dev, bound over a real /dev of the
    // guest's while commands run; without one they would land in the image.
    if g.lstat("/dev")?
        .is_none_or(|s| s.mode & libc::S_IFMT != libc::S_IFDIR)
    {
        return Ok(None);
    }
    let main_exists = g
        .stat("/etc/apt/apt.conf")?
        .is_some_and(|s| s.mode & libc::S_IFMT == libc::S_IFREG);
    let Some(conf) = packages::debconf_delay_config(&dump, main_exists) else {
        return Ok(None);
    };
    if packages::apt_path_dirs(&dump)
        .iter()
        .any(|d| executable(&format!("{d}/apt-extracttemplates")))
    {
        return Ok(None);
    }
    log::debug!("apt-utils is not installed: debconf's hook is replaced by one that says so");
    Ok(Some(conf))
}

/// `--hostname`, per distribution as virt-customize does it, plus /etc/hosts everywhere it
/// names the old host.
fn set_hostname(g: &mut Guest<'_>, os: &OsInfo, name: &Hostname) -> Result<(), CustomizeError> {
    let rh = matches!(
        os.distro.as_str(),
        "fedora"
            | "rhel"
            | "centos"
            | "scientificlinux"
            | "oraclelinux"
            | "rocky"
            | "almalinux"
            | "redhat-based"
            | "openeuler"
    );
    let modern_rh =
        rh && (os.major_version >= 7 || (os.distro == "fedora" && os.major_version >= 18));
    let debian = matches!(
        os.distro.as_str(),
        "debian" | "ubuntu" | "kalilinux" | "linuxmint"
    );
    let suse = matches!(os.distro.as_str(), "opensuse" | "sles" | "suse-based");

    let old_file = g.read("/etc/hostname")?;
    let mut old_name = old_file.as_deref().and_then(hostname::read_hostname);
    if rh && !modern_rh {
        // RHEL 6 and older: /etc/sysconfig/network is where the name lives.
        let cur = g.read("/etc/sysconfig/network")?;
        if old_name.is_none() {
            old_name = cur
                .as_deref()
                .and_then(|c| crate::edit::sysconfig::get(c, "HOSTNAME"))
                .map(|v| String::from_utf8_lossy(&v).into_owned());
        }
        let new = hostname::edit_sysconfig_network(cur.as_deref(), name);
        g.write("/etc/sysconfig/network", cur.as_deref(), &new, None, false)?;
    }
    if suse {
        let cur = g.read("/etc/HOSTNAME")?;
        if old_name.is_none() {
            old_name = cur.as_deref().and_then(hostname::read_hostname);
        }
        let new = hostname::edit_hostname_file(cur.as_deref(), name);
        g.write("/etc/HOSTNAME", cur.as_deref(), &new, None, false)?;
    }
    let old_rh = rh && !modern_rh;
    if !old_rh || old_file.is_some() {
        let new = hostname::edit_hostname_file(old_file.as_deref(), name);
        g.write("/etc/hostname", old_file.as_deref(), &new, None, false)?;
    }
    let hosts = g.read("/etc/hosts")?;
    if hosts.is_some() || debian {
        let alias = if debian {
            LoopbackAlias::AddIfMissing
        } else {
            LoopbackAlias::Never
        };
        let new = hostname::edit_hosts(hosts.as_deref(), old_name.as_deref(), name, alias);
        g.write("/etc/hosts", hosts.as_deref(), &new, None, false)?;
    }
    let info = g.read("/etc/machine-info")?;
    if modern_rh
        || info
            .as_deref()
            .is_some_and(|c| crate::edit::sysconfig::get(c, "PRETTY_HOSTNAME").is_some())
    {
        let new = hostname::edit_machine_info(info.as_deref(), name);
        g.write("/etc/machine-info", info.as_deref(), &new, None, false)?;
    }
    Ok(())
}

fn add_user(
    g: &mut Guest<'_>,
    cx: &Context<'_>,
    spec: &users::UserSpec,
) -> Result<(), CustomizeError> {
    let need = |p: &str, c: Option<Vec<u8>>| {
        c.ok_or_else(|| CustomizeError::Refused(format!("the guest has no {p}: cannot add users")))
    };
    let passwd = need("/etc/passwd", g.read("/etc/passwd")?)?;
    let group = need("/etc/group", g.read("/etc/group")?)?;
    let shadow = g.read("/etc/shadow")?;
    let gshadow = g.read("/etc/gshadow")?;
    let defs = users::LoginDefs::parse(g.read_config("/etc/login.defs")?.as_deref());
    let db = users::UserDb {
        passwd: &passwd,
        shadow: shadow.as_deref(),
        group: &group,
        gshadow: gshadow.as_deref(),
    };
    let add = users::add_user(&db, spec, &defs, cx.today)
        .map_err(|e| CustomizeError::Refused(e.to_string()))?;
    g.write("/etc/passwd", Some(&passwd), &add.passwd, None, false)?;
    g.write("/etc/group", Some(&group), &add.group, None, false)?;
    if let (Some(old), Some(new)) = (&shadow, &add.shadow) {
        g.write("/etc/shadow", Some(old), new, None, false)?;
    }
    if let (Some(old), Some(new)) = (&gshadow, &add.gshadow) {
        g.write("/etc/gshadow", Some(old), new, None, false)?;
    }
    let home = &add.home;
    if g.lstat(&home.path)?.is_none() {
        g.mkdir_p(parent(&home.path))?;
        if g.is_dir(home.skel)? {
            // cp -a keeps the skeleton's modes; the owner becomes the user's below.
            g.h.cp_a(home.skel, home.path.as_str())
                .map_err(guest_err(format!(
                    "cannot copy {} to {}",
                    home.skel, home.path
                )))?;
            g.record(Change::Directory {
                path: home.path.clone(),
            });
            let entries =
                g.h.find(home.path.as_str())
                    .map_err(guest_err(format!("cannot list {}", home.path)))?;
            for rel in entries {
                let p = format!("{}/{}", home.path, String::from_utf8_lossy(rel.as_bytes()));
                g.h.lchown(i64::from(home.uid), i64::from(home.gid), p.as_str())
                    .map_err(guest_err(format!("cannot change the owner of {p}")))?;
            }
        }
        g.mkdir_owned(&home.path, home.mode, home.uid, home.gid)?;
    }
    Ok(())
}

fn ssh_inject(g: &mut Guest<'_>, s: &super::ops::SshInject) -> Result<(), CustomizeError> {
    let passwd = g.read_config("/etc/passwd")?.unwrap_or_default();
    let user = users::lookup_user(&passwd, &s.user).ok_or_else(|| {
        CustomizeError::Refused(format!(
            "user {:?} is not in the guest's /etc/passwd: add it first (--user-add {})",
            s.user, s.user
        ))
    })?;
    let home = user.home.trim_end_matches('/');
    if home.is_empty() || !home.starts_with('/') || !g.is_dir(home)? {
        return Err(CustomizeError::Refused(format!(
            "the home directory {:?} of {} does not exist in the guest",
            user.home, s.user
        )));
    }
    let dir = format!("{home}/.ssh");
    g.mkdir_owned(&dir, ssh::SSH_DIR_MODE, user.uid, user.gid)?;
    let path = format!("{dir}/authorized_keys");
    let old = g.read(&path)?;
    let new = ssh::add_authorized_key(old.as_deref(), &s.key);
    g.write(
        &path,
        old.as_deref(),
        &new,
        Some(ssh::AUTHORIZED_KEYS_MODE),
        false,
    )?;
    g.lchown(&path, user.uid, user.gid)?;
    Ok(())
}

/// Reads what the network editors look at, then applies the style's edits.
fn set_network(
    g: &mut Guest<'_>,
    spec: &network::NetworkSpec,
    step: &mut Step,
) -> Result<(), CustomizeError> {
    let patterns = [
        "/etc/netplan/*.yaml",
        "/etc/NetworkManager/system-connections/*.nmconnection",
        "/etc/sysconfig/network-scripts/ifcfg-*",
        "/etc/network/interfaces",
        "/etc/network/interfaces.d/*",
        "/etc/systemd/network/*.network",
    ];
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for pat in patterns {
        for p in g.glob(pat)? {
            if let Some(c) = g.read(&p).or_else(|e| match e {
                // A directory or device among the matches is not a config file.
                CustomizeError::Guest { .. } => Ok(None),
                e => Err(e),
            })? {
                files.push((p, c));
            }
        }
    }
    let guest = GuestNetwork {
        files: files
            .iter()
            .map(|(p, c)| GuestFile {
                path: p,
                content: c,
            })
            .collect(),
        netplan_dir: g.is_dir(network::netplan::DIR)?,
        networkmanager: g.is_dir("/etc/NetworkManager")?,
        ifcfg_dir: g.is_dir(network::ifcfg::DIR)?,
    };
    let style = network::pick_style(&guest, &spec.iface);
    step.notes.push(format!("style: {style:?}"));
    let edits = network::network_edits(&guest, spec, style);
    g.apply(&edits)
}

fn upload(g: &mut Guest<'_>, host: &std::path::Path, path: &str) -> Result<(), CustomizeError> {
    use std::os::unix::fs::PermissionsExt;
    let host_err = |source| CustomizeError::HostRead {
        path: host.to_path_buf(),
        source,
    };
    let dest = if g.is_dir(path)? {
        let base = host
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{}/{base}", path.trim_end_matches('/'))
    } else {
        path.to_owned()
    };
    let mut file = std::fs::File::open(host).map_err(host_err)?;
    let meta = file.metadata().map_err(host_err)?;
    let mode = meta.permissions().mode() & 0o7777;
    // A symbolic link at the destination is replaced, never compared through or followed.
    let existing = g.lstat(&dest)?;
    let same = match &existing {
        Some(st) if st.mode & libc::S_IFMT == libc::S_IFREG && st.size == meta.len() => {
            use sha2::Digest;
            let mut hasher = sha2::Sha256::new();
            std::io::copy(&mut file, &mut hasher).map_err(host_err)?;
            let want = format!("{:x}", hasher.finalize());
            let have =
                g.h.checksum(ChecksumType::Sha256, dest.as_str())
                    .map_err(guest_err(format!("cannot checksum {dest}")))?;
            want == have
        }
        _ => false,
    };
    if !same {
        let mut file = std::fs::File::open(host).map_err(host_err)?;
        if meta.len() <= UPLOAD_INLINE_MAX {
            let mut data = Vec::with_capacity(meta.len() as usize);
            file.read_to_end(&mut data).map_err(host_err)?;
            g.replace(&dest, existing.is_some(), &data)?;
        } else {
            let what = host.display().to_string();
            g.replace_stream(&dest, existing.is_some(), &mut file, &what)?;
        }
    }
    let cur = g.lstat(&dest)?.map(|s| s.mode & 0o7777);
    if cur != Some(mode) {
        g.chmod(&dest, mode)?;
    }
    Ok(())
}

/// Installs a firstboot script as virt-customize does (see [`firstboot`]).
fn firstboot(
    g: &mut Guest<'_>,
    cx: &mut Context<'_>,
    name: &str,
    content: &str,
) -> Result<(), CustomizeError> {
    if cx.os.os_type != "linux" {
        return Err(CustomizeError::Refused(format!(
            "firstboot scripts are only supported in Linux guests, and this one is {}",
            cx.os.os_type
        )));
    }
    let init = firstboot::InitSystems {
        // A link there (dangling or not) goes the systemd way, so that writing through it is
        // refused with the reason, instead of scripts installed that nothing starts.
        systemd: g.is_dir("/etc/systemd/system")?
            || g.lstat("/etc/systemd/system")?
                .is_some_and(|s| s.mode & libc::S_IFMT == libc::S_IFLNK),
        sysvinit: g.is_dir("/etc/rc.d")? || g.is_dir("/etc/init.d")?,
        distro: &cx.os.distro,
    };
    cx.firstboot_count += 1;
    let edits = firstboot::firstboot_edits(&init, cx.firstboot_count, name, content)
        .map_err(|e| CustomizeError::Refused(e.to_string()))?;
    g.apply(&edits)
}

/// `--no-logfile`: scrubs the log of the commands run in the guest, if there is one (and
/// deletes it when scrubbing fails), as virt-customize does at the end of a run.
pub fn scrub_logfile(g: &mut Guest<'_>) -> Result<(), CustomizeError> {
    let log = logfile(g)?;
    if g.lstat(log)?.is_none() {
        return Ok(());
    }
    if files::scrub(g, log).is_err() {
        g.delete(log)?;
    }
    Ok(())
}

/// Where virt-customize sends the output of what it runs in the guest, which stays there.
fn logfile(g: &Guest<'_>) -> Result<&'static str, CustomizeError> {
    Ok(if g.is_dir("/tmp")? {
        "/tmp/builder.log"
    } else {
        "/builder.log"
    })
}

/// Runs a shell script in the guest as virt-customize does: its output appended to the log
/// file in the guest, the host's proxy variables passed through, and i686 guests under
/// `setarch` on x86_64. The output is the step's; a failure shows it.
fn run_in_guest(
    g: &mut Guest<'_>,
    cx: &Context<'_>,
    display: &str,
    script: &str,
    step: &mut Step,
    needs_network: bool,
) -> Result<(), CustomizeError> {
    let host = std::env::consts::ARCH;
    let guest = cx.os.arch.as_str();
    let i686 = matches!(guest, "i386" | "i486" | "i586" | "i686");
    if cx.os.os_type != "linux" || !(guest == host || (host == "x86_64" && i686)) {
        return Err(CustomizeError::Refused(format!(
            "host (linux/{host}) and guest ({}/{guest}) are not compatible, so commands \
             cannot run in the guest: use the --firstboot options instead",
            cx.os.os_type
        )));
    }
    let log = logfile(g)?;
    let before = g.lstat(log)?.map_or(0, |s| s.size as usize);
    let env: String = ["http_proxy", "https_proxy", "ftp_proxy", "no_proxy"]
        .iter()
        .filter_map(|n| {
            let v = std::env::var(n).ok()?;
            Some(format!("export {n}={}\n", packages::quote(&v)))
        })
        .collect();
    let body = if host == "x86_64" && i686 {
        format!("setarch i686 <<\"__EOCMD\"\n{script}\n__EOCMD\n")
    } else {
        script.to_owned()
    };
    let cmd = format!(
        "exec >>{} 2>&1\n{}\n{body}\n",
        packages::quote(log),
        if env.is_empty() { "\n".to_owned() } else { env }.trim_end_matches('\n')
    );
    let result = g.h.sh(cmd.as_str());
    g.record(Change::Ran {
        command: display.to_owned(),
    });
    let output = g
        .read(log)?
        .map(|l| String::from_utf8_lossy(l.get(before..).unwrap_or_default()).into_owned())
        .unwrap_or_default();
    if !output.is_empty() {
        step.output = Some(output.clone());
    }
    if let Err(e) = result {
        let hint = if needs_network && !cx.network {
            " (the appliance had no network, which this may need: leave out --no-network)"
        } else {
            ""
        };
        // The daemon's message repeats the whole script; its last part says how it ended.
        let chain = crate::error::chain(&e);
        let how = chain.rsplit(": ").next().unwrap_or(&chain);
        let shown = if output.trim().is_empty() {
            String::new()
        } else {
            format!(
                "; its output (also in {log} in the guest):\n{}",
                output.trim_end()
            )
        };
        return Err(CustomizeError::Refused(format!(
            "{}: command exited with an error ({how}){hint}{shown}",
            display.split_whitespace().collect::<Vec<_>>().join(" "),
        )));
    }
    Ok(())
}
