//! `--firstboot`, `--firstboot-command`, `--firstboot-install`: scripts that run once, at the
//! guest's next boot, installed exactly as virt-customize 1.48 installs them, so an image
//! customised by either tool boots the same way (and either tool can add to what the other
//! installed):
//!
//! - each script is `/usr/lib/virt-sysprep/scripts/5000-NNNN-NAME` (mode 0755), where NNNN
//!   counts the scripts of this run from 1 and NAME is the command, script path or
//!   `install PKG..` with every character but letters, digits and `_` made `-` (at most 60);
//!   its content is the command or script as given (no `#!` is added, as there);
//! - `/usr/lib/virt-sysprep/firstboot.sh start` runs the scripts in name order, moving each to
//!   `scripts-done` *before* running it, so a script that hangs or reboots the machine is not
//!   run again, and logs to `~root/virt-sysprep-firstboot.log` and the console;
//! - with systemd (`/etc/systemd/system` exists): `guestfs-firstboot.service` in
//!   /usr/lib/systemd/system, enabled by a symlink in `multi-user.target.wants`;
//! - with sysvinit directories (`/etc/init.d` or `/etc/rc.d`): the runner linked as
//!   `guestfs-firstboot` with `S99` links in runlevels 2, 3 and 5, in the distribution's
//!   layout. Both are installed when both exist: the script disables itself after running.
//!
//! Never does I/O.

use super::{FileChange, FileEdit};

/// virt-customize's firstboot directory.
pub const FIRSTBOOT_DIR: &str = "/usr/lib/virt-sysprep";
/// Directory of pending scripts.
pub const SCRIPTS_DIR: &str = "/usr/lib/virt-sysprep/scripts";
/// The runner script.
pub const RUNNER_PATH: &str = "/usr/lib/virt-sysprep/firstboot.sh";
/// The systemd unit.
pub const UNIT_PATH: &str = "/usr/lib/systemd/system/guestfs-firstboot.service";
/// The symlink that enables the unit.
pub const WANTS_LINK: &str =
    "/etc/systemd/system/multi-user.target.wants/guestfs-firstboot.service";
/// The priority part of script names (virt-customize's default).
const PRIORITY: u32 = 5000;

/// The runner: runs each pending script once, in order (virt-customize's text, byte for byte).
pub const RUNNER: &str = r#"#!/bin/sh -

### BEGIN INIT INFO
# Provides:          virt-sysprep
# Required-Start:    $null
# Should-Start:      $all
# Required-Stop:     $null
# Should-Stop:       $all
# Default-Start:     2 3 5
# Default-Stop:      0 1 6
# Short-Description: Start scripts to run once at next boot
# Description:       Start scripts to run once at next boot
#	These scripts run the first time the guest boots,
#	and then are deleted. Output or errors from the scripts
#	are written to ~root/virt-sysprep-firstboot.log.
### END INIT INFO

d=/usr/lib/virt-sysprep/scripts
d_done=/usr/lib/virt-sysprep/scripts-done
logfile=~root/virt-sysprep-firstboot.log

echo "$0" "$@" 2>&1 | tee -a $logfile
echo "Scripts dir: $d" 2>&1 | tee -a $logfile

