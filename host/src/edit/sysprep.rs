//! The pure parts of `guestwright sysprep`: the table of virt-sysprep 1.48's 43 operations
//! (what each removes, truncates or edits, and on which guests), `--operations` and
//! `--enable` parsing, and the file edits some operations make. Never does I/O.
//!
//! Mirrors virt-sysprep's operations of the same names (guestfs-tools `sysprep/`): the same
//! names, headings and default-enabled set, the same paths and globs, the same per-distro
//! conditions. Globs follow shell rules as guestfs `glob_expand` does (a `*` does not match a
//! leading dot). Operations run in name order, `customize` last, then the operations on
//! devices (`fs-uuids`, `lvm-uuids`) once the guest is unmounted, as there.

use std::collections::BTreeSet;

/// Errors of `--operations`, `--enable` and the options of single operations.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SysprepError {
    /// A name that is no operation.
    #[error(
        "{option}: ‘{name}’ is not a known operation: see `guestwright sysprep --list-operations`"
    )]
    UnknownOperation {
        /// `--operations` or `--enable`.
        option: &'static str,
        /// The name given.
        name: String,
    },
    /// An empty item in `--operations`.
    #[error("--operations: empty operation name")]
    EmptyOperation,
    /// `--enable ""`.
    #[error("you cannot pass an empty argument to --enable")]
    EmptyEnable,
    /// `--enable` twice.
    #[error("--enable option can only be given once")]
    EnableTwice,
    /// An empty name in `--keep-user-accounts` or `--remove-user-accounts`.
    #[error("user-accounts: empty user name")]
    EmptyUserName,
    /// An option of an operation that is not enabled.
    #[error("user-accounts: --{0} parameter was used, but the \"user-account\" operation is not enabled")]
    UserAccountsDisabled(&'static str),
}

/// On which guests an action applies (inspection's type, distro, package manager and format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum When {
    /// Every guest but Windows.
    NotWindows,
    /// Linux guests.
    Linux,
    /// Linux guests of the Red Hat family (fedora, rhel, centos, scientificlinux, oraclelinux,
    /// redhat-based).
    RedHat,
    /// Linux guests of the Debian family (debian, ubuntu, kalilinux).
    DebianFamily,
    /// RHEL only.
    Rhel,
    /// Guests whose package manager is this (`apt`, `dnf`, `yum`, `zypper`).
    PackageManager(&'static str),
    /// Guests whose package format is this (`rpm`).
    PackageFormat(&'static str),
}

/// What inspection says of the guest, as far as [`When`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct GuestKind<'a> {
    /// `linux`, `windows`, ...
    pub os_type: &'a str,
    /// `debian`, `rhel`, ...
    pub distro: &'a str,
    /// `apt`, `dnf`, ...
    pub package_management: &'a str,
    /// `deb`, `rpm`, ...
    pub package_format: &'a str,
}

impl When {
    /// Whether the action applies to this guest.
    pub fn holds(self, g: &GuestKind<'_>) -> bool {
        let linux = g.os_type == "linux";
        match self {
            When::NotWindows => g.os_type != "windows",
            When::Linux => linux,
            When::RedHat => {
                linux
                    && [
                        "fedora",
                        "rhel",
                        "centos",
                        "scientificlinux",
                        "oraclelinux",
                        "redhat-based",
                    ]
                    .contains(&g.distro)
            }
            When::DebianFamily => linux && ["debian", "ubuntu", "kalilinux"].contains(&g.distro),
            When::Rhel => linux && g.distro == "rhel",
            When::PackageManager(p) => g.package_management == p,
            When::PackageFormat(p) => g.package_format == p,
        }
    }
}

