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

/// Debian's debconf hook (`/etc/apt/apt.conf.d/70debconf`), which apt runs with the list of
/// packages it is about to unpack.
pub const DEBCONF_HOOK: &str = "/usr/sbin/dpkg-preconfigure --apt || true";

/// What [`DEBCONF_HOOK`] does when apt-utils is not installed, without Perl: it reads the
/// list of packages on its standard input and, when the list is not empty, says on standard
/// error what debconf says then (`Debconf::Log::warn`), and nothing else. Under TCG, Perl
/// loading debconf's modules to learn that takes seconds. A hook's text is run with
/// `sh -c`; it holds no double quote, which apt's configuration syntax cannot carry.
pub const DEBCONF_DELAY_HOOK: &str = "l=; x=; while IFS= read -r l; do case $l in ?*) x=1;; \
     esac; done; case $l in ?*) x=1;; esac; test -z $x || echo 'debconf: delaying package \
     configuration, since apt-utils is not installed' >&2";

/// The marker that ends the apt configuration in the script.
const APT_CONF_END: &str = "__GUESTWRIGHT_APT_CONF";

/// The key of apt's hook list, as `apt-config dump` spells it (apt's keys ignore case).
const HOOKS_KEY: &str = "dpkg::pre-install-pkgs";

/// One `key "value";` line of `apt-config dump`: the key and the value, or `None` for a line
/// of another shape (or a value with a quote or backslash, which are not kept as they are).
fn dump_line(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = line.split_once(' ')?;
    let value = rest.strip_prefix('"')?.strip_suffix("\";")?;
    (!value.contains(['"', '\\'])).then_some((key, value))
}

/// The configuration that makes apt run [`DEBCONF_DELAY_HOOK`] in place of
/// [`DEBCONF_HOOK`], every other `DPkg::Pre-Install-Pkgs` hook kept in its place, from the
/// guest's `apt-config dump`. `None` when there is nothing to replace, or the hooks are not
/// as apt writes them for a stock Debian (then apt runs as configured): the debconf hook not
/// there exactly once, a hook apt's syntax cannot carry back, or options for the hook
/// (`DPkg::Tools::Options::/usr/sbin/dpkg-preconfigure`).
///
/// Only for a guest without `apt-extracttemplates` (see [`apt_path_dirs`]): with it, the
/// hook preconfigures packages, which must happen.
pub fn debconf_delay_config(dump: &str, main_exists: bool) -> Option<String> {
    let mut hooks: Vec<&str> = Vec::new();
    let tools = "dpkg::tools::options::/usr/sbin/dpkg-preconfigure";
    // The configuration given takes the place of /etc/apt/apt.conf (and includes it): only
    // where that is apt's main file.
    let defaults = [
        ("dir", "/"),
        ("dir::etc", "etc/apt/"),
        ("dir::etc::main", "apt.conf"),
    ];
    for line in dump.lines() {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with(tools) {
            return None;
        }
        if let Some((key, value)) = dump_line(line) {
            let key = key.to_ascii_lowercase();
            let value = value.trim_end_matches('/');
            if defaults
                .iter()
                .any(|(k, v)| *k == key && v.trim_end_matches('/') != value)
            {
                return None;
            }
        }
        let Some(tail) = lower.strip_prefix(HOOKS_KEY) else {
            continue;
        };
        if tail.starts_with(' ') {
            // The list's own node: `DPkg::Pre-Install-Pkgs "";`.
            continue;
        }
        let (key, value) = dump_line(line)?;
        // A direct child (`::` or `::name`), which apt runs; anything deeper is not plain.
        let name = key[HOOKS_KEY.len()..].strip_prefix("::")?;
        if name.contains("::") {
            return None;
        }
        hooks.push(value);
    }
    if hooks.iter().filter(|h| **h == DEBCONF_HOOK).count() != 1 {
        return None;
    }
    let mut conf = String::new();
    if main_exists {
        conf.push_str("#include \"/etc/apt/apt.conf\";\n");
    }
    conf.push_str("#clear DPkg::Pre-Install-Pkgs;\n");
    for h in hooks {
        let h = if h == DEBCONF_HOOK {
            DEBCONF_DELAY_HOOK
        } else {
            h
        };
        conf.push_str(&format!("DPkg::Pre-Install-Pkgs:: \"{h}\";\n"));
    }
    Some(conf)
}

/// The guest's PATH as commands get it in the appliance (the daemon sets it).
pub const GUEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The directories where debconf's hook may look for `apt-extracttemplates`: the PATH the
/// command runs with and apt's `DPkg::Path`, which apt gives its hooks.
pub fn apt_path_dirs(dump: &str) -> Vec<String> {
    let dpkg_path = dump.lines().find_map(|l| {
        let (key, value) = dump_line(l)?;
        key.eq_ignore_ascii_case("dpkg::path").then_some(value)
    });
    let mut dirs: Vec<String> = Vec::new();
    for d in GUEST_PATH
        .split(':')
        .chain(dpkg_path.unwrap_or("").split(':'))
    {
        let d = d.trim_end_matches('/');
        if d.starts_with('/') && !dirs.iter().any(|x| x == d) {
            dirs.push(d.to_owned());
        }
    }
    dirs
}

