//! Changes to the mounted guest that record themselves: every write compares the new contents
//! with the old and does nothing when they match, so a second identical run changes nothing;
//! every change is noted for the report, and in a dry run also as a unified diff.
//!
//! Files are always replaced with `replace_file` (a temporary file in the same directory takes
//! the old file's mode, owner and extended attributes, is flushed and renamed over the old
//! one). Paths resolve inside the guest root in the daemon, whatever symlinks the guest holds.
//!
//! Symbolic links at the last component are never followed by a write: `replace_file`
//! replaces the link itself, and the reads that feed an edit ([`Guest::read`]) and mode
//! changes refuse a link, naming it and its target. An edit through a link would change a
//! file nobody named (`/etc/hostname -> /etc/passwd`), and an edit of the link would copy
//! another file's contents to a new place (`~/.ssh/authorized_keys -> /etc/shadow` would
//! hand the hashes to the owner of that home).
//!
//! Directories on the way are a second rule, [`Ways`]: a path the user named (`--write`,
//! `--delete`, `--chmod`, ...) resolves inside the guest like any path, links to
//! directories included, as virt-customize does; a path an operation chose itself (sysprep's
//! globs, `~/.ssh` for `--ssh-inject`, the udev rules, the network files, the firstboot
//! units, the machine-id) is used only when no component on the way is a symbolic link, so
//! that `/var/log/journal -> /etc` cannot make sysprep empty `/etc`. Such a path is skipped
//! with a warning (sysprep, and what customize does on its own) or refused (an operation the
//! user asked for, which would otherwise silently not happen); see [`Guest::set_ways`].

use guestwright_protocol::args;
use guestwright_protocol::{Client, Errno, GuestPath, Stat};

use super::report::Change;
use super::CustomizeError;
use crate::edit::diff::unified_diff;
use crate::edit::{FileChange, FileEdit};
use crate::handle::Handle;

/// Deleted files up to this size appear whole in a dry run's diff.
const DIFF_DELETED_MAX: u64 = 64 * 1024;

/// How the directories on the way to a path are treated (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ways {
    /// The user named the path: directories on the way resolve inside the guest, links to
    /// directories included.
    Follow,
    /// The operation chose the path and the user asked for the operation: a symbolic link
    /// on the way refuses it, naming the link and its target.
    Refuse,
    /// The operation chose the path and skipping it is what a cleanup means (sysprep, the
    /// machine-id and random seed customize renews): a symbolic link on the way skips the
    /// path with a warning naming the link and its target. Nothing is said when nothing is
    /// there to change, so `/var/run -> /run` stays quiet.
    Skip,
}

/// The mounted guest, with the changes made since the last [`Guest::take_changes`].
#[derive(Debug)]
pub struct Guest<'h> {
    /// The handle, for operations this module does not wrap.
    pub h: &'h Handle,
    dry_run: bool,
    ways: Ways,
    /// Who the warnings name ("sysprep", "customize").
    who: &'static str,
    changes: Vec<Change>,
    notes: Vec<String>,
    diff: String,
    /// Directories already seen to be real (no link), so the walk of a path's ways looks at
    /// each only once per run. An entry holds only while nothing could have changed what
    /// is at that path: whatever this module removes, replaces or links forgets the path
    /// and everything under it ([`Guest::forget_dirs`]), and a change made by other means
    /// ([`Guest::record`]: a command run in the guest, `--move`, `--copy`, `--copy-in`)
    /// forgets them all, since it could have put a link where a directory was.
    real_dirs: std::cell::RefCell<std::collections::HashSet<String>>,
    /// Patterns expanded ahead by [`Guest::prefetch_globs`], with their matches: sysprep's
    /// operations only remove, truncate and rewrite, so a match that has gone since is
    /// found missing when it is removed, and nothing new can match until something is
    /// created, which forgets them all. Empty outside sysprep.
    globs: std::collections::HashMap<String, Vec<String>>,
}

/// An error from the appliance while doing `what`.
pub fn guest_err(what: impl Into<String>) -> impl FnOnce(crate::Error) -> CustomizeError {
    let what = what.into();
    move |source| CustomizeError::Guest { what, source }
}

fn is_missing(e: &crate::Error) -> bool {
    matches!(e.errno(), Some(Errno::ENOENT) | Some(Errno::ENOTDIR))
}

/// The directories on the way to `path`, outermost first (`/var`, `/var/log` for
/// `/var/log/syslog`), and with `whole` the path itself last.
fn ways(path: &str, whole: bool) -> Vec<&str> {
    let path = path.trim_end_matches('/');
    let mut out: Vec<&str> = path
        .match_indices('/')
        .map(|(i, _)| &path[..i])
        .filter(|p| !p.is_empty() && !p.ends_with('/'))
        .collect();
    if whole && !path.is_empty() {
        out.push(path);
    }
    out
}

