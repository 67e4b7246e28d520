//! Where a command's output goes, and how a reply is printed there.
//!
//! Output goes to standard output, or into a host command for `COMMAND | HOST-COMMAND`.
//! Replies print as guestfish prints them (the protocol's `ShellText`), or as one JSON value
//! per line with `--json`. Guest-supplied names are escaped when the output is a terminal:
//! a file named `\e]2;pwned\a` must not retitle the user's terminal. A pipe gets raw bytes,
//! since a program reads them.

use super::json;
use guestwright::protocol::shell::ShellText;
use guestwright::protocol::Reply;
use std::io::{self, IsTerminal, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};

/// A command's output.
#[derive(Debug)]
pub struct Output {
    sink: Sink,
    /// Set when standard output was closed by its reader: the shell stops quietly.
    pub stdout_closed: bool,
}

/// Whether an error is the reader of the output going away.
pub fn is_broken_pipe(e: &guestwright::Error) -> bool {
    matches!(e, guestwright::Error::Transfer { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
}

#[derive(Debug)]
enum Sink {
    Stdout {
        escape: bool,
    },
    Pipe {
        child: Child,
        stdin: Option<ChildStdin>,
        command: String,
    },
}

/// How a piped host command ended badly.
#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    /// It could not be started.
    #[error("cannot run `{command}` with sh")]
    Spawn {
        /// The host command.
        command: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// It ran and failed.
    #[error("host command `{command}` failed ({status})")]
    Failed {
        /// The host command.
        command: String,
        /// How it ended.
        status: ExitStatus,
    },
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Output {
        Output {
            sink: Sink::Stdout {
                escape: io::stdout().is_terminal(),
            },
            stdout_closed: false,
        }
    }

    /// A host command run with `sh -c`, reading the output on its standard input.
    pub fn pipe(command: &str) -> Result<Output, PipeError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|source| PipeError::Spawn {
                command: command.to_string(),
                source,
            })?;
        let stdin = child.stdin.take();
        Ok(Output {
            sink: Sink::Pipe {
                child,
                stdin,
                command: command.to_string(),
            },
            stdout_closed: false,
        })
    }

    /// Whether guest names must be escaped here.
    pub fn escape(&self) -> bool {
        matches!(self.sink, Sink::Stdout { escape: true })
    }

    /// Writes bytes. A reader that went away is not an error: for a pipe it is the host
    /// command's choice (`| head -1`); for standard output the shell stops quietly.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let result = match &mut self.sink {
            Sink::Stdout { .. } => {
                let mut out = io::stdout().lock();
                out.write_all(bytes).and_then(|()| out.flush())
            }
            Sink::Pipe { stdin, .. } => match stdin {
                Some(w) => w.write_all(bytes),
                None => Ok(()),
            },
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                match &mut self.sink {
                    Sink::Stdout { .. } => self.stdout_closed = true,
                    Sink::Pipe { stdin, .. } => *stdin = None,
                }
                Ok(())
            }
            other => other,
        }
    }

    /// Whether the reader went away (`| head -1`, or standard output closed): a transfer
    /// into it stops, and that is not the command's failure.
    pub fn reader_gone(&self) -> bool {
        match &self.sink {
            Sink::Stdout { .. } => self.stdout_closed,
            Sink::Pipe { stdin, .. } => stdin.is_none(),
        }
    }

    /// Prints a reply as text or JSON. With `as_string` the text is printed as guestfish
    /// prints a string result, which stops at the first NUL byte and ends with a newline:
    /// `cat` prints a file that way, `read-file` prints its bytes as they are.
    pub fn reply(&mut self, reply: &Reply, as_json: bool, as_string: bool) -> io::Result<()> {
        let mut buf = Vec::new();
        if as_json {
            let value = json::to_value(reply).map_err(io::Error::other)?;
            if value.is_null() {
                return Ok(());
            }
            buf = serde_json::to_vec(&value).map_err(io::Error::other)?;
            buf.push(b'\n');
        } else {
            reply.shell_text(&mut buf, self.escape());
            if as_string {
                as_c_string(&mut buf);
            }
        }
        self.write_all(&buf)
    }

    /// A `Write` for streamed output (`download PATH -`).
    pub fn writer(&mut self) -> OutputWriter<'_> {
        OutputWriter(self)
    }

    /// Closes the pipe and waits for the host command; its failure is the command's.
    pub fn finish(self) -> Result<(), PipeError> {
        match self.sink {
            Sink::Stdout { .. } => Ok(()),
            Sink::Pipe {
                mut child,
                stdin,
                command,
            } => {
                drop(stdin);
                let status = child.wait().map_err(|source| PipeError::Spawn {
                    command: command.clone(),
                    source,
                })?;
                if status.success() {
                    Ok(())
                } else {
                    Err(PipeError::Failed { command, status })
                }
            }
        }
    }
}

/// Makes text what guestfish prints for a string result: the bytes before the first NUL
/// (where the C string ends), then a newline.
fn as_c_string(text: &mut Vec<u8>) {
    if let Some(nul) = text.iter().position(|&b| b == 0) {
        text.truncate(nul);
    }
    text.push(b'\n');
}

/// [`Output`] as a `Write`.
#[derive(Debug)]
pub struct OutputWriter<'a>(&'a mut Output);

impl Write for OutputWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        if self.0.reader_gone() {
            // Stop the transfer: nobody reads it any more.
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_result_stops_at_nul_and_ends_the_line() {
        for (text, printed) in [
            (&b"no newline"[..], &b"no newline\n"[..]),
            (b"line\n", b"line\n\n"),
            (b"", b"\n"),
            (b"before\0after\n", b"before\n"),
            (b"\0\x01\x02", b"\n"),
            (b"caf\xc3\xa9 \xff", b"caf\xc3\xa9 \xff\n"),
        ] {
            let mut buf = text.to_vec();
            as_c_string(&mut buf);
            assert_eq!(buf, printed, "{text:?}");
        }
    }

    #[test]
    fn a_pipe_gets_the_bytes_and_its_status_counts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out");
        let mut out = Output::pipe(&format!("cat > '{}'", file.display())).unwrap();
        assert!(!out.escape());
        out.write_all(b"raw \x1b bytes\n").unwrap();
        out.finish().unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"raw \x1b bytes\n");

        let out = Output::pipe("exit 3").unwrap();
        let err = out.finish().unwrap_err();
        assert!(err.to_string().contains("exit status: 3"), "{err}");

        // A reader that stops early is fine.
        let mut out = Output::pipe("head -c 1 >/dev/null").unwrap();
        for _ in 0..1000 {
            out.write_all(&[b'x'; 4096]).unwrap();
        }
        out.finish().unwrap();
    }
}
