//! Where command lines come from (a script file, standard input, the output of `<!`, the
//! prompt) and the standard input a command reads (`upload - PATH`, here-documents).

use super::ShellError;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// A source of lines. The prompt is only used by the interactive source.
pub trait LineSource {
    /// The next line without its newline, or `None` at the end.
    fn next_line(&mut self, prompt: &str) -> Option<String>;
}

/// Lines from a reader: a script, standard input, or text.
pub struct Reader {
    /// `None`: standard input, whose buffer the keys read with `--keys-from-stdin` share.
    inner: Option<Box<dyn BufRead>>,
    name: String,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("name", &self.name).finish()
    }
}

impl Reader {
    /// Lines of standard input. A stop signal ends the wait for the next line (see
    /// `signals::wait_readable`). Its buffer is the one `--keys-from-stdin` reads keys from
    /// (`crate::stdin`), so a key is the script's next line, as in guestfish.
    pub fn stdin() -> Reader {
        Reader {
            inner: None,
            name: "standard input".into(),
        }
    }

    /// Lines of a string.
    pub fn text(text: String) -> Reader {
        Reader {
            inner: Some(Box::new(io::Cursor::new(text.into_bytes()))),
            name: "text".into(),
        }
    }
}

impl LineSource for Reader {
    fn next_line(&mut self, _: &str) -> Option<String> {
        let mut buf = Vec::new();
        let read = match &mut self.inner {
            Some(inner) => inner.read_until(b'\n', &mut buf),
            None => crate::stdin::read_line_into(&mut buf),
        };
        match read {
            Ok(0) => None,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                Some(String::from_utf8_lossy(&buf).into_owned())
            }
            // SIGTERM or SIGHUP while waiting: no line, and the caller reports the signal.
            Err(_) if crate::signals::received().is_some() => None,
            Err(e) => {
                eprintln!("guestwright: cannot read {}: {e}", self.name);
                None
            }
        }
    }
}

/// No lines at all (commands from the command line have no here-documents).
#[derive(Debug)]
pub struct NoLines;

impl LineSource for NoLines {
    fn next_line(&mut self, _: &str) -> Option<String> {
        None
    }
}

/// Opens a script (`-` is standard input).
pub fn open(path: &Path) -> Result<Box<dyn LineSource>, ShellError> {
    if path == Path::new("-") {
        return Ok(Box::new(Reader::stdin()));
    }
    let file = std::fs::File::open(path).map_err(|source| ShellError::HostIo {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Box::new(Reader {
        inner: Some(Box::new(BufReader::new(file))),
        name: path.display().to_string(),
    }))
}

/// Reads the lines of a here-document up to the line that is exactly `end`.
pub fn heredoc(source: &mut dyn LineSource, end: &str) -> Result<Vec<u8>, ShellError> {
    let mut data = Vec::new();
    loop {
        match source.next_line("> ") {
            Some(line) if line == end => return Ok(data),
            Some(line) => {
                data.extend_from_slice(line.as_bytes());
                data.push(b'\n');
            }
            None => {
                return Err(ShellError::Usage(format!(
                    "the here-document ended without its '{end}' line"
                )))
            }
        }
    }
}

/// What `-` means as an input file for a command.
#[derive(Debug)]
pub enum Input {
    /// The shell's standard input.
    Stdin,
    /// A here-document.
    Bytes(Vec<u8>),
}

impl Input {
    /// A reader over it.
    pub fn reader(&mut self) -> Box<dyn Read + '_> {
        match self {
            Input::Stdin => Box::new(io::stdin().lock()),
            Input::Bytes(b) => Box::new(io::Cursor::new(std::mem::take(b))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_heredocs() {
        let mut r = Reader::text("a\r\nupload -<<EOF /x\none\n two\nEOF\nlast".into());
        assert_eq!(r.next_line("").as_deref(), Some("a"));
        assert_eq!(r.next_line("").as_deref(), Some("upload -<<EOF /x"));
        assert_eq!(heredoc(&mut r, "EOF").unwrap(), b"one\n two\n");
        assert_eq!(r.next_line("").as_deref(), Some("last"));
        assert_eq!(r.next_line(""), None);
        let mut r = Reader::text("x\n".into());
        assert!(heredoc(&mut r, "END").is_err());
    }
}
