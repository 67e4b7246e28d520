//! The customize operations: their one table (name, argument, help), the typed [`Operation`]
//! each parses into, and the parser from a name and its argument.
//!
//! Parsing validates everything that can be checked without the guest (host names, selectors,
//! keys, regexes) and reads the host files the operation names (`file:` passwords, SSH keys,
//! uploads are checked to exist), so a typo fails before an appliance is started.

use std::fmt;
use std::path::PathBuf;

use super::CustomizeError;
use crate::edit::edit_expr::{self, Substitution};
use crate::edit::hostname::Hostname;
use crate::edit::network::NetworkSpec;
use crate::edit::password::{Crypto, PasswordSelector, PasswordSource, Secret};
use crate::edit::ssh::{self, PublicKey};
use crate::edit::timezone::Timezone;
use crate::edit::udev::UdevNet;
use crate::edit::users::UserSpec;

/// One entry of the operation table.
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    /// The name, as `--NAME` on the command line and `NAME` in command files and TOML.
    pub name: &'static str,
    /// The argument's placeholder; `None` for a flag.
    pub value: Option<&'static str>,
    /// One line of help.
    pub help: &'static str,
}

const fn op(name: &'static str, value: &'static str, help: &'static str) -> OpSpec {
    OpSpec {
        name,
        value: Some(value),
        help,
    }
}

/// Every operation, in the order `--help` lists them. They run in the order given.
pub const OPERATIONS: &[OpSpec] = &[
    op("hostname", "HOSTNAME", "Set the host name (/etc/hostname, /etc/hosts and the distribution's other places)"),
    op("root-password", "SELECTOR", "Set root's password: password:P, file:PATH, random (printed once to stderr) or disabled, optionally after locked:"),
    op("password", "USER:SELECTOR", "Set a user's password (SELECTOR as for --root-password)"),
    op("user-add", "NAME[:uid=N,groups=G1,G2,shell=S,home=H]", "Add a user with a private group and a home directory from /etc/skel"),
    op("ssh-inject", "USER[:file:PATH|:string:KEY]", "Add an SSH public key to the user's authorized_keys (default: the newest ~/.ssh/id_*.pub)"),
    op("net-config", "IFACE:dhcp|IFACE:static:ADDR/PREFIX[:GW[:DNS,..]]", "Configure an interface in the guest's own style (ifupdown, ifcfg, NetworkManager, netplan, networkd); `--network IFACE:...` is its old name, accepted with a warning until the next release"),
    op("udev-net", "IFACE=MAC", "Name the interface with this MAC address (70-persistent-net.rules)"),
    OpSpec { name: "udev-net-clear", value: None, help: "Remove /etc/udev/rules.d/70-persistent-net.rules" },
    op("write", "FILE:CONTENT", "Write CONTENT to a file (replacing it)"),
    op("append-line", "FILE:LINE", "Append LINE to a file (ending the last line first, with the file's own line ending) unless a non-empty LINE is already one of its lines"),
    op("upload", "HOSTFILE:PATH", "Copy a host file into the guest (into PATH when it is a directory), with the host file's mode"),
    op("copy", "SOURCE:DEST", "Copy a file or directory recursively inside the guest (cp -a; into DEST when it is a directory)"),
    op("copy-in", "LOCALPATH:REMOTEDIR", "Copy a host file or directory recursively into REMOTEDIR, which must exist in the guest"),
    op("move", "SOURCE:DEST", "Move a file or directory inside the guest (into DEST when it is a directory)"),
    op("mkdir", "DIR", "Create a directory and its parents"),
    op("delete", "PATH", "Delete a file or a directory tree (a shell pattern deletes every match)"),
    op("scrub", "FILE", "Overwrite a regular file's data, then delete it"),
    op("touch", "FILE", "Create an empty file, or update the times of an existing one"),
    op("truncate", "FILE", "Truncate an existing file to zero bytes"),
    op("truncate-recursive", "PATH", "Truncate every regular file under PATH to zero bytes"),
    op("chmod", "PERMISSIONS:FILE", "Change the permissions of a file: decimal unless written with a leading 0 (0644), as in virt-customize"),
    op("link", "TARGET:LINK[:LINK..]", "Make each LINK a symbolic link to TARGET"),
    op("timezone", "AREA/CITY", "Set the time zone (it must exist under /usr/share/zoneinfo in the guest)"),
    op("edit", "PATH:s/REGEX/REPLACEMENT/[gi]", "Edit a file line by line with a sed-style substitution (Rust regex)"),
    op("run", "SCRIPT", "Run a shell script (a host file) in the guest: its own programs, chrooted in the appliance, with the appliance's network unless --no-network; output goes to /tmp/builder.log in the guest"),
    op("run-command", "CMD", "Run a shell command in the guest, as --run does"),
    op("install", "PKG,PKG..", "Install packages with the guest's package manager (apt, dnf, yum, zypper, pacman, apk, ...), run as --run does; needs the network"),
    OpSpec { name: "update", value: None, help: "Update every package with the guest's package manager, run as --run does; needs the network" },
    op("uninstall", "PKG,PKG..", "Remove packages with the guest's package manager, run as --run does"),
    op("firstboot", "SCRIPT", "Install a shell script (a host file) to run once, at the guest's next boot (virt-customize's guestfs-firstboot service; its output goes to ~root/virt-sysprep-firstboot.log)"),
    op("firstboot-command", "CMD", "Run a shell command once, at the guest's next boot, as --firstboot does"),
    op("firstboot-install", "PKG,PKG..", "Install packages at the guest's next boot, as --firstboot does"),
    op("password-crypto", "md5|sha256|sha512|yescrypt", "Hash the passwords this run sets with this crypt(3) method, wherever it appears on the command line (default: the guest's ENCRYPT_METHOD in /etc/login.defs, else sha512)"),
    OpSpec { name: "selinux-relabel", value: None, help: "Relabel the guest's files for SELinux: on SELinux guests, /.autorelabel is created so that the guest relabels itself at its next boot (virt-customize's fallback; the appliance has no setfiles), wherever it appears on the command line" },
    OpSpec { name: "no-logfile", value: None, help: "Scrub the log of --run, --install and the like (/tmp/builder.log in the guest) once everything else is done, wherever it appears on the command line" },
    op("sm-credentials", "USER:password:PASSWORD|USER:file:FILE", "The user and password for --sm-register (FILE's first line is the password), wherever it appears on the command line"),
    OpSpec { name: "sm-register", value: None, help: "Register the guest with subscription-manager (run in the guest as --run does; needs --sm-credentials and the network)" },
    op("sm-attach", "auto|pool:ID|file:FILE", "Attach the guest to compatible subscriptions (auto) or to a pool (FILE's first line is the pool ID) with subscription-manager"),
    OpSpec { name: "sm-remove", value: None, help: "Remove all the guest's subscriptions with subscription-manager" },
    OpSpec { name: "sm-unregister", value: None, help: "Unregister the guest with subscription-manager" },
];

