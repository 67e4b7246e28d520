//! The extras disk: everything the appliance carries beyond what every boot needs (the
//! bigger kernel modules, the host tools and their libraries), as an uncompressed newc cpio
//! archive attached read-only as a raw disk with the serial `gwx`. Keeping it out of the
//! initramfs saves the kernel from unpacking ~30 MiB at every boot; the daemon copies out a
//! module when it first loads it, and the tools when one is first run.
//!
//! The archive comes from the host's appliance cache, but it is still parsed defensively:
//! names and sizes are checked, and nothing is written outside the appliance's root.

use guestwright_sync::Mutex;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The serial the host gives the extras disk (`guestwright_appliance::EXTRAS_SERIAL`).
pub const SERIAL: &str = crate::vblk::EXTRAS_SERIAL;
const HEADER: usize = 110;
const MAX_ENTRIES: usize = 100_000;
const MAX_NAME: usize = 4096;

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    mode: u32,
    data: u64,
    size: u64,
}

#[derive(Debug, Default)]
struct State {
    device: Option<PathBuf>,
    index: Option<Vec<Entry>>,
    extracted: HashMap<String, ()>,
    tools_done: bool,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| {
        Mutex::new(State {
            device: find_device(),
            ..State::default()
        })
    })
}

/// The kernel's node for the extras disk, found by its serial (bound first, in a restored
/// appliance that has not needed it yet).
fn find_device() -> Option<PathBuf> {
    if let Err(e) = crate::vblk::bind(crate::vblk::Role::Extras) {
        info!("the extras disk: {e}");
    }
    for entry in fs::read_dir("/sys/block").ok()?.flatten() {
        let serial = fs::read_to_string(entry.path().join("serial")).unwrap_or_default();
        if serial.trim() == SERIAL {
            return Some(Path::new("/dev").join(entry.file_name()));
        }
    }
    None
}

/// Whether `name` (a kernel disk name such as `vdc`) is the extras disk.
pub fn is_extras_disk(name: &str) -> bool {
    let serial =
        fs::read_to_string(Path::new("/sys/block").join(name).join("serial")).unwrap_or_default();
    serial.trim() == SERIAL
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("extras archive: {}", msg.into()),
    )
}

fn hex(field: &[u8]) -> io::Result<u64> {
    let text = std::str::from_utf8(field).map_err(|_| bad("header is not hex"))?;
    u64::from_str_radix(text, 16).map_err(|_| bad("header is not hex"))
}

/// Reads the archive's headers (not its data) into an index.
fn read_index(dev: &File) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut pos = 0u64;
    let mut header = [0u8; HEADER];
    loop {
        dev.read_exact_at(&mut header, pos)?;
        if &header[0..6] != b"070701" {
            return Err(bad(format!("bad magic at offset {pos}")));
        }
        let field = |i: usize| hex(&header[6 + i * 8..14 + i * 8]);
        let mode = field(1)? as u32;
        let size = field(6)?;
        let namesize = field(11)? as usize;
        if namesize == 0 || namesize > MAX_NAME {
            return Err(bad(format!("name of {namesize} bytes at offset {pos}")));
        }
        let mut name = vec![0u8; namesize];
        dev.read_exact_at(&mut name, pos + HEADER as u64)?;
        name.pop(); // the NUL
        let name = String::from_utf8(name).map_err(|_| bad("a name is not UTF-8"))?;
        let data = (pos + (HEADER + namesize) as u64).div_ceil(4) * 4;
        if name == "TRAILER!!!" {
            return Ok(entries);
        }
        if name.starts_with('/') || name.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(bad(format!("unsafe name {name:?}")));
        }
        entries.push(Entry {
            name,
            mode,
            data,
            size,
        });
        if entries.len() > MAX_ENTRIES {
            return Err(bad("too many entries"));
        }
        pos = (data + size).div_ceil(4) * 4;
    }
}

