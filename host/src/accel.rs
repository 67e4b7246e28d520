//! Choosing the accelerator. `auto` must not trust that /dev/kvm exists: on some hosts (a
//! shadow-paging nested hypervisor, for one) KVM opens fine and an unmodified guest kernel
//! then hangs for minutes. So auto boots with KVM under a short deadline, falls back to TCG,
//! and remembers the verdict for this host in the cache.
//!
//! ```
//! use guestwright::AccelChoice;
//!
//! let choice: AccelChoice = "tcg".parse()?;
//! assert_eq!(choice, AccelChoice::Tcg);
//! assert_eq!(choice.to_string(), "tcg");
//! assert!("hvf".parse::<AccelChoice>().is_err()); // the message lists auto, kvm and tcg
//! // Why `auto` will not even try KVM on this host, if it will not.
//! if let Some(why) = guestwright::accel::kvm_unusable() {
//!     println!("TCG only: {why}");
//! }
//! # Ok::<(), String>(())
//! ```

use crate::qemu::Accelerator;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AccelChoice {
    /// KVM when it works on this host, else TCG.
    #[default]
    Auto,
    /// KVM or fail.
    Kvm,
    /// Software emulation.
    Tcg,
}

impl FromStr for AccelChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" | "" => Ok(AccelChoice::Auto),
            "kvm" => Ok(AccelChoice::Kvm),
            "tcg" => Ok(AccelChoice::Tcg),
            other => Err(format!(
                "unknown accelerator '{other}': use auto, kvm or tcg"
            )),
        }
    }
}

impl fmt::Display for AccelChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccelChoice::Auto => "auto",
            AccelChoice::Kvm => "kvm",
            AccelChoice::Tcg => "tcg",
        })
    }
}

/// The remembered verdict: which accelerator booted the appliance on this host, keyed by
/// what would change the answer (host kernel, QEMU binary, appliance kernel).
#[derive(Debug)]
pub struct Verdict {
    path: PathBuf,
    key: String,
}

impl Verdict {
    /// The verdict file in `cache_dir` for this combination.
    pub fn new(cache_dir: &Path, qemu: &Path, appliance_kernel: &str) -> Verdict {
        use std::os::unix::fs::MetadataExt;
        let qemu_id = std::fs::metadata(qemu)
            .map(|m| format!("{}:{}", m.size(), m.mtime()))
            .unwrap_or_default();
        let host_release =
            std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        Verdict {
            path: cache_dir.join("accel-verdict"),
            key: format!(
                "{}|{qemu_id}|{}|{appliance_kernel}",
                qemu.display(),
                host_release.trim()
            ),
        }
    }

    /// What was remembered, if it is for this key.
    pub fn load(&self) -> Option<Accelerator> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let (key, value) = text.split_once('\n')?;
        if key != self.key {
            return None;
        }
        match value.trim() {
            "kvm" => Some(Accelerator::Kvm),
            "tcg" => Some(Accelerator::Tcg),
            _ => None,
        }
    }

    /// Remembers a verdict (best effort: a read-only cache only costs a retry next time).
    pub fn store(&self, accel: Accelerator) {
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, format!("{}\n{}\n", self.key, accel.name())).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}

/// Why KVM cannot be used, or `None` when /dev/kvm opens read-write.
pub fn kvm_unusable() -> Option<String> {
    let path = Path::new("/dev/kvm");
    match crate::sys::can_open_rw(path) {
        Ok(()) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some("/dev/kvm does not exist (no hardware virtualisation here, or the kvm module is not loaded)".into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(
            "/dev/kvm exists but this user cannot open it: add yourself to the kvm group \
             (`sudo usermod -aG kvm $USER`, then log in again)"
                .into(),
        ),
        Err(e) => Some(format!("/dev/kvm cannot be opened: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_keyed() {
        let dir = tempfile::tempdir().unwrap();
        let v = Verdict::new(dir.path(), Path::new("/usr/bin/true"), "6.1.0");
        assert_eq!(v.load(), None);
        v.store(Accelerator::Tcg);
        assert_eq!(v.load(), Some(Accelerator::Tcg));
        let other = Verdict::new(dir.path(), Path::new("/usr/bin/true"), "6.2.0");
        assert_eq!(
            other.load(),
            None,
            "another appliance kernel must be tried afresh"
        );
        v.store(Accelerator::Kvm);
        assert_eq!(v.load(), Some(Accelerator::Kvm));
        assert_eq!("tcg".parse::<AccelChoice>().unwrap(), AccelChoice::Tcg);
        assert!("xen".parse::<AccelChoice>().is_err());
    }
}