/// The table entry of `name`.
pub fn spec(name: &str) -> Option<&'static OpSpec> {
    OPERATIONS.iter().find(|o| o.name == name)
}

/// Where an SSH key comes from, resolved at parse time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshInject {
    /// The guest user.
    pub user: String,
    /// The validated key.
    pub key: PublicKey,
}

/// One customize operation, validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Operation {
    /// `--hostname`.
    Hostname(Hostname),
    /// `--root-password` (user `root`) and `--password`.
    Password {
        /// The user.
        user: String,
        /// What to set.
        selector: PasswordSelector,
    },
    /// `--user-add`.
    UserAdd(UserSpec),
    /// `--ssh-inject`.
    SshInject(SshInject),
    /// `--net-config` (formerly `--network IFACE:...`).
    Network(NetworkSpec),
    /// `--udev-net`.
    UdevNet(UdevNet),
    /// `--udev-net-clear`.
    UdevNetClear,
    /// `--write`.
    Write {
        /// Guest path.
        path: String,
        /// New contents.
        content: Vec<u8>,
    },
    /// `--append-line`.
    AppendLine {
        /// Guest path.
        path: String,
        /// The line, without line ending.
        line: String,
    },
    /// `--upload`.
    Upload {
        /// Host file.
        host: PathBuf,
        /// Guest path (or directory).
        path: String,
    },
    /// `--copy`.
    Copy {
        /// Guest source.
        src: String,
        /// Guest destination (or directory).
        dest: String,
    },
    /// `--copy-in`.
    CopyIn {
        /// Host file or directory.
        local: PathBuf,
        /// Guest directory, which must exist.
        dir: String,
    },
    /// `--move`.
    Move {
        /// Guest source.
        src: String,
        /// Guest destination (or directory).
        dest: String,
    },
    /// `--scrub`.
    Scrub(String),
    /// `--touch`.
    Touch(String),
    /// `--truncate`.
    Truncate(String),
    /// `--truncate-recursive`.
    TruncateRecursive(String),
    /// `--password-crypto`: applies to every password of the run, as in virt-customize.
    PasswordCrypto(Crypto),
    /// `--mkdir`.
    Mkdir(String),
    /// `--delete`.
    Delete(String),
    /// `--chmod`.
    Chmod {
        /// Permission bits.
        mode: u32,
        /// The mode as the command line wrote it (`0644`, `420`), which virt-customize's
        /// message repeats.
        written: String,
        /// Guest path.
        path: String,
    },
    /// `--link`.
    Link {
        /// What the links point to.
        target: String,
        /// The links.
        links: Vec<String>,
    },
    /// `--timezone`.
    Timezone(Timezone),
    /// `--edit`.
    Edit {
        /// Guest path.
        path: String,
        /// The substitution.
        expr: Substitution,
        /// The expression as given, for the report.
        text: String,
    },
    /// `--run-command`.
    RunCommand(String),
    /// `--run`: the script's contents, read when parsed.
    Run {
        /// The host file, for messages.
        path: PathBuf,
        /// Its contents.
        script: String,
    },
    /// `--install`.
    Install(Vec<String>),
    /// `--update`.
    Update,
    /// `--uninstall`.
    Uninstall(Vec<String>),
    /// `--firstboot`: the script's contents, read when parsed.
    Firstboot {
        /// The host file; its name names the installed script, as in virt-customize.
        path: PathBuf,
        /// Its contents.
        script: String,
    },
    /// `--firstboot-command`.
    FirstbootCommand(String),
    /// `--firstboot-install`.
    FirstbootInstall(Vec<String>),
    /// `--selinux-relabel`: applies to the whole run, wherever it is given.
    SelinuxRelabel,
    /// `--no-logfile`: applies to the whole run, wherever it is given.
    NoLogfile,
    /// `--sm-credentials`: applies to every `--sm-register` of the run.
    SmCredentials(SmCredentials),
    /// `--sm-register`.
    SmRegister,
    /// `--sm-attach`.
    SmAttach(SmPool),
    /// `--sm-remove`.
    SmRemove,
    /// `--sm-unregister`.
    SmUnregister,
}

