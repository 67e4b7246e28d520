//! What customize does around the operations, as virt-customize does (libguestfs-common
//! `mlcustomize/customize_run.ml`, `random_seed.ml`, `SELinux_relabel.ml`):
//!
//! - before: an empty /etc/machine-id (a sysprepped template) gets a fresh random id, which
//!   package scripts run by `--run-command` need;
//! - after, and only when the run changed something: a fresh random seed in the places the
//!   distribution keeps one, so clones of one template do not start with the same entropy;
//!   and `/.autorelabel` on SELinux guests, so the files written here get their labels at the
//!   next boot.
//!
//! A run that changes nothing leaves the seed alone, so running the same customize twice
//! changes nothing the second time (virt-customize rewrites the seed on every run).

use rand::RngCore;

use super::guest::Guest;
use super::CustomizeError;
use crate::inspect::OsInfo;

/// Where distributions keep the seed; each that exists is refreshed.
const SEED_FILES: &[&str] = &[
    "/var/lib/random-seed",
    "/var/lib/systemd/random-seed",
    "/var/lib/urandom/random-seed",
    "/var/lib/misc/random-seed",
    "/etc/random-seed",
];

/// True when /etc/machine-id is an empty regular file (a sysprepped template's), which
/// [`machine_id`] fills.
pub fn machine_id_is_empty(g: &Guest<'_>) -> Result<bool, CustomizeError> {
    Ok(g.lstat("/etc/machine-id")?
        .is_some_and(|st| st.mode & libc::S_IFMT == libc::S_IFREG && st.size == 0))
}

/// Fills an empty /etc/machine-id with a random id.
pub fn machine_id<R: RngCore>(g: &mut Guest<'_>, rng: &mut R) -> Result<(), CustomizeError> {
    if !machine_id_is_empty(g)? {
        return Ok(());
    }
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let text: String = id.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n";
    g.write("/etc/machine-id", Some(b""), text.as_bytes(), None, false)?;
    Ok(())
}

/// Writes fresh random seeds (each existing seed file keeps its size within 512..=8192
/// bytes; when none exists, the distribution's file is created 0600 if its directory does).
/// False when there was nowhere to write one (virt-customize warns then).
pub fn random_seed<R: RngCore>(
    g: &mut Guest<'_>,
    os: &OsInfo,
    rng: &mut R,
) -> Result<bool, CustomizeError> {
    let mut wrote = false;
    for path in SEED_FILES {
        let Some(st) = g.lstat(path)? else { continue };
        if st.mode & libc::S_IFMT != libc::S_IFREG {
            continue;
        }
        let mut seed = vec![0u8; st.size.clamp(512, 8192) as usize];
        rng.fill_bytes(&mut seed);
        g.replace(path, true, &seed)?;
        wrote = true;
    }
    if wrote {
        return Ok(true);
    }
    let path = match os.distro.as_str() {
        "fedora" | "rhel" | "centos" | "scientificlinux" | "oraclelinux" | "rocky"
        | "almalinux" | "redhat-based" => "/var/lib/random-seed",
        "debian" | "ubuntu" | "kalilinux" => "/var/lib/urandom/random-seed",
        "opensuse" | "sles" | "suse-based" => "/var/lib/misc/random-seed",
        "cirros" => "/etc/random-seed",
        _ => return Ok(false),
    };
    if !g.is_dir(super::guest::parent(path))? {
        return Ok(false);
    }
    let mut seed = vec![0u8; 512];
    rng.fill_bytes(&mut seed);
    g.replace(path, false, &seed)?;
    g.chmod(path, 0o600)?;
    Ok(true)
}

/// Touches /.autorelabel when the guest uses SELinux and it is not there yet.
pub fn selinux_relabel(g: &mut Guest<'_>) -> Result<(), CustomizeError> {
    let is_file = |g: &Guest<'_>, p: &str| -> Result<bool, CustomizeError> {
        Ok(g.stat(p)?
            .is_some_and(|s| s.mode & libc::S_IFMT == libc::S_IFREG))
    };
    if is_file(g, "/usr/sbin/load_policy")?
        && is_file(g, "/etc/selinux/config")?
        && g.lstat("/.autorelabel")?.is_none()
    {
        g.write("/.autorelabel", None, b"", None, false)?;
    }
    Ok(())
}
