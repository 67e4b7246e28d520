//! guestfish's journal commands (cmds-libs) on the carried `journalctl`: `journal-open`
//! starts `journalctl --directory=DIR -o export` and entries are read from its output as the
//! cursor reaches them, so a large journal is never held whole. One journal is open for the
//! daemon, as libguestfs keeps one (`journal-open` replaces it, `journal-close` drops it).
//! Errors are worded as libguestfs's daemon words them (its calls into sd-journal).
//!
//! libsystemd itself cannot be loaded into the static daemon (it needs dynamic TLS, which
//! glibc's static `dlopen` does not set up), hence the program. The cursor follows
//! sd-journal's rules: it starts before the first entry, `next` at the end leaves it on the
//! last one, and skipping moves as far as it can and says how far.
//!
//! Known difference: sd-journal truncates *compressed* fields longer than the data threshold
//! (journald compresses fields of 512 bytes and more); the export stream does not say which
//! fields were compressed, so fields are returned whole. The threshold is kept and reported.

use crate::boot::{reaper, tools};
use crate::fs::clib::{error, perror};
use crate::fs::guestfs;
use guestwright_protocol::{Errno, FishXAttr, GuestPath};
use guestwright_sync::Mutex;
use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};

/// sd-journal's default data threshold (`DEFAULT_DATA_THRESHOLD`, 64 KiB).
const DEFAULT_THRESHOLD: u64 = 64 * 1024;

/// One journal entry: its wall-clock time and its fields in the order sd-journal gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    realtime_usec: u64,
    fields: Vec<(String, Vec<u8>)>,
}

/// The open journal: `journalctl`'s output, the entries read from it so far and the cursor.
struct Open {
    child: Option<Child>,
    stream: Option<BufReader<ChildStdout>>,
    entries: Vec<Entry>,
    /// The current entry's index; `None` before the first.
    current: Option<usize>,
    threshold: u64,
}

static JOURNAL: Mutex<Option<Open>> = Mutex::new(None);

/// Whether the appliance can run the journal commands (the `journal` group).
pub fn available() -> bool {
    tools::has("journalctl")
}

fn missing(call: &str) -> io::Error {
    error(
        call,
        Errno::EINVAL,
        format_args!(
            "do_{call}: you must call 'journal-open' first to initialize the journal handle"
        ),
    )
}

/// Runs `f` on the open journal, or fails as libguestfs does when none is open.
fn with<T>(call: &str, f: impl FnOnce(&mut Open) -> io::Result<T>) -> io::Result<T> {
    // Held for one command: a journal-close waits for the command using the journal.
    let mut guard = JOURNAL.lock();
    let open = guard.as_mut().ok_or_else(|| missing(call))?;
    let result = f(open);
    drop(guard);
    result
}

