//! `guestwright make-fs`: a new disk image holding a filesystem with the files of a host
//! directory or tar archive, like virt-make-fs.

use crate::error::{CliError, Result};
use crate::options::ApplianceArgs;
use crate::session;
use clap::Args;
use guestwright::prelude::*;
use guestwright::protocol::CallStream;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Make a new disk image OUTPUT holding a filesystem with the files of INPUT: a host
/// directory, a tar archive, or one compressed with gzip, bzip2 or xz. The image is as large
/// as the files need plus room for the filesystem's own structures and 10%, unless --size
/// says otherwise; it is removed again if anything fails.
#[derive(Debug, Args)]
pub struct MakeFsArgs {
    /// A 1440K MBR-partitioned vfat floppy image.
    #[arg(long)]
    floppy: bool,
    /// The output image's format: raw (the default) or qcow2.
    #[arg(short = 'F', long, value_name = "FORMAT", default_value = "raw")]
    format: String,
    /// The filesystem's label.
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// Put the filesystem in a partition: mbr (the default with no TYPE) or gpt.
    #[arg(long, value_name = "TYPE", num_args = 0..=1, require_equals = true, default_missing_value = "mbr")]
    partition: Option<String>,
    /// The image's size (1G, 100M, ...), or +SIZE: that much more than needed.
    #[arg(short = 's', long, value_name = "SIZE", allow_hyphen_values = true)]
    size: Option<String>,
    /// The filesystem type: ext2 (the default), ext3, ext4, xfs, btrfs, vfat, ntfs, ...
    #[arg(
        short = 't',
        long = "type",
        value_name = "FSTYPE",
        default_value = "ext2"
    )]
    fstype: String,
    /// The input: a directory or a (compressed) tar archive.
    input: PathBuf,
    /// The image to create.
    output: PathBuf,
}

/// What the input is.
enum Input {
    Directory,
    Tar,
    /// A compressed tar archive, and the program that uncompresses it to standard output.
    Compressed(&'static str),
}

fn fail(msg: String) -> CliError {
    CliError::AsReference(format!("virt-make-fs: {msg}"))
}

/// What `path` is, from its type or its first bytes.
fn classify(path: &Path) -> Result<Input> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::HostIo {
        path: path.to_owned(),
        source: e,
    })?;
    if meta.is_dir() {
        return Ok(Input::Directory);
    }
    let mut head = [0u8; 512];
    let mut f = std::fs::File::open(path).map_err(|e| CliError::HostIo {
        path: path.to_owned(),
        source: e,
    })?;
    let n = f.read(&mut head).map_err(|e| CliError::HostIo {
        path: path.to_owned(),
        source: e,
    })?;
    let head = &head[..n];
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Input::Compressed("gzip"))
    } else if head.starts_with(b"BZh") {
        Ok(Input::Compressed("bzip2"))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Ok(Input::Compressed("xz"))
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Ok(Input::Tar)
    } else {
        Err(fail(format!(
            "{}: input is not a directory, tar archive or compressed tar archive",
            path.display()
        )))
    }
}

/// Starts the program that writes the input as a plain tar archive on its standard output,
/// or `None` for a plain tar archive, which is read as it is.
fn tar_stream(input: &Path, kind: &Input) -> Result<Option<Child>> {
    let mut cmd = match kind {
        Input::Tar => return Ok(None),
        Input::Directory => {
            let mut c = Command::new("tar");
            c.arg("-C").arg(input).args(["-cf", "-", "."]);
            c
        }
        Input::Compressed(prog) => {
            let mut c = Command::new(prog);
            c.arg("-cd").arg(input);
            c
        }
    };
    let child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {:?}: {e}", cmd.get_program())))?;
    Ok(Some(child))
}

/// How many bytes the files take: `du --apparent-size` of a directory, the uncompressed
/// size of a compressed archive, the size of a plain one (as virt-make-fs estimates it).
fn input_size(input: &Path, kind: &Input) -> Result<u64> {
    match kind {
        Input::Directory => {
            let out = Command::new("du")
                .args(["--apparent-size", "-b", "-s"])
                .arg(input)
                .output()
                .map_err(|e| fail(format!("cannot run du: {e}")))?;
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    fail(format!(
                        "cannot parse the output of ‘du’ command: {}",
                        String::from_utf8_lossy(&out.stdout)
                    ))
                })
        }
        Input::Tar => std::fs::metadata(input)
            .map(|m| m.len())
            .map_err(|e| CliError::HostIo {
                path: input.to_owned(),
                source: e,
            }),
        Input::Compressed(_) => {
            let mut child = tar_stream(input, kind)?.expect("a compressed input has a stream");
            let copied = std::io::copy(&mut child.stdout.take().unwrap(), &mut std::io::sink());
            let status = child.wait().map_err(|e| fail(format!("{e}")))?;
            let n = copied.map_err(|e| fail(format!("reading {}: {e}", input.display())))?;
            if !status.success() {
                return Err(fail(format!("{}: cannot uncompress it", input.display())));
            }
            Ok(n)
        }
    }
}

/// virt-make-fs's estimate of the image's size for `bytes` of files, rounded up to whole
/// sectors. Its sums follow its `--blocksize`, which is 0 unless given: then the partition
/// adds nothing and an ext3/ext4 journal 4 MiB.
fn estimate(bytes: u64, fstype: &str, partition: bool) -> u64 {
    let blocksize: u64 = 0;
    let mut e = bytes;
    if partition {
        e += 2 * 128 * blocksize;
    }
    e += 256 * 1024;
    if fstype.starts_with("ext") && fstype.as_bytes().get(3).is_some_and(|&c| c >= b'3') {
        e += 1024 * if blocksize == 512 { 1024 } else { 4096 };
    } else if fstype == "ntfs" {
        e += 4 << 20;
    } else if fstype == "btrfs" {
        e += 256 << 20;
    } else if fstype == "xfs" {
        e += 4096 * 4096;
    }
    ((e as f64 * 1.10) as u64).next_multiple_of(512)
}

