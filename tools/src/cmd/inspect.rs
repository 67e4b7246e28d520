//! `guestwright inspect`: what operating system is on a disk image, like virt-inspector.

use crate::error::{stdout, CliError, Result};
use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::inspect::{self, packages::Application, windows::WindowsApplication, OsInfo};
use guestwright::prelude::*;
use serde::Serialize;
use std::io::Write;

/// Inspect a disk image (read-only): operating system, distribution and version,
/// architecture, hostname, package format, mountpoints, filesystems and installed packages.
/// JSON by default; --xml prints virt-inspector's XML.
///
/// Filesystems that cannot be read (LUKS without a key, no driver, damaged) are named on
/// stderr with the reason. Finding no operating system at all is a failure (exit 1), as in
/// virt-inspector, unless --allow-no-os is given.
///
/// With --xpath QUERY it opens no image: it runs the XPath query over the XML on standard
/// input (what an earlier `inspect --xml` printed) and prints the result, as virt-inspector does.
#[derive(Debug, Args)]
#[command(mut_arg("images", |a| a.required(false).required_unless_present("xpath")))]
pub struct InspectArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Print virt-inspector's XML instead of JSON.
    #[arg(long)]
    pub(crate) xml: bool,
    /// Do not list installed packages (faster).
    #[arg(long)]
    no_applications: bool,
    /// Finding no operating system is not a failure: print an empty list and exit 0.
    #[arg(long)]
    allow_no_os: bool,
    /// Run an XPath query over the XML on standard input and print what it finds; no image is
    /// opened (virt-inspector's --xpath).
    #[arg(long, value_name = "QUERY", allow_hyphen_values = true)]
    xpath: Option<String>,
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    os: &'a OsInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    applications: Option<&'a Apps>,
}

/// Installed software: packages, or the programs of Windows's Uninstall keys.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Apps {
    Packages(Vec<Application>),
    Windows(Vec<WindowsApplication>),
}

