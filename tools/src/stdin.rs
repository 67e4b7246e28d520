//! Standard input as one buffered stream of lines for everyone who reads it: the shell's
//! script (`guestwright shell < script`) and the LUKS keys of `--keys-from-stdin`, which
//! guestfish reads from the same stream (the key is the script's next line). Each reader
//! taking its own buffer would swallow the other's lines.
//!
//! Must never be used for a command's binary input (`upload -`): that reads the file
//! descriptor itself, as guestfish's does.

use guestwright_sync::Mutex;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::OnceLock;

/// Standard input whose reads wait with poll(2), so that a stop signal ends them.
struct StoppableStdin;

impl Read for StoppableStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        crate::signals::wait_readable(libc::STDIN_FILENO)?;
        io::stdin().lock().read(buf)
    }
}

fn shared() -> &'static Mutex<BufReader<StoppableStdin>> {
    static STDIN: OnceLock<Mutex<BufReader<StoppableStdin>>> = OnceLock::new();
    STDIN.get_or_init(|| Mutex::new(BufReader::new(StoppableStdin)))
}

/// Appends the next line of standard input, its `\n` included, to `buf`; returns how many
/// bytes were read (0 at the end).
pub fn read_line_into(buf: &mut Vec<u8>) -> io::Result<usize> {
    // Held while waiting for the line: only the shell's one thread reads standard input.
    shared().lock().read_until(b'\n', buf)
}
