//! `--firstboot-command CMD`: a script that runs once at the guest's next boot, the way
//! virt-customize's guestfs-firstboot does it.
//!
//! - Each command becomes `/usr/lib/guestwright/firstboot/scripts/NNNN-<label>` (mode 0755);
//!   the four-digit prefix keeps command-line order.
//! - `/usr/lib/guestwright/firstboot/firstboot.sh` runs the scripts in name order, moving each
//!   to `scripts-done` *before* running it, so a script that hangs or reboots the machine is
//!   not run again, and logs to /root/guestwright-firstboot.log and the console.
//! - `guestwright-firstboot.service`, a oneshot unit with
//!   `ConditionDirectoryNotEmpty=` on the scripts directory, is enabled by a symlink in
//!   `multi-user.target.wants`, as `systemctl enable` would make.
//!
//! The same command given again while its script is still pending adds nothing, so a second
//! identical customize run changes nothing. Never does I/O.

use super::{FileChange, FileEdit};

/// Directory of pending scripts.
pub const SCRIPTS_DIR: &str = "/usr/lib/guestwright/firstboot/scripts";
/// Directory the runner moves scripts to before running them.
pub const SCRIPTS_DONE_DIR: &str = "/usr/lib/guestwright/firstboot/scripts-done";
/// The runner script.
pub const RUNNER_PATH: &str = "/usr/lib/guestwright/firstboot/firstboot.sh";
/// The systemd unit.
pub const UNIT_PATH: &str = "/etc/systemd/system/guestwright-firstboot.service";
/// The symlink that enables the unit.
pub const WANTS_LINK: &str =
    "/etc/systemd/system/multi-user.target.wants/guestwright-firstboot.service";

/// The runner: runs each pending script once, in order.
pub const RUNNER: &str = r#"#!/bin/sh -
# Runs the scripts guestwright customize --firstboot-command installed, once each, in order.
d=/usr/lib/guestwright/firstboot/scripts
d_done=/usr/lib/guestwright/firstboot/scripts-done
logfile=/root/guestwright-firstboot.log

