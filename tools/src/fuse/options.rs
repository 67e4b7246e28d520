//! `-o` options of `guestwright mount`, checked before anything starts, and the FUSE mount
//! options they become.
//!
//! Whatever is asked, the mount is `nosuid,nodev` (a guest's setuid binaries and device
//! nodes never act on the host), and read-only mounts are also `noexec` unless `-o exec`.
//! Only the mounting user sees the files unless `-o allow_other` (or `allow_root`), which
//! also turns on `default_permissions`: other users then get the guest's owners and modes
//! enforced by the host kernel.

use fuser::MountOption;
use std::time::Duration;

/// Attribute and entry timeout when `-o` does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The checked `-o` options.
#[derive(Debug, Clone, PartialEq)]
pub struct FuseOptions {
    /// Others may use the mount.
    pub allow_other: bool,
    /// root may use the mount.
    pub allow_root: bool,
    /// The host kernel checks guest modes and owners.
    pub default_permissions: bool,
    /// How long attributes are trusted (kernel and guestwright's caches).
    pub attr_timeout: Duration,
    /// How long names and absent names are trusted.
    pub entry_timeout: Duration,
    /// `exec` or `noexec` as asked.
    pub exec: Option<bool>,
    /// Flags passed on as they are: `noatime`, `sync`, ...
    pub flags: Vec<MountOption>,
    /// The kernel keeps written pages and writes them back in its own time (FUSE's
    /// writeback cache): on unless `-o no_writeback_cache` or `-o sync`. A read-write mount
    /// is the image's only writer, so the kernel's pages are the file's truth; fsync(2),
    /// close(2) and the unmount still write everything back first.
    pub writeback_cache: bool,
}

impl Default for FuseOptions {
    fn default() -> Self {
        FuseOptions {
            allow_other: false,
            allow_root: false,
            default_permissions: false,
            attr_timeout: DEFAULT_TIMEOUT,
            entry_timeout: DEFAULT_TIMEOUT,
            exec: None,
            flags: Vec::new(),
            writeback_cache: true,
        }
    }
}

const KNOWN: &str = "allow_other, allow_root, default_permissions, attr_timeout=SECONDS, \
     entry_timeout=SECONDS, exec, noexec, atime, noatime, sync, async, dirsync, \
     writeback_cache, no_writeback_cache, kernel_cache, use_ino (the last two are always on)";

fn seconds(name: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && *v <= 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("-o {name}={value}: give a number of seconds, such as {name}=1.5"))
}

/// What `--fuse-help` prints for the program `name`: the `-o` options [`parse`] takes, in the
/// layout of libfuse's help (which is what guestmount prints). libfuse's own list would name
/// options this mount refuses (`-d`, `-s`, `modules=`, `large_read`, ...), so it is not
/// copied.
pub fn help(name: &str) -> String {
    let t = DEFAULT_TIMEOUT.as_secs();
    format!(
        "usage: {name} mountpoint [options]\n\n\
         general options:\n\
         \x20   -o opt,[opt...]        mount options\n\
         \x20   -h   --help            print help\n\n\
         FUSE options:\n\
         \x20   -o allow_other         allow access to other users (implies default_permissions)\n\
         \x20   -o allow_root          allow access to root (implies default_permissions)\n\
         \x20   -o default_permissions enable permission checking by kernel\n\
         \x20   -o attr_timeout=T      cache timeout for attributes ({t}s)\n\
         \x20   -o entry_timeout=T     cache timeout for names ({t}s)\n\
         \x20   -o exec                allow running programs (read-only mounts are noexec)\n\
         \x20   -o noexec              do not allow running programs\n\
         \x20   -o atime               update access times\n\
         \x20   -o noatime             do not update access times\n\
         \x20   -o sync                synchronous writes (turns off writeback_cache)\n\
         \x20   -o async               asynchronous writes (default)\n\
         \x20   -o dirsync             synchronous directory changes\n\
         \x20   -o [no_]writeback_cache  kernel writeback cache of written pages (on)\n\
         \x20   -o kernel_cache        cache files in kernel (always on)\n\
         \x20   -o use_ino             let filesystem set inode numbers (always on)\n\n\
         The mount is always nosuid,nodev: -o suid and -o dev are refused.\n"
    )
}

/// Parses every `-o` argument (each a comma-separated list).
pub fn parse(args: &[String]) -> Result<FuseOptions, String> {
    let mut o = FuseOptions::default();
    for item in args
        .iter()
        .flat_map(|a| a.split(','))
        .filter(|s| !s.is_empty())
    {
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (item, None),
        };
        match (name, value) {
            ("allow_other", None) => o.allow_other = true,
            ("allow_root", None) => o.allow_root = true,
            ("default_permissions", None) => o.default_permissions = true,
            ("attr_timeout", Some(v)) => o.attr_timeout = seconds(name, v)?,
            ("entry_timeout", Some(v)) => o.entry_timeout = seconds(name, v)?,
            ("exec", None) => o.exec = Some(true),
            ("noexec", None) => o.exec = Some(false),
            ("atime", None) => o.flags.push(MountOption::Atime),
            ("noatime", None) => o.flags.push(MountOption::NoAtime),
            ("sync", None) => {
                o.flags.push(MountOption::Sync);
                o.writeback_cache = false;
            }
            ("writeback_cache", None) => o.writeback_cache = true,
            ("no_writeback_cache", None) => o.writeback_cache = false,
            ("async", None) => o.flags.push(MountOption::Async),
            ("dirsync", None) => o.flags.push(MountOption::DirSync),
            ("kernel_cache" | "use_ino", None) => {}
            ("suid" | "dev", None) => {
                return Err(format!(
                    "-o {name} is refused: a guest's setuid programs and device nodes must never act on this host"
                ))
            }
            _ => return Err(format!("-o {item}: unknown mount option (known: {KNOWN})")),
        }
    }
    if o.allow_other && o.allow_root {
        return Err("-o allow_other and allow_root exclude each other: choose one".into());
    }
    if o.allow_other || o.allow_root {
        o.default_permissions = true;
    }
    Ok(o)
}

