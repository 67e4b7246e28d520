//! Runs the sysprep operations of [`crate::edit::sysprep`] against the mounted guest: each
//! removes, truncates or edits what its table entry names on the guests its conditions name,
//! and reports what it touched. `customize` and `script` are run by the caller (the plan's
//! customize operations, the host scripts); the operations on devices by [`run_on_devices`].

use guestwright_protocol::{Client, GuestPath};

use super::guest::{guest_err, Guest};
use super::report::Step;
use super::CustomizeError;
use crate::edit::sysprep::{
    accounts_to_remove, drop_lines, follow_new_uuids, is_backup_file, login_defs_number,
    remove_entries, update_ca_store_command, GuestKind, SysprepAction, SysprepOperation,
    UserAccounts, BACKUP_DIRS,
};
use crate::handle::Handle;
use crate::inspect::OsInfo;

/// What the operations of one run share.
#[derive(Debug, Default)]
pub struct SysprepContext {
    /// `--keep-user-accounts`, `--remove-user-accounts`.
    pub users: UserAccounts,
    /// A certificate was removed: the guest's CA store is rebuilt at the end.
    pub update_ca_store: bool,
}

/// What [`GuestKind`] needs of the inspection.
pub fn kind(os: &OsInfo) -> GuestKind<'_> {
    GuestKind {
        os_type: &os.os_type,
        distro: &os.distro,
        package_management: &os.package_management,
        package_format: &os.package_format,
    }
}

/// Expands, in one round trip, every glob and path the operations will look at on this
/// guest (see [`SysprepOperation::paths`]), so that each of the many that match nothing
/// costs no call of its own.
pub fn prefetch(g: &mut Guest<'_>, os: &OsInfo, ops: &[&SysprepOperation]) {
    let k = kind(os);
    let paths: Vec<&str> = ops.iter().flat_map(|op| op.paths(&k)).collect();
    g.prefetch_globs(&paths);
}

/// Runs one sysprep operation on the mounted guest; its changes are in the returned step.
pub fn run(
    g: &mut Guest<'_>,
    os: &OsInfo,
    cx: &mut SysprepContext,
    op: &SysprepOperation,
) -> Result<Step, CustomizeError> {
    let k = kind(os);
    actions(g, &k, cx, op.actions)?;
    Ok(Step {
        operation: format!("sysprep {}", op.name),
        changes: g.take_changes(),
        notes: g.take_notes(),
        ..Step::default()
    })
}

fn actions(
    g: &mut Guest<'_>,
    k: &GuestKind<'_>,
    cx: &mut SysprepContext,
    list: &[SysprepAction],
) -> Result<(), CustomizeError> {
    for action in list {
        match *action {
            // Nothing was there when the operations' paths were expanded ahead.
            SysprepAction::RemoveFileNotLink(path)
            | SysprepAction::RemoveEntries(path)
            | SysprepAction::Truncate(path)
            | SysprepAction::ResetSeq(path)
                if g.absent(path) => {}
            SysprepAction::If(when, inner) => {
                if when.holds(k) {
                    actions(g, k, cx, inner)?;
                }
            }
            SysprepAction::RemoveTree(pattern) => {
                g.delete_glob(pattern)?;
            }
            SysprepAction::RemoveFile(pattern) => {
                for p in g.glob(pattern)? {
                    g.delete_file(&p)?;
                }
            }
            SysprepAction::RemoveFileExcept(pattern, except)
            | SysprepAction::RemoveCertificate(pattern, except) => {
                let cert = matches!(action, SysprepAction::RemoveCertificate(..));
                for p in g.glob(pattern)? {
                    if !except.contains(&p.as_str()) && g.delete_file(&p)? && cert {
                        cx.update_ca_store = true;
                    }
                }
            }
            SysprepAction::RemoveFileNotLink(path) => {
                if g.lstat(path)?
                    .is_some_and(|s| s.mode & libc::S_IFMT != libc::S_IFLNK)
                {
                    g.delete_file(path)?;
                }
            }
            SysprepAction::RemoveEntries(dir) => {
                if g.is_dir(dir)? {
                    let names =
                        g.h.ls(GuestPath::from(dir))
                            .map_err(guest_err(format!("cannot list {dir}")))?;
                    for n in names {
                        let name = String::from_utf8_lossy(n.as_bytes()).into_owned();
                        g.delete(&format!("{dir}/{name}"))?;
                    }
                }
            }
            SysprepAction::RemoveFilesBelow(pattern, keep) => {
                for dir in g.glob(pattern)? {
                    remove_files_below(g, &dir, |name| Some(name) == keep.map(str::as_bytes))?;
                }
            }
            SysprepAction::Truncate(path) => {
                g.truncate(path)?;
            }
            SysprepAction::ResetSeq(path) => {
                if g.is_regular_file(path)? {
                    let old = g.read(path)?;
                    g.write(path, old.as_deref(), b"00000\n", None, false)?;
                }
            }
            SysprepAction::Touch(path) => {
                g.touch(path)?;
            }
            SysprepAction::DropLines(pattern, prefixes) => {
                for path in g.glob(pattern)? {
                    if g.is_regular_file(&path)? {
                        g.edit_file(
                            &path,
                            |old| drop_lines(old.unwrap_or_default(), prefixes),
                            false,
                        )?;
                    }
                }
            }
            SysprepAction::BackupFiles => {
                let roots: &[&str] = if k.os_type == "windows" {
                    &["/"]
                } else {
                    BACKUP_DIRS
                };
                let roots: Vec<&str> = roots.iter().copied().filter(|r| !g.absent(r)).collect();
                for root in roots {
                    remove_files_below(g, root, |name| !is_backup_file(name))?;
                }
            }
            SysprepAction::UserAccounts => user_accounts(g, cx)?,
            SysprepAction::Customize
            | SysprepAction::Script
            | SysprepAction::FsUuids
            | SysprepAction::LvmUuids => {}
        }
    }
    Ok(())
}