mkdir -p "$d_done"
for f in "$d"/*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    # Move first: a script that hangs or reboots must not run again at the next boot.
    mv -f "$f" "$d_done/$name" || continue
    echo "=== Running $name ===" | tee -a "$logfile"
    sh "$d_done/$name" >>"$logfile" 2>&1
    rc=$?
    echo "=== Exit code of $name: $rc ===" | tee -a "$logfile"
done
exit 0
"#;

/// The systemd unit that runs [`RUNNER`] at boot while scripts are pending.
pub const UNIT: &str = "[Unit]
Description=guestwright firstboot commands
After=network.target
ConditionDirectoryNotEmpty=/usr/lib/guestwright/firstboot/scripts

[Service]
Type=oneshot
ExecStart=/usr/lib/guestwright/firstboot/firstboot.sh
RemainAfterExit=yes
StandardOutput=journal+console
StandardError=journal+console
TimeoutSec=0

[Install]
WantedBy=multi-user.target
";

/// A pending script already in [`SCRIPTS_DIR`].
#[derive(Debug, Clone, Copy)]
pub struct ExistingScript<'a> {
    /// File name (not path).
    pub name: &'a str,
    /// Contents.
    pub content: &'a [u8],
}

/// The script installed for `command`.
pub fn script_for_command(command: &str) -> String {
    format!("#!/bin/sh\n{command}\n")
}

/// A file-name-safe label from the command's first word (`apt-get update` → `apt-get`).
fn label(command: &str) -> String {
    let first = command.split_whitespace().next().unwrap_or("command");
    let base = first.rsplit('/').next().unwrap_or(first);
    let l: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(32)
        .collect();
    if l.is_empty() {
        "command".to_owned()
    } else {
        l
    }
}

/// The next script name after the existing ones: one more than the highest `NNNN-` prefix.
pub fn next_script_name(existing: &[ExistingScript<'_>], command: &str) -> String {
    let next = existing
        .iter()
        .filter_map(|s| s.name.split('-').next()?.parse::<u32>().ok())
        .max()
        .map_or(1, |n| n + 1);
    format!("{next:04}-{}", label(command))
}

/// The edits that install `command` as a firstboot script, plus the runner, the unit and the
/// enabling symlink (rewritten with the same content every time). `existing` are the scripts
/// already pending in [`SCRIPTS_DIR`].
pub fn firstboot_edits(existing: &[ExistingScript<'_>], command: &str) -> Vec<FileEdit> {
    let script = script_for_command(command);
    let mut edits = vec![
        FileEdit {
            path: RUNNER_PATH.to_owned(),
            change: FileChange::Write {
                content: RUNNER.as_bytes().to_vec(),
                mode: Some(0o755),
            },
        },
        FileEdit {
            path: UNIT_PATH.to_owned(),
            change: FileChange::Write {
                content: UNIT.as_bytes().to_vec(),
                mode: Some(0o644),
            },
        },
        FileEdit {
            path: WANTS_LINK.to_owned(),
            change: FileChange::Symlink {
                target: UNIT_PATH.to_owned(),
            },
        },
    ];
    if !existing.iter().any(|s| s.content == script.as_bytes()) {
        edits.push(FileEdit {
            path: format!("{SCRIPTS_DIR}/{}", next_script_name(existing, command)),
            change: FileChange::Write {
                content: script.into_bytes(),
                mode: Some(0o755),
            },
        });
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn names_keep_order() {
        assert_eq!(next_script_name(&[], "apt-get update"), "0001-apt-get");
        let e = [
            ExistingScript {
                name: "0001-apt-get",
                content: b"",
            },
            ExistingScript {
                name: "0009-x",
                content: b"",
            },
            ExistingScript {
                name: "README",
                content: b"",
            },
        ];
        assert_eq!(
            next_script_name(&e, "/usr/bin/dnf -y install nginx"),
            "0010-dnf"
        );
        assert_eq!(next_script_name(&[], "  ;;  "), "0001-command");
        assert_eq!(next_script_name(&[], "'rm' x"), "0001-rm");
    }

    #[test]
    fn edits_and_idempotence() {
        let edits = firstboot_edits(&[], "systemctl enable --now nginx");
        assert_eq!(edits.len(), 4);
        assert_eq!(
            edits[2].change,
            FileChange::Symlink {
                target: UNIT_PATH.into()
            }
        );
        assert_eq!(
            edits[3],
            FileEdit {
                path: "/usr/lib/guestwright/firstboot/scripts/0001-systemctl".into(),
                change: FileChange::Write {
                    content: b"#!/bin/sh\nsystemctl enable --now nginx\n".to_vec(),
                    mode: Some(0o755)
                },
            }
        );
        let pending = [ExistingScript {
            name: "0001-systemctl",
            content: b"#!/bin/sh\nsystemctl enable --now nginx\n",
        }];
        assert_eq!(
            firstboot_edits(&pending, "systemctl enable --now nginx").len(),
            3
        );
        assert_eq!(firstboot_edits(&pending, "touch /x").len(), 4);
        assert!(UNIT.contains("WantedBy=multi-user.target") && UNIT.contains(RUNNER_PATH));
    }

    /// Runs the real runner on a temporary tree (paths rewritten) and checks order, the move to
    /// scripts-done, and that a second boot runs nothing.
    #[test]
    fn runner_runs_each_script_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let runner = RUNNER
            .replace("/usr/lib/guestwright", &format!("{root}/lib"))
            .replace("/root/guestwright-firstboot.log", &format!("{root}/log"));
        std::fs::create_dir_all(format!("{root}/lib/firstboot/scripts")).unwrap();
        let out = format!("{root}/out");
        for (name, word) in [
            ("0002-b", "second"),
            ("0001-a", "first"),
            ("0010-c", "third"),
        ] {
            std::fs::write(
                format!("{root}/lib/firstboot/scripts/{name}"),
                format!("#!/bin/sh\necho {word} >> {out}\nexit 3\n"),
            )
            .unwrap();
        }
        std::fs::write(format!("{root}/runner.sh"), &runner).unwrap();
        for _ in 0..2 {
            let st = Command::new("sh")
                .arg(format!("{root}/runner.sh"))
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "{}",
                String::from_utf8_lossy(&st.stderr)
            );
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "first\nsecond\nthird\n"
        );
        assert_eq!(
            std::fs::read_dir(format!("{root}/lib/firstboot/scripts"))
                .unwrap()
                .count(),
            0
        );
        assert_eq!(
            std::fs::read_dir(format!("{root}/lib/firstboot/scripts-done"))
                .unwrap()
                .count(),
            3
        );
        assert!(std::fs::read_to_string(format!("{root}/log"))
            .unwrap()
            .contains("Exit code of 0002-b: 3"));
    }
}
