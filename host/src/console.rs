//! The appliance's console (the kernel's and the daemon's messages) and QEMU's own stderr,
//! kept in a bounded buffer so a failure can show the last lines, and echoed to stderr in
//! verbose mode. Console text comes from the appliance and is escaped before it reaches a
//! terminal.
//!
//! ```
//! use guestwright::console::Console;
//! use std::time::Duration;
//!
//! let console = Console::default();
//! // QEMU's stdout in a real launch; any reader here.
//! console.capture(&b"[    0.412] virtio_blk virtio1: [vda] 131072 512-byte logical blocks\ndaemon: ready\n"[..], "", false);
//! assert!(console.wait_ended(Duration::from_secs(10)));
//! assert_eq!(console.tail(1), "daemon: ready");
//! assert_eq!(console.all().lines().count(), 2);
//! ```

use guestwright_sync::Mutex;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;

/// Bytes of console output kept.
const KEEP: usize = 64 * 1024;

/// A shared, bounded log of console lines.
#[derive(Debug, Clone, Default)]
pub struct Console {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    lines: VecDeque<String>,
    bytes: usize,
    /// The source reached its end (the process exited).
    ended: bool,
}

impl Console {
    /// Starts a thread that copies lines from `source` into the buffer, each prefixed with
    /// `prefix`, and to stderr when `echo` is set.
    pub fn capture(&self, source: impl Read + Send + 'static, prefix: &'static str, echo: bool) {
        let inner = self.inner.clone();
        let _ = std::thread::Builder::new()
            .name("console".into())
            .spawn(move || {
                let mut reader = BufReader::new(source);
                let mut raw = Vec::new();
                loop {
                    raw.clear();
                    // Lines are bounded so one endless line cannot grow memory.
                    match reader.by_ref().take(4096).read_until(b'\n', &mut raw) {
                        Ok(0) | Err(_) => {
                            inner.lock().ended = true;
                            break;
                        }
                        Ok(_) => {}
                    }
                    while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        raw.pop();
                    }
                    let line = format!("{prefix}{}", guestwright_protocol::escape_bytes(&raw));
                    if echo {
                        let _ = writeln!(std::io::stderr().lock(), "{line}");
                    }
                    let mut g = inner.lock();
                    g.bytes += line.len() + 1;
                    g.lines.push_back(line);
                    while g.bytes > KEEP {
                        match g.lines.pop_front() {
                            Some(old) => g.bytes -= old.len() + 1,
                            None => break,
                        }
                    }
                }
            });
    }

    /// The last `n` lines.
    pub fn tail(&self, n: usize) -> String {
        let g = self.inner.lock();
        let skip = g.lines.len().saturating_sub(n);
        g.lines
            .iter()
            .skip(skip)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Everything kept.
    pub fn all(&self) -> String {
        self.tail(usize::MAX)
    }

    /// Waits up to `limit` for the source to end, so that a process's last words are in
    /// (a fixed pause loses them on a loaded machine). Returns whether it ended.
    pub fn wait_ended(&self, limit: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + limit;
        loop {
            let ended = self.inner.lock().ended;
            if ended || std::time::Instant::now() >= until {
                return ended;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_escaped_tail() {
        let c = Console::default();
        let mut text = Vec::new();
        for i in 0..10_000 {
            text.extend_from_slice(format!("line {i} \x1b[31mred\n").as_bytes());
        }
        c.capture(std::io::Cursor::new(text), "", false);
        for _ in 0..200 {
            if c.tail(1).contains("line 9999") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(c.tail(1), "line 9999 \\e[31mred");
        assert!(c.all().len() <= KEEP + 100);
        assert!(!c.all().contains("line 0 "));
    }
}