/// Runs `inspect`.
pub fn run(args: &InspectArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    if let Some(query) = &args.xpath {
        // Modal, as in virt-inspector: the query reads XML, not disks.
        if !args.image.images.is_empty() {
            return Err(CliError::AsReference(
                "virt-inspector: cannot use --xpath together with other options.".into(),
            ));
        }
        return super::xpath::run(query);
    }
    let (found, apps) = collect(args, appliance, verbose)?;
    let text = if args.xml {
        xml(&found, &apps)
    } else {
        let mut s = serde_json::to_string_pretty(&reports(&found, &apps)).expect("serialisable");
        s.push('\n');
        s
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(stdout)?;
    out.flush().map_err(stdout)
}

/// What `inspect` prints as JSON, as a value (`batch` puts it in a job's result; `--xml`
/// has no meaning there).
pub fn json(
    args: &InspectArgs,
    appliance: &ApplianceArgs,
    verbose: bool,
) -> Result<serde_json::Value> {
    let (found, apps) = collect(args, appliance, verbose)?;
    Ok(serde_json::to_value(reports(&found, &apps)).expect("serialisable"))
}

fn reports<'a>(found: &'a [OsInfo], apps: &'a [Option<Apps>]) -> Vec<Report<'a>> {
    found
        .iter()
        .zip(apps)
        .map(|(os, a)| Report {
            os,
            applications: a.as_ref(),
        })
        .collect()
}

/// Launches, inspects, lists the applications of each operating system found and shuts down.
fn collect(
    args: &InspectArgs,
    appliance: &ApplianceArgs,
    verbose: bool,
) -> Result<(Vec<OsInfo>, Vec<Option<Apps>>)> {
    let access = args.image.access(Access::ReadOnly);
    let mut h = session::launch(&args.image, appliance, access, verbose)?;
    let inspection = inspect::inspect_all(&h)?;
    if inspection.found.is_empty() && !args.allow_no_os {
        let detail = match inspection.no_os_error() {
            guestwright::Error::Inspection { detail } => detail,
            other => other.to_string(),
        };
        return Err(CliError::Library(guestwright::Error::Inspection {
            detail: format!("{detail}; --allow-no-os reports no OS without failing"),
        }));
    }
    let found = inspection.found;
    let mut apps = Vec::new();
    for os in &found {
        if args.no_applications {
            apps.push(None);
            continue;
        }
        inspect::mount_inspected(&h, os, true)?;
        apps.push(Some(if os.windows.is_some() {
            Apps::Windows(inspect::windows::applications(&h, os)?)
        } else {
            Apps::Packages(inspect::applications(&h, os)?)
        }));
        h.umount_all()?;
    }
    h.shutdown()?;
    Ok((found, apps))
}

/// Escapes an attribute value: as [`esc`] (a device name holds no tab or newline, which an
/// attribute would also escape).
fn esc_attr(s: &str) -> String {
    esc(s)
}

/// Escapes text for XML content as libxml2's writer does (virt-inspector's
/// `xmlEncodeSpecialChars`): `&`, `<`, `>`, `"` and a carriage return; `'` stays.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// virt-inspector's XML.
fn xml(found: &[OsInfo], apps: &[Option<Apps>]) -> String {
    if found.is_empty() {
        return "<?xml version=\"1.0\"?>\n<operatingsystems/>\n".into();
    }
    let mut x = String::from("<?xml version=\"1.0\"?>\n<operatingsystems>\n");
    for (os, apps) in found.iter().zip(apps) {
        let tag = |x: &mut String, name: &str, value: &str| {
            if !value.is_empty() {
                x.push_str(&format!("    <{name}>{}</{name}>\n", esc(value)));
            }
        };
        x.push_str("  <operatingsystem>\n");
        tag(&mut x, "root", os.root.as_str());
        tag(&mut x, "name", &os.os_type);
        if os.arch != "unknown" {
            tag(&mut x, "arch", &os.arch);
        }
        tag(&mut x, "distro", &os.distro);
        tag(&mut x, "product_name", &os.product_name);
        let win = os.windows.clone().unwrap_or_default();
        tag(&mut x, "product_variant", &win.product_variant);
        tag(&mut x, "major_version", &os.major_version.to_string());
        tag(&mut x, "minor_version", &os.minor_version.to_string());
        tag(&mut x, "windows_systemroot", &win.systemroot);
        tag(
            &mut x,
            "windows_current_control_set",
            &win.current_control_set,
        );
        if os.package_format != "unknown" {
            tag(&mut x, "package_format", &os.package_format);
        }
        if os.package_management != "unknown" {
            tag(&mut x, "package_management", &os.package_management);
        }
        tag(&mut x, "hostname", &os.hostname);
        tag(&mut x, "osinfo", os.osinfo.as_deref().unwrap_or(""));
        x.push_str("    <mountpoints>\n");
        for m in &os.mountpoints {
            x.push_str(&format!(
                "      <mountpoint dev=\"{}\">{}</mountpoint>\n",
                esc_attr(m.device.as_str()),
                esc(&m.mountpoint)
            ));
        }
        x.push_str("    </mountpoints>\n    <filesystems>\n");
        // virt-inspector lists what is inside an opened LUKS volume, not the volume.
        for f in os.filesystems.iter().filter(|f| f.fstype != "crypto_LUKS") {
            x.push_str(&format!(
                "      <filesystem dev=\"{}\">\n        <type>{}</type>\n",
                esc_attr(f.device.as_str()),
                esc(&f.fstype)
            ));
            if let Some(l) = &f.label {
                x.push_str(&format!("        <label>{}</label>\n", esc(l)));
            }
            if let Some(u) = &f.uuid {
                x.push_str(&format!("        <uuid>{}</uuid>\n", esc(u)));
            }
            x.push_str("      </filesystem>\n");
        }
        x.push_str("    </filesystems>\n");
        if !win.drive_mappings.is_empty() {
            x.push_str("    <drive_mappings>\n");
            for (letter, dev) in &win.drive_mappings {
                x.push_str(&format!(
                    "      <drive_mapping name=\"{}\">{}</drive_mapping>\n",
                    esc(letter),
                    esc(dev.as_str())
                ));
            }
            x.push_str("    </drive_mappings>\n");
        }
        if matches!(apps, Some(Apps::Windows(a)) if a.is_empty())
            || matches!(apps, Some(Apps::Packages(a)) if a.is_empty())
        {
            x.push_str("    <applications/>\n");
        } else if let Some(Apps::Windows(apps)) = apps {
            x.push_str("    <applications>\n");
            for a in apps {
                x.push_str("      <application>\n");
                for (name, value) in [
                    ("name", &a.name),
                    ("display_name", &a.display_name),
                    ("version", &a.version),
                    ("install_path", &a.install_path),
                    ("publisher", &a.publisher),
                    ("url", &a.url),
                    ("description", &a.description),
                ] {
                    if !value.is_empty() {
                        x.push_str(&format!("        <{name}>{}</{name}>\n", esc(value)));
                    }
                }
                x.push_str("      </application>\n");
            }
            x.push_str("    </applications>\n");
        } else if let Some(Apps::Packages(apps)) = apps {
            x.push_str("    <applications>\n");
            for a in apps {
                // As virt-inspector: empty fields and a zero epoch are left out.
                x.push_str("      <application>\n");
                let epoch = if a.epoch > 0 {
                    a.epoch.to_string()
                } else {
                    String::new()
                };
                for (name, value) in [
                    ("name", a.name.as_str()),
                    ("epoch", epoch.as_str()),
                    ("version", &a.version),
                    ("release", &a.release),
                    ("arch", &a.arch),
                    ("url", &a.url),
                    ("source_package", &a.source_package),
                    ("summary", &a.summary),
                    ("description", &a.description),
                ] {
                    if !value.is_empty() {
                        x.push_str(&format!("        <{name}>{}</{name}>\n", esc(value)));
                    }
                }
                x.push_str("      </application>\n");
            }
            x.push_str("    </applications>\n");
        }
        x.push_str("  </operatingsystem>\n");
    }
    x.push_str("</operatingsystems>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_guest_strings() {
        assert_eq!(
            esc("a<b>&\"c'\u{1b}\r"),
            "a&lt;b&gt;&amp;&quot;c'\\x1b&#13;"
        );
        assert_eq!(esc_attr("/dev/\"x'"), "/dev/&quot;x'");
        let os = OsInfo {
            root: Device::from("/dev/sda2"),
            root_options: None,
            os_type: "linux".into(),
            distro: "debian".into(),
            product_name: "Debian <12>".into(),
            major_version: 12,
            minor_version: 0,
            arch: "x86_64".into(),
            hostname: "h&h".into(),
            package_format: "deb".into(),
            package_management: "apt".into(),
            osinfo: Some("debian12".into()),
            mountpoints: vec![],
            filesystems: vec![],
            windows: None,
        };
        let x = xml(&[os], &[None]);
        assert!(
            x.contains("<product_name>Debian &lt;12&gt;</product_name>"),
            "{x}"
        );
        assert!(x.contains("<hostname>h&amp;h</hostname>"), "{x}");
        assert!(!x.contains("<applications>"));
        // What virt-inspector prints when it finds nothing.
        assert_eq!(
            xml(&[], &[]),
            "<?xml version=\"1.0\"?>\n<operatingsystems/>\n"
        );
    }
}
