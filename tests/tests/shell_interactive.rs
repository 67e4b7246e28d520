//! `guestwright shell` at its prompt, driven through a real terminal (tmux): typing a
//! command, tab completion of a guest path, history, escaping of hostile guest names,
//! Ctrl-C cancelling a long download without leaving the shell, a killed QEMU replaced by
//! the next command, Ctrl-D leaving cleanly, no QEMU left behind, and the history kept for
//! next time.

use guestwright_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A private tmux server running one pane.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(dir: &Path, command: &str) -> Tmux {
        require("tmux", "tmux");
        let t = Tmux {
            socket: dir.join("tmux.sock"),
        };
        t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "gw",
            "-x",
            "160",
            "-y",
            "50",
            command,
        ]);
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types keys (tmux key names such as `Enter`, `Tab`, `Up`, `C-c`, `C-d`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "gw"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Types text literally.
    fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "gw", "-l", text]);
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-t", "gw", "-S", "-500"])
    }

    /// Waits until the screen satisfies `done`; fails with the screen after `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if done(&s) {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "waited {timeout:?} for {what}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Processes whose command line mentions `needle` (QEMU names its runtime directory).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            // Neither tmux nor the pane's wrapper (`...; echo "shell exited with $?"; sleep
            // 600`), which mentions the same paths until it execs its sleep.
            if cmdline.contains(needle)
                && !cmdline.contains("tmux")
                && !cmdline.contains("shell exited with")
            {
                found.push(format!(
                    "{}: {cmdline}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

fn count(screen: &str, needle: &str) -> usize {
    screen.matches(needle).count()
}

/// An ext4 filesystem on a whole disk with a hostname, a 16 GiB sparse file to download
/// slowly, and a file whose name is a terminal escape sequence.
fn image(dir: &Path) -> PathBuf {
    require("mkfs.ext4", "e2fsprogs");
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::create_dir_all(tree.join("esc")).unwrap();
    std::fs::write(tree.join("etc/hostname"), "testhost\n").unwrap();
    std::fs::write(tree.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    std::fs::File::create(tree.join("big"))
        .unwrap()
        .set_len(16 << 30)
        .unwrap();
    std::fs::write(tree.join("esc/\x1b]2;pwned\x07\r"), "").unwrap();
    let img = dir.join("disk.img");
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&tree)
        .arg(&img)
        .arg("20G"));
    img
}

#[test]
fn the_prompt_completes_recalls_cancels_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let runtime = dir.path().join("run");
    let state = dir.path().join("state");
    std::fs::create_dir(&runtime).unwrap();
    let accel = std::env::var("GUESTWRIGHT_ACCEL").unwrap_or_else(|_| "tcg".into());
    let command = format!(
        "env GUESTWRIGHT_ACCEL={accel} XDG_RUNTIME_DIR={run} XDG_STATE_HOME={state} \
         {bin} shell -a {img} -m /dev/sda; echo \"shell exited with $?\"; sleep 600",
        run = runtime.display(),
        state = state.display(),
        bin = guestwright_bin().display(),
        img = img.display(),
    );
    let t = Tmux::start(dir.path(), &command);
    let minute = Duration::from_secs(60);
    t.wait_for("the prompt", 3 * minute, |s| s.contains("><fs> "));

    // A command.
    t.text("read-file /etc/hostname");
    t.keys(&["Enter"]);
    t.wait_for("the hostname", minute, |s| count(s, "testhost") == 1);

    // Tab completes a guest path the appliance lists.
    t.text("read-file /etc/hostn");
    t.keys(&["Tab"]);
    t.wait_for("the completed path", minute, |s| {
        s.lines()
            .any(|l| l.trim_end() == "><fs> read-file /etc/hostname")
    });
    t.keys(&["Enter"]);
    t.wait_for("the hostname again", minute, |s| count(s, "testhost") == 2);

    // Two candidates: the common part, then both listed.
    t.text("read-file /etc/ho");
    t.keys(&["Tab", "Tab"]);
    t.wait_for("both candidates", minute, |s| {
        s.lines()
            .any(|l| l.contains("hostname") && l.contains("hosts") && !l.contains("><fs>"))
    });
    t.keys(&["C-u"]);

    // Up recalls the previous command.
    t.keys(&["Up"]);
    t.wait_for("the recalled line", minute, |s| {
        s.trim_end().ends_with("><fs> read-file /etc/hostname")
    });
    t.keys(&["Enter"]);
    t.wait_for("the hostname a third time", minute, |s| {
        count(s, "testhost") == 3
    });

    // A hostile name is shown escaped: the terminal's title is not touched.
    t.text("ls /esc");
    t.keys(&["Enter"]);
    let s = t.wait_for("the escaped name", minute, |s| {
        s.contains("\\e]2;pwned\\x07\\r")
    });
    assert!(!s.contains("pwned\x07"), "{s}");
    let title = t.tmux(&["display-message", "-p", "-t", "gw", "#{pane_title}"]);
    assert!(
        !title.contains("pwned"),
        "the terminal's title became {title:?}"
    );

    // Ctrl-C cancels a long download (16 GiB of a sparse file), not the shell.
    t.text("download /big /dev/null");
    t.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(1500));
    let prompts = count(&t.screen(), "><fs> ");
    let pressed = Instant::now();
    t.keys(&["C-c"]);
    let s = t.wait_for("the cancelled download", minute, |s| {
        count(s, "><fs> ") > prompts
    });
    assert!(
        pressed.elapsed() < Duration::from_secs(10),
        "cancelling took {:?}",
        pressed.elapsed()
    );
    assert!(s.contains("guestwright: download /big: cancelled"), "{s}");
    // The appliance is still there.
    t.text("cat /etc/hostname");
    t.keys(&["Enter"]);
    t.wait_for("the hostname after the cancel", minute, |s| {
        count(s, "testhost") == 4
    });

    // QEMU killed behind the shell's back: the next command says so and starts a new
    // appliance with the same drive and mount. (`!` runs under sh, whose parent is the
    // shell; QEMU is matched by process name, as the sh's command line names it too.)
    t.text("!kill -KILL $(pgrep -P $PPID '^qemu')");
    t.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(1000));
    t.text("cat /etc/hostname");
    t.keys(&["Enter"]);
    let s = t.wait_for("the hostname from a new appliance", 3 * minute, |s| {
        count(s, "testhost") == 5
    });
    assert!(s.contains("the appliance is gone"), "{s}");

    // Ctrl-D leaves; the appliance is shut down.
    t.keys(&["C-d"]);
    t.wait_for("the shell to exit", minute, |s| {
        s.contains("shell exited with 0")
    });
    let left = processes_mentioning(runtime.to_str().unwrap());
    assert!(left.is_empty(), "processes left behind: {left:?}");

    // The history is kept, privately.
    let history = state.join("guestwright/history");
    let text = std::fs::read_to_string(&history).unwrap();
    assert!(text.contains("read-file /etc/hostname\n"), "{text}");
    assert!(text.contains("ls /esc\n"), "{text}");
    assert!(text.contains("download /big /dev/null\n"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(history.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

/// SIGTERM and SIGHUP to the shell idle at its prompt: it shuts the appliance down and
/// exits promptly (not after the 30 s limit for a command that does not stop) with 143 and
/// 129 and the one line that says the images were closed cleanly; no QEMU is left. Also
/// with standard output redirected to a file (`guestwright shell ... > log` on a terminal),
/// where the line editor reads the terminal without taking SIGINT.
#[test]
fn sigterm_and_sighup_at_the_prompt_end_the_shell_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let accel = std::env::var("GUESTWRIGHT_ACCEL").unwrap_or_else(|_| "tcg".into());
    let minute = Duration::from_secs(60);
    // Well under `signals::GRACE` (30 s), after which the shell stops at once anyway.
    let within = Duration::from_secs(20);
    for (signal, name, code, redirect) in [
        ("TERM", "SIGTERM", 143, false),
        ("HUP", "SIGHUP", 129, false),
        ("TERM", "SIGTERM", 143, true),
    ] {
        let case = dir.path().join(format!("{name}-{redirect}"));
        let runtime = case.join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let out_file = case.join("stdout");
        let redirection = if redirect {
            format!(" > {}", out_file.display())
        } else {
            String::new()
        };
        // The shell replaces a sh that prints its process id first.
        let command = format!(
            "sh -c 'echo \"shell pid $$.\"; exec env GUESTWRIGHT_ACCEL={accel} \
             XDG_RUNTIME_DIR={run} XDG_STATE_HOME={state} {bin} shell -a {img} -m /dev/sda{redirection}'; \
             echo \"shell exited with $?\"; sleep 600",
            run = runtime.display(),
            state = case.join("state").display(),
            bin = guestwright_bin().display(),
            img = img.display(),
        );
        let t = Tmux::start(&case, &command);
        // What the shell printed: the screen, and the file its output goes to.
        let printed = |t: &Tmux| {
            let file = std::fs::read_to_string(&out_file).unwrap_or_default();
            format!("{}\n{file}", t.screen())
        };
        let wait = |t: &Tmux, what: &str, done: &dyn Fn(&str) -> bool| -> String {
            let start = Instant::now();
            loop {
                let s = printed(t);
                if done(&s) {
                    return s;
                }
                assert!(start.elapsed() < 3 * minute, "waited for {what}:\n{s}");
                std::thread::sleep(Duration::from_millis(200));
            }
        };
        let s = wait(&t, "the prompt", &|s: &str| s.contains("><fs> "));
        let pid = s
            .split("shell pid ")
            .nth(1)
            .and_then(|r| r.split('.').next())
            .unwrap_or_else(|| panic!("no process id on the screen:\n{s}"))
            .to_string();
        // The appliance answers: the shell sits idle at the prompt with QEMU running.
        t.text("cat /etc/hostname");
        t.keys(&["Enter"]);
        wait(&t, "the hostname", &|s: &str| count(s, "testhost") == 1);
        assert!(!processes_mentioning(runtime.to_str().unwrap()).is_empty());
        std::thread::sleep(Duration::from_millis(500));
        let sent = Instant::now();
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), "--", &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} {pid} failed");
        let exited = format!("shell exited with {code}");
        let s = t.wait_for(&exited, minute, |s| s.contains("shell exited with"));
        let took = sent.elapsed();
        assert!(s.contains(&exited), "{s}");
        assert!(
            took < within,
            "{name} at the prompt (output redirected: {redirect}) took {took:?} to end the shell:\n{s}"
        );
        let line =
            format!("guestwright: interrupted by {name}: stopped; the images were closed cleanly");
        assert!(s.contains(&line), "{line:?} missing:\n{s}");
        let left = processes_mentioning(runtime.to_str().unwrap());
        assert!(left.is_empty(), "processes left behind: {left:?}");
        eprintln!(
            "{name} at the prompt (output redirected: {redirect}): the shell ended after {took:?}"
        );
    }
}