/// Where the apt configuration files of [`apt_script`] go: the appliance's own /dev (a
/// tmpfs), which the daemon binds over the guest's while commands run, so they are regular
/// files apt reads and never part of the image.
const APT_CONF_DIR: &str = "/dev";

/// The apt script virt-customize runs for `steps` (`update`, `install 'a'`, ...), with
/// `conf` read by every apt-get that unpacks or removes packages after the guest's own
/// configuration. apt's command line stays as it is (apt records it in
/// /var/log/apt/history.log): `APT_CONFIG` names a file, read first, that makes `conf` apt's
/// main configuration file, which apt reads last (`conf` includes the guest's own).
fn apt_script(steps: &[String], conf: Option<&str>) -> String {
    apt_script_in(steps, conf, APT_CONF_DIR)
}

fn apt_script_in(steps: &[String], conf: Option<&str>, dir: &str) -> String {
    let mut s = APT_PROLOGUE.to_owned();
    let (first, main) = (
        format!("{dir}/.guestwright-apt.conf"),
        format!("{dir}/.guestwright-apt-main.conf"),
    );
    for step in steps {
        match conf {
            Some(c) if step != "update" => s.push_str(&format!(
                "        cat > {main} <<'{APT_CONF_END}'\n{c}{APT_CONF_END}\n\
                 \x20       echo 'Dir::Etc::main \"{main}\";' > {first}\n\
                 \x20       APT_CONFIG={first} apt-get $apt_opts {step}\n\
                 \x20       gw_status=$?; rm -f {first} {main}; (exit $gw_status)\n"
            )),
            _ => s.push_str(&format!("        apt-get $apt_opts {step}\n")),
        }
    }
    s.push_str("      ");
    s
}

/// The command that installs `packages` now, in the appliance: [`install_command`], with
/// `apt_conf` (from [`debconf_delay_config`]) given to apt.
pub fn install_command_with(
    manager: &str,
    packages: &[String],
    apt_conf: Option<&str>,
) -> Result<String, PackageError> {
    match manager {
        "apt" => Ok(apt_script(
            &["update".into(), format!("install {}", quoted(packages))],
            apt_conf,
        )),
        m => install_command(m, packages),
    }
}

/// [`update_command`] with `apt_conf` given to apt (see [`install_command_with`]).
pub fn update_command_with(manager: &str, apt_conf: Option<&str>) -> Result<String, PackageError> {
    match manager {
        "apt" => Ok(apt_script(&["update".into(), "upgrade".into()], apt_conf)),
        m => update_command(m),
    }
}