/// Copies one entry into the appliance's root filesystem.
fn extract(dev: &File, e: &Entry) -> io::Result<()> {
    const S_IFMT: u32 = 0o170000;
    let target = Path::new("/").join(&e.name);
    match e.mode & S_IFMT {
        0o040000 => match fs::DirBuilder::new()
            .recursive(true)
            .mode(e.mode & 0o7777)
            .create(&target)
        {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(err) => Err(err),
        },
        0o120000 => {
            let mut link = vec![0u8; e.size.min(MAX_NAME as u64) as usize];
            dev.read_exact_at(&mut link, e.data)?;
            let link = String::from_utf8(link).map_err(|_| bad("a link target is not UTF-8"))?;
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            match std::os::unix::fs::symlink(link, &target) {
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            }
        }
        0o100000 => {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            // Written beside and renamed, so a concurrent reader never sees half a file.
            let tmp = target.with_extension("extras-tmp");
            let mut out = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(e.mode & 0o7777)
                .open(&tmp)?;
            let mut reader = SliceReader {
                dev,
                pos: e.data,
                end: e.data + e.size,
            };
            io::copy(&mut reader, &mut out)?;
            fs::rename(&tmp, &target)
        }
        _ => Err(bad(format!("{}: unsupported entry type", e.name))),
    }
}

struct SliceReader<'a> {
    dev: &'a File,
    pos: u64,
    end: u64,
}

impl Read for SliceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.dev.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(bad("the archive ends inside a file"));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

fn with_index<T>(f: impl FnOnce(&File, &[Entry], &mut State) -> io::Result<T>) -> io::Result<T> {
    let mut st = state().lock();
    let device = st.device.clone().ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the appliance has no extras disk")
    })?;
    let dev = File::open(&device)?;
    if st.index.is_none() {
        let started = std::time::Instant::now();
        st.index = Some(read_index(&dev)?);
        debug!("read the extras index in {:?}", started.elapsed());
    }
    let index = st.index.take().unwrap_or_default();
    let result = f(&dev, &index, &mut st);
    st.index = Some(index);
    result
}

/// Copies `/name` (for example `modules/xfs.ko`) out of the extras if it is there.
/// Returns whether the archive held it.
pub fn fetch(name: &str) -> io::Result<bool> {
    with_index(|dev, index, st| {
        if st.extracted.contains_key(name) {
            return Ok(true);
        }
        let Some(entry) = index.iter().find(|e| e.name == name) else {
            return Ok(false);
        };
        extract(dev, entry)?;
        st.extracted.insert(name.to_string(), ());
        Ok(true)
    })
}

/// Copies the files one carried tool needs (`/usr/sbin/mdadm`, its loader and libraries:
/// absolute paths in the appliance) out of the extras, each once. Returns the number copied.
pub fn fetch_files(paths: &[&str]) -> io::Result<usize> {
    with_index(|dev, index, st| {
        let started = std::time::Instant::now();
        let mut copied = 0;
        for path in paths {
            let name = path.trim_start_matches('/');
            if st.tools_done || st.extracted.contains_key(name) {
                continue;
            }
            let Some(entry) = index.iter().find(|e| e.name == name) else {
                return Err(bad(format!("{path} is not in the extras")));
            };
            extract(dev, entry)?;
            st.extracted.insert(name.to_string(), ());
            copied += 1;
        }
        if copied > 0 {
            debug!(
                "copied {copied} files out of the extras in {:?}",
                started.elapsed()
            );
        }
        Ok(copied)
    })
}

/// Copies every carried tool and library out of the extras, once.
pub fn ensure_tools() -> io::Result<()> {
    with_index(|dev, index, st| {
        if st.tools_done {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let mut bytes = 0;
        for entry in index.iter().filter(|e| !e.name.starts_with("modules/")) {
            if st.extracted.contains_key(&entry.name) {
                continue;
            }
            extract(dev, entry)?;
            bytes += entry.size;
        }
        st.tools_done = true;
        debug!(
            "copied {bytes} bytes of tools out of the extras in {:?}",
            started.elapsed()
        );
        Ok(())
    })
}