/// The directory part of a glob before its first pattern character (`/var/log` for
/// `/var/log/*.log`).
fn literal_dir(pattern: &str) -> &str {
    let first = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    match pattern[..first].rfind('/') {
        Some(0) | None => "/",
        Some(i) => &pattern[..i],
    }
}

/// Files whose second field holds password hashes.
const HASH_FILES: &[&str] = &[
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
];

/// The contents a dry run's diff shows: password hashes (a second field with a `$`) hidden,
/// so that a dry run never prints one, whatever file holds it.
fn redact(path: &str, data: Option<&[u8]>) -> Option<Vec<u8>> {
    let data = data?;
    if !HASH_FILES.contains(&path) {
        return Some(data.to_vec());
    }
    let mut out = Vec::with_capacity(data.len());
    for line in data.split_inclusive(|&b| b == b'\n') {
        let mut fields: Vec<&[u8]> = line.splitn(3, |&b| b == b':').collect();
        if fields.len() == 3 && fields[1].contains(&b'$') {
            let lock: &[u8] = if fields[1].starts_with(b"!") {
                b"!"
            } else {
                b""
            };
            out.extend_from_slice(fields[0]);
            out.push(b':');
            out.extend_from_slice(lock);
            out.extend_from_slice(b"<hash hidden>:");
            fields.drain(..2);
            out.extend_from_slice(fields[0]);
        } else {
            out.extend_from_slice(line);
        }
    }
    Some(out)
}