/// Creates the empty image: a sparse raw file, or qcow2 with preallocated metadata.
fn create_image(path: &Path, format: &str, size: u64) -> Result {
    match format {
        "raw" => {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| CliError::HostIo {
                    path: path.to_owned(),
                    source: e,
                })?;
            f.set_len(size).map_err(|e| CliError::HostIo {
                path: path.to_owned(),
                source: e,
            })
        }
        "qcow2" => {
            let out = Command::new("qemu-img")
                .args([
                    "create",
                    "-q",
                    "-f",
                    "qcow2",
                    "-o",
                    "preallocation=metadata",
                ])
                .arg(path)
                .arg(size.to_string())
                .output()
                .map_err(|e| {
                    fail(format!(
                        "cannot run qemu-img (apt-get install qemu-utils): {e}"
                    ))
                })?;
            if out.status.success() {
                Ok(())
            } else {
                Err(fail(format!(
                    "qemu-img: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )))
            }
        }
        f => Err(fail(format!(
            "{f}: unsupported output format: use raw or qcow2"
        ))),
    }
}

/// Removes the output unless the command succeeded.
struct Unfinished<'a>(Option<&'a Path>);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Runs `make-fs`.
pub fn run(args: &MakeFsArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let (fstype, partition, size) = if args.floppy {
        ("vfat", Some("mbr"), Some("1440K"))
    } else {
        (
            args.fstype.as_str(),
            args.partition.as_deref(),
            args.size.as_deref(),
        )
    };
    let kind = classify(&args.input)?;
    let estimate = estimate(input_size(&args.input, &kind)?, fstype, partition.is_some());
    let size = match size {
        None => estimate,
        Some(s) => {
            let (plus, n) = match s.strip_prefix('+') {
                Some(rest) => (true, rest),
                None => (false, s),
            };
            let n = crate::shell::parse_size(n)
                .map_err(|_| fail(format!("parse_size: invalid size parameter ‘{n}’")))?;
            if plus {
                estimate + n
            } else {
                n
            }
        }
    };
    create_image(&args.output, &args.format, size)?;
    let mut unfinished = Unfinished(Some(&args.output));
    let mut h = Handle::with_config(session::launch_config(appliance, verbose)?);
    h.add_drive(
        &args.output,
        DriveOptions {
            format: Some(crate::options::parse_format(&args.format).map_err(fail)?),
            readonly: false,
            blocksize: None,
        },
    )?;
    h.launch()?;
    let mut dev = "/dev/sda".to_owned();
    if let Some(p) = partition {
        let p = if p.is_empty() { "mbr" } else { p };
        let kind: PartTableType = p
            .parse()
            .map_err(|e| fail(format!("--partition={p}: {e}")))?;
        h.run(args::PartDisk::new("/dev/sda", kind))?;
        dev = "/dev/sda1".to_owned();
        if kind == PartTableType::Mbr {
            if let Some(id) = super::format::mbr_id_of(fstype) {
                h.run(args::PartSetMbrId::new("/dev/sda", 1u32, id))?;
            }
        }
    }
    if fstype == "btrfs" {
        h.run(args::MkfsBtrfs {
            datatype: Some("single".into()),
            metadata: Some("single".into()),
            label: args.label.clone(),
            ..args::MkfsBtrfs::new(vec![Device::from(dev.as_str())])
        })?;
    } else {
        h.run(args::Mkfs {
            label: args.label.clone(),
            ..args::Mkfs::new(fstype, dev.as_str())
        })
        .map_err(|e| {
            let hint = if fstype == "fat" {
                "Instead of 'fat', try 'vfat' (long filenames) or 'msdos' (short filenames)."
                    .to_owned()
            } else {
                format!("Is '{fstype}' a correct filesystem type?")
            };
            fail(format!(
                "'mkfs' (create filesystem) operation failed: {}\n{hint}",
                guestwright::error::chain(&e)
            ))
        })?;
    }
    let options = if fstype == "vfat" { "utf8" } else { "" };
    h.run(args::MountOptions::new(options, dev.as_str(), "/"))?;
    let child = tar_stream(&args.input, &kind)?;
    let result = match child {
        Some(mut child) => {
            let mut out = child.stdout.take().unwrap();
            let r = h.run_stream(args::TarIn::new("/"), CallStream::Input(&mut out));
            drop(out);
            let status = child.wait().map_err(|e| fail(format!("{e}")))?;
            if r.is_ok() && !status.success() {
                return Err(fail("subprocess failed".into()));
            }
            r
        }
        None => {
            let mut f = std::fs::File::open(&args.input).map_err(|e| CliError::HostIo {
                path: args.input.clone(),
                source: e,
            })?;
            h.run_stream(args::TarIn::new("/"), CallStream::Input(&mut f))
        }
    };
    result?;
    h.shutdown()?;
    unfinished.0 = None;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_as_virt_make_fs() {
        // 1 MiB of files in ext2: + 256 KiB, + 10%.
        assert_eq!(estimate(1 << 20, "ext2", false), 1_441_792);
        // ext4 adds 4 MiB for the journal; the partition nothing.
        assert_eq!(estimate(1 << 20, "ext4", true), 6_055_936);
    }
}