/// Removes the regular files at any depth below `dir` (a real directory, not a link) whose
/// names `keep` does not keep.
fn remove_files_below(
    g: &mut Guest<'_>,
    dir: &str,
    keep: impl Fn(&[u8]) -> bool,
) -> Result<(), CustomizeError> {
    let dir = match dir.trim_end_matches('/') {
        "" => "/",
        d => d,
    };
    let is_dir = g
        .lstat(dir)?
        .is_some_and(|s| s.mode & libc::S_IFMT == libc::S_IFDIR);
    if !is_dir {
        return Ok(());
    }
    let found =
        g.h.find(GuestPath::from(dir))
            .map_err(guest_err(format!("cannot list the files below {dir}")))?;
    for rel in found {
        let rel = rel.as_bytes();
        let name = rel.rsplit(|&b| b == b'/').next().unwrap_or(rel);
        if keep(name) {
            continue;
        }
        let path = match dir {
            "/" => format!("/{}", String::from_utf8_lossy(rel)),
            d => format!("{d}/{}", String::from_utf8_lossy(rel)),
        };
        if g.is_regular_file(&path)? {
            g.delete(&path)?;
        }
    }
    Ok(())
}

/// `user-account`: removes the accounts whose UID is within login.defs' UID_MIN..UID_MAX
/// (and that the options choose) from passwd, shadow and group, with their mail spool and
/// home directory.
fn user_accounts(g: &mut Guest<'_>, cx: &SysprepContext) -> Result<(), CustomizeError> {
    let defs = g.read_config("/etc/login.defs")?.unwrap_or_default();
    let number = |key: &str| {
        login_defs_number(&defs, key).ok_or_else(|| CustomizeError::InvalidArgument {
            op: "user-account".into(),
            reason: format!(
                "the guest's /etc/login.defs has no numeric {key}: without the range of user \
                 IDs no account can be told from a system one (disable the operation)"
            ),
        })
    };
    let (min, max) = (number("UID_MIN")?, number("UID_MAX")?);
    let passwd = g.read_config("/etc/passwd")?.unwrap_or_default();
    let gone = accounts_to_remove(&passwd, min, max, &cx.users);
    if gone.is_empty() {
        return Ok(());
    }
    let names: std::collections::BTreeSet<&str> = gone.iter().map(|(n, _)| n.as_str()).collect();
    for file in ["/etc/passwd", "/etc/shadow", "/etc/group"] {
        if let Some(old) = g.read(file)? {
            let new = remove_entries(&old, &names);
            g.write(file, Some(&old), &new, None, false)?;
        }
    }
    for (name, home) in &gone {
        g.delete(&format!("/var/spool/mail/{name}"))?;
        // Never a home that is the root or not absolute.
        let home = home.trim_end_matches('/');
        if home.starts_with('/') && !home.split('/').any(|c| c == "..") {
            g.delete(home)?;
        }
    }
    Ok(())
}

/// After a certificate was removed: rebuilds the guest's CA store with its own command (a
/// warning when the guest has none, or it fails).
pub fn update_ca_store(h: &Handle, os: &OsInfo) -> Option<String> {
    let k = kind(os);
    let Some(cmd) = update_ca_store_command(&k) else {
        return Some(format!(
            "updating the system CA store on this guest {}/{} is not supported",
            os.os_type, os.distro
        ));
    };
    let args: Vec<String> = cmd.iter().map(|s| (*s).to_owned()).collect();
    match h.command(args) {
        Ok(_) => None,
        Err(e) => Some(format!(
            "cannot update the CA store ({}): {}",
            cmd.join(" "),
            crate::error::chain(&e)
        )),
    }
}

