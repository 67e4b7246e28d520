//! `--install`, `--update`, `--uninstall` and `--firstboot-install`: the shell commands that
//! drive the guest's own package manager, chosen by the package manager inspection reports
//! (`OsInfo::package_management`), with the same text virt-customize 1.48 runs, so a
//! `--firstboot-install` script is the same file whichever tool wrote it. Never does I/O.

/// Why no command can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// Inspection found no package manager.
    #[error(
        "cannot use --{flag} because no package manager was found in this guest (inspection \
         reports none: a damaged image, or an OS without one): use --run-command or the \
         --firstboot options instead"
    )]
    Unknown {
        /// The option.
        flag: &'static str,
    },
    /// A package manager this tool has no commands for.
    #[error(
        "--{flag} with the {manager} package manager is not implemented: use --run-command or \
         --firstboot-command with the package manager's own command instead"
    )]
    Unimplemented {
        /// The option.
        flag: &'static str,
        /// The package manager.
        manager: String,
    },
}

/// Quotes a word for the shell: always in single quotes, a quote inside as `'\''`.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

fn quoted(packages: &[String]) -> String {
    packages
        .iter()
        .map(|p| quote(p))
        .collect::<Vec<_>>()
        .join(" ")
}

fn fail(flag: &'static str, manager: &str) -> PackageError {
    match manager {
        "unknown" | "" => PackageError::Unknown { flag },
        m => PackageError::Unimplemented {
            flag,
            manager: m.to_owned(),
        },
    }
}

/// apt's commands start with this (indentation and all, as virt-customize 1.48 writes them:
/// a `--firstboot-install` script is compared byte for byte with its).
const APT_PROLOGUE: &str = "
        export DEBIAN_FRONTEND=noninteractive
        apt_opts='-q -y -o Dpkg::Options::=--force-confnew'
";

/// The command that installs `packages`.
pub fn install_command(manager: &str, packages: &[String]) -> Result<String, PackageError> {
    let q = quoted(packages);
    Ok(match manager {
        "apk" => format!("\n       apk update\n       apk add {q}\n     "),
        "apt" => format!(
            "{APT_PROLOGUE}        apt-get $apt_opts update\n        apt-get $apt_opts install {q}\n      "
        ),
        "dnf" => format!("dnf -y install {q}"),
        "pisi" => format!("pisi it {q}"),
        "pacman" => format!("pacman -S --noconfirm {q}"),
        "urpmi" => format!("urpmi {q}"),
        "xbps" => format!("xbps-install -Sy {q}"),
        "yum" => format!("yum -y install {q}"),
        "zypper" => format!("zypper -n in -l {q}"),
        m => return Err(fail("install", m)),
    })
}

/// The command that updates every package.
pub fn update_command(manager: &str) -> Result<String, PackageError> {
    Ok(match manager {
        "apk" => "\n       apk update\n       apk upgrade\n     ".to_owned(),
        "apt" => format!(
            "{APT_PROLOGUE}        apt-get $apt_opts update\n        apt-get $apt_opts upgrade\n      "
        ),
        "dnf" => "dnf -y --best upgrade".to_owned(),
        "pisi" => "pisi upgrade".to_owned(),
        "pacman" => "pacman -Su".to_owned(),
        "urpmi" => "urpmi --auto-select".to_owned(),
        "xbps" => "xbps-install -Suy".to_owned(),
        "yum" => "yum -y update".to_owned(),
        "zypper" => "zypper -n dup -l".to_owned(),
        m => return Err(fail("update", m)),
    })
}

/// The command that removes `packages`.
pub fn uninstall_command(manager: &str, packages: &[String]) -> Result<String, PackageError> {
    let q = quoted(packages);
    Ok(match manager {
        "apk" => format!("apk del {q}"),
        "apt" => format!("{APT_PROLOGUE}        apt-get $apt_opts remove {q}\n      "),
        "dnf" => format!("dnf -y --disableplugin=subscription-manager remove {q}"),
        "pisi" => format!("pisi rm {q}"),
        "pacman" => format!("pacman -R {q}"),
        "urpmi" => format!("urpme {q}"),
        "xbps" => format!("xbps-remove -Sy {q}"),
        "yum" => format!("yum -y remove {q}"),
        "zypper" => format!("zypper -n rm {q}"),
        m => return Err(fail("uninstall", m)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quoting_survives_the_shell() {
        for word in ["plain", "it's", "a b", "$(rm -rf /)", "`x`", "\\", ""] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(word)))
                .output()
                .unwrap();
            assert_eq!(out.stdout, word.as_bytes(), "{word}");
        }
    }

    #[test]
    fn commands_per_manager() {
        let apt = install_command("apt", &v(&["vim", "it's"])).unwrap();
        assert_eq!(
            apt,
            // Recorded from virt-customize 1.48 (--firstboot-install).
            "\n        export DEBIAN_FRONTEND=noninteractive\n        apt_opts='-q -y -o Dpkg::Options::=--force-confnew'\n        apt-get $apt_opts update\n        apt-get $apt_opts install 'vim' 'it'\\''s'\n      "
        );
        assert_eq!(
            install_command("dnf", &v(&["a", "b"])).unwrap(),
            "dnf -y install 'a' 'b'"
        );
        assert_eq!(
            uninstall_command("zypper", &v(&["a"])).unwrap(),
            "zypper -n rm 'a'"
        );
        assert_eq!(update_command("pacman").unwrap(), "pacman -Su");
        assert!(update_command("apt")
            .unwrap()
            .ends_with("apt-get $apt_opts upgrade\n      "));
        assert_eq!(
            install_command("unknown", &v(&["a"])),
            Err(PackageError::Unknown { flag: "install" })
        );
        assert!(matches!(
            uninstall_command("portage", &v(&["a"])),
            Err(PackageError::Unimplemented { .. })
        ));
    }
}