/// The parent directory of an absolute guest path (`/` for a top-level name).
pub fn parent(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

impl<'h> Guest<'h> {
    /// Wraps a handle whose guest is mounted.
    pub fn new(h: &'h Handle, dry_run: bool) -> Guest<'h> {
        Guest {
            h,
            dry_run,
            ways: Ways::Follow,
            who: "customize",
            changes: Vec::new(),
            notes: Vec::new(),
            diff: String::new(),
            real_dirs: Default::default(),
            globs: Default::default(),
        }
    }

    /// Sets how the directories on the way to the next paths are treated, and who the
    /// warnings and refusals name ("sysprep", "customize").
    pub fn set_ways(&mut self, ways: Ways, who: &'static str) {
        self.ways = ways;
        if self.who != who {
            // Hand-over between sysprep and customize: start afresh.
            self.real_dirs.get_mut().clear();
        }
        self.who = who;
        self.globs.clear();
    }

    /// Forgets that `path` and everything under it were real directories: call after
    /// anything that removes, replaces or links `path`.
    fn forget_dirs(&mut self, path: &str) {
        let path = path.trim_end_matches('/');
        if path.is_empty() {
            self.forget_all_dirs();
            return;
        }
        self.real_dirs.get_mut().retain(|d| {
            !(d == path
                || d.strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('/')))
        });
    }

    /// Forgets every directory seen to be real: call after the guest changed by means this
    /// module does not see (a command run in the guest, say); [`Guest::record`] does.
    pub fn forget_all_dirs(&mut self) {
        self.real_dirs.get_mut().clear();
    }

    /// Expands `patterns` in one round trip, for [`Guest::glob`] and [`Guest::absent`] to
    /// answer from until something is created or [`Guest::set_ways`] hands over. A pattern
    /// the appliance could not expand is left to [`Guest::glob`] to ask again (and report),
    /// and so are all of them when the answer does not fit in one reply.
    pub fn prefetch_globs(&mut self, patterns: &[&str]) {
        let mut asked: Vec<&str> = patterns.to_vec();
        asked.sort_unstable();
        asked.dedup();
        if asked.is_empty() {
            return;
        }
        let answer = self.h.glob_expand_list(
            asked
                .iter()
                .map(|p| GuestPath::from(*p))
                .collect::<Vec<_>>(),
        );
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                log::debug!(
                    "the patterns could not be expanded at once ({}): one call each",
                    crate::error::chain(&e)
                );
                return;
            }
        };
        for m in answer {
            if m.errno.is_some() {
                continue;
            }
            let paths = m
                .paths
                .into_iter()
                .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned())
                .collect();
            self.globs.insert(
                String::from_utf8_lossy(m.pattern.as_bytes()).into_owned(),
                paths,
            );
        }
    }

    /// True when `path` was expanded ahead and nothing was there (and nothing has been
    /// created since): what would look at it can be skipped.
    pub fn absent(&self, path: &str) -> bool {
        self.globs.get(path).is_some_and(Vec::is_empty)
    }

    /// Records a change; one that creates something forgets the patterns expanded ahead.
    fn note(&mut self, change: Change) {
        if !matches!(
            change,
            Change::Modified { .. }
                | Change::Deleted { .. }
                | Change::Truncated { .. }
                | Change::Mode { .. }
                | Change::Owner { .. }
        ) {
            self.globs.clear();
        }
        self.changes.push(change);
    }

    /// The warnings given since the last call (each was also logged).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// The first symbolic link on the way to `path` (with `whole`, `path` itself too): its
    /// path and target. Stops at the first component that does not exist.
    fn link_on_way(
        &self,
        path: &str,
        whole: bool,
    ) -> Result<Option<(String, String)>, CustomizeError> {
        for dir in ways(path, whole) {
            if self.real_dirs.borrow().contains(dir) {
                continue;
            }
            match self.lstat(dir)? {
                None => return Ok(None),
                Some(st) if st.mode & libc::S_IFMT == libc::S_IFDIR => {
                    self.real_dirs.borrow_mut().insert(dir.to_owned());
                }
                Some(st) if st.mode & libc::S_IFMT == libc::S_IFLNK => {
                    let target = self
                        .h
                        .readlink(GuestPath::from(dir))
                        .map_err(guest_err(format!("cannot read the link {dir}")))?;
                    return Ok(Some((dir.to_owned(), target.to_string())));
                }
                Some(_) => {}
            }
        }
        Ok(None)
    }

    /// Whether `path` may be used under the current [`Ways`]: `Ok(true)` to go on,
    /// `Ok(false)` when it was skipped (and a warning given), an error when refused.
    /// `whole`: the last component is followed too (a directory to create files in).
    fn way_clear(&mut self, path: &str, whole: bool) -> Result<bool, CustomizeError> {
        if self.ways == Ways::Follow {
            return Ok(true);
        }
        let Some((link, target)) = self.link_on_way(path, whole)? else {
            return Ok(true);
        };
        self.link_on_way_found(path, &link, &target)
    }

    fn way_refusal(&self, path: &str, link: &str, target: &str) -> CustomizeError {
        let who = self.who;
        CustomizeError::Refused(format!(
            "{link} is a symbolic link to {target} in the guest, on the way to {path}, and {who} \
             never follows a link to reach a file it chose itself: make {link} a real directory, \
             or name the file it points to with an option that takes a path (--write, --edit, \
             --upload, --delete)"
        ))
    }

    /// `lstat` of a path the current [`Ways`] allow: `None` when nothing is there, or when
    /// a link on the way skipped it (with a warning); refused as [`Guest::way_clear`] says.
    fn lstat_chosen(&mut self, path: &str) -> Result<Option<Stat>, CustomizeError> {
        match self.h.lstat(GuestPath::from(path)) {
            Ok(st) => Ok(self.way_clear(path, false)?.then_some(st)),
            Err(e) if is_missing(&e) => Ok(None),
            // A loop of links on the way: skipped or refused like any link there.
            Err(e) if e.errno() == Some(Errno::ELOOP) && self.ways != Ways::Follow => {
                match self.way_clear(path, false)? {
                    false => Ok(None),
                    true => Err(guest_err(format!("cannot look at {path} in the guest"))(e)),
                }
            }
            Err(e) => Err(guest_err(format!("cannot look at {path} in the guest"))(e)),
        }
    }

    fn link_on_way_found(
        &mut self,
        path: &str,
        link: &str,
        target: &str,
    ) -> Result<bool, CustomizeError> {
        let who = self.who;
        if self.ways == Ways::Refuse {
            return Err(self.way_refusal(path, link, target));
        }
        let note = format!(
            "skipped {path}: {link} is a symbolic link to {target} in the guest, and {who} \
             never follows a link to reach a file it chose itself (remove what it names by \
             its own path, e.g. --delete, if it must go)"
        );
        log::warn!("{note}");
        self.notes.push(note);
        Ok(false)
    }

    /// True in a dry run (the writes go to a throw-away overlay).
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The changes recorded since the last call.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// The dry-run diff so far.
    pub fn take_diff(&mut self) -> String {
        std::mem::take(&mut self.diff)
    }

    /// Adds a line to a dry run's diff (nothing otherwise).
    pub fn dry_note(&mut self, line: &str) {
        if self.dry_run {
            self.diff.push_str(line);
        }
    }

    /// Notes a change made by other means (call it right after the change, before anything
    /// else looks at the guest): what those means could have done is unknown here, so every
    /// directory seen to be real is forgotten.
    pub fn record(&mut self, change: Change) {
        self.forget_all_dirs();
        self.note(change);
    }

    /// A file's contents, to edit them; `None` when it does not exist. A symbolic link at
    /// the last component is refused (see the module's documentation), and so is anything
    /// else that is not a regular file (a device, a directory).
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, CustomizeError> {
        match self.h.read_file_nofollow(GuestPath::from(path)) {
            Ok(d) => {
                // An edit is refused before the user's input is computed, not at the write.
                if self.ways == Ways::Refuse {
                    if let Some((link, target)) = self.link_on_way(path, false)? {
                        return Err(self.way_refusal(path, &link, &target));
                    }
                }
                Ok(Some(d.0))
            }
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) if e.errno() == Some(Errno::ELOOP) && self.ways != Ways::Follow => {
                // A loop of links on the way, or a link at the end.
                match self.link_on_way(path, false)? {
                    Some((link, target)) if self.ways == Ways::Refuse => {
                        Err(self.way_refusal(path, &link, &target))
                    }
                    Some(_) => Ok(None),
                    None => Err(self.link_refusal(path, "edits a file").unwrap_or_else(|| {
                        guest_err(format!("cannot read {path} in the guest"))(e)
                    })),
                }
            }
            Err(e) => Err(match e.errno() {
                Some(Errno::ELOOP) => self.link_refusal(path, "edits a file"),
                _ => None,
            }
            .unwrap_or_else(|| guest_err(format!("cannot read {path} in the guest"))(e))),
        }
    }

    /// A file's contents, only to learn something from them (a user's home in /etc/passwd,
    /// /etc/login.defs): symbolic links are followed inside the guest. Never write back what
    /// this returns; [`Guest::read`] is for that.
    pub fn read_config(&self, path: &str) -> Result<Option<Vec<u8>>, CustomizeError> {
        match self.h.read_file(GuestPath::from(path)) {
            Ok(d) => Ok(Some(d.0)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(guest_err(format!("cannot read {path} in the guest"))(e)),
        }
    }

    /// The contents a whole-file write compares with: `None` when nothing is there or a
    /// symbolic link is (the write replaces the link, whatever it points to).
    pub fn read_replaceable(&self, path: &str) -> Result<Option<Vec<u8>>, CustomizeError> {
        match self.lstat(path)? {
            Some(st) if st.mode & libc::S_IFMT == libc::S_IFLNK => Ok(None),
            _ => self.read(path),
        }
    }

    /// The refusal of `what` ("edits a file") at `path` when it is a symbolic link, naming
    /// its target; `None` when it is not one (an ELOOP from a loop of directories on the
    /// way, say).
    fn link_refusal(&self, path: &str, what: &str) -> Option<CustomizeError> {
        let target = self.h.readlink(GuestPath::from(path)).ok()?;
        Some(CustomizeError::Refused(format!(
            "{path} is a symbolic link to {target} in the guest, and customize never {what} \
             through a link: remove the link first (--delete {path}) or name what it points to"
        )))
    }

    /// `lstat`; `None` when nothing is there.
    pub fn lstat(&self, path: &str) -> Result<Option<Stat>, CustomizeError> {
        match self.h.lstat(GuestPath::from(path)) {
            Ok(s) => Ok(Some(s)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(guest_err(format!("cannot look at {path} in the guest"))(e)),
        }
    }

    /// `stat` (following symlinks inside the guest); `None` when nothing is there.
    pub fn stat(&self, path: &str) -> Result<Option<Stat>, CustomizeError> {
        match self.h.stat(GuestPath::from(path)) {
            Ok(s) => Ok(Some(s)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(guest_err(format!("cannot look at {path} in the guest"))(e)),
        }
    }

    /// True when `path` itself (a symlink not followed) is a regular file.
    pub fn is_regular_file(&self, path: &str) -> Result<bool, CustomizeError> {
        Ok(self
            .lstat(path)?
            .is_some_and(|s| s.mode & libc::S_IFMT == libc::S_IFREG))
    }

    /// True when `path` is a directory (following symlinks; a symlink loop is none).
    pub fn is_dir(&self, path: &str) -> Result<bool, CustomizeError> {
        match self.h.stat(GuestPath::from(path)) {
            Ok(s) => Ok(s.mode & libc::S_IFMT == libc::S_IFDIR),
            Err(e) if is_missing(&e) || e.errno() == Some(Errno::ELOOP) => Ok(false),
            Err(e) => Err(guest_err(format!("cannot look at {path} in the guest"))(e)),
        }
    }

    /// Replaces `path` with `new` unless `old` (its current contents, `None` if missing)
    /// already equals it. `mode`: the file must end up with these permission bits. With
    /// `parents`, missing parent directories are created (0755). Returns whether anything
    /// changed.
    pub fn write(
        &mut self,
        path: &str,
        old: Option<&[u8]>,
        new: &[u8],
        mode: Option<u32>,
        parents: bool,
    ) -> Result<bool, CustomizeError> {
        if !self.way_clear(path, false)? {
            return Ok(false);
        }
        let mut changed = false;
        if old != Some(new) {
            if parents && old.is_none() {
                self.mkdir_p(parent(path))?;
            }
            self.forget_dirs(path);
            self.h
                .replace_file(GuestPath::from(path), new)
                .map_err(guest_err(format!("cannot write {path} in the guest")))?;
            if self.dry_run {
                let (old, new) = (redact(path, old), redact(path, Some(new)));
                self.diff
                    .push_str(&unified_diff(path, old.as_deref(), new.as_deref()));
            }
            self.note(match old {
                Some(_) => Change::Modified { path: path.into() },
                None => Change::Created { path: path.into() },
            });
            changed = true;
        }
        if let Some(m) = mode {
            // A new file was made 0644 by the daemon: no need to ask.
            let current = match old {
                None => Some(0o644),
                Some(_) => self.lstat(path)?.map(|s| s.mode & 0o7777),
            };
            if current != Some(m) {
                self.set_mode(path, m)?;
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Replaces `path` with `new`, which the caller knows differs from what is there
    /// (`existed`: whether a file was there).
    pub fn replace(&mut self, path: &str, existed: bool, new: &[u8]) -> Result<(), CustomizeError> {
        if !self.way_clear(path, false)? {
            return Ok(());
        }
        self.forget_dirs(path);
        self.h
            .replace_file(GuestPath::from(path), new)
            .map_err(guest_err(format!("cannot write {path} in the guest")))?;
        if self.dry_run {
            self.diff
                .push_str(&format!("Replaced: {path} ({} bytes)\n", new.len()));
        }
        self.note(match existed {
            true => Change::Modified { path: path.into() },
            false => Change::Created { path: path.into() },
        });
        Ok(())
    }

    /// [`Guest::replace`] with content streamed from a host file (`what` names it): the
    /// daemon's `upload` replaces the file the same way, through a new unnamed file renamed
    /// over the old one when complete, keeping the old file's owner and attributes.
    pub fn replace_stream(
        &mut self,
        path: &str,
        existed: bool,
        from: &mut std::fs::File,
        what: &str,
    ) -> Result<(), CustomizeError> {
        if !self.way_clear(path, false)? {
            return Ok(());
        }
        self.forget_dirs(path);
        self.h.upload(path, from).map_err(guest_err(format!(
            "cannot upload {what} to {path} in the guest"
        )))?;
        if self.dry_run {
            self.diff
                .push_str(&format!("Replaced: {path} (the content of {what})\n"));
        }
        self.note(match existed {
            true => Change::Modified { path: path.into() },
            false => Change::Created { path: path.into() },
        });
        Ok(())
    }

    /// Reads a file and writes it back through `edit` if that changes it.
    pub fn edit_file(
        &mut self,
        path: &str,
        edit: impl FnOnce(Option<&[u8]>) -> Vec<u8>,
        parents: bool,
    ) -> Result<bool, CustomizeError> {
        let old = self.read(path)?;
        let new = edit(old.as_deref());
        self.write(path, old.as_deref(), &new, None, parents)
    }

    /// Applies the edits an editor decided on.
    pub fn apply(&mut self, edits: &[FileEdit]) -> Result<(), CustomizeError> {
        for e in edits {
            match &e.change {
                FileChange::Write { content, mode } => {
                    let old = self.read(&e.path)?;
                    self.write(&e.path, old.as_deref(), content, *mode, true)?;
                }
                FileChange::Symlink { target } => {
                    self.symlink(&e.path, target)?;
                }
                FileChange::Delete => {
                    self.delete(&e.path)?;
                }
            }
        }
        Ok(())
    }

    fn set_mode(&mut self, path: &str, mode: u32) -> Result<(), CustomizeError> {
        if !self.way_clear(path, false)? {
            return Ok(());
        }
        if let Err(e) = self.h.lchmod(mode, GuestPath::from(path)) {
            return Err(match e.errno() {
                Some(Errno::ELOOP) => self.link_refusal(path, "changes the mode of a file"),
                _ => None,
            }
            .unwrap_or_else(|| guest_err(format!("cannot change the mode of {path}"))(e)));
        }
        self.note(Change::Mode {
            path: path.into(),
            mode: format!("{mode:04o}"),
        });
        Ok(())
    }

    /// Sets the permission bits of an existing path if they differ; a symbolic link is
    /// refused, never followed.
    pub fn chmod(&mut self, path: &str, mode: u32) -> Result<bool, CustomizeError> {
        self.chmod_if(path, mode, false)
    }

    /// [`Guest::chmod`], but the bits are set even when they are already `mode`, as
    /// virt-customize's `--chmod` sets them (the change time moves).
    pub fn chmod_always(&mut self, path: &str, mode: u32) -> Result<bool, CustomizeError> {
        self.chmod_if(path, mode, true)
    }

    fn chmod_if(&mut self, path: &str, mode: u32, always: bool) -> Result<bool, CustomizeError> {
        if !self.way_clear(path, false)? {
            return Ok(false);
        }
        let st = self.lstat(path)?.ok_or_else(|| {
            CustomizeError::Refused(format!(
                "{path} does not exist in the guest: nothing to chmod"
            ))
        })?;
        if !always && st.mode & libc::S_IFMT != libc::S_IFLNK && st.mode & 0o7777 == mode {
            return Ok(false);
        }
        self.set_mode(path, mode)?;
        Ok(true)
    }

    /// Sets the owner of a path (not following a final symlink) if it differs.
    pub fn lchown(&mut self, path: &str, uid: u32, gid: u32) -> Result<bool, CustomizeError> {
        if !self.way_clear(path, false)? {
            return Ok(false);
        }
        let st = self.lstat(path)?.ok_or_else(|| {
            CustomizeError::Refused(format!(
                "{path} does not exist in the guest: nothing to chown"
            ))
        })?;
        if st.uid == uid && st.gid == gid {
            return Ok(false);
        }
        self.h
            .lchown(i64::from(uid), i64::from(gid), GuestPath::from(path))
            .map_err(guest_err(format!("cannot change the owner of {path}")))?;
        self.note(Change::Owner {
            path: path.into(),
            uid,
            gid,
        });
        Ok(true)
    }

    /// Creates a directory and its parents; nothing if it is there.
    pub fn mkdir_p(&mut self, path: &str) -> Result<bool, CustomizeError> {
        // Every directory on the way is followed or made, the last one included.
        if !self.way_clear(path, true)? {
            return Ok(false);
        }
        if self.is_dir(path)? {
            return Ok(false);
        }
        self.h
            .mkdir_p(GuestPath::from(path))
            .map_err(guest_err(format!("cannot create directory {path}")))?;
        self.note(Change::Directory { path: path.into() });
        if self.dry_run {
            self.diff.push_str(&format!("New directory: {path}\n"));
        }
        Ok(true)
    }

    /// Creates a directory with exactly `mode`, owned by uid:gid; an existing directory gets
    /// the mode and owner. Its parent must exist.
    pub fn mkdir_owned(
        &mut self,
        path: &str,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<(), CustomizeError> {
        if !self.way_clear(path, false)? {
            return Ok(());
        }
        match self.lstat(path)? {
            Some(st) if st.mode & libc::S_IFMT == libc::S_IFDIR => {
                if st.mode & 0o7777 != mode {
                    self.set_mode(path, mode)?;
                }
            }
            Some(st) if st.mode & libc::S_IFMT == libc::S_IFLNK => {
                return Err(self
                    .link_refusal(path, "makes a directory")
                    .unwrap_or_else(|| {
                        CustomizeError::Refused(format!(
                            "{path} is a symbolic link in the guest: remove it first (--delete {path})"
                        ))
                    }));
            }
            Some(_) => {
                return Err(CustomizeError::Refused(format!(
                    "{path} exists in the guest and is not a directory: remove it first (--delete {path})"
                )))
            }
            None => {
                self.h
                    .mkdir_mode(GuestPath::from(path), mode)
                    .map_err(guest_err(format!("cannot create directory {path}")))?;
                self.note(Change::Directory { path: path.into() });
                // mkdir_mode is subject to the umask.
                self.h
                    .chmod(mode, GuestPath::from(path))
                    .map_err(guest_err(format!("cannot change the mode of {path}")))?;
                if self.dry_run {
                    self.diff.push_str(&format!("New directory: {path}\n"));
                }
            }
        }
        self.lchown(path, uid, gid)?;
        Ok(())
    }

    /// Makes `link` a symbolic link to `target` unless it already is one.
    pub fn symlink(&mut self, link: &str, target: &str) -> Result<bool, CustomizeError> {
        if !self.way_clear(link, false)? {
            return Ok(false);
        }
        match self.lstat(link)? {
            Some(st) if st.mode & libc::S_IFMT == libc::S_IFLNK => {
                let cur = self
                    .h
                    .readlink(GuestPath::from(link))
                    .map_err(guest_err(format!("cannot read the link {link}")))?;
                if cur.as_bytes() == target.as_bytes() {
                    return Ok(false);
                }
            }
            Some(st) if st.mode & libc::S_IFMT == libc::S_IFDIR => {
                return Err(CustomizeError::Refused(format!(
                    "{link} is a directory in the guest; refusing to replace it with a link (--delete it first)"
                )))
            }
            Some(_) => {}
            None => {
                self.mkdir_p(parent(link))?;
            }
        }
        self.forget_dirs(link);
        self.h
            .ln_sf(
                guestwright_protocol::LinkTarget::from(target),
                GuestPath::from(link),
            )
            .map_err(guest_err(format!("cannot link {link} to {target}")))?;
        if self.dry_run {
            self.diff
                .push_str(&format!("Symlink: {link} -> {target}\n"));
        }
        self.note(Change::Symlink {
            path: link.into(),
            target: target.into(),
        });
        Ok(true)
    }

    /// Removes a file, link or tree; nothing if it is not there.
    pub fn delete(&mut self, path: &str) -> Result<bool, CustomizeError> {
        let Some(st) = self.lstat_chosen(path)? else {
            return Ok(false);
        };
        self.delete_seen(path, &st)
    }

    /// [`Guest::delete`] of a path the caller has just looked at (`st`, its `lstat`).
    fn delete_seen(&mut self, path: &str, st: &Stat) -> Result<bool, CustomizeError> {
        if self.dry_run {
            let regular = st.mode & libc::S_IFMT == libc::S_IFREG;
            if regular && st.size <= DIFF_DELETED_MAX {
                let old = self.read(path)?;
                let old = redact(path, old.as_deref());
                self.diff
                    .push_str(&unified_diff(path, old.as_deref(), None));
            } else {
                self.diff.push_str(&format!("Deleted: {path}\n"));
            }
        }
        self.forget_dirs(path);
        self.h
            .rm_rf(GuestPath::from(path))
            .map_err(guest_err(format!("cannot delete {path}")))?;
        self.note(Change::Deleted { path: path.into() });
        Ok(true)
    }

    /// The paths matching a shell pattern (the path itself when it has no pattern
    /// characters and exists). Under [`Ways::Skip`] and [`Ways::Refuse`], matches reached
    /// through a symbolic link to a directory are skipped with one warning per link, or
    /// refused.
    pub fn glob(&mut self, pattern: &str) -> Result<Vec<String>, CustomizeError> {
        let ahead = self.globs.get(pattern).cloned();
        if ahead.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        if !pattern.contains(['*', '?', '[']) {
            let found = match self.ways {
                Ways::Follow => self.lstat(pattern)?,
                _ => self.lstat_chosen(pattern)?,
            };
            return Ok(found.map(|_| pattern.to_owned()).into_iter().collect());
        }
        let expanded = match ahead {
            Some(matches) => Ok(matches),
            None => self
                .h
                .run(args::GlobExpand::new(GuestPath::from(pattern)).directoryslash(false))
                .map(|v| {
                    v.into_iter()
                        .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned())
                        .collect()
                }),
        };
        let matches: Vec<String> = match expanded {
            Ok(v) => v,
            Err(e) if is_missing(&e) => Vec::new(),
            Err(e) if e.errno() == Some(Errno::ELOOP) && self.ways != Ways::Follow => {
                match self.link_on_way(literal_dir(pattern), true)? {
                    Some((link, target)) => {
                        self.link_on_way_found(pattern, &link, &target)?;
                        return Ok(Vec::new());
                    }
                    None => {
                        return Err(guest_err(format!("cannot expand {pattern} in the guest"))(
                            e,
                        ))
                    }
                }
            }
            Err(e) => {
                return Err(guest_err(format!("cannot expand {pattern} in the guest"))(
                    e,
                ))
            }
        };
        if self.ways == Ways::Follow {
            return Ok(matches);
        }
        // Matches share their directories: look at each directory once.
        let mut seen: std::collections::BTreeMap<String, Option<(String, String)>> =
            std::collections::BTreeMap::new();
        let mut skipped: Vec<((String, String), usize)> = Vec::new();
        let mut kept = Vec::new();
        for m in matches {
            let dir = parent(&m).to_owned();
            let link = match seen.get(&dir) {
                Some(l) => l.clone(),
                None => {
                    let l = self.link_on_way(&dir, true)?;
                    seen.insert(dir, l.clone());
                    l
                }
            };
            match link {
                None => kept.push(m),
                Some(l) => match skipped.iter_mut().find(|(k, _)| *k == l) {
                    Some((_, n)) => *n += 1,
                    None => skipped.push((l, 1)),
                },
            }
        }
        for ((link, target), n) in skipped {
            let what = match n {
                1 => format!("1 path matching {pattern}"),
                n => format!("{n} paths matching {pattern}"),
            };
            self.link_on_way_found(&what, &link, &target)?;
        }
        Ok(kept)
    }

    /// Removes every path matching a pattern.
    pub fn delete_glob(&mut self, pattern: &str) -> Result<bool, CustomizeError> {
        let mut any = false;
        for p in self.glob(pattern)? {
            any |= self.delete(&p)?;
        }
        Ok(any)
    }

    /// Removes a file, link or other non-directory; a directory (or nothing) there is left
    /// alone, as guestfs `rm` (whose errors virt-sysprep ignores) would.
    pub fn delete_file(&mut self, path: &str) -> Result<bool, CustomizeError> {
        match self.lstat_chosen(path)? {
            Some(st) if st.mode & libc::S_IFMT != libc::S_IFDIR => self.delete_seen(path, &st),
            _ => Ok(false),
        }
    }

    /// Creates an empty file (when its directory exists) or sets its times; a symbolic link
    /// or a missing directory there is left alone. Returns whether a file was created.
    pub fn touch(&mut self, path: &str) -> Result<bool, CustomizeError> {
        if !self.way_clear(path, false)? {
            return Ok(false);
        }
        let existed = self.lstat(path)?.is_some();
        match self.h.touch(GuestPath::from(path)) {
            Ok(()) => {}
            Err(e) if is_missing(&e) || e.errno() == Some(Errno::ELOOP) => return Ok(false),
            Err(e) => return Err(guest_err(format!("cannot touch {path}"))(e)),
        }
        if existed {
            return Ok(false);
        }
        if self.dry_run {
            self.diff.push_str(&format!("Created: {path} (empty)\n"));
        }
        self.note(Change::Created { path: path.into() });
        Ok(true)
    }

    /// Truncates a regular file to zero bytes; nothing if it is missing or empty.
    pub fn truncate(&mut self, path: &str) -> Result<bool, CustomizeError> {
        match self.lstat_chosen(path)? {
            Some(st) if st.mode & libc::S_IFMT == libc::S_IFREG && st.size > 0 => {
                if self.dry_run {
                    self.diff.push_str(&format!("Truncated: {path}\n"));
                }
                self.h
                    .truncate(GuestPath::from(path))
                    .map_err(guest_err(format!("cannot truncate {path}")))?;
                self.note(Change::Truncated { path: path.into() });
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{literal_dir, parent, ways};

    #[test]
    fn dry_run_diffs_hide_hashes() {
        let shadow =
            b"root:$6$salt$hash:19700:0:99999:7:::\nbob:!$y$j9T$x$y:1::::::\nd:*:1::::::\n";
        let shown = super::redact("/etc/shadow", Some(shadow)).unwrap();
        assert_eq!(
            String::from_utf8(shown).unwrap(),
            "root:<hash hidden>:19700:0:99999:7:::\nbob:!<hash hidden>:1::::::\nd:*:1::::::\n"
        );
        assert_eq!(
            super::redact("/etc/motd", Some(b"a$b:c$d:e")).unwrap(),
            b"a$b:c$d:e"
        );
    }

    #[test]
    fn parents() {
        assert_eq!(parent("/etc/hostname"), "/etc");
        assert_eq!(parent("/etc"), "/");
        assert_eq!(parent("/a/b/c/"), "/a/b");
    }

    #[test]
    fn directories_on_the_way() {
        assert_eq!(ways("/var/log/syslog", false), ["/var", "/var/log"]);
        assert_eq!(
            ways("/var/log/syslog", true),
            ["/var", "/var/log", "/var/log/syslog"]
        );
        assert_eq!(ways("/var/log/", true), ["/var", "/var/log"]);
        assert_eq!(ways("/etc", false), Vec::<&str>::new());
        assert_eq!(ways("/", true), Vec::<&str>::new());
    }

    #[test]
    fn literal_directory_of_a_glob() {
        assert_eq!(literal_dir("/var/log/journal/*"), "/var/log/journal");
        assert_eq!(literal_dir("/home/*/.ssh"), "/home");
        assert_eq!(literal_dir("/tmp/*"), "/tmp");
        assert_eq!(literal_dir("/*"), "/");
    }
}