/// Runs the operations on devices (`fs-uuids`, `lvm-uuids`) with every filesystem unmounted;
/// returns one step per operation, and the dry run's diff of the files they edited.
pub fn run_on_devices(
    h: &Handle,
    os: &OsInfo,
    ops: &[&SysprepOperation],
    dry_run: bool,
) -> Result<(Vec<Step>, String), CustomizeError> {
    let mut steps = Vec::new();
    let mut diff = String::new();
    for op in ops {
        let mut step = Step {
            operation: format!("sysprep {}", op.name),
            ..Step::default()
        };
        match op.actions {
            [SysprepAction::FsUuids] => {
                let moved = fs_uuids(h, &mut step)?;
                if !moved.is_empty() && os.os_type == "linux" {
                    diff.push_str(&follow_in_fstab(h, os, &moved, dry_run, &mut step)?);
                }
            }
            [SysprepAction::LvmUuids] if os.os_type == "linux" => lvm_uuids(h, &mut step)?,
            _ => {}
        }
        steps.push(step);
    }
    Ok((steps, diff))
}

/// `fs-uuids`: a new random UUID on every filesystem that can take one (a warning for those
/// that cannot); returns the (old, new) pairs of those that had a UUID.
fn fs_uuids(h: &Handle, step: &mut Step) -> Result<Vec<(String, String)>, CustomizeError> {
    let fses = h
        .list_filesystems()
        .map_err(guest_err("cannot list the filesystems"))?;
    let mut moved = Vec::new();
    for fs in fses {
        // A btrfs subvolume shares its filesystem's UUID: the filesystem gets one.
        if fs.fstype == "unknown" || fs.device.as_str().starts_with("btrfsvol:") {
            continue;
        }
        let old = h.vfs_uuid(&fs.device).unwrap_or_default();
        let uuid = random_uuid();
        match h.set_uuid(&fs.device, uuid.clone()) {
            Ok(()) => {
                step.notes.push(format!("{}: new UUID {uuid}", fs.device));
                if !old.is_empty() {
                    moved.push((old, uuid));
                }
            }
            Err(e) => step.notes.push(format!(
                "warning: cannot set random UUID on filesystem {} type {}: {}",
                fs.device,
                fs.fstype,
                crate::error::chain(&e)
            )),
        }
    }
    Ok(moved)
}

/// After `fs-uuids`: the guest's /etc/fstab and /etc/crypttab name the new UUIDs where they
/// named the old ones (virt-sysprep 1.48 leaves them, and the guest unbootable). Mounts the
/// root alone for that, and unmounts it again.
fn follow_in_fstab(
    h: &Handle,
    os: &OsInfo,
    moved: &[(String, String)],
    dry_run: bool,
    step: &mut Step,
) -> Result<String, CustomizeError> {
    h.mount(&os.root, "/")
        .map_err(guest_err(format!("cannot mount the root {}", os.root)))?;
    let mut g = Guest::new(h, dry_run);
    g.set_ways(super::guest::Ways::Skip, "sysprep");
    let edited = (|| {
        for file in ["/etc/fstab", "/etc/crypttab"] {
            if g.is_regular_file(file)? {
                g.edit_file(
                    file,
                    |old| {
                        let old = old.unwrap_or_default();
                        follow_new_uuids(old, moved).unwrap_or_else(|| old.to_vec())
                    },
                    false,
                )?;
            }
        }
        Ok(())
    })();
    step.changes.extend(g.take_changes());
    step.notes.extend(g.take_notes());
    let diff = g.take_diff();
    let unmounted = h
        .umount_all()
        .map_err(guest_err("cannot unmount the guest's root"));
    edited.and(unmounted).map(|()| diff)
}

/// `lvm-uuids`: new random UUIDs on every PV and VG, as virt-sysprep does (LVM has no way to
/// change an LV's).
fn lvm_uuids(h: &Handle, step: &mut Step) -> Result<(), CustomizeError> {
    let pvs = h.pvs().map_err(guest_err("cannot list the LVM PVs"))?;
    let vgs = h.vgs().map_err(guest_err("cannot list the LVM VGs"))?;
    if pvs.is_empty() && vgs.is_empty() {
        return Ok(());
    }
    h.vg_activate_all(false)
        .map_err(guest_err("cannot deactivate the LVM VGs"))?;
    if !pvs.is_empty() {
        h.pvchange_uuid_all()
            .map_err(guest_err("cannot change the PV UUIDs"))?;
        step.notes.push(format!("{} PV UUIDs changed", pvs.len()));
    }
    if !vgs.is_empty() {
        h.vgchange_uuid_all()
            .map_err(guest_err("cannot change the VG UUIDs"))?;
        step.notes.push(format!("{} VG UUIDs changed", vgs.len()));
    }
    h.vg_activate_all(true)
        .map_err(guest_err("cannot activate the LVM VGs"))
}

/// A random (version 4) UUID, as uuidgen prints it.
fn random_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