if test "$1" = "start"
then
  mkdir -p $d_done
  for f in $d/* ; do
    if test -x "$f"
    then
      # move the script to the 'scripts-done' directory, so it is not
      # executed again at the next boot
      mv $f $d_done
      echo '=== Running' $f '===' 2>&1 | tee -a $logfile
      $d_done/$(basename $f) 2>&1 | tee -a $logfile
    fi
  done
  rm -f $d_done/*
fi
"#;

/// The systemd unit that runs [`RUNNER`] at boot.
pub const UNIT: &str = "[Unit]
Description=libguestfs firstboot service
After=network.target
Before=prefdm.service

[Service]
Type=oneshot
ExecStart=/usr/lib/virt-sysprep/firstboot.sh start
RemainAfterExit=yes
StandardOutput=journal+console
StandardError=inherit

[Install]
WantedBy=multi-user.target
";

/// What the guest has that decides how the runner is started.
#[derive(Debug, Clone, Copy, Default)]
pub struct InitSystems<'a> {
    /// `/etc/systemd/system` is a directory.
    pub systemd: bool,
    /// `/etc/init.d` or `/etc/rc.d` is a directory.
    pub sysvinit: bool,
    /// The distribution as inspection names it (for the sysvinit layout).
    pub distro: &'a str,
}

/// A firstboot script cannot be installed in this guest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot install a firstboot script: guest type {0} is not supported for its sysvinit \
     layout (only systemd, and the sysvinit layouts of Red Hat, SUSE and Debian-like \
     distributions, are)"
)]
pub struct FirstbootError(pub String);

/// The script's file name: `5000-NNNN-NAME` with NAME sanitised as virt-customize does.
pub fn script_name(count: u32, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => c,
            _ => '-',
        })
        .collect();
    let clean = if clean.chars().count() >= 60 {
        clean.chars().take(60).collect()
    } else {
        clean
    };
    format!("{PRIORITY:04}-{count:04}-{clean}")
}

fn write(path: &str, content: &str, mode: u32) -> FileEdit {
    FileEdit {
        path: path.to_owned(),
        change: FileChange::Write {
            content: content.as_bytes().to_vec(),
            mode: Some(mode),
        },
    }
}

fn link(path: &str, target: &str) -> FileEdit {
    FileEdit {
        path: path.to_owned(),
        change: FileChange::Symlink {
            target: target.to_owned(),
        },
    }
}

/// The edits that install the runner and start it at boot (rewritten with the same content
/// every time, so a second run changes nothing), then script number `count` of this run.
pub fn firstboot_edits(
    init: &InitSystems<'_>,
    count: u32,
    name: &str,
    content: &str,
) -> Result<Vec<FileEdit>, FirstbootError> {
    let mut edits = vec![write(RUNNER_PATH, RUNNER, 0o755)];
    if init.systemd {
        edits.push(write(UNIT_PATH, UNIT, 0o644));
        edits.push(link(WANTS_LINK, UNIT_PATH));
    }
    if init.sysvinit {
        let runner = RUNNER_PATH;
        match init.distro {
            "fedora" | "rhel" | "centos" | "scientificlinux" | "oraclelinux" | "rocky"
            | "redhat-based" | "openeuler" | "kylin" | "neokylin" | "anolis" => {
                for l in [2, 3, 5] {
                    edits.push(link(
                        &format!("/etc/rc.d/rc{l}.d/S99guestfs-firstboot"),
                        runner,
                    ));
                }
            }
            "opensuse" | "sles" | "suse-based" => {
                edits.push(link("/etc/init.d/guestfs-firstboot", runner));
                for l in [2, 3, 5] {
                    edits.push(link(
                        &format!("/etc/init.d/rc{l}.d/S99guestfs-firstboot"),
                        "../guestfs-firstboot",
                    ));
                }
            }
            "debian" | "kalilinux" | "ubuntu" => {
                edits.push(link("/etc/init.d/guestfs-firstboot", runner));
                for l in [2, 3, 5] {
                    edits.push(link(
                        &format!("/etc/rc{l}.d/S99guestfs-firstboot"),
                        "../init.d/guestfs-firstboot",
                    ));
                }
            }
            other => return Err(FirstbootError(other.to_owned())),
        }
    }
    edits.push(write(
        &format!("{SCRIPTS_DIR}/{}", script_name(count, name)),
        content,
        0o755,
    ));
    Ok(edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn names_as_virt_customize_makes_them() {
        // Recorded from virt-customize 1.48.
        assert_eq!(
            script_name(1, "touch /root/fb-ran"),
            "5000-0001-touch--root-fb-ran"
        );
        assert_eq!(script_name(2, "fb.sh"), "5000-0002-fb-sh");
        assert_eq!(
            script_name(3, "install vim curl x"),
            "5000-0003-install-vim-curl-x"
        );
        let long = "x".repeat(80);
        assert_eq!(
            script_name(12, &long),
            format!("5000-0012-{}", "x".repeat(60))
        );
        assert_eq!(script_name(1, "é"), "5000-0001--");
    }

    #[test]
    fn systemd_and_debian_sysvinit() {
        let init = InitSystems {
            systemd: true,
            sysvinit: true,
            distro: "debian",
        };
        let edits = firstboot_edits(&init, 1, "touch /x", "touch /x").unwrap();
        let paths: Vec<&str> = edits.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                RUNNER_PATH,
                UNIT_PATH,
                WANTS_LINK,
                "/etc/init.d/guestfs-firstboot",
                "/etc/rc2.d/S99guestfs-firstboot",
                "/etc/rc3.d/S99guestfs-firstboot",
                "/etc/rc5.d/S99guestfs-firstboot",
                "/usr/lib/virt-sysprep/scripts/5000-0001-touch--x",
            ]
        );
        assert_eq!(
            edits[7].change,
            FileChange::Write {
                content: b"touch /x".to_vec(),
                mode: Some(0o755)
            }
        );
        let none = InitSystems {
            distro: "gentoo",
            ..InitSystems::default()
        };
        assert_eq!(firstboot_edits(&none, 1, "a", "a").unwrap().len(), 2);
        let odd = InitSystems {
            sysvinit: true,
            distro: "gentoo",
            ..InitSystems::default()
        };
        assert!(firstboot_edits(&odd, 1, "a", "a").is_err());
    }

    /// Runs the real runner on a temporary tree (paths rewritten) and checks order, that
    /// scripts without `#!` run, that a second boot runs nothing, and the log.
    #[test]
    fn runner_runs_each_script_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let runner = RUNNER
            .replace("/usr/lib/virt-sysprep", &format!("{root}/lib"))
            .replace("~root/virt-sysprep-firstboot.log", &format!("{root}/log"));
        std::fs::create_dir_all(format!("{root}/lib/scripts")).unwrap();
        let out = format!("{root}/out");
        for (name, word) in [
            ("5000-0002-b", "second"),
            ("5000-0001-a", "first"),
            ("5000-0010-c", "third"),
        ] {
            let p = format!("{root}/lib/scripts/{name}");
            std::fs::write(&p, format!("echo {word} >> {out}\necho {word}-log\nexit 3")).unwrap();
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        std::fs::write(format!("{root}/runner.sh"), &runner).unwrap();
        for _ in 0..2 {
            let st = Command::new("sh")
                .arg(format!("{root}/runner.sh"))
                .arg("start")
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
            std::fs::read_dir(format!("{root}/lib/scripts"))
                .unwrap()
                .count(),
            0
        );
        assert_eq!(
            std::fs::read_dir(format!("{root}/lib/scripts-done"))
                .unwrap()
                .count(),
            0
        );
        let log = std::fs::read_to_string(format!("{root}/log")).unwrap();
        assert!(
            log.contains("=== Running") && log.contains("second-log"),
            "{log}"
        );
    }
}