/// `--sm-credentials`: who registers the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmCredentials {
    /// The subscription-manager user name.
    pub user: String,
    /// The password (a `file:` one is read when parsed).
    pub password: Secret,
}

/// `--sm-attach`: what to attach to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmPool {
    /// `auto`: every compatible subscription.
    Auto,
    /// `pool:ID` or the first line of `file:FILE`.
    Id(String),
}

impl Operation {
    /// True for the options that set something for the whole run (`--password-crypto`,
    /// `--selinux-relabel`, `--no-logfile`, `--sm-credentials`), as virt-customize's flags
    /// do, whatever their place on the command line: they are read before the run and do
    /// nothing in their place.
    pub fn is_setting(&self) -> bool {
        matches!(
            self,
            Operation::PasswordCrypto(_)
                | Operation::SelinuxRelabel
                | Operation::NoLogfile
                | Operation::SmCredentials(_)
        )
    }

    /// The progress messages virt-customize 1.48 prints for this operation, in its words
    /// (`customize_run.ml`; one per link of `--link`). Passwords print none here (it sets
    /// them all at the end), nor do the settings; guestwright's own operations (`--user-add`,
    /// `--net-config`, `--udev-net`) print their own description.
    pub fn virt_messages(&self) -> Vec<String> {
        let one = |m: String| vec![m];
        match self {
            Operation::AppendLine { path, .. } => one(format!("Appending line to {path}")),
            Operation::Chmod { written, path, .. } => {
                one(format!("Changing permissions of {path} to {written}"))
            }
            Operation::RunCommand(c) => one(format!("Running: {c}")),
            Operation::Run { path, .. } => one(format!("Running: {}", path.display())),
            Operation::Copy { src, dest } => one(format!("Copying (in image): {src} to {dest}")),
            Operation::CopyIn { local, dir } => {
                one(format!("Copying: {} to {dir}", local.display()))
            }
            Operation::Delete(p) => one(format!("Deleting: {p}")),
            Operation::Edit { path, .. } => one(format!("Editing: {path}")),
            Operation::FirstbootCommand(c) => one(format!("Installing firstboot command: {c}")),
            Operation::FirstbootInstall(p) => {
                one(format!("Installing firstboot packages: {}", p.join(" ")))
            }
            Operation::Firstboot { path, .. } => {
                one(format!("Installing firstboot script: {}", path.display()))
            }
            Operation::Hostname(h) => one(format!("Setting the hostname: {h}")),
            Operation::Install(p) => one(format!("Installing packages: {}", p.join(" "))),
            Operation::Link { target, links } => links
                .iter()
                .map(|l| format!("Linking: {l} -> {target}"))
                .collect(),
            Operation::Mkdir(p) => one(format!("Making directory: {p}")),
            Operation::Move { src, dest } => one(format!("Moving: {src} -> {dest}")),
            Operation::Scrub(p) => one(format!("Scrubbing: {p}")),
            Operation::SmAttach(SmPool::Auto) => {
                one("Attaching to compatible subscriptions".into())
            }
            Operation::SmAttach(SmPool::Id(id)) => one(format!("Attaching to the pool {id}")),
            Operation::SmRegister => one("Registering with subscription-manager".into()),
            Operation::SmRemove => one("Removing all the subscriptions".into()),
            Operation::SmUnregister => one("Unregistering with subscription-manager".into()),
            Operation::SshInject(s) => one(format!("SSH key inject: {}", s.user)),
            Operation::Truncate(p) => one(format!("Truncating: {p}")),
            Operation::TruncateRecursive(p) => one(format!("Recursively truncating: {p}")),
            Operation::Timezone(t) => one(format!("Setting the timezone: {}", t.as_str())),
            Operation::Touch(p) => one(format!("Running touch: {p}")),
            Operation::Uninstall(p) => one(format!("Uninstalling packages: {}", p.join(" "))),
            Operation::Update => one("Updating packages".into()),
            Operation::Upload { host, path } => {
                one(format!("Uploading: {} to {path}", host.display()))
            }
            Operation::Write { path, .. } => one(format!("Writing: {path}")),
            Operation::Password { .. }
            | Operation::PasswordCrypto(_)
            | Operation::SelinuxRelabel
            | Operation::NoLogfile
            | Operation::SmCredentials(_) => Vec::new(),
            Operation::UserAdd(_)
            | Operation::Network(_)
            | Operation::UdevNet(_)
            | Operation::UdevNetClear => one(self.to_string()),
        }
    }

    /// The subscription-manager command line of an `--sm-*` operation, as virt-customize
    /// runs it, and what to show of it (never the password).
    pub fn sm_command(&self, credentials: Option<&SmCredentials>) -> Option<(String, String)> {
        use crate::edit::packages::quote;
        let plain = |c: &str| Some((c.to_owned(), c.to_owned()));
        match self {
            Operation::SmRegister => {
                let c = credentials?;
                Some((
                    format!(
                        "subscription-manager register --username={} --password={}",
                        quote(&c.user),
                        quote(&String::from_utf8_lossy(c.password.expose()))
                    ),
                    "subscription-manager register".to_owned(),
                ))
            }
            Operation::SmAttach(SmPool::Auto) => plain("subscription-manager attach --auto"),
            Operation::SmAttach(SmPool::Id(id)) => {
                plain(&format!("subscription-manager attach --pool={}", quote(id)))
            }
            Operation::SmRemove => plain("subscription-manager remove --all"),
            Operation::SmUnregister => plain("subscription-manager unregister"),
            _ => None,
        }
    }
}