impl FuseOptions {
    /// The options given to the FUSE mount.
    pub fn mount_options(&self, readonly: bool, fsname: &str) -> Vec<MountOption> {
        let mut v = vec![
            MountOption::FSName(fsname.to_string()),
            MountOption::Subtype("guestwright".into()),
            MountOption::NoSuid,
            MountOption::NoDev,
            if readonly {
                MountOption::RO
            } else {
                MountOption::RW
            },
        ];
        match self.exec {
            Some(true) => v.push(MountOption::Exec),
            Some(false) => v.push(MountOption::NoExec),
            None if readonly => v.push(MountOption::NoExec),
            None => v.push(MountOption::Exec),
        }
        if self.allow_other {
            v.push(MountOption::AllowOther);
        }
        if self.allow_root {
            v.push(MountOption::AllowRoot);
        }
        if self.default_permissions {
            v.push(MountOption::DefaultPermissions);
        }
        v.extend(self.flags.iter().cloned());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuse_help_names_only_options_that_parse() {
        let h = help("guestmount");
        assert!(h.starts_with("usage: guestmount mountpoint [options]\n\ngeneral options:\n"));
        let mut named = 0;
        for line in h.lines() {
            let Some(rest) = line.trim_start().strip_prefix("-o ") else {
                continue;
            };
            let opt = rest.split_whitespace().next().unwrap();
            if opt.starts_with("opt,") {
                continue;
            }
            named += 1;
            let opt = opt.replace("=T", "=1.5");
            let forms: Vec<String> = match opt.strip_prefix("[no_]") {
                Some(o) => vec![o.to_string(), format!("no_{o}")],
                None => vec![opt],
            };
            for o in forms {
                parse(std::slice::from_ref(&o))
                    .unwrap_or_else(|e| panic!("--fuse-help names {o}: {e}"));
            }
        }
        assert!(named >= 14, "{h}");
    }

    fn p(s: &[&str]) -> Result<FuseOptions, String> {
        parse(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn writeback_cache_unless_asked_not_to() {
        assert!(p(&[]).unwrap().writeback_cache);
        assert!(!p(&["no_writeback_cache"]).unwrap().writeback_cache);
        assert!(!p(&["sync"]).unwrap().writeback_cache);
        assert!(
            p(&["no_writeback_cache,writeback_cache"])
                .unwrap()
                .writeback_cache
        );
    }

    #[test]
    fn timeouts_and_lists() {
        let o = p(&["attr_timeout=0.5,entry_timeout=2", "noatime"]).unwrap();
        assert_eq!(o.attr_timeout, Duration::from_millis(500));
        assert_eq!(o.entry_timeout, Duration::from_secs(2));
        assert_eq!(o.flags, vec![MountOption::NoAtime]);
        assert_eq!(p(&[]).unwrap(), FuseOptions::default());
        assert!(p(&["attr_timeout=soon"]).unwrap_err().contains("seconds"));
        assert!(p(&["attr_timeout=-1"]).is_err());
        assert!(p(&["frobnicate"]).unwrap_err().contains("known:"));
    }

    #[test]
    fn always_nosuid_nodev_and_noexec_when_read_only() {
        let o = p(&[]).unwrap();
        let ro = o.mount_options(true, "x");
        for must in [
            MountOption::NoSuid,
            MountOption::NoDev,
            MountOption::RO,
            MountOption::NoExec,
        ] {
            assert!(ro.contains(&must), "{must:?} missing from {ro:?}");
        }
        assert!(!ro.contains(&MountOption::AllowOther));
        let rw = o.mount_options(false, "x");
        assert!(rw.contains(&MountOption::NoSuid) && rw.contains(&MountOption::Exec));
        let exec = p(&["exec"]).unwrap().mount_options(true, "x");
        assert!(exec.contains(&MountOption::Exec) && !exec.contains(&MountOption::NoExec));
        assert!(p(&["suid"]).unwrap_err().contains("refused"));
        assert!(p(&["dev"]).is_err());
    }

    #[test]
    fn others_get_the_guest_permissions_enforced() {
        let o = p(&["allow_other"]).unwrap();
        assert!(o.default_permissions);
        let m = o.mount_options(false, "x");
        assert!(
            m.contains(&MountOption::AllowOther) && m.contains(&MountOption::DefaultPermissions)
        );
        assert!(p(&["allow_other,allow_root"]).is_err());
    }
}
