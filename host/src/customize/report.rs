//! What a customize, sysprep or clone run did: one entry per operation with the guest paths it
//! changed, serializable as the `--json` report. A generated password is kept out of the
//! serialized report: the caller prints it once.

use serde::Serialize;

use crate::edit::password::Secret;

/// One change to one guest path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Change {
    /// A file was created.
    Created {
        /// Guest path.
        path: String,
    },
    /// A file's contents changed.
    Modified {
        /// Guest path.
        path: String,
    },
    /// A file, link or tree was removed.
    Deleted {
        /// Guest path.
        path: String,
    },
    /// A file was truncated to zero bytes.
    Truncated {
        /// Guest path.
        path: String,
    },
    /// A directory was created.
    Directory {
        /// Guest path.
        path: String,
    },
    /// A symbolic link was made or re-pointed.
    Symlink {
        /// Guest path of the link.
        path: String,
        /// Its target.
        target: String,
    },
    /// Permission bits changed.
    Mode {
        /// Guest path.
        path: String,
        /// The new mode, octal.
        mode: String,
    },
    /// Owner or group changed.
    Owner {
        /// Guest path.
        path: String,
        /// New owner.
        uid: u32,
        /// New group.
        gid: u32,
    },
    /// A command ran in the guest (what it changed is not tracked).
    Ran {
        /// The command.
        command: String,
    },
}

impl Change {
    /// One line for people: `modified /etc/hostname`.
    pub fn describe(&self) -> String {
        match self {
            Change::Created { path } => format!("created {path}"),
            Change::Modified { path } => format!("modified {path}"),
            Change::Deleted { path } => format!("deleted {path}"),
            Change::Truncated { path } => format!("truncated {path}"),
            Change::Directory { path } => format!("created directory {path}"),
            Change::Symlink { path, target } => format!("linked {path} -> {target}"),
            Change::Mode { path, mode } => format!("mode {mode} on {path}"),
            Change::Owner { path, uid, gid } => format!("owner {uid}:{gid} on {path}"),
            Change::Ran { command } => format!("ran {command}"),
        }
    }
}

/// What one operation did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Step {
    /// The operation, as `name argument` (passwords never shown).
    pub operation: String,
    /// Its changes, in order; empty when it found everything as asked.
    pub changes: Vec<Change>,
    /// Standard output of a command it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Something the user should know (a choice made, a thing skipped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Wall-clock time of each phase, in seconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// Booting the appliance.
    pub launch: f64,
    /// Finding and mounting the guest.
    pub inspect: f64,
    /// The operations, including what runs before and after them.
    pub operations: f64,
    /// Unmounting, flushing and waiting for QEMU.
    pub shutdown: f64,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The disk images (a clone's new image).
    pub images: Vec<String>,
    /// True for `--dry-run`: nothing was written to the images.
    pub dry_run: bool,
    /// The guest inspection found: distro and version.
    pub guest: String,
    /// One step per operation, in the order they ran; then the steps customize adds itself
    /// (machine-id, random-seed, selinux-relabel) when they changed something.
    pub steps: Vec<Step>,
    /// True when any step changed anything.
    pub changed: bool,
    /// Phase timings.
    pub timings: Timings,
    /// The `--dry-run` unified diff of every file that would change.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
    /// Passwords made by `random` selectors: (user, password). Never serialized.
    #[serde(skip)]
    pub generated_passwords: Vec<(String, Secret)>,
}

impl Report {
    /// Recomputes [`Report::changed`].
    pub fn update_changed(&mut self) {
        self.changed = self.steps.iter().any(|s| !s.changes.is_empty());
    }

    /// A short human summary, one line per step.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            if s.changes.is_empty() {
                out.push_str(&format!("{}: no change\n", s.operation));
            } else {
                let list: Vec<String> = s.changes.iter().map(Change::describe).collect();
                out.push_str(&format!("{}: {}\n", s.operation, list.join(", ")));
            }
            for n in &s.notes {
                out.push_str(&format!("  note: {n}\n"));
            }
        }
        out
    }
}