impl Operation {
    /// The table name of the operation (`root-password` is reported as `password`).
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Hostname(_) => "hostname",
            Operation::Password { .. } => "password",
            Operation::UserAdd(_) => "user-add",
            Operation::SshInject(_) => "ssh-inject",
            Operation::Network(_) => "net-config",
            Operation::Copy { .. } => "copy",
            Operation::CopyIn { .. } => "copy-in",
            Operation::Move { .. } => "move",
            Operation::Scrub(_) => "scrub",
            Operation::Touch(_) => "touch",
            Operation::Truncate(_) => "truncate",
            Operation::TruncateRecursive(_) => "truncate-recursive",
            Operation::PasswordCrypto(_) => "password-crypto",
            Operation::UdevNet(_) => "udev-net",
            Operation::UdevNetClear => "udev-net-clear",
            Operation::Write { .. } => "write",
            Operation::AppendLine { .. } => "append-line",
            Operation::Upload { .. } => "upload",
            Operation::Mkdir(_) => "mkdir",
            Operation::Delete(_) => "delete",
            Operation::Chmod { .. } => "chmod",
            Operation::Link { .. } => "link",
            Operation::Timezone(_) => "timezone",
            Operation::Edit { .. } => "edit",
            Operation::RunCommand(_) => "run-command",
            Operation::Run { .. } => "run",
            Operation::Install(_) => "install",
            Operation::Update => "update",
            Operation::Uninstall(_) => "uninstall",
            Operation::Firstboot { .. } => "firstboot",
            Operation::FirstbootCommand(_) => "firstboot-command",
            Operation::FirstbootInstall(_) => "firstboot-install",
            Operation::SelinuxRelabel => "selinux-relabel",
            Operation::NoLogfile => "no-logfile",
            Operation::SmCredentials(_) => "sm-credentials",
            Operation::SmRegister => "sm-register",
            Operation::SmAttach(_) => "sm-attach",
            Operation::SmRemove => "sm-remove",
            Operation::SmUnregister => "sm-unregister",
        }
    }

    /// True when the user names every guest path the operation touches (`--write PATH`):
    /// directories on the way are then followed inside the guest. The others choose their
    /// paths themselves and refuse a symbolic link on the way (see
    /// [`super::guest::Ways`]).
    pub fn names_paths(&self) -> bool {
        match self {
            Operation::Write { .. }
            | Operation::AppendLine { .. }
            | Operation::Upload { .. }
            | Operation::Mkdir(_)
            | Operation::Copy { .. }
            | Operation::CopyIn { .. }
            | Operation::Move { .. }
            | Operation::Scrub(_)
            | Operation::Touch(_)
            | Operation::Truncate(_)
            | Operation::TruncateRecursive(_)
            | Operation::Delete(_)
            | Operation::Chmod { .. }
            | Operation::Link { .. }
            | Operation::Edit { .. }
            | Operation::RunCommand(_)
            | Operation::Run { .. }
            | Operation::Install(_)
            | Operation::Update
            | Operation::Uninstall(_)
            | Operation::SmRegister
            | Operation::SmAttach(_)
            | Operation::SmRemove
            | Operation::SmUnregister => true,
            Operation::SelinuxRelabel
            | Operation::NoLogfile
            | Operation::SmCredentials(_)
            | Operation::Hostname(_)
            | Operation::Password { .. }
            | Operation::UserAdd(_)
            | Operation::SshInject(_)
            | Operation::Network(_)
            | Operation::UdevNet(_)
            | Operation::UdevNetClear
            | Operation::Timezone(_)
            | Operation::PasswordCrypto(_)
            | Operation::Firstboot { .. }
            | Operation::FirstbootCommand(_)
            | Operation::FirstbootInstall(_) => false,
        }
    }
}

