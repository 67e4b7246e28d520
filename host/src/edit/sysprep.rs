//! The pure parts of `guestwright sysprep`: the table of operations (what each removes,
//! truncates or edits), `--operations` parsing, and the file edits some operations make.
//!
//! Mirrors virt-sysprep's operations of the same names (guestfs-tools `sysprep/`): the same
//! default-enabled set, the same paths and globs. Globs follow shell rules as guestfs
//! `glob_expand` does (a `*` does not match a leading dot, so `/tmp/*` leaves `/tmp/.X11-unix`).
//! The caller expands the globs inside the guest and removes with `rm -rf` semantics (the
//! directories named in a glob's parent stay). Never does I/O.

use std::collections::BTreeSet;

use super::sysconfig;
use super::users::passwd_entries;

/// Errors of `--operations`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SysprepError {
    /// An unknown operation name.
    #[error("unknown sysprep operation {0:?}: see `guestwright sysprep --list-operations`")]
    UnknownOperation(String),
}

/// One thing an operation does to the guest.
#[derive(Debug, Clone, Copy)]
pub enum SysprepAction {
    /// Remove every path matching the glob, recursively.
    Remove(&'static str),
    /// Truncate the file to zero bytes if it exists (it must stay: systemd regenerates an empty
    /// /etc/machine-id at boot but treats a missing one as a first boot with other effects).
    Truncate(&'static str),
    /// Rewrite every file matching the glob through the function.
    Edit {
        /// Which files.
        glob: &'static str,
        /// The new contents from the old.
        edit: fn(&[u8]) -> Vec<u8>,
    },
    /// Remove this path (relative) under every home directory: see [`home_paths`].
    RemoveInHomes(&'static str),
}

/// One sysprep operation.
#[derive(Debug, Clone, Copy)]
pub struct SysprepOperation {
    /// Name used on the command line.
    pub name: &'static str,
    /// Run without `--operations`.
    pub default_enabled: bool,
    /// One line for `--list-operations`.
    pub description: &'static str,
    /// What it does, in order.
    pub actions: &'static [SysprepAction],
}

use SysprepAction::{Edit, Remove, RemoveInHomes, Truncate};

/// Where RH-family network scripts live (virt-sysprep edits only these).
pub const IFCFG_GLOB: &str = "/etc/sysconfig/network-scripts/ifcfg-*";

/// virt-sysprep's `logfiles` list.
const LOGFILES: &[SysprepAction] = &[
    Remove("/var/log/*.log*"),
    Remove("/var/log/audit/*"),
    Remove("/var/log/btmp*"),
    Remove("/var/log/cron*"),
    Remove("/var/log/dmesg*"),
    Remove("/var/log/lastlog*"),
    Remove("/var/log/maillog*"),
    Remove("/var/log/mail/*"),
    Remove("/var/log/messages*"),
    Remove("/var/log/secure*"),
    Remove("/var/log/spooler*"),
    Remove("/var/log/tallylog*"),
    Remove("/var/log/wtmp*"),
    Remove("/var/log/apache2/*_log"),
    Remove("/var/log/apache2/*_log-*"),
    Remove("/var/log/ntp"),
    Remove("/var/log/tuned/tuned.log"),
    Remove("/var/log/debug*"),
    Remove("/var/log/syslog*"),
    Remove("/var/log/faillog*"),
    Remove("/var/log/firewalld*"),
    Remove("/var/log/grubby*"),
    Remove("/var/log/xferlog*"),
    Remove("/var/log/BackupPC/LOG"),
    Remove("/var/log/ceph/*.log"),
    Remove("/var/log/chrony/*.log"),
    Remove("/var/log/cups/*_log*"),
    Remove("/var/log/glusterfs/*glusterd.vol.log"),
    Remove("/var/log/glusterfs/glusterfs.log"),
    Remove("/var/log/httpd/*log"),
    Remove("/var/log/jetty/jetty-console.log"),
    Remove("/var/log/libvirt/libxl/*.log"),
    Remove("/var/log/libvirt/libvirtd.log"),
    Remove("/var/log/libvirt/lxc/*.log"),
    Remove("/var/log/libvirt/qemu/*.log"),
    Remove("/var/log/libvirt/uml/*.log"),
    Remove("/var/named/data/named.run"),
    Remove("/var/log/ppp/connect-errors"),
    Remove("/var/log/setroubleshoot/*.log"),
    Remove("/var/log/squid/*.log"),
    Remove("/var/lib/logrotate.status"),
    Remove("/root/install.log"),
    Remove("/root/install.log.syslog"),
    Remove("/root/anaconda-ks.cfg"),
    Remove("/root/anaconda-post.log"),
    Remove("/root/initial-setup-ks.cfg"),
    Remove("/var/log/anaconda.syslog"),
    Remove("/var/log/anaconda/*"),
    Remove("/var/log/installer/*"),
    Remove("/var/cache/gdm/*"),
    Remove("/var/lib/AccountService/users/*"),
    Remove("/var/lib/fprint/*"),
    Remove("/var/cache/fontconfig/*"),
    Remove("/var/cache/man/*"),
    Remove("/var/log/sa/*"),
    Remove("/var/log/gdm/*"),
    Remove("/var/log/lightdm/*"),
    Remove("/var/log/ntpstats/*"),
    Remove("/etc/Pegasus/*.cnf"),
    Remove("/etc/Pegasus/*.crt"),
    Remove("/etc/Pegasus/*.csr"),
    Remove("/etc/Pegasus/*.pem"),
    Remove("/etc/Pegasus/*.srl"),
    Remove("/var/log/rhsm/*"),
    Remove("/var/log/journal/*"),
    Remove("/var/log/aptitude*"),
    Remove("/var/log/apt/*"),
    Remove("/var/log/exim4/*"),
    Remove("/var/log/ConsoleKit/*"),
];

/// Every operation, in the order they run.
pub const OPERATIONS: &[SysprepOperation] = &[
    SysprepOperation {
        name: "bash-history",
        default_enabled: true,
        description: "Remove the bash history of root and every user",
        actions: &[RemoveInHomes(".bash_history")],
    },
    SysprepOperation {
        name: "dhcp-client-state",
        default_enabled: true,
        description: "Remove DHCP client leases",
        actions: &[Remove("/var/lib/dhclient/*"), Remove("/var/lib/dhcp/*")],
    },
    SysprepOperation {
        name: "logfiles",
        default_enabled: true,
        description: "Remove many log files from the guest",
        actions: LOGFILES,
    },
    SysprepOperation {
        name: "machine-id",
        default_enabled: true,
        description: "Truncate the local machine ID (regenerated at the next boot)",
        actions: &[
            Truncate("/etc/machine-id"),
            Truncate("/var/lib/dbus/machine-id"),
        ],
    },
    SysprepOperation {
        name: "net-hostname",
        default_enabled: true,
        description: "Remove HOSTNAME and DHCP_HOSTNAME from RH-family ifcfg files",
        actions: &[Edit {
            glob: IFCFG_GLOB,
            edit: remove_hostname_keys,
        }],
    },
    SysprepOperation {
        name: "net-hwaddr",
        default_enabled: true,
        description: "Remove HWADDR (the old NIC's MAC) from RH-family ifcfg files",
        actions: &[Edit {
            glob: IFCFG_GLOB,
            edit: remove_hwaddr,
        }],
    },
    SysprepOperation {
        name: "package-manager-cache",
        default_enabled: true,
        description: "Remove the package manager caches (apt, dnf, yum, zypper)",
        actions: &[
            Remove("/var/cache/apt/archives/*.deb"),
            Remove("/var/cache/apt/archives/partial/*"),
            Remove("/var/cache/apt/*.bin"),
            Remove("/var/cache/dnf/*"),
            Remove("/var/cache/yum/*"),
            Remove("/var/cache/zypp/*"),
        ],
    },
    SysprepOperation {
        name: "ssh-hostkeys",
        default_enabled: true,
        description: "Remove the SSH host keys (sshd makes new ones at the next boot)",
        actions: &[Remove("/etc/ssh/*_host_*")],
    },
    SysprepOperation {
        name: "ssh-userdir",
        default_enabled: true,
        description: "Remove the .ssh directory of root and every user",
        actions: &[RemoveInHomes(".ssh")],
    },
    SysprepOperation {
        name: "tmp-files",
        default_enabled: true,
        description: "Remove temporary files",
        actions: &[Remove("/tmp/*"), Remove("/var/tmp/*")],
    },
    SysprepOperation {
        name: "udev-persistent-net",
        default_enabled: true,
        description: "Remove udev persistent net rules (else a clone's NIC becomes eth1)",
        actions: &[Remove("/etc/udev/rules.d/70-persistent-net.rules")],
    },
];

/// The operation called `name`.
pub fn operation(name: &str) -> Option<&'static SysprepOperation> {
    OPERATIONS.iter().find(|o| o.name == name)
}

/// The operations enabled by default, in table order.
pub fn default_operations() -> Vec<&'static SysprepOperation> {
    OPERATIONS.iter().filter(|o| o.default_enabled).collect()
}

/// Parses `--operations`: a comma-separated list applied left to right, with `name` or
/// `+name` to enable, `-name` to disable, and the keywords `defaults`, `all` and `none`.
/// As in virt-sysprep, a list of plain names enables *only* those (`ssh-hostkeys,tmp-files`);
/// a list that starts with `+name` or `-name` starts from the defaults instead
/// (`-ssh-hostkeys` is every default but that one), which virt-sysprep would read as "nothing".
/// Returns the chosen operations in table order.
pub fn parse_operations(list: &str) -> Result<Vec<&'static SysprepOperation>, SysprepError> {
    let items: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut set: BTreeSet<&'static str> = BTreeSet::new();
    if items.first().is_some_and(|i| i.starts_with(['+', '-'])) {
        set.extend(default_operations().iter().map(|o| o.name));
    }
    for item in items {
        match item {
            "defaults" => set.extend(default_operations().iter().map(|o| o.name)),
            "all" => set.extend(OPERATIONS.iter().map(|o| o.name)),
            "none" => set.clear(),
            _ => {
                let (remove, name) = match item.strip_prefix('-') {
                    Some(n) => (true, n),
                    None => (false, item.strip_prefix('+').unwrap_or(item)),
                };
                let op = operation(name)
                    .ok_or_else(|| SysprepError::UnknownOperation(name.to_owned()))?;
                if remove {
                    set.remove(op.name);
                } else {
                    set.insert(op.name);
                }
            }
        }
    }
    Ok(OPERATIONS.iter().filter(|o| set.contains(o.name)).collect())
}

