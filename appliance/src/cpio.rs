//! A writer for the "newc" cpio format, the one the kernel unpacks as an initramfs.
//!
//! The kernel's unpacker does not create missing parent directories, so the writer emits each
//! parent before the first entry inside it. Entries carry mtime 0 and uid/gid 0, so the same
//! inputs give the same bytes.

use std::collections::HashSet;
use std::io::{self, Read, Write};

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

/// Writes a newc archive to `W`, counting the bytes.
#[derive(Debug)]
pub(crate) struct CpioWriter<W: Write> {
    out: W,
    written: u64,
    next_ino: u32,
    dirs: HashSet<String>,
    names: HashSet<String>,
}

impl<W: Write> CpioWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        CpioWriter {
            out,
            written: 0,
            next_ino: 1,
            dirs: HashSet::new(),
            names: HashSet::new(),
        }
    }

    /// A directory (and its parents, mode 0755, if not yet written).
    pub(crate) fn dir(&mut self, path: &str, mode: u32) -> io::Result<()> {
        let path = relative(path)?;
        if self.dirs.contains(path) {
            return Ok(());
        }
        self.parents(path)?;
        self.dirs.insert(path.to_string());
        self.header(path, S_IFDIR | (mode & 0o7777), 2, 0)?;
        Ok(())
    }

    /// A regular file with the given contents.
    pub(crate) fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        self.file_from(path, mode, data.len() as u64, &mut &data[..])
    }

    /// A regular file of `len` bytes read from `reader` (which must yield exactly that many).
    pub(crate) fn file_from(
        &mut self,
        path: &str,
        mode: u32,
        len: u64,
        reader: &mut dyn Read,
    ) -> io::Result<()> {
        let path = relative(path)?;
        self.parents(path)?;
        let size =
            u32::try_from(len).map_err(|_| invalid(format!("{path}: too large for cpio")))?;
        self.header(path, S_IFREG | (mode & 0o7777), 1, size)?;
        let copied = io::copy(&mut reader.take(len), &mut self.out)?;
        if copied != len {
            return Err(invalid(format!(
                "{path}: expected {len} bytes, read {copied}"
            )));
        }
        self.written += copied;
        self.pad()
    }

    /// A symbolic link to `target`.
    pub(crate) fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        let path = relative(path)?;
        self.parents(path)?;
        self.header(path, S_IFLNK | 0o777, 1, target.len() as u32)?;
        self.write(target.as_bytes())?;
        self.pad()
    }

    /// Writes the trailer and returns the inner writer and the archive's size.
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        self.header_raw("TRAILER!!!", 0, 0, 1, 0)?;
        // The kernel reads the archive in 512-byte blocks like cpio(1) writes it.
        let tail = (512 - self.written % 512) % 512;
        self.write(&vec![0u8; tail as usize])?;
        self.out.flush()?;
        Ok((self.out, self.written))
    }

    fn parents(&mut self, path: &str) -> io::Result<()> {
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            let parent = &path[..end + slash];
            if !self.dirs.contains(parent) {
                self.dirs.insert(parent.to_string());
                self.header(parent, S_IFDIR | 0o755, 2, 0)?;
            }
            end += slash + 1;
        }
        Ok(())
    }

    fn header(&mut self, path: &str, mode: u32, nlink: u32, size: u32) -> io::Result<()> {
        if !self.names.insert(path.to_string()) {
            return Err(invalid(format!("{path}: written twice")));
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        self.header_raw(path, ino, mode, nlink, size)
    }

    fn header_raw(
        &mut self,
        path: &str,
        ino: u32,
        mode: u32,
        nlink: u32,
        size: u32,
    ) -> io::Result<()> {
        // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
        // rdevminor, namesize (with the NUL), check.
        let fields = [
            ino,
            mode,
            0,
            0,
            nlink,
            0,
            size,
            0,
            0,
            0,
            0,
            path.len() as u32 + 1,
            0,
        ];
        let mut header = String::with_capacity(110);
        header.push_str("070701");
        for field in fields {
            header.push_str(&format!("{field:08x}"));
        }
        self.write(header.as_bytes())?;
        self.write(path.as_bytes())?;
        self.write(&[0])?;
        self.pad()
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let pad = (4 - self.written % 4) % 4;
        self.write(&[0u8; 3][..pad as usize])
    }
}

/// Archive paths are relative ("init", "usr/bin/lvm"); reject anything that could escape.
fn relative(path: &str) -> io::Result<&str> {
    let path = path.trim_start_matches('/');
    if path.is_empty()
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(invalid(format!("bad archive path {path:?}")));
    }
    Ok(path)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};

    fn sample() -> Vec<u8> {
        let mut w = CpioWriter::new(Vec::new());
        w.dir("/dev", 0o755).unwrap();
        w.dir("/tmp", 0o1777).unwrap();
        w.file("/init", 0o755, b"#!init\n").unwrap();
        w.file("/modules/virtio_blk.ko", 0o644, &[0xAA; 1001])
            .unwrap();
        w.file("/etc/empty", 0o600, b"").unwrap();
        w.symlink("/etc/mtab", "/proc/mounts").unwrap();
        let (bytes, size) = w.finish().unwrap();
        assert_eq!(size, bytes.len() as u64);
        assert_eq!(size % 512, 0);
        bytes
    }

    fn cpio(args: &[&str], dir: &std::path::Path, input: &[u8]) -> String {
        use std::io::Write;
        let mut child = Command::new("cpio")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run cpio (apt-get install cpio)");
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "cpio {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn cpio_lists_the_entries_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let listing = cpio(&["-t", "--quiet"], dir.path(), &sample());
        let names: Vec<&str> = listing.lines().collect();
        assert_eq!(
            names,
            [
                "dev",
                "tmp",
                "init",
                "modules",
                "modules/virtio_blk.ko",
                "etc",
                "etc/empty",
                "etc/mtab"
            ]
        );
    }

    #[test]
    fn cpio_extracts_modes_contents_and_links() {
        let dir = tempfile::tempdir().unwrap();
        cpio(
            &[
                "-i",
                "--quiet",
                "--make-directories",
                "--no-absolute-filenames",
            ],
            dir.path(),
            &sample(),
        );
        let mode = |p: &str| {
            std::fs::symlink_metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
        };
        assert_eq!(mode("init") & 0o7777, 0o755);
        assert_eq!(mode("tmp") & 0o7777, 0o1777);
        assert_eq!(mode("etc/empty") & 0o7777, 0o600);
        assert_eq!(std::fs::read(dir.path().join("init")).unwrap(), b"#!init\n");
        assert_eq!(
            std::fs::read(dir.path().join("modules/virtio_blk.ko")).unwrap(),
            vec![0xAA; 1001]
        );
        assert_eq!(
            std::fs::read_link(dir.path().join("etc/mtab")).unwrap(),
            std::path::Path::new("/proc/mounts")
        );
    }

    #[test]
    fn bad_paths_and_duplicates_are_refused() {
        let mut w = CpioWriter::new(Vec::new());
        assert!(w.file("../etc/passwd", 0o644, b"x").is_err());
        assert!(w.file("/a/./b", 0o644, b"x").is_err());
        assert!(w.file("/", 0o644, b"x").is_err());
        w.file("/a", 0o644, b"x").unwrap();
        assert!(w.file("/a", 0o644, b"y").is_err());
        let mut short = &b"abc"[..];
        assert!(w.file_from("/b", 0o644, 10, &mut short).is_err());
    }
}