/// A summary for messages and the report; never shows a password.
impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Hostname(h) => write!(f, "hostname {h}"),
            Operation::Password { user, selector } => {
                let lock = if selector.locked { "locked:" } else { "" };
                let how = match &selector.source {
                    PasswordSource::Password(_) => "password:…".to_owned(),
                    PasswordSource::File(p) => format!("file:{}", p.display()),
                    PasswordSource::Random => "random".to_owned(),
                    PasswordSource::Disabled => "disabled".to_owned(),
                };
                write!(f, "password {user}:{lock}{how}")
            }
            Operation::UserAdd(u) => write!(f, "user-add {}", u.name),
            Operation::SshInject(s) => write!(f, "ssh-inject {} ({})", s.user, s.key.key_type),
            Operation::Network(n) => write!(f, "net-config {n}"),
            Operation::Copy { src, dest } => write!(f, "copy {src} {dest}"),
            Operation::CopyIn { local, dir } => write!(f, "copy-in {} {dir}", local.display()),
            Operation::Move { src, dest } => write!(f, "move {src} {dest}"),
            Operation::Scrub(p) => write!(f, "scrub {p}"),
            Operation::Touch(p) => write!(f, "touch {p}"),
            Operation::Truncate(p) => write!(f, "truncate {p}"),
            Operation::TruncateRecursive(p) => write!(f, "truncate-recursive {p}"),
            Operation::PasswordCrypto(c) => write!(f, "password-crypto {c}"),
            Operation::UdevNet(u) => write!(f, "udev-net {}={}", u.iface, u.mac),
            Operation::UdevNetClear => f.write_str("udev-net-clear"),
            Operation::Write { path, .. } => write!(f, "write {path}"),
            Operation::AppendLine { path, .. } => write!(f, "append-line {path}"),
            Operation::Upload { host, path } => write!(f, "upload {} {path}", host.display()),
            Operation::Mkdir(p) => write!(f, "mkdir {p}"),
            Operation::Delete(p) => write!(f, "delete {p}"),
            Operation::Chmod { mode, path, .. } => write!(f, "chmod {mode:04o} {path}"),
            Operation::Link { target, links } => write!(f, "link {} -> {target}", links.join(" ")),
            Operation::Timezone(t) => write!(f, "timezone {}", t.as_str()),
            Operation::Edit { path, text, .. } => write!(f, "edit {path}:{text}"),
            Operation::RunCommand(c) => write!(f, "run-command {c}"),
            Operation::Run { path, .. } => write!(f, "run {}", path.display()),
            Operation::Install(p) => write!(f, "install {}", p.join(",")),
            Operation::Update => f.write_str("update"),
            Operation::Uninstall(p) => write!(f, "uninstall {}", p.join(",")),
            Operation::Firstboot { path, .. } => write!(f, "firstboot {}", path.display()),
            Operation::FirstbootCommand(c) => write!(f, "firstboot-command {c}"),
            Operation::FirstbootInstall(p) => write!(f, "firstboot-install {}", p.join(",")),
            Operation::SelinuxRelabel => f.write_str("selinux-relabel"),
            Operation::NoLogfile => f.write_str("no-logfile"),
            Operation::SmCredentials(c) => write!(f, "sm-credentials {}:password:…", c.user),
            Operation::SmRegister => f.write_str("sm-register"),
            Operation::SmAttach(SmPool::Auto) => f.write_str("sm-attach auto"),
            Operation::SmAttach(SmPool::Id(id)) => write!(f, "sm-attach pool:{id}"),
            Operation::SmRemove => f.write_str("sm-remove"),
            Operation::SmUnregister => f.write_str("sm-unregister"),
        }
    }
}

fn invalid(op: &str, reason: impl fmt::Display) -> CustomizeError {
    CustomizeError::InvalidArgument {
        op: op.to_owned(),
        reason: reason.to_string(),
    }
}

/// An absolute guest path without NUL bytes.
fn guest_path(op: &str, p: &str) -> Result<String, CustomizeError> {
    if !p.starts_with('/') || p.contains('\0') {
        return Err(invalid(
            op,
            format!("{p:?} is not an absolute guest path: write it from the guest's root, e.g. /etc/motd"),
        ));
    }
    Ok(p.to_owned())
}

/// `--chmod`'s PERMISSIONS as virt-customize reads them: octal with a leading 0, decimal
/// otherwise (so `700` is 0o1274, as there); at most 07777.
fn parse_permissions(s: &str) -> Option<u32> {
    let v = match s.strip_prefix('0') {
        Some("") => Some(0),
        Some(oct) => u32::from_str_radix(oct, 8).ok(),
        None => s.parse::<u32>().ok(),
    }?;
    (s.bytes().all(|b| b.is_ascii_digit()) && v <= 0o7777).then_some(v)
}

fn split_path<'a>(op: &str, arg: &'a str, what: &str) -> Result<(String, &'a str), CustomizeError> {
    let (p, rest) = arg
        .split_once(':')
        .ok_or_else(|| invalid(op, format!("expected PATH:{what}")))?;
    Ok((guest_path(op, p)?, rest))
}

fn read_host(path: &std::path::Path) -> Result<Vec<u8>, CustomizeError> {
    std::fs::read(path).map_err(|source| CustomizeError::HostRead {
        path: path.to_path_buf(),
        source,
    })
}

/// The default key of `--ssh-inject USER`: the newest `~/.ssh/id_*.pub` of the host user.
fn default_ssh_key() -> Result<PathBuf, CustomizeError> {
    let home = std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| {
        invalid(
            "ssh-inject",
            "HOME is not set: give the key as USER:file:PATH",
        )
    })?;
    let dir = home.join(".ssh");
    let newest = std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("id_") && n.ends_with(".pub")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max();
    newest.map(|(_, p)| p).ok_or_else(|| {
        invalid(
            "ssh-inject",
            format!(
                "no id_*.pub key in {}: give the key as USER:file:PATH or USER:string:KEY",
                dir.display()
            ),
        )
    })
}

fn parse_selector(op: &str, user: String, sel: &str) -> Result<Operation, CustomizeError> {
    let mut selector: PasswordSelector = sel.parse().map_err(|e| invalid(op, e))?;
    // Read a password file now, so a missing one fails before the appliance starts; the
    // selector then carries the password itself.
    if let PasswordSource::File(p) = &selector.source {
        let content = read_host(p)?;
        let secret = Secret::from_file_contents(&content).map_err(|e| invalid(op, e))?;
        selector.source = PasswordSource::Password(secret);
    }
    Ok(Operation::Password { user, selector })
}