/// `net-hwaddr`: the ifcfg file without `HWADDR=` lines, so a clone with a new MAC still
/// brings the interface up.
pub fn remove_hwaddr(ifcfg: &[u8]) -> Vec<u8> {
    sysconfig::remove(ifcfg, "HWADDR")
}

/// `net-hostname`: the ifcfg file without `HOSTNAME=` and `DHCP_HOSTNAME=` lines.
pub fn remove_hostname_keys(ifcfg: &[u8]) -> Vec<u8> {
    sysconfig::remove_where(ifcfg, |k| k == b"HOSTNAME" || k == b"DHCP_HOSTNAME")
}

/// The guest paths a [`SysprepAction::RemoveInHomes`] names: `rel` under /root, under every
/// home directory in /etc/passwd that is a real one (not `/`, `/nonexistent`, `/dev/null`,
/// …), and as the glob `/home/*/REL` for homes of users not in /etc/passwd (LDAP). Sorted, no
/// duplicates.
pub fn home_paths(passwd: &[u8], rel: &str) -> Vec<String> {
    let mut homes: BTreeSet<String> = BTreeSet::new();
    homes.insert("/root".to_owned());
    for e in passwd_entries(passwd) {
        let h = e.home.trim_end_matches('/');
        let fake = h.is_empty()
            || [
                "/nonexistent",
                "/dev/null",
                "/bin",
                "/sbin",
                "/usr/sbin",
                "/var/empty",
            ]
            .contains(&h)
            || !h.starts_with('/')
            || h.split('/').any(|c| c == "..");
        if !fake {
            homes.insert(h.to_owned());
        }
    }
    homes.insert("/home/*".to_owned());
    homes.into_iter().map(|h| format!("{h}/{rel}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ops: &[&SysprepOperation]) -> Vec<&'static str> {
        ops.iter().map(|o| o.name).collect()
    }

    #[test]
    fn table_has_the_operations_virt_sysprep_has() {
        let all = names(&OPERATIONS.iter().collect::<Vec<_>>());
        assert_eq!(
            all,
            [
                "bash-history",
                "dhcp-client-state",
                "logfiles",
                "machine-id",
                "net-hostname",
                "net-hwaddr",
                "package-manager-cache",
                "ssh-hostkeys",
                "ssh-userdir",
                "tmp-files",
                "udev-persistent-net"
            ]
        );
        assert!(OPERATIONS
            .iter()
            .all(|o| o.default_enabled && !o.actions.is_empty()));
        let m = operation("machine-id").unwrap();
        assert!(matches!(
            m.actions,
            [
                Truncate("/etc/machine-id"),
                Truncate("/var/lib/dbus/machine-id")
            ]
        ));
        assert!(matches!(
            operation("ssh-hostkeys").unwrap().actions,
            [Remove("/etc/ssh/*_host_*")]
        ));
        assert!(LOGFILES
            .iter()
            .any(|a| matches!(a, Remove("/var/log/journal/*"))));
    }

    #[test]
    fn operations_lists() {
        let defaults = names(&default_operations());
        assert_eq!(names(&parse_operations("defaults").unwrap()), defaults);
        assert_eq!(names(&parse_operations("all").unwrap()), defaults);
        assert_eq!(
            names(&parse_operations("udev-persistent-net,ssh-hostkeys").unwrap()),
            ["ssh-hostkeys", "udev-persistent-net"]
        );
        let minus = names(&parse_operations("-ssh-hostkeys").unwrap());
        assert_eq!(minus.len(), defaults.len() - 1);
        assert!(!minus.contains(&"ssh-hostkeys"));
        assert_eq!(
            names(&parse_operations("defaults,-logfiles,-tmp-files").unwrap()).len(),
            defaults.len() - 2
        );
        assert_eq!(
            names(&parse_operations("none,+machine-id").unwrap()),
            ["machine-id"]
        );
        assert_eq!(
            names(&parse_operations("all,none").unwrap()),
            Vec::<&str>::new()
        );
        assert_eq!(names(&parse_operations("").unwrap()), Vec::<&str>::new());
        assert_eq!(
            parse_operations("defaults,-nope").unwrap_err(),
            SysprepError::UnknownOperation("nope".into())
        );
        assert!(parse_operations("bogus")
            .unwrap_err()
            .to_string()
            .contains("--list-operations"));
    }

    #[test]
    fn rocky8_ifcfg_hwaddr_and_hostname_removed() {
        let c = b"TYPE=Ethernet\nPROXY_METHOD=none\nBROWSER_ONLY=no\nBOOTPROTO=dhcp\nDEFROUTE=yes\nIPV4_FAILURE_FATAL=no\nIPV6INIT=yes\nNAME=eth0\nUUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\nDEVICE=eth0\nONBOOT=yes\nHWADDR=52:54:00:6b:3c:58\nDHCP_HOSTNAME=template\n";
        let out = remove_hwaddr(c);
        assert_eq!(
            out,
            String::from_utf8_lossy(c)
                .replace("HWADDR=52:54:00:6b:3c:58\n", "")
                .as_bytes()
        );
        assert_eq!(remove_hwaddr(&out), out);
        let out2 = remove_hostname_keys(&out);
        assert!(!String::from_utf8_lossy(&out2).contains("HOSTNAME"));
        assert_eq!(remove_hostname_keys(&out2), out2);
        // CRLF, quoted, no trailing newline, commented copy stays
        assert_eq!(
            remove_hwaddr(b"#HWADDR=x\r\nHWADDR=\"AA:BB\"\r\nONBOOT=yes"),
            b"#HWADDR=x\r\nONBOOT=yes"
        );
        assert_eq!(remove_hwaddr(b""), b"");
    }

    #[test]
    fn home_paths_from_passwd() {
        let p = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nsshd:x:101:65534::/run/sshd:/usr/sbin/nologin\ndebian:x:1000:1000:Debian:/home/debian:/bin/bash\nsvc:x:998:998::/srv/svc/:/bin/sh\n";
        assert_eq!(
            home_paths(p, ".ssh"),
            [
                "/home/*/.ssh",
                "/home/debian/.ssh",
                "/root/.ssh",
                "/run/sshd/.ssh",
                "/srv/svc/.ssh"
            ]
        );
        assert_eq!(
            home_paths(b"", ".bash_history"),
            ["/home/*/.bash_history", "/root/.bash_history"]
        );
    }
}
