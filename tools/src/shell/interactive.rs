//! The prompt: line editing, history kept per user, tab completion, Ctrl-C that cancels the
//! running command (the handler is installed by the caller), Ctrl-D that leaves.

use super::complete::ShellHelper;
use super::script::LineSource;
use super::{report, Shell, Stop, EXIT_APPLIANCE, EXIT_OK};
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::Editor;
use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::rc::Rc;

/// The prompt guestfish users know.
const PROMPT: &str = "><fs> ";

type ShellEditor = Editor<ShellHelper, FileHistory>;

/// Lines typed at the prompt (for here-documents).
struct Typed<'a>(&'a mut ShellEditor);

impl LineSource for Typed<'_> {
    fn next_line(&mut self, prompt: &str) -> Option<String> {
        self.0.readline(prompt).ok()
    }
}

/// Where the history is kept: `$XDG_STATE_HOME/guestwright/history`, else
/// `~/.local/state/guestwright/history`.
pub fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(state.join("guestwright").join("history"))
}

fn save_history(editor: &mut ShellEditor, path: &std::path::Path) {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent() {
        // The history may hold guest paths and file contents: private to the user.
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
    }
    if let Err(e) = editor.save_history(path) {
        log::warn!("cannot save the history in {}: {e}", path.display());
    }
}

/// Runs the prompt until `quit` or Ctrl-D, then stops the appliance. Returns the exit code.
pub fn run(shell: Shell) -> u8 {
    let shell = Rc::new(RefCell::new(shell));
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .history_ignore_space(true)
        .auto_add_history(false)
        .build();
    let mut editor = match ShellEditor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("guestwright: cannot edit lines on this terminal ({e}); reading commands as a script");
            return close(&shell, |s| {
                s.run_source(&mut super::script::Reader::stdin())
            });
        }
    };
    editor.set_helper(Some(ShellHelper::new(shell.clone())));
    let history = history_path();
    if let Some(p) = &history {
        let _ = editor.load_history(p);
    }
    println!(
        "\nWelcome to guestwright shell, for editing virtual machine disk images.\n\n\
         Type: 'help' for the commands, 'help CMD' for one of them,\n      \
         'quit' or Ctrl-D to leave. Ctrl-C cancels the running command.\n"
    );
    let stdout_is_terminal = std::io::stdout().is_terminal();
    loop {
        // A stop signal while the prompt waits interrupts it (see `signals`).
        crate::signals::at_prompt(true);
        if crate::signals::received().is_some() {
            crate::signals::at_prompt(false);
            break;
        }
        let read = if stdout_is_terminal {
            editor.readline(PROMPT)
        } else {
            match plain_line() {
                Some(read) => read,
                None => {
                    crate::signals::at_prompt(false);
                    break;
                }
            }
        };
        crate::signals::at_prompt(false);
        match read {
            Ok(line) => {
                // A line with a key (luks-open) is never written to the history file.
                let first = line.split_whitespace().next().unwrap_or("");
                if !first.is_empty() && !super::table::takes_secret(first.trim_start_matches('-')) {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let stop = shell.borrow_mut().run_text(&line, &mut Typed(&mut editor));
                // SIGTERM or SIGHUP stopped the command: the shell goes too.
                if stop == Err(Stop::Quit) || crate::signals::received().is_some() {
                    break;
                }
            }
            // SIGTERM or SIGHUP while waiting: the shell goes.
            Err(ReadlineError::Interrupted) if crate::signals::received().is_some() => {
                println!();
                break;
            }
            // Ctrl-C at the prompt only clears the line.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => {
                println!();
                break;
            }
            Err(e) => {
                eprintln!("guestwright: cannot read the line: {e}");
                break;
            }
        }
    }
    if let Some(p) = &history {
        save_history(&mut editor, p);
    }
    close(&shell, |_| Ok(()))
}

fn close(shell: &Rc<RefCell<Shell>>, then: impl FnOnce(&mut Shell) -> Result<(), Stop>) -> u8 {
    let mut shell = shell.borrow_mut();
    let stop = then(&mut shell);
    let mut code = match stop {
        Err(Stop::Failed(code)) => code,
        _ => EXIT_OK,
    };
    if let Err(e) = shell.close() {
        report(&e);
        code = EXIT_APPLIANCE;
    }
    shell.settings.fire("close");
    if let Some(sig) = crate::signals::received() {
        let _ = crate::signals::report(sig);
        code = crate::signals::status(sig);
    }
    code
}

/// A line read from the terminal while standard output is not one (`guestwright shell >
/// log`): the line editor would read the terminal as a plain stream, which SIGINT does not
/// interrupt. This prints the prompt and waits until a line is there (the terminal is in
/// canonical mode) or a stop signal came (`None`).
fn plain_line() -> Option<Result<String, ReadlineError>> {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout();
    let _ = out.write_all(PROMPT.as_bytes());
    let _ = out.flush();
    if crate::signals::wait_readable(libc::STDIN_FILENO).is_err() {
        return None;
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    Some(match read {
        Ok(0) => Err(ReadlineError::Eof),
        Ok(_) => {
            let trimmed = line.trim_end_matches(['\n', '\r']).len();
            line.truncate(trimmed);
            Ok(line)
        }
        Err(e) => Err(ReadlineError::Io(e)),
    })
}