/// virt-customize's package lists: names separated by commas (and, as there, the empty
/// names between doubled commas are dropped).
fn package_list(arg: &str) -> Vec<String> {
    arg.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses one operation: its table name (without `--`) and argument.
pub fn parse_operation(name: &str, arg: Option<&str>) -> Result<Operation, CustomizeError> {
    let name = name.strip_prefix("--").unwrap_or(name);
    // `--network IFACE:...` was this tool's name for --net-config; in virt-customize
    // `--network` is a flag about the appliance, which the command line handles.
    let name = match (name, arg) {
        ("network", Some(a)) if !a.is_empty() => {
            log::warn!(
                "--network {a}: the interface configuration option is now --net-config; \
                 --network with an argument stops working in the next release"
            );
            "net-config"
        }
        _ => name,
    };
    let spec = spec(name).ok_or_else(|| CustomizeError::UnknownOperation(name.to_owned()))?;
    let arg = match (spec.value, arg) {
        (None, None) => "",
        (None, Some(_)) => return Err(invalid(name, "it takes no argument")),
        (Some(v), None) => return Err(invalid(name, format!("it needs an argument: {v}"))),
        (Some(_), Some(a)) => a,
    };
    let op = name;
    Ok(match op {
        "hostname" => Operation::Hostname(Hostname::parse(arg).map_err(|e| invalid(op, e))?),
        "root-password" => parse_selector(op, "root".to_owned(), arg)?,
        "password" => {
            let (user, sel) = arg
                .split_once(':')
                .filter(|(u, _)| !u.is_empty())
                .ok_or_else(|| invalid(op, "use USER:SELECTOR, e.g. alice:password:secret"))?;
            parse_selector(op, user.to_owned(), sel)?
        }
        "user-add" => Operation::UserAdd(arg.parse().map_err(|e| invalid(op, e))?),
        "ssh-inject" => {
            let (user, src) = arg.split_once(':').unwrap_or((arg, ""));
            if user.is_empty() {
                return Err(invalid(op, "use USER[:file:PATH|:string:KEY]"));
            }
            let text = if let Some(p) = src.strip_prefix("file:") {
                read_host(std::path::Path::new(p))?
            } else if let Some(k) = src.strip_prefix("string:") {
                k.as_bytes().to_vec()
            } else if src.is_empty() {
                read_host(&default_ssh_key()?)?
            } else {
                return Err(invalid(op, "after USER: write file:PATH or string:KEY"));
            };
            let text = String::from_utf8(text).map_err(|_| invalid(op, "the key is not text"))?;
            Operation::SshInject(SshInject {
                user: user.to_owned(),
                key: ssh::parse_public_key(&text).map_err(|e| invalid(op, e))?,
            })
        }
        "net-config" => Operation::Network(arg.parse().map_err(|e| invalid(op, e))?),
        "copy" | "move" => {
            let (src, dest) = arg
                .split_once(':')
                .ok_or_else(|| invalid(op, "expected SOURCE:DEST (guest paths)"))?;
            let (src, dest) = (guest_path(op, src)?, guest_path(op, dest)?);
            match op {
                "copy" => Operation::Copy { src, dest },
                _ => Operation::Move { src, dest },
            }
        }
        "copy-in" => {
            let (local, dir) = arg
                .rsplit_once(':')
                .filter(|(l, _)| !l.is_empty())
                .ok_or_else(|| invalid(op, "expected LOCALPATH:REMOTEDIR"))?;
            let local = PathBuf::from(local);
            std::fs::symlink_metadata(&local).map_err(|source| CustomizeError::HostRead {
                path: local.clone(),
                source,
            })?;
            Operation::CopyIn {
                local,
                dir: guest_path(op, dir)?,
            }
        }
        "scrub" => Operation::Scrub(guest_path(op, arg)?),
        "touch" => Operation::Touch(guest_path(op, arg)?),
        "truncate" => Operation::Truncate(guest_path(op, arg)?),
        "truncate-recursive" => Operation::TruncateRecursive(guest_path(op, arg)?),
        "password-crypto" => Operation::PasswordCrypto(arg.parse().map_err(|e| invalid(op, e))?),
        "udev-net" => Operation::UdevNet(arg.parse().map_err(|e| invalid(op, e))?),
        "udev-net-clear" => Operation::UdevNetClear,
        "selinux-relabel" => Operation::SelinuxRelabel,
        "no-logfile" => Operation::NoLogfile,
        "sm-register" => Operation::SmRegister,
        "sm-remove" => Operation::SmRemove,
        "sm-unregister" => Operation::SmUnregister,
        "sm-credentials" => {
            // As in virt-customize, the fields are split at every ':'.
            let parts: Vec<&str> = arg.split(':').collect();
            let password = match parts[..] {
                [u, "password", pw] if !u.is_empty() && !pw.is_empty() => Secret::new(pw),
                [u, "file", f] if !u.is_empty() => {
                    Secret::from_file_contents(&read_host(std::path::Path::new(f))?)
                        .map_err(|e| invalid(op, format!("{f}: {e}")))?
                }
                _ => {
                    return Err(invalid(
                        op,
                        format!(
                            "{arg:?} is not USER:password:PASSWORD or USER:file:FILE (the password \
                             itself cannot contain ':'; put it in a FILE)"
                        ),
                    ))
                }
            };
            if password.expose().iter().any(|&b| b == b'\n' || b == 0) {
                return Err(invalid(op, "the password contains a newline or NUL"));
            }
            Operation::SmCredentials(SmCredentials {
                user: parts[0].to_owned(),
                password,
            })
        }
        "sm-attach" => {
            let parts: Vec<&str> = arg.split(':').collect();
            Operation::SmAttach(match parts[..] {
                ["auto"] => SmPool::Auto,
                ["pool", id] if !id.is_empty() => SmPool::Id(id.to_owned()),
                ["file", f] => {
                    let text = read_host(std::path::Path::new(f))?;
                    let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
                    let id = String::from_utf8(line.to_vec())
                        .ok()
                        .filter(|l| !l.trim().is_empty())
                        .ok_or_else(|| {
                            invalid(op, format!("{f}: its first line is not a pool ID"))
                        })?;
                    SmPool::Id(id)
                }
                _ => {
                    return Err(invalid(
                        op,
                        format!("{arg:?} is not auto, pool:ID or file:FILE"),
                    ))
                }
            })
        }
        "write" => {
            let (path, content) = split_path(op, arg, "CONTENT")?;
            Operation::Write {
                path,
                content: content.as_bytes().to_vec(),
            }
        }
        "append-line" => {
            let (path, line) = split_path(op, arg, "LINE")?;
            if line.contains(['\n', '\r']) {
                return Err(invalid(
                    op,
                    "the line must not contain a line break: give one --append-line per line",
                ));
            }
            Operation::AppendLine {
                path,
                line: line.to_owned(),
            }
        }
        "upload" => {
            let (host, path) = arg
                .rsplit_once(':')
                .ok_or_else(|| invalid(op, "expected HOSTFILE:PATH"))?;
            let host = PathBuf::from(host);
            let meta = std::fs::metadata(&host).map_err(|source| CustomizeError::HostRead {
                path: host.clone(),
                source,
            })?;
            if !meta.is_file() {
                return Err(invalid(
                    op,
                    format!("{} is not a regular file", host.display()),
                ));
            }
            Operation::Upload {
                host,
                path: guest_path(op, path)?,
            }
        }
        "mkdir" => Operation::Mkdir(guest_path(op, arg)?),
        "delete" => {
            let p = guest_path(op, arg)?;
            if p.trim_end_matches('/').is_empty() {
                return Err(invalid(op, "refusing to delete the guest's root"));
            }
            Operation::Delete(p)
        }
        "chmod" => {
            let (mode, path) = arg
                .split_once(':')
                .ok_or_else(|| invalid(op, "expected MODE:PATH, e.g. 0644:/etc/motd"))?;
            let written = mode.to_owned();
            let mode = parse_permissions(mode).ok_or_else(|| {
                invalid(
                    op,
                    format!("{mode:?} is not a mode: write it in octal with a leading 0 (0644) or in decimal (420)"),
                )
            })?;
            Operation::Chmod {
                mode,
                written,
                path: guest_path(op, path)?,
            }
        }
        "link" => {
            let mut parts = arg.split(':');
            let target = parts.next().unwrap_or_default();
            if target.is_empty() || target.contains('\0') {
                return Err(invalid(op, "expected TARGET:LINK[:LINK..]"));
            }
            let links = parts
                .map(|l| guest_path(op, l))
                .collect::<Result<Vec<_>, _>>()?;
            if links.is_empty() {
                return Err(invalid(op, "expected TARGET:LINK[:LINK..]"));
            }
            Operation::Link {
                target: target.to_owned(),
                links,
            }
        }
        "timezone" => Operation::Timezone(Timezone::parse(arg).map_err(|e| invalid(op, e))?),
        "edit" => {
            let (path, expr) =
                edit_expr::parse_edit_arg(arg).map_err(|e| invalid(op, crate::error::chain(&e)))?;
            Operation::Edit {
                path: guest_path(op, &path)?,
                expr,
                text: arg[path.len() + 1..].to_owned(),
            }
        }
        "run-command" | "firstboot-command" if arg.trim().is_empty() => {
            return Err(invalid(op, "the command is empty"))
        }
        "run-command" => Operation::RunCommand(arg.to_owned()),
        "firstboot-command" => Operation::FirstbootCommand(arg.to_owned()),
        "run" | "firstboot" => {
            let path = PathBuf::from(arg);
            let script = String::from_utf8(read_host(&path)?).map_err(|_| {
                invalid(op, format!("{arg} is not a text file: give a shell script"))
            })?;
            match op {
                "run" => Operation::Run { path, script },
                _ => Operation::Firstboot { path, script },
            }
        }
        "install" | "uninstall" | "firstboot-install" => {
            let pkgs = package_list(arg);
            if pkgs.is_empty() {
                return Err(invalid(op, "no package named: give PKG[,PKG...]"));
            }
            match op {
                "install" => Operation::Install(pkgs),
                "uninstall" => Operation::Uninstall(pkgs),
                _ => Operation::FirstbootInstall(pkgs),
            }
        }
        "update" => Operation::Update,
        _ => unreachable!("every table entry is parsed above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEByIHa20ama5zHLXTVPAL6t4SZJ+hZ5hilyBWVqGgG0 alice@laptop";

    #[test]
    fn every_table_entry_parses_with_a_sample() {
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().join("f");
        std::fs::write(&host, "x").unwrap();
        let upload = format!("{}:/etc/f", host.display());
        let string_key = format!("alice:string:{KEY}");
        let copy_in = format!("{}:/srv", dir.path().display());
        let script = host.display().to_string();
        let samples: &[(&str, Option<&str>)] = &[
            ("hostname", Some("web01.example.com")),
            ("root-password", Some("password:secret")),
            ("password", Some("alice:locked:random")),
            ("user-add", Some("alice:uid=1001,groups=wheel")),
            ("ssh-inject", Some(&string_key)),
            (
                "net-config",
                Some("eth0:static:192.0.2.5/24:192.0.2.1:192.0.2.53"),
            ),
            ("copy", Some("/etc/motd:/etc/motd.bak")),
            ("copy-in", Some(&copy_in)),
            ("move", Some("/etc/motd:/etc/motd.old")),
            ("scrub", Some("/etc/old-key")),
            ("touch", Some("/etc/cloud/cloud-init.disabled")),
            ("truncate", Some("/etc/machine-id")),
            ("truncate-recursive", Some("/var/log")),
            ("password-crypto", Some("sha256")),
            ("udev-net", Some("eth0=52:54:00:12:34:56")),
            ("udev-net-clear", None),
            ("write", Some("/etc/motd:hello: world")),
            (
                "append-line",
                Some("/etc/fstab:tmpfs /tmp tmpfs defaults 0 0"),
            ),
            ("upload", Some(&upload)),
            ("mkdir", Some("/srv/data")),
            ("delete", Some("/var/log/*.log")),
            ("chmod", Some("0600:/etc/motd")),
            ("link", Some("/usr/bin/vim:/usr/bin/vi:/bin/vi")),
            ("timezone", Some("Europe/Berlin")),
            (
                "edit",
                Some("/etc/ssh/sshd_config:s/^#?PermitRootLogin.*/PermitRootLogin no/"),
            ),
            ("run", Some(&script)),
            ("run-command", Some("echo hi")),
            ("install", Some("vim,curl")),
            ("update", None),
            ("uninstall", Some("nano")),
            ("firstboot", Some(&script)),
            ("firstboot-command", Some("echo hi")),
            ("firstboot-install", Some("cloud-init")),
            ("selinux-relabel", None),
            ("no-logfile", None),
            ("sm-credentials", Some("alice:password:secret")),
            ("sm-register", None),
            ("sm-attach", Some("pool:8a85f98")),
            ("sm-remove", None),
            ("sm-unregister", None),
        ];
        assert_eq!(
            samples.len(),
            OPERATIONS.len(),
            "a sample for every operation"
        );
        for (name, arg) in samples {
            let op = parse_operation(name, *arg).unwrap_or_else(|e| panic!("{name}: {e}"));
            let shown = op.to_string();
            assert!(!shown.contains("secret"), "{shown}");
        }
        match parse_operation("--write", Some("/etc/motd:a:b")).unwrap() {
            Operation::Write { path, content } => {
                assert_eq!(path, "/etc/motd");
                assert_eq!(content, b"a:b");
            }
            o => panic!("{o:?}"),
        }
        match parse_operation("install", Some("vim,,curl")).unwrap() {
            Operation::Install(p) => assert_eq!(p, ["vim", "curl"]),
            o => panic!("{o:?}"),
        }
        assert!(parse_operation("uninstall", Some(",")).is_err());
        assert!(parse_operation("run", Some("/nonexistent/script.sh"))
            .unwrap_err()
            .is_usage());
        match parse_operation("link", Some("/usr/bin/vim:/usr/bin/vi:/bin/vi")).unwrap() {
            Operation::Link { target, links } => {
                assert_eq!(target, "/usr/bin/vim");
                assert_eq!(links, ["/usr/bin/vi", "/bin/vi"]);
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn bad_arguments_say_what_to_write() {
        let err = |n: &str, a: Option<&str>| parse_operation(n, a).unwrap_err().to_string();
        assert!(err("hostname", Some("bad_name")).contains("invalid hostname"));
        assert!(err("nosuch", Some("x")).contains("unknown operation"));
        assert!(err("hostname", None).contains("needs an argument"));
        assert!(err("udev-net-clear", Some("x")).contains("takes no argument"));
        assert!(err("write", Some("etc/motd:x")).contains("absolute"));
        assert!(err("chmod", Some("rw:/x")).contains("octal"));
        assert!(err("chmod", Some("0999:/x")).contains("octal"));
        assert!(err("chmod", Some("99999:/x")).contains("octal"));
        assert!(err("password-crypto", Some("des")).contains("md5, sha256, sha512 or yescrypt"));
        assert!(err("copy", Some("/a")).contains("SOURCE:DEST"));
        assert!(err("copy-in", Some("/nonexistent/x:/srv")).contains("/nonexistent/x"));
        assert!(err("root-password", Some("password:a\nb")).contains("line break"));
        assert!(err("delete", Some("/")).contains("root"));
        assert!(err("append-line", Some("/x:a\nb")).contains("line break"));
        assert!(err("root-password", Some("file:/nonexistent/pw")).contains("/nonexistent/pw"));
        let e = err("root-password", Some("pasword:hunter2"));
        assert!(!e.contains("hunter2"), "{e}");
        assert!(err("edit", Some("/x:s/(/y/")).contains("regular expression"));
    }

    #[test]
    fn chmod_permissions_are_decimal_unless_they_start_with_0() {
        let mode = |a: &str| match parse_operation("chmod", Some(a)).unwrap() {
            Operation::Chmod { mode, .. } => mode,
            o => panic!("{o:?}"),
        };
        assert_eq!(mode("0644:/x"), 0o644);
        assert_eq!(mode("0:/x"), 0);
        assert_eq!(mode("420:/x"), 0o644);
        assert_eq!(mode("700:/x"), 700);
        assert_eq!(mode("04755:/x"), 0o4755);
    }

    #[test]
    fn network_with_an_argument_is_the_old_name_of_net_config() {
        let op = parse_operation("network", Some("eth0:dhcp")).unwrap();
        assert_eq!(op.name(), "net-config");
        assert!(matches!(
            parse_operation("network", None),
            Err(CustomizeError::UnknownOperation(_))
        ));
    }

    #[test]
    fn a_password_file_is_read_at_parse_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\nignored\n").unwrap();
        match parse_operation("password", Some(&format!("bob:file:{}", p.display()))).unwrap() {
            Operation::Password { user, selector } => {
                assert_eq!(user, "bob");
                assert_eq!(
                    selector.source,
                    PasswordSource::Password(Secret::new("s3cret"))
                );
            }
            o => panic!("{o:?}"),
        }
    }
}