/// `journal_open`: the journal files in the guest directory `directory`.
pub fn open(directory: &GuestPath) -> io::Result<()> {
    const CALL: &str = "journal_open";
    let opened = |e: io::Error| {
        perror(
            CALL,
            e.raw_os_error().unwrap_or(libc::EIO),
            format_args!("sd_journal_open_directory: {directory}"),
        )
    };
    let dir = guestfs::open(directory, libc::O_PATH | libc::O_DIRECTORY, 0).map_err(opened)?;
    let real = guestfs::real_path(&dir)?;
    let program = tools::find("journalctl")?;
    let mut cmd = Command::new(program);
    cmd.arg("--directory")
        .arg(&real)
        .args(["--output=export", "--no-pager", "--quiet"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .env("SYSTEMD_COLORS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = reaper::spawn(&mut cmd)
        .map_err(|e| io::Error::new(e.kind(), format!("{CALL}: cannot run journalctl: {e}")))?;
    let stream = child.stdout.take().map(BufReader::new);
    let new = Open {
        child: Some(child),
        stream,
        entries: Vec::new(),
        current: None,
        threshold: DEFAULT_THRESHOLD,
    };
    let old = JOURNAL.lock().replace(new);
    if let Some(old) = old {
        old.finish();
    }
    Ok(())
}

/// `journal_close`.
pub fn close() -> io::Result<()> {
    let old = JOURNAL.lock().take();
    old.ok_or_else(|| missing("journal_close"))?.finish();
    Ok(())
}

/// `journal_next`: false at the end (the cursor stays on the last entry).
pub fn next() -> io::Result<bool> {
    with("journal_next", |j| Ok(j.forward(1)? == 1))
}

/// `journal_skip`: the number of entries skipped, backwards when `skip` is negative.
pub fn skip(skip: i64) -> io::Result<i64> {
    with("journal_skip", |j| {
        let moved = if skip >= 0 {
            j.forward(skip.unsigned_abs())?
        } else {
            j.backward(skip.unsigned_abs())
        };
        Ok(moved as i64)
    })
}

/// `journal_get`: every field of the current entry, split at the first `=`.
pub fn get() -> io::Result<Vec<FishXAttr>> {
    // libguestfs implements journal_get on the host over this daemon call, named in errors.
    const CALL: &str = "internal_journal_get";
    with(CALL, |j| {
        let entry = j
            .entry()
            .ok_or_else(|| perror(CALL, libc::EADDRNOTAVAIL, "sd_journal_enumerate_data"))?;
        Ok(entry
            .fields
            .iter()
            .map(|(name, value)| FishXAttr {
                attrname: name.clone(),
                attrval: value.clone(),
            })
            .collect())
    })
}

/// `journal_get_data_threshold`.
pub fn get_data_threshold() -> io::Result<i64> {
    with("journal_get_data_threshold", |j| {
        Ok(i64::try_from(j.threshold).unwrap_or(i64::MAX))
    })
}

/// `journal_set_data_threshold` (sd-journal takes any size; negative ones wrap, as in C).
pub fn set_data_threshold(threshold: i64) -> io::Result<()> {
    with("journal_set_data_threshold", |j| {
        j.threshold = threshold as u64;
        Ok(())
    })
}

/// `journal_get_realtime_usec`.
pub fn get_realtime_usec() -> io::Result<i64> {
    const CALL: &str = "journal_get_realtime_usec";
    with(CALL, |j| {
        let entry = j
            .entry()
            .ok_or_else(|| perror(CALL, libc::EADDRNOTAVAIL, "sd_journal_get_realtime_usec"))?;
        Ok(entry.realtime_usec as i64)
    })
}

impl Open {
    fn entry(&self) -> Option<&Entry> {
        self.entries.get(self.current?)
    }

    /// Whether entry `index` exists, reading `journalctl`'s output up to it.
    fn reach(&mut self, index: usize) -> io::Result<bool> {
        while self.entries.len() <= index {
            let Some(stream) = self.stream.as_mut() else {
                return Ok(false);
            };
            match read_entry(stream) {
                Ok(Some(entry)) => self.entries.push(entry),
                Ok(None) => {
                    self.stream = None;
                    return Ok(false);
                }
                Err(e) => {
                    self.stream = None;
                    return Err(perror(
                        "journal_next",
                        e.raw_os_error().unwrap_or(libc::EBADMSG),
                        "sd_journal_next",
                    ));
                }
            }
        }
        Ok(true)
    }

    /// Moves up to `n` entries forward; how many it moved.
    fn forward(&mut self, n: u64) -> io::Result<u64> {
        let mut moved = 0;
        while moved < n {
            let next = self.current.map_or(0, |c| c + 1);
            if !self.reach(next)? {
                break;
            }
            self.current = Some(next);
            moved += 1;
        }
        Ok(moved)
    }

    /// Moves up to `n` entries back; how many it moved (none from before the first).
    fn backward(&mut self, n: u64) -> u64 {
        let Some(current) = self.current else {
            return 0;
        };
        let moved = n.min(current as u64);
        self.current = Some(current - moved as usize);
        moved
    }

    /// Stops `journalctl` (it may be blocked writing entries nobody reads) and reaps it.
    fn finish(mut self) {
        self.stream = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = reaper::wait(child);
        }
    }
}

/// Reads one entry of journal export format: `NAME=value` lines, or `NAME`, a 64-bit
/// little-endian length and that many bytes for binary values, ended by an empty line.
/// Fields named `__*` are the stream's own (cursor, timestamps) and not the entry's.
fn read_entry(r: &mut impl BufRead) -> io::Result<Option<Entry>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut entry = Entry {
        realtime_usec: 0,
        fields: Vec::new(),
    };
    let mut started = false;
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return if started {
                Err(bad("journal export stream ends inside an entry"))
            } else {
                Ok(None)
            };
        }
        if line.pop() != Some(b'\n') {
            return Err(bad("journal export stream ends inside a field"));
        }
        if line.is_empty() {
            if started {
                return Ok(Some(entry));
            }
            continue;
        }
        started = true;
        let (name, value) = match line.iter().position(|&b| b == b'=') {
            Some(eq) => (line[..eq].to_vec(), line[eq + 1..].to_vec()),
            None => {
                let mut len = [0u8; 8];
                r.read_exact(&mut len)?;
                let len = usize::try_from(u64::from_le_bytes(len))
                    .map_err(|_| bad("journal field too large"))?;
                let mut value = Vec::new();
                r.by_ref().take(len as u64).read_to_end(&mut value)?;
                let mut nl = [0u8; 1];
                r.read_exact(&mut nl)?;
                if value.len() != len || nl[0] != b'\n' {
                    return Err(bad("journal export stream: bad binary field"));
                }
                (line, value)
            }
        };
        let name = String::from_utf8_lossy(&name).into_owned();
        if name == "__REALTIME_TIMESTAMP" {
            entry.realtime_usec = std::str::from_utf8(&value)
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad("journal export stream: bad __REALTIME_TIMESTAMP"))?;
        } else if !name.starts_with("__") {
            entry.fields.push((name, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_entries_with_text_and_binary_fields() {
        let mut s = b"__CURSOR=s=1\n__REALTIME_TIMESTAMP=1600000000000000\n\
            _BOOT_ID=5eed\nMESSAGE=hi\n\n__REALTIME_TIMESTAMP=7\nDATA\n"
            .to_vec();
        s.extend_from_slice(&3u64.to_le_bytes());
        s.extend_from_slice(b"a\nb\nX=y\n\n");
        let mut r = io::Cursor::new(s);
        let e1 = read_entry(&mut r).unwrap().unwrap();
        assert_eq!(e1.realtime_usec, 1_600_000_000_000_000);
        assert_eq!(
            e1.fields,
            [
                ("_BOOT_ID".to_string(), b"5eed".to_vec()),
                ("MESSAGE".to_string(), b"hi".to_vec())
            ]
        );
        let e2 = read_entry(&mut r).unwrap().unwrap();
        assert_eq!(e2.realtime_usec, 7);
        assert_eq!(
            e2.fields,
            [
                ("DATA".to_string(), b"a\nb".to_vec()),
                ("X".to_string(), b"y".to_vec())
            ]
        );
        assert_eq!(read_entry(&mut r).unwrap(), None);
    }

    #[test]
    fn truncated_export_stream_is_an_error() {
        let mut r = io::Cursor::new(b"MESSAGE=hi\n".to_vec());
        assert!(read_entry(&mut r).is_err());
        let mut r = io::Cursor::new(b"DATA\n\x09\0\0\0\0\0\0\0ab".to_vec());
        assert!(read_entry(&mut r).is_err());
    }

    #[test]
    fn cursor_follows_sd_journal() {
        let entry = |t| Entry {
            realtime_usec: t,
            fields: Vec::new(),
        };
        let mut j = Open {
            child: None,
            stream: None,
            entries: vec![entry(1), entry(2), entry(3)],
            current: None,
            threshold: DEFAULT_THRESHOLD,
        };
        assert_eq!(j.backward(1), 0);
        assert_eq!(j.forward(1).unwrap(), 1);
        assert_eq!(j.entry().unwrap().realtime_usec, 1);
        assert_eq!(j.forward(5).unwrap(), 2);
        assert_eq!(j.forward(1).unwrap(), 0);
        assert_eq!(j.entry().unwrap().realtime_usec, 3);
        assert_eq!(j.backward(2), 2);
        assert_eq!(j.entry().unwrap().realtime_usec, 1);
        assert_eq!(j.backward(2), 0);
    }
}