/// One thing an operation does to the guest. "Files" means anything but a directory (what
/// guestfs `rm` removes); errors removing one are ignored where virt-sysprep ignores them.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum SysprepAction {
    /// The actions, on the guests the condition names.
    If(When, &'static [SysprepAction]),
    /// Remove every path matching the glob, recursively (`rm -rf`).
    RemoveTree(&'static str),
    /// Remove every file (not directory) matching the glob.
    RemoveFile(&'static str),
    /// Remove every file matching the glob but these.
    RemoveFileExcept(&'static str, &'static [&'static str]),
    /// Remove the file unless it is a symbolic link.
    RemoveFileNotLink(&'static str),
    /// Remove every file matching the glob but these, and when one was removed update the
    /// guest's CA store at the end (`update-ca-trust extract`, `update-ca-certificates`).
    RemoveCertificate(&'static str, &'static [&'static str]),
    /// Remove every entry of the directory, dot files included, recursively.
    RemoveEntries(&'static str),
    /// In every directory matching the glob, remove the regular files at any depth, keeping
    /// the directories, links and the files with this name.
    RemoveFilesBelow(&'static str, Option<&'static str>),
    /// Truncate the regular file to zero bytes if it exists.
    Truncate(&'static str),
    /// Write `00000\n` to the regular file if it exists (at's `.SEQ` counter).
    ResetSeq(&'static str),
    /// Create the file (if its directory exists) or set its times.
    Touch(&'static str),
    /// Rewrite every file matching the glob without the lines starting with these prefixes
    /// (see [`drop_lines`]).
    DropLines(&'static str, &'static [&'static str]),
    /// `backup-files`: remove `*.bak` and `*~` files at any depth of [`BACKUP_DIRS`].
    BackupFiles,
    /// `user-account`: remove the accounts in the UID_MIN..UID_MAX range of login.defs.
    UserAccounts,
    /// `customize`: the customize operations of the command line.
    Customize,
    /// `script`: the `--script` programs, run on the host in the mounted guest.
    Script,
    /// `fs-uuids`: a new random UUID on every filesystem (on the unmounted devices).
    FsUuids,
    /// `lvm-uuids`: new random UUIDs on every LVM PV and VG (on the unmounted devices).
    LvmUuids,
}

/// One sysprep operation.
#[derive(Debug, Clone, Copy)]
pub struct SysprepOperation {
    /// Name used on the command line.
    pub name: &'static str,
    /// Run without `--operations` or `--enable`.
    pub default_enabled: bool,
    /// One line for `--list-operations` (virt-sysprep's heading).
    pub description: &'static str,
    /// What it does, in order.
    pub actions: &'static [SysprepAction],
}

impl SysprepOperation {
    /// Works on the unmounted devices, after every operation on filesystems.
    pub fn on_devices(&self) -> bool {
        matches!(
            self.actions,
            [SysprepAction::FsUuids] | [SysprepAction::LvmUuids]
        )
    }

    /// The globs and paths this operation looks at on the guest `k`, for the caller to
    /// expand them all in one round trip before the operations run: the patterns of its
    /// removals and edits, and the paths it would otherwise look at one by one (the files
    /// it truncates or resets, the directories it empties or searches).
    pub fn paths(&self, k: &GuestKind<'_>) -> Vec<&'static str> {
        fn walk(list: &'static [SysprepAction], k: &GuestKind<'_>, out: &mut Vec<&'static str>) {
            for action in list {
                match *action {
                    If(when, inner) => {
                        if when.holds(k) {
                            walk(inner, k, out);
                        }
                    }
                    RemoveTree(p)
                    | RemoveFile(p)
                    | RemoveFileExcept(p, _)
                    | RemoveFileNotLink(p)
                    | RemoveCertificate(p, _)
                    | RemoveEntries(p)
                    | RemoveFilesBelow(p, _)
                    | Truncate(p)
                    | ResetSeq(p)
                    | DropLines(p, _) => out.push(p),
                    BackupFiles if k.os_type != "windows" => out.extend(BACKUP_DIRS),
                    // Touch creates; the rest look at what an earlier step read or left.
                    BackupFiles | Touch(_) | UserAccounts | Customize | Script | FsUuids
                    | LvmUuids => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(self.actions, k, &mut out);
        out
    }
}

use SysprepAction::*;
use When::*;

/// Where RH-family network scripts live (net-hostname and net-hwaddr edit only these).
pub const IFCFG_GLOB: &str = "/etc/sysconfig/network-scripts/ifcfg-*";

/// The directories `backup-files` searches on Unix-like guests (`/` on others).
pub const BACKUP_DIRS: &[&str] = &["/etc", "/root", "/srv", "/tmp", "/var"];

/// virt-sysprep's `logfiles` list.
const LOGFILES: &[SysprepAction] = &[
    RemoveTree("/etc/Pegasus/*.cnf"),
    RemoveTree("/etc/Pegasus/*.crt"),
    RemoveTree("/etc/Pegasus/*.csr"),
    RemoveTree("/etc/Pegasus/*.pem"),
    RemoveTree("/etc/Pegasus/*.srl"),
    RemoveTree("/root/anaconda-ks.cfg"),
    RemoveTree("/root/anaconda-post.log"),
    RemoveTree("/root/initial-setup-ks.cfg"),
    RemoveTree("/root/install.log"),
    RemoveTree("/root/install.log.syslog"),
    RemoveTree("/root/original-ks.cfg"),
    RemoveTree("/var/cache/fontconfig/*"),
    RemoveTree("/var/cache/gdm/*"),
    RemoveTree("/var/cache/man/*"),
    RemoveTree("/var/lib/AccountService/users/*"),
    RemoveTree("/var/lib/fprint/*"),
    RemoveTree("/var/lib/logrotate.status"),
    RemoveTree("/var/log/*.log*"),
    RemoveTree("/var/log/BackupPC/LOG"),
    RemoveTree("/var/log/ConsoleKit/*"),
    RemoveTree("/var/log/anaconda.syslog"),
    RemoveTree("/var/log/anaconda/*"),
    RemoveTree("/var/log/apache2/*_log"),
    RemoveTree("/var/log/apache2/*_log-*"),
    RemoveTree("/var/log/apt/*"),
    RemoveTree("/var/log/aptitude*"),
    RemoveTree("/var/log/audit/*"),
    RemoveTree("/var/log/btmp*"),
    RemoveTree("/var/log/ceph/*.log"),
    RemoveTree("/var/log/chrony/*.log"),
    RemoveTree("/var/log/cron*"),
    RemoveTree("/var/log/cups/*_log*"),
    RemoveTree("/var/log/debug*"),
    RemoveTree("/var/log/dmesg*"),
    RemoveTree("/var/log/exim4/*"),
    RemoveTree("/var/log/faillog*"),
    RemoveTree("/var/log/firewalld*"),
    RemoveTree("/var/log/gdm/*"),
    RemoveTree("/var/log/glusterfs/*glusterd.vol.log"),
    RemoveTree("/var/log/glusterfs/glusterfs.log"),
    RemoveTree("/var/log/grubby*"),
    RemoveTree("/var/log/httpd/*log"),
    RemoveTree("/var/log/installer/*"),
    RemoveTree("/var/log/jetty/jetty-console.log"),
    RemoveTree("/var/log/journal/*"),
    RemoveTree("/var/log/lastlog*"),
    RemoveTree("/var/log/libvirt/libvirtd.log"),
    RemoveTree("/var/log/libvirt/libxl/*.log"),
    RemoveTree("/var/log/libvirt/lxc/*.log"),
    RemoveTree("/var/log/libvirt/qemu/*.log"),
    RemoveTree("/var/log/libvirt/uml/*.log"),
    RemoveTree("/var/log/lightdm/*"),
    RemoveTree("/var/log/mail/*"),
    RemoveTree("/var/log/maillog*"),
    RemoveTree("/var/log/messages*"),
    RemoveTree("/var/log/ntp"),
    RemoveTree("/var/log/ntpstats/*"),
    RemoveTree("/var/log/ppp/connect-errors"),
    RemoveTree("/var/log/rhsm/*"),
    RemoveTree("/var/log/sa/*"),
    RemoveTree("/var/log/secure*"),
    RemoveTree("/var/log/setroubleshoot/*.log"),
    RemoveTree("/var/log/spooler*"),
    RemoveTree("/var/log/squid/*.log"),
    RemoveTree("/var/log/syslog*"),
    RemoveTree("/var/log/tallylog*"),
    RemoveTree("/var/log/tuned/tuned.log"),
    RemoveTree("/var/log/wtmp*"),
    RemoveTree("/var/log/xferlog*"),
    RemoveTree("/var/named/data/named.run"),
];

const fn op(
    name: &'static str,
    default_enabled: bool,
    description: &'static str,
    actions: &'static [SysprepAction],
) -> SysprepOperation {
    SysprepOperation {
        name,
        default_enabled,
        description,
        actions,
    }
}

/// Every operation, in name order (as `--list-operations` prints them).
pub const OPERATIONS: &[SysprepOperation] = &[
    op(
        "abrt-data",
        true,
        "Remove the crash data generated by ABRT",
        &[If(NotWindows, &[RemoveTree("/var/spool/abrt/*")])],
    ),
    op(
        "backup-files",
        true,
        "Remove editor backup files from the guest",
        &[BackupFiles],
    ),
    op(
        "bash-history",
        true,
        "Remove the bash history in the guest",
        &[If(
            NotWindows,
            &[
                RemoveFile("/home/*/.bash_history"),
                RemoveFile("/root/.bash_history"),
            ],
        )],
    ),
    op(
        "blkid-tab",
        true,
        "Remove blkid tab in the guest",
        &[If(
            NotWindows,
            &[
                RemoveFileNotLink("/var/run/blkid.tab"),
                RemoveFileNotLink("/var/run/blkid.tab.old"),
                RemoveFileNotLink("/etc/blkid/blkid.tab"),
                RemoveFileNotLink("/etc/blkid/blkid.tab.old"),
                RemoveFileNotLink("/etc/blkid.tab"),
                RemoveFileNotLink("/etc/blkid.tab.old"),
                RemoveFileNotLink("/dev/.blkid.tab"),
                RemoveFileNotLink("/dev/.blkid.tab.old"),
            ],
        )],
    ),
    op(
        "ca-certificates",
        false,
        "Remove CA certificates in the guest",
        &[If(
            NotWindows,
            &[
                RemoveCertificate("/etc/pki/CA/certs/*.crt", &[]),
                RemoveCertificate("/etc/pki/CA/crl/*.crt", &[]),
                RemoveCertificate("/etc/pki/CA/newcerts/*.crt", &[]),
                RemoveCertificate("/etc/pki/CA/private/*.key", &[]),
                RemoveCertificate("/etc/pki/tls/private/*.key", &[]),
                RemoveCertificate(
                    "/etc/pki/tls/certs/*.crt",
                    &[
                        "/etc/pki/tls/certs/ca-bundle.crt",
                        "/etc/pki/tls/certs/ca-bundle.trust.crt",
                    ],
                ),
            ],
        )],
    ),
    op(
        "crash-data",
        true,
        "Remove the crash data generated by kexec-tools",
        &[If(
            Linux,
            &[RemoveTree("/var/crash/*"), RemoveTree("/var/log/dump/*")],
        )],
    ),
    op(
        "cron-spool",
        true,
        "Remove user at-jobs and cron-jobs",
        &[
            RemoveFilesBelow("/var/spool/cron/", Some(".SEQ")),
            ResetSeq("/var/spool/cron/atjobs/.SEQ"),
            RemoveFile("/var/spool/atjobs/*"),
            ResetSeq("/var/spool/atjobs/.SEQ"),
            RemoveFile("/var/spool/atspool/*"),
            RemoveFilesBelow("/var/spool/at/", Some(".SEQ")),
            ResetSeq("/var/spool/at/.SEQ"),
        ],
    ),
    op("customize", true, "Customize the guest", &[Customize]),
    op(
        "dhcp-client-state",
        true,
        "Remove DHCP client leases",
        &[If(
            Linux,
            &[
                RemoveTree("/var/lib/dhclient/*"),
                RemoveTree("/var/lib/dhcp/*"),
            ],
        )],
    ),
    op(
        "dhcp-server-state",
        true,
        "Remove DHCP server leases",
        &[RemoveTree("/var/lib/dhcpd/*")],
    ),
    op(
        "dovecot-data",
        true,
        "Remove Dovecot (mail server) data",
        &[If(NotWindows, &[RemoveFile("/var/lib/dovecot/*")])],
    ),
    op(
        "firewall-rules",
        false,
        "Remove the firewall rules",
        &[If(
            NotWindows,
            &[
                RemoveFile("/etc/sysconfig/iptables"),
                RemoveFile("/etc/firewalld/services/*"),
                RemoveFile("/etc/firewalld/zones/*"),
            ],
        )],
    ),
    op(
        "flag-reconfiguration",
        false,
        "Flag the system for reconfiguration",
        &[If(NotWindows, &[Touch("/.unconfigured")])],
    ),
    op("fs-uuids", false, "Change filesystem UUIDs", &[FsUuids]),
    op(
        "ipa-client",
        true,
        "Remove the IPA files",
        &[If(
            Linux,
            &[
                RemoveFile("/etc/ipa/ca.crt"),
                RemoveFile("/etc/ipa/default.conf"),
                RemoveFile("/var/lib/ipa-client/sysrestore/*"),
                RemoveFile("/var/lib/ipa-client/pki/*"),
                RemoveCertificate("/etc/pki/ca-trust/source/anchors/ipa-ca.crt", &[]),
                RemoveCertificate("/usr/local/share/ca-certificates/ipa-ca.crt", &[]),
                RemoveCertificate("/etc/pki/ca-trust/source/ipa.p11-kit", &[]),
            ],
        )],
    ),
    op(
        "kerberos-data",
        false,
        "Remove Kerberos data in the guest",
        &[If(
            NotWindows,
            &[RemoveFileExcept(
                "/var/kerberos/krb5kdc/*",
                &[
                    "/var/kerberos/krb5kdc/kadm5.acl",
                    "/var/kerberos/krb5kdc/kdc.conf",
                ],
            )],
        )],
    ),
    op(
        "kerberos-hostkeytab",
        true,
        "Remove the Kerberos host keytab file in the guest",
        &[If(NotWindows, &[RemoveFile("/etc/krb5.keytab")])],
    ),
    op(
        "logfiles",
        true,
        "Remove many log files from the guest",
        &[If(Linux, LOGFILES)],
    ),
    op(
        "lvm-uuids",
        true,
        "Change LVM2 PV and VG UUIDs",
        &[LvmUuids],
    ),
    op(
        "machine-id",
        true,
        "Remove the local machine ID",
        &[If(
            NotWindows,
            &[
                Truncate("/etc/machine-id"),
                Truncate("/var/lib/dbus/machine-id"),
            ],
        )],
    ),
    op(
        "mail-spool",
        true,
        "Remove email from the local mail spool directory",
        &[RemoveTree("/var/spool/mail/*"), RemoveTree("/var/mail/*")],
    ),
    op(
        "net-hostname",
        true,
        "Remove HOSTNAME and DHCP_HOSTNAME in network interface configuration",
        &[If(
            RedHat,
            &[DropLines(IFCFG_GLOB, &["HOSTNAME=", "DHCP_HOSTNAME="])],
        )],
    ),
    op(
        "net-hwaddr",
        true,
        "Remove HWADDR (hard-coded MAC address) configuration",
        &[If(RedHat, &[DropLines(IFCFG_GLOB, &["HWADDR="])])],
    ),
    op(
        "net-nmconn",
        true,
        "Remove system-local NetworkManager connection profiles (keyfiles)",
        &[If(
            RedHat,
            &[RemoveFile(
                "/etc/NetworkManager/system-connections/*.nmconnection",
            )],
        )],
    ),
    op(
        "pacct-log",
        true,
        "Remove the process accounting log files",
        &[
            If(
                RedHat,
                &[
                    RemoveFile("/var/account/pacct*"),
                    Touch("/var/account/pacct"),
                ],
            ),
            If(
                DebianFamily,
                &[
                    RemoveFile("/var/log/account/pacct*"),
                    Touch("/var/log/account/pacct"),
                ],
            ),
        ],
    ),
    op(
        "package-manager-cache",
        true,
        "Remove package manager cache",
        &[
            If(
                PackageManager("apt"),
                &[RemoveFilesBelow("/var/cache/apt/archives/", None)],
            ),
            If(
                PackageManager("dnf"),
                &[RemoveFilesBelow("/var/cache/dnf/", None)],
            ),
            If(
                PackageManager("yum"),
                &[RemoveFilesBelow("/var/cache/yum/", None)],
            ),
            If(
                PackageManager("zypper"),
                &[RemoveFilesBelow("/var/cache/zypp*", None)],
            ),
        ],
    ),
    op(
        "pam-data",
        true,
        "Remove the PAM data in the guest",
        &[If(
            NotWindows,
            &[
                RemoveFile("/var/run/console/*"),
                RemoveFile("/var/run/faillock/*"),
                RemoveFile("/var/run/sepermit/*"),
            ],
        )],
    ),
    op(
        "passwd-backups",
        true,
        "Remove /etc/passwd- and similar backup files",
        &[If(
            Linux,
            &[
                RemoveFile("/etc/group-"),
                RemoveFile("/etc/gshadow-"),
                RemoveFile("/etc/passwd-"),
                RemoveFile("/etc/shadow-"),
                RemoveFile("/etc/subgid-"),
                RemoveFile("/etc/subuid-"),
            ],
        )],
    ),
    op(
        "puppet-data-log",
        true,
        "Remove the data and log files of puppet",
        &[If(
            NotWindows,
            &[
                RemoveFile("/var/log/puppet/*"),
                RemoveFile("/var/lib/puppet/*/*"),
                RemoveFile("/var/lib/puppet/*/*/*"),
            ],
        )],
    ),
    op(
        "rh-subscription-manager",
        true,
        "Remove the RH subscription manager files",
        &[If(
            Rhel,
            &[
                RemoveTree("/etc/pki/consumer/*"),
                RemoveTree("/etc/pki/entitlement/*"),
            ],
        )],
    ),
    op(
        "rhn-systemid",
        true,
        "Remove the RHN system ID",
        &[If(
            Rhel,
            &[
                RemoveFile("/etc/sysconfig/rhn/systemid"),
                RemoveFile("/etc/sysconfig/rhn/osad-auth.conf"),
            ],
        )],
    ),
    op(
        "rpm-db",
        true,
        "Remove host-specific RPM database files",
        &[If(
            PackageFormat("rpm"),
            &[RemoveFile("/var/lib/rpm/__db.*")],
        )],
    ),
    op(
        "samba-db-log",
        true,
        "Remove the database and log files of Samba",
        &[If(
            NotWindows,
            &[
                RemoveFile("/var/log/samba/old/*"),
                RemoveFile("/var/log/samba/*"),
                RemoveFile("/var/lib/samba/*/*"),
                RemoveFile("/var/lib/samba/*"),
            ],
        )],
    ),
    op(
        "script",
        true,
        "Run arbitrary scripts against the guest",
        &[Script],
    ),
    op(
        "smolt-uuid",
        true,
        "Remove the Smolt hardware UUID",
        &[If(
            Linux,
            &[
                RemoveFile("/etc/sysconfig/hw-uuid"),
                RemoveFile("/etc/smolt/uuid"),
                RemoveFile("/etc/smolt/hw-uuid"),
            ],
        )],
    ),
    op(
        "ssh-hostkeys",
        true,
        "Remove the SSH host keys in the guest",
        &[If(NotWindows, &[RemoveFile("/etc/ssh/*_host_*")])],
    ),
    op(
        "ssh-userdir",
        true,
        "Remove \".ssh\" directories in the guest",
        &[If(
            NotWindows,
            &[RemoveTree("/home/*/.ssh"), RemoveTree("/root/.ssh")],
        )],
    ),
    op(
        "sssd-db-log",
        true,
        "Remove the database and log files of sssd",
        &[If(
            NotWindows,
            &[
                RemoveFile("/var/log/sssd/*"),
                RemoveFile("/var/lib/sss/db/*"),
            ],
        )],
    ),
    op(
        "tmp-files",
        true,
        "Remove temporary files",
        &[If(
            NotWindows,
            &[
                RemoveTree("/tmp/*"),
                RemoveEntries("/tmp"),
                RemoveTree("/var/tmp/*"),
                RemoveEntries("/var/tmp"),
            ],
        )],
    ),
    op(
        "udev-persistent-net",
        true,
        "Remove udev persistent net rules",
        &[If(
            Linux,
            &[RemoveFile("/etc/udev/rules.d/70-persistent-net.rules")],
        )],
    ),
    op(
        "user-account",
        false,
        "Remove the user accounts in the guest",
        &[If(NotWindows, &[UserAccounts])],
    ),
    op(
        "utmp",
        true,
        "Remove the utmp file",
        &[If(NotWindows, &[RemoveFile("/var/run/utmp")])],
    ),
    op(
        "yum-uuid",
        true,
        "Remove the yum UUID",
        &[If(
            PackageManager("yum"),
            &[RemoveFile("/var/lib/yum/uuid")],
        )],
    ),
];

/// The operation called `name`.
pub fn operation(name: &str) -> Option<&'static SysprepOperation> {
    OPERATIONS.iter().find(|o| o.name == name)
}

/// The operations enabled by default, in name order.
pub fn default_operations() -> Vec<&'static SysprepOperation> {
    OPERATIONS.iter().filter(|o| o.default_enabled).collect()
}

/// `--list-operations`: one line per operation, in name order, `NAME * HEADING` for those
/// enabled by default and `NAME   HEADING` for the others, as virt-sysprep prints it.
pub fn list_operations() -> String {
    OPERATIONS
        .iter()
        .map(|o| {
            let mark = if o.default_enabled { "*" } else { " " };
            format!("{} {mark} {}\n", o.name, o.description)
        })
        .collect()
}

/// The chosen operations, built as virt-sysprep builds them from `--enable` and
/// `--operations`: no option means the defaults; either option starts from nothing.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    set: Option<BTreeSet<&'static str>>,
}

impl Selection {
    /// `--enable a,b`: exactly these (only once, and not after `--operations`).
    pub fn enable(&mut self, list: &str) -> Result<(), SysprepError> {
        if self.set.is_some() {
            return Err(SysprepError::EnableTwice);
        }
        if list.is_empty() {
            return Err(SysprepError::EmptyEnable);
        }
        let mut set = BTreeSet::new();
        for name in list.split(',') {
            let op = operation(name).ok_or_else(|| SysprepError::UnknownOperation {
                option: "--enable",
                name: name.to_owned(),
            })?;
            set.insert(op.name);
        }
        self.set = Some(set);
        Ok(())
    }

    /// `--operations LIST` (repeatable, applied to what the earlier ones chose): `NAME` adds,
    /// `-NAME` removes; `defaults`, `-defaults`, `all` and `-all` add or remove those sets.
    pub fn operations(&mut self, list: &str) -> Result<(), SysprepError> {
        let mut set = self.set.clone().unwrap_or_default();
        for item in list.split(',') {
            let (remove, name) = match item.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, item),
            };
            match (remove, name) {
                (_, "") => return Err(SysprepError::EmptyOperation),
                (false, "defaults") => {
                    set.extend(default_operations().iter().map(|o| o.name));
                }
                (true, "defaults") => {
                    for o in default_operations() {
                        set.remove(o.name);
                    }
                }
                (false, "all") => set.extend(OPERATIONS.iter().map(|o| o.name)),
                (true, "all") => set.clear(),
                (remove, name) => {
                    let op = operation(name).ok_or_else(|| SysprepError::UnknownOperation {
                        option: "--operations",
                        name: name.to_owned(),
                    })?;
                    if remove {
                        set.remove(op.name);
                    } else {
                        set.insert(op.name);
                    }
                }
            }
        }
        self.set = Some(set);
        Ok(())
    }

    /// Whether the operation called `name` is chosen.
    pub fn contains(&self, name: &str) -> bool {
        match &self.set {
            Some(s) => s.contains(name),
            None => operation(name).is_some_and(|o| o.default_enabled),
        }
    }

    /// The chosen operations in the order they run: name order, `customize` after the
    /// others (the operations on devices run after all of them; see
    /// [`SysprepOperation::on_devices`]).
    pub fn ordered(&self) -> Vec<&'static SysprepOperation> {
        let mut ops: Vec<&'static SysprepOperation> = OPERATIONS
            .iter()
            .filter(|o| self.contains(o.name))
            .collect();
        ops.sort_by_key(|o| (o.name == "customize", o.name));
        ops
    }
}

/// Parses one `--operations` list from nothing chosen (see [`Selection::operations`]);
/// returns the operations in the order they run.
pub fn parse_operations(list: &str) -> Result<Vec<&'static SysprepOperation>, SysprepError> {
    let mut s = Selection::default();
    s.operations(list)?;
    Ok(s.ordered())
}

/// `--keep-user-accounts` and `--remove-user-accounts` (each repeatable, comma lists).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAccounts {
    /// Never removed.
    pub keep: BTreeSet<String>,
    /// When not empty, only these are removed.
    pub remove: BTreeSet<String>,
}

impl UserAccounts {
    /// Adds a comma list to one of the sets; an empty name is an error.
    pub fn add(set: &mut BTreeSet<String>, list: &str) -> Result<(), SysprepError> {
        for name in list.split(',') {
            if name.is_empty() {
                return Err(SysprepError::EmptyUserName);
            }
            set.insert(name.to_owned());
        }
        Ok(())
    }

    /// Whether the user is to be removed (when its UID is in range).
    pub fn removes(&self, user: &str) -> bool {
        !self.keep.contains(user) && (self.remove.is_empty() || self.remove.contains(user))
    }

    /// The error virt-sysprep gives when these options come without the operation.
    pub fn check_disabled(&self) -> Result<(), SysprepError> {
        if !self.keep.is_empty() {
            return Err(SysprepError::UserAccountsDisabled("keep-user-accounts"));
        }
        if !self.remove.is_empty() {
            return Err(SysprepError::UserAccountsDisabled("remove-user-accounts"));
        }
        Ok(())
    }
}

/// A numeric setting of /etc/login.defs (`UID_MIN 1000`), if present and a number.
pub fn login_defs_number(login_defs: &[u8], key: &str) -> Option<u64> {
    let text = String::from_utf8_lossy(login_defs);
    text.lines()
        .rev()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(key)).then(|| w.next()).flatten()
        })
        .next()
        .and_then(|v| v.parse().ok())
}

/// `user-account`: the users of /etc/passwd whose UID is within `min..=max` and that
/// `choice` removes, with their home directories, in file order.
pub fn accounts_to_remove(
    passwd: &[u8],
    min: u64,
    max: u64,
    choice: &UserAccounts,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in passwd.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || f[0].is_empty() || f[0].starts_with(['+', '-', '#']) {
            continue;
        }
        let Ok(uid) = f[2].parse::<u64>() else {
            continue;
        };
        if uid >= min && uid <= max && choice.removes(f[0]) {
            out.push((f[0].to_owned(), f[5].to_owned()));
        }
    }
    out
}

/// The file (passwd, shadow, group) without the entries named `names` (first field).
pub fn remove_entries(file: &[u8], names: &BTreeSet<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(file.len());
    for line in file.split_inclusive(|&b| b == b'\n') {
        let name = line.split(|&b| b == b':').next().unwrap_or_default();
        let named =
            line.contains(&b':') && std::str::from_utf8(name).is_ok_and(|n| names.contains(n));
        if !named {
            out.extend_from_slice(line);
        }
    }
    out
}

/// `net-hostname`, `net-hwaddr`: the file as virt-sysprep rewrites it: its lines (a final
/// CR of each dropped, as guestfs `read_lines` does) without those starting with one of the
/// prefixes, each ending with a newline.
pub fn drop_lines(file: &[u8], prefixes: &[&str]) -> Vec<u8> {
    let body = file.strip_suffix(b"\n").unwrap_or(file);
    let mut out = Vec::with_capacity(file.len() + 1);
    let mut first = true;
    if !file.is_empty() {
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if prefixes.iter().any(|p| line.starts_with(p.as_bytes())) {
                continue;
            }
            if !first {
                out.push(b'\n');
            }
            first = false;
            out.extend_from_slice(line);
        }
    }
    out.push(b'\n');
    out
}

/// `backup-files`: whether a file name is an editor backup (`*.bak`, `*~`; dot files too).
pub fn is_backup_file(name: &[u8]) -> bool {
    name.ends_with(b".bak") || name.ends_with(b"~")
}

/// The command that rebuilds the guest's CA store after a certificate was removed, if
/// virt-sysprep knows one for it.
pub fn update_ca_store_command(g: &GuestKind<'_>) -> Option<&'static [&'static str]> {
    if When::RedHat.holds(g) {
        Some(&["update-ca-trust", "extract"])
    } else if When::DebianFamily.holds(g) {
        Some(&["update-ca-certificates"])
    } else {
        None
    }
}

/// `fs-uuids`, beyond virt-sysprep 1.48 (which leaves fstab naming UUIDs that no longer
/// exist, so the guest stops booting): the fstab (or crypttab) with every first field that
/// names a filesystem by an old UUID (`UUID=OLD`, `UUID="OLD"`, `/dev/disk/by-uuid/OLD`,
/// compared without case) naming its new one. Everything else, comments and spacing
/// included, stays byte for byte. `None` when nothing names an old UUID.
pub fn follow_new_uuids(file: &[u8], moved: &[(String, String)]) -> Option<Vec<u8>> {
    let new_for = |old: &[u8]| {
        moved
            .iter()
            .find(|(o, _)| o.as_bytes().eq_ignore_ascii_case(old))
            .map(|(_, n)| n.as_bytes())
    };
    let mut out = Vec::with_capacity(file.len());
    let mut changed = false;
    for line in file.split_inclusive(|&b| b == b'\n') {
        let start = line
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(line.len());
        let len = line[start..]
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(line.len() - start);
        let field = &line[start..start + len];
        let (prefix, rest) = if field.len() > 5 && field[..5].eq_ignore_ascii_case(b"UUID=") {
            field.split_at(5)
        } else if let Some(rest) = field.strip_prefix(b"/dev/disk/by-uuid/") {
            (&field[..field.len() - rest.len()], rest)
        } else {
            (&field[..0], &field[..0])
        };
        let quoted = rest.len() >= 2 && rest.starts_with(b"\"") && rest.ends_with(b"\"");
        let bare = if quoted {
            &rest[1..rest.len() - 1]
        } else {
            rest
        };
        match (line.get(start), new_for(bare)) {
            (Some(b'#') | None, _) | (_, None) => out.extend_from_slice(line),
            (Some(_), Some(new)) => {
                changed = true;
                out.extend_from_slice(&line[..start]);
                out.extend_from_slice(prefix);
                if quoted {
                    out.push(b'"');
                }
                out.extend_from_slice(new);
                if quoted {
                    out.push(b'"');
                }
                out.extend_from_slice(&line[start + len..]);
            }
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ops: &[&SysprepOperation]) -> Vec<&'static str> {
        ops.iter().map(|o| o.name).collect()
    }

    #[test]
    fn table_is_virt_sysprep_1_48s() {
        assert_eq!(OPERATIONS.len(), 43);
        let mut sorted = names(&OPERATIONS.iter().collect::<Vec<_>>());
        sorted.sort_unstable();
        assert_eq!(names(&OPERATIONS.iter().collect::<Vec<_>>()), sorted);
        let off: Vec<&str> = OPERATIONS
            .iter()
            .filter(|o| !o.default_enabled)
            .map(|o| o.name)
            .collect();
        assert_eq!(
            off,
            [
                "ca-certificates",
                "firewall-rules",
                "flag-reconfiguration",
                "fs-uuids",
                "kerberos-data",
                "user-account"
            ]
        );
        assert!(OPERATIONS
            .iter()
            .all(|o| !o.actions.is_empty() && !o.description.ends_with('.')));
    }

    #[test]
    fn paths_expanded_ahead_follow_the_guest() {
        let debian = GuestKind {
            os_type: "linux",
            distro: "debian",
            package_management: "apt",
            package_format: "deb",
        };
        let windows = GuestKind {
            os_type: "windows",
            distro: "windows",
            package_management: "unknown",
            package_format: "unknown",
        };
        let paths = |name: &str, k: &GuestKind<'_>| operation(name).unwrap().paths(k);
        let logfiles = paths("logfiles", &debian);
        assert_eq!(logfiles.len(), LOGFILES.len());
        assert!(logfiles.contains(&"/var/log/*.log*"));
        assert!(paths("logfiles", &windows).is_empty());
        assert_eq!(paths("backup-files", &debian), BACKUP_DIRS);
        assert!(paths("backup-files", &windows).is_empty());
        // RedHat-only and dnf-only actions are left out on Debian.
        assert!(paths("net-hwaddr", &debian).is_empty());
        assert_eq!(
            paths("package-manager-cache", &debian),
            ["/var/cache/apt/archives/"]
        );
        assert_eq!(
            paths("cron-spool", &debian),
            [
                "/var/spool/cron/",
                "/var/spool/cron/atjobs/.SEQ",
                "/var/spool/atjobs/*",
                "/var/spool/atjobs/.SEQ",
                "/var/spool/atspool/*",
                "/var/spool/at/",
                "/var/spool/at/.SEQ"
            ]
        );
        // Touch creates its file: never looked at ahead.
        assert_eq!(paths("pacct-log", &debian), ["/var/log/account/pacct*"]);
        assert!(paths("customize", &debian).is_empty());
    }

    #[test]
    fn operations_lists_as_virt_sysprep() {
        let defaults = names(&default_operations());
        let ordered = |s: &Selection| names(&s.ordered());
        let mut s = Selection::default();
        assert_eq!(ordered(&s).len(), defaults.len());
        assert_eq!(*ordered(&s).last().unwrap(), "customize");
        s.operations("defaults,-logfiles,-tmp-files").unwrap();
        assert_eq!(ordered(&s).len(), defaults.len() - 2);
        // A list of names alone, or of removals alone, starts from nothing.
        assert_eq!(
            names(&parse_operations("udev-persistent-net,ssh-hostkeys").unwrap()),
            ["ssh-hostkeys", "udev-persistent-net"]
        );
        assert!(parse_operations("-ssh-hostkeys").unwrap().is_empty());
        assert_eq!(names(&parse_operations("all").unwrap()).len(), 43);
        assert!(parse_operations("all,-all").unwrap().is_empty());
        assert_eq!(
            names(&parse_operations("all,-defaults").unwrap()),
            [
                "ca-certificates",
                "firewall-rules",
                "flag-reconfiguration",
                "fs-uuids",
                "kerberos-data",
                "user-account"
            ]
        );
        // Repeated --operations accumulate; --enable then --operations too.
        let mut s = Selection::default();
        s.enable("tmp-files").unwrap();
        s.operations("utmp").unwrap();
        assert_eq!(ordered(&s), ["tmp-files", "utmp"]);
        assert_eq!(s.enable("utmp"), Err(SysprepError::EnableTwice));
        let mut s = Selection::default();
        assert_eq!(s.enable(""), Err(SysprepError::EmptyEnable));
        assert_eq!(
            s.enable("utmp,,tmp-files"),
            Err(SysprepError::UnknownOperation {
                option: "--enable",
                name: String::new()
            })
        );
        for bad in ["", "utmp,", "-", "a,-"] {
            assert_eq!(
                parse_operations(bad).unwrap_err(),
                if bad == "a,-" {
                    SysprepError::UnknownOperation {
                        option: "--operations",
                        name: "a".into(),
                    }
                } else {
                    SysprepError::EmptyOperation
                },
                "{bad:?}"
            );
        }
        for unknown in ["none", "+utmp", "-nope"] {
            assert!(matches!(
                parse_operations(unknown),
                Err(SysprepError::UnknownOperation { .. })
            ));
        }
        assert!(parse_operations("bogus")
            .unwrap_err()
            .to_string()
            .starts_with("--operations: ‘bogus’ is not a known operation"));
    }

    #[test]
    fn list_format() {
        let l = list_operations();
        assert!(l.starts_with("abrt-data * Remove the crash data generated by ABRT\n"));
        assert!(l.contains("\nca-certificates   Remove CA certificates in the guest\n"));
        assert!(l.ends_with("yum-uuid * Remove the yum UUID\n"));
        assert_eq!(l.lines().count(), 43);
    }

    #[test]
    fn ifcfg_lines_dropped_as_read_lines_and_write_do() {
        let c = b"TYPE=Ethernet\nBOOTPROTO=dhcp\nHWADDR=52:54:00:6b:3c:58\nDHCP_HOSTNAME=template\n#HWADDR=x\n";
        assert_eq!(
            drop_lines(c, &["HWADDR="]),
            b"TYPE=Ethernet\nBOOTPROTO=dhcp\nDHCP_HOSTNAME=template\n#HWADDR=x\n"
        );
        assert_eq!(
            drop_lines(c, &["HOSTNAME=", "DHCP_HOSTNAME="]),
            b"TYPE=Ethernet\nBOOTPROTO=dhcp\nHWADDR=52:54:00:6b:3c:58\n#HWADDR=x\n"
        );
        assert_eq!(
            drop_lines(b"A=1\r\nHWADDR=2\r\nB=3", &["HWADDR="]),
            b"A=1\nB=3\n"
        );
        assert_eq!(drop_lines(b"", &["HWADDR="]), b"\n");
        assert_eq!(drop_lines(b"HWADDR=1\n", &["HWADDR="]), b"\n");
        assert_eq!(drop_lines(b" HWADDR=1\n", &["HWADDR="]), b" HWADDR=1\n");
    }

    #[test]
    fn user_accounts() {
        let passwd = b"root:x:0:0:root:/root:/bin/bash\nsys:x:999:999::/var/sys:/bin/false\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n";
        let defs = b"# comment UID_MIN 5\nUID_MIN\t\t\t 1000\nUID_MAX   60000\n";
        assert_eq!(login_defs_number(defs, "UID_MIN"), Some(1000));
        assert_eq!(login_defs_number(defs, "UID_MAX"), Some(60000));
        assert_eq!(login_defs_number(defs, "GID_MIN"), None);
        let mut c = UserAccounts::default();
        let all = accounts_to_remove(passwd, 1000, 60000, &c);
        assert_eq!(
            all,
            [
                ("alice".to_owned(), "/home/alice".to_owned()),
                ("bob".to_owned(), "/home/bob".to_owned())
            ]
        );
        UserAccounts::add(&mut c.keep, "alice").unwrap();
        assert_eq!(accounts_to_remove(passwd, 1000, 60000, &c).len(), 1);
        UserAccounts::add(&mut c.remove, "alice,root").unwrap();
        assert!(accounts_to_remove(passwd, 1000, 60000, &c).is_empty());
        assert_eq!(
            UserAccounts::add(&mut c.keep, "a,,b"),
            Err(SysprepError::EmptyUserName)
        );
        assert_eq!(
            c.check_disabled(),
            Err(SysprepError::UserAccountsDisabled("keep-user-accounts"))
        );
        let gone: BTreeSet<&str> = ["alice", "bob"].into();
        assert_eq!(
            remove_entries(b"alice:x:1000:\nusers:x:100:alice,bob\nbob:x:1001:", &gone),
            b"users:x:100:alice,bob\n"
        );
    }

    #[test]
    fn fstab_follows_new_uuids_and_keeps_the_rest() {
        let moved = vec![
            ("0a1B-old".to_owned(), "new-1".to_owned()),
            ("c0ffee".to_owned(), "new-2".to_owned()),
        ];
        let fstab = b"# UUID=c0ffee was /\nUUID=0A1b-OLD / ext4 defaults 0 1\n  UUID=\"c0ffee\"\t/boot ext4 defaults 0 2\n/dev/disk/by-uuid/c0ffee none swap sw\nUUID=other /x ext4 defaults\nLABEL=c0ffee /y ext4 defaults\n/dev/vg/root /z ext4 c0ffee\nUUID=c0ffee";
        let want = b"# UUID=c0ffee was /\nUUID=new-1 / ext4 defaults 0 1\n  UUID=\"new-2\"\t/boot ext4 defaults 0 2\n/dev/disk/by-uuid/new-2 none swap sw\nUUID=other /x ext4 defaults\nLABEL=c0ffee /y ext4 defaults\n/dev/vg/root /z ext4 c0ffee\nUUID=new-2";
        assert_eq!(
            String::from_utf8(follow_new_uuids(fstab, &moved).unwrap()).unwrap(),
            String::from_utf8(want.to_vec()).unwrap()
        );
        assert_eq!(
            follow_new_uuids(b"LABEL=x / ext4 defaults\n\n", &moved),
            None
        );
    }
}