/// [`uninstall_command`] with `apt_conf` given to apt (see [`install_command_with`]).
pub fn uninstall_command_with(
    manager: &str,
    packages: &[String],
    apt_conf: Option<&str>,
) -> Result<String, PackageError> {
    match manager {
        "apt" => Ok(apt_script(
            &[format!("remove {}", quoted(packages))],
            apt_conf,
        )),
        m => uninstall_command(m, packages),
    }
}

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
    /// `apt-config dump` of a stock Debian 12 guest, the parts that matter here.
    const DUMP: &str = "APT \"\";\nAPT::Architecture \"amd64\";\n\
        DPkg::Path \"/usr/sbin:/usr/bin:/sbin:/bin:/opt/apt/bin/\";\n\
        DPkg::Pre-Install-Pkgs \"\";\n\
        DPkg::Pre-Install-Pkgs:: \"/usr/sbin/dpkg-preconfigure --apt || true\";\n\
        DPkg::Post-Invoke \"\";\nDPkg::Post-Invoke:: \"rm -f /var/cache/apt/archives/*.deb || true\";\n";

    #[test]
    fn the_command_run_without_apt_configuration_is_virt_customizes() {
        let p = v(&["vim", "it's"]);
        assert_eq!(
            install_command_with("apt", &p, None).unwrap(),
            install_command("apt", &p).unwrap()
        );
        assert_eq!(
            update_command_with("apt", None).unwrap(),
            update_command("apt").unwrap()
        );
        assert_eq!(
            uninstall_command_with("apt", &p, None).unwrap(),
            uninstall_command("apt", &p).unwrap()
        );
        assert_eq!(
            install_command_with("dnf", &p, Some("x")).unwrap(),
            install_command("dnf", &p).unwrap()
        );
    }

    #[test]
    fn debconfs_hook_is_replaced_and_every_other_hook_kept_in_order() {
        let conf = debconf_delay_config(DUMP, false).unwrap();
        assert_eq!(
            conf,
            format!("#clear DPkg::Pre-Install-Pkgs;\nDPkg::Pre-Install-Pkgs:: \"{DEBCONF_DELAY_HOOK}\";\n")
        );
        let more = DUMP.replace(
            "DPkg::Pre-Install-Pkgs:: \"/usr",
            "Dpkg::Pre-Install-Pkgs:: \"/usr/bin/etckeeper pre-install\";\n\
             DPkg::Pre-Install-Pkgs:: \"/usr",
        ) + "DPkg::Pre-Install-Pkgs::listbugs \"/usr/bin/apt-listbugs apt\";\n";
        assert_eq!(
            debconf_delay_config(&more, false).unwrap(),
            format!(
                "#clear DPkg::Pre-Install-Pkgs;\n\
                 DPkg::Pre-Install-Pkgs:: \"/usr/bin/etckeeper pre-install\";\n\
                 DPkg::Pre-Install-Pkgs:: \"{DEBCONF_DELAY_HOOK}\";\n\
                 DPkg::Pre-Install-Pkgs:: \"/usr/bin/apt-listbugs apt\";\n"
            )
        );
        // Nothing to replace, or hooks this cannot write back as they are: apt as configured.
        let without = DUMP.replace(
            "DPkg::Pre-Install-Pkgs:: \"/usr/sbin/dpkg-preconfigure --apt || true\";\n",
            "",
        );
        assert_eq!(debconf_delay_config(&without, false), None);
        let twice = DUMP.to_owned()
            + "DPkg::Pre-Install-Pkgs:: \"/usr/sbin/dpkg-preconfigure --apt || true\";\n";
        assert_eq!(debconf_delay_config(&twice, false), None);
        let tools =
            DUMP.to_owned() + "DPkg::Tools::Options::/usr/sbin/dpkg-preconfigure::Version \"2\";\n";
        assert_eq!(debconf_delay_config(&tools, false), None);
        let quoted = DUMP.to_owned() + "DPkg::Pre-Install-Pkgs:: \"echo \\\"x\\\"\";\n";
        assert_eq!(debconf_delay_config(&quoted, false), None);
        let deeper = DUMP.to_owned() + "DPkg::Pre-Install-Pkgs::a::b \"x\";\n";
        assert_eq!(debconf_delay_config(&deeper, false), None);
        // Another main configuration file than /etc/apt/apt.conf: apt as configured.
        let main = DUMP.to_owned() + "Dir::Etc::main \"other.conf\";\n";
        assert_eq!(debconf_delay_config(&main, false), None);
        let stock =
            DUMP.to_owned() + "Dir \"/\";\nDir::Etc \"etc/apt\";\nDir::Etc::main \"apt.conf\";\n";
        assert!(debconf_delay_config(&stock, true)
            .unwrap()
            .starts_with("#include \"/etc/apt/apt.conf\";\n#clear DPkg::Pre-Install-Pkgs;\n"));
    }

    #[test]
    fn apt_extracttemplates_is_looked_for_where_debconf_would() {
        assert_eq!(
            apt_path_dirs(DUMP),
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
                "/opt/apt/bin"
            ]
        );
    }

    /// What `dpkg-preconfigure --apt` does without apt-utils: reads the list of packages and,
    /// when there is one, says so on standard error (its `Debconf::Log::warn`), nothing else.
    #[test]
    fn the_replacement_hook_says_what_debconf_says() {
        let hook = |input: &str| {
            use std::io::Write;
            let mut child = std::process::Command::new("sh")
                .arg("-c")
                .arg(DEBCONF_DELAY_HOOK)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            assert_eq!(out.stdout, b"");
            String::from_utf8(out.stderr).unwrap()
        };
        let said = "debconf: delaying package configuration, since apt-utils is not installed\n";
        assert_eq!(hook("/var/cache/apt/archives/a_1.0_all.deb\n"), said);
        assert_eq!(hook("a.deb\nb.deb\n"), said);
        assert_eq!(hook("a.deb"), said);
        assert_eq!(hook(""), "");
        assert_eq!(hook("\n\n"), "");
        assert!(!DEBCONF_DELAY_HOOK.contains('"'));
    }

    /// apt reads the configuration after the guest's own and runs the hooks it lists, and
    /// its command line is the one virt-customize gives (apt-config stands in for apt-get:
    /// the same configuration code; skipped where apt is not installed).
    #[test]
    fn apt_reads_the_configuration_last_and_its_command_line_is_unchanged() {
        if std::process::Command::new("apt-config")
            .arg("-v")
            .output()
            .is_err()
        {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let conf = debconf_delay_config(DUMP, false).unwrap();
        let script = apt_script_in(&["update".into(), "dump".into()], Some(&conf), d);
        assert!(script.contains("apt-get $apt_opts dump\n"), "{script}");
        let script = script.replace("apt-get $apt_opts", "apt-config");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.replace("apt-config update", "true"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let dump = String::from_utf8(out.stdout).unwrap();
        let hooks: Vec<&str> = dump
            .lines()
            .filter(|l| {
                l.to_ascii_lowercase()
                    .starts_with("dpkg::pre-install-pkgs::")
            })
            .collect();
        assert_eq!(
            hooks,
            [format!(
                "DPkg::Pre-Install-Pkgs:: \"{DEBCONF_DELAY_HOOK}\";"
            )]
        );
        // The files are gone afterwards.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
