//! `guestwright rescue` (virt-rescue): the shell in the appliance, driven as users drive it:
//! on a terminal (a pseudo-terminal here), with the escape keys, and with a script on stdin.
//! What it prints before the shell (`--suggest`, usage errors) is checked against virt-rescue
//! itself by the golden cases (tests/golden/cases/95-rescue.txt).

use guestwright_tests::run_within;
use guestwright_tests::{
    assert_fsck_clean_at, debian_like, extract, file, guestwright, in_time, sha256,
};
use guestwright_tests::{DEBIAN_HOSTNAME, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(240);

/// Runs `guestwright ARGS` with `script` on stdin (a file, not a terminal). A session still
/// running shortly before the test's deadline is killed (its QEMU goes with it), so a hung
/// shell leaves nothing behind.
fn scripted(args: &[&str], script: &str) -> std::process::Output {
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), script).unwrap();
    let mut cmd = guestwright();
    cmd.args(args)
        .stdin(std::fs::File::open(input.path()).unwrap());
    let out = run_within(&mut cmd, DEADLINE - Duration::from_secs(10));
    eprintln!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_script_on_stdin_runs_in_the_shell_on_the_inspected_guest_and_its_writes_stay() {
    let dir = tempfile::tempdir().unwrap();
    // The directories a guest binds the appliance's /dev, /proc and /sys over.
    let img = debian_like(
        dir.path(),
        "disk.img",
        &[
            file("/dev/.keep", ""),
            file("/proc/.keep", ""),
            file("/sys/.keep", ""),
        ],
    );
    let path = img.to_str().unwrap().to_owned();
    let out = in_time(DEADLINE, move || {
        scripted(
            &["rescue", "-a", &path, "-i"],
            "cat /sysroot/etc/hostname\n\
             echo rescued > /sysroot/root-note\n\
             for f in /dev/sda2 /sysroot/dev/vda /sysroot/proc/self /sysroot/sys/block/vda; \
             do test -e $f && echo have $f; done\n\
             lvs 2>&1; echo lvs=$?\n\
             sleep 1000 &\n\
             exit 3\n",
        )
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    // virt-rescue's status is its own, not the shell's; a job left in the background (it
    // holds the terminal) does not keep the session open.
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Welcome to virt-rescue"), "{stdout}");
    assert!(
        stdout.contains("Use 'cd /sysroot' or 'chroot /sysroot' to see guest filesystems."),
        "{stdout}"
    );
    // A script's lines are not echoed (as `sh < script`): the prompt, then the output.
    assert!(
        stdout.contains(&format!("><rescue> {DEBIAN_HOSTNAME}\r\n")),
        "{stdout}"
    );
    // The guestfish name of the disk, and /dev, /proc and /sys bound into the guest for
    // chroot.
    for f in [
        "/dev/sda2",
        "/sysroot/dev/vda",
        "/sysroot/proc/self",
        "/sysroot/sys/block/vda",
    ] {
        assert!(stdout.contains(&format!("have {f}\r\n")), "{f}: {stdout}");
    }
    // LVM finds the device-mapper it needs (no volume groups here).
    assert!(stdout.contains("lvs=0"), "{stdout}");
    assert!(!stdout.contains("device-mapper"), "{stdout}");
    assert!(stdout.contains("virt-rescue: Syncing the disk now before exiting ..."));
    // Read-write by default: what the shell wrote is in the image, and the image is clean.
    let root = extract(&img, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
    let note = Command::new("debugfs")
        .args(["-R", "cat /root-note"])
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(note.stdout, b"rescued\n");
    assert_fsck_clean_at(&img, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
}

#[test]
fn ro_leaves_the_image_as_it_was_whatever_the_shell_does() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian_like(dir.path(), "disk.img", &[]);
    let before = sha256(&img);
    let path = img.to_str().unwrap().to_owned();
    let out = in_time(DEADLINE, move || {
        scripted(
            &["rescue", "--ro", "-a", &path],
            "mount /dev/sda2 /sysroot && echo x > /sysroot/scribble && cat /sysroot/scribble\n\
             dd if=/dev/zero of=/dev/sda bs=1M count=1 2>/dev/null; echo wiped\n",
        )
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("You have to mount the guest"), "{stdout}");
    assert!(stdout.contains("x\r\n"), "{stdout}");
    assert!(stdout.contains("wiped"), "{stdout}");
    assert_eq!(sha256(&img), before, "--ro changed the image");
}

/// The manual's way to make a TCP connection from the rescue shell: bash's
/// `/dev/tcp/HOST/PORT`, with `--network`. The host is 169.254.2.2 on QEMU's user network.
#[test]
fn with_network_the_shell_connects_out_through_dev_tcp_as_the_manual_shows() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    // A one-request server: reads a line, answers with one, under the test's deadline.
    let server = std::thread::spawn(move || {
        let start = Instant::now();
        loop {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    conn.set_nonblocking(false).unwrap();
                    conn.set_read_timeout(Some(Duration::from_secs(60)))
                        .unwrap();
                    let mut got = Vec::new();
                    let mut byte = [0u8; 1];
                    while conn.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
                        got.push(byte[0]);
                    }
                    conn.write_all(b"HELLO FROM THE HOST\n").unwrap();
                    return Some(String::from_utf8_lossy(&got).into_owned());
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if start.elapsed() > DEADLINE {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    });
    let script = format!(
        "exec 3<>/dev/tcp/169.254.2.2/{port}\necho \"GET /\" >&3\nhead -n 1 <&3\nexec 3>&-\n"
    );
    let out = in_time(DEADLINE, move || {
        scripted(&["rescue", "--network", "-a", "/dev/null"], &script)
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(server.join().unwrap().as_deref(), Some("GET /"));
    assert!(stdout.contains("HELLO FROM THE HOST\r\n"), "{stdout}");
}

#[test]
fn usage_errors_say_what_to_do_and_launch_nothing() {
    let out = guestwright().args(["rescue"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "virt-rescue: error: you must specify at least one -a or -d option.\n\
         Try \u{2018}virt-rescue --help\u{2019} for more information.\n"
    );
    let out = guestwright()
        .args(["rescue", "-a", "/dev/null", "--append", "quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("leave --append out"));
}

/// A pseudo-terminal: the master for the test, the slave for the child's stdio.
fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut m, mut s) = (-1, -1);
    let size = libc::winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: valid out-pointers; the name buffer may be null.
    let r = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: two new descriptors nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) }
}

/// Reads the terminal until `want` has been printed; returns everything up to it.
fn expect(master: &mut std::fs::File, seen: &mut Vec<u8>, want: &str, limit: Duration) -> String {
    let until = Instant::now() + limit;
    loop {
        if let Some(i) = find(seen, want.as_bytes()) {
            let upto: Vec<u8> = seen.drain(..i + want.len()).collect();
            return String::from_utf8_lossy(&upto).into_owned();
        }
        let left = until.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no {want:?} within {limit:?}; the terminal shows:\n{}",
            String::from_utf8_lossy(seen)
        );
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(1000) as i32) };
        if pfd.revents != 0 {
            let mut buf = [0u8; 4096];
            match master.read(&mut buf) {
                Ok(0) | Err(_) => panic!(
                    "the terminal closed before {want:?}:\n{}",
                    String::from_utf8_lossy(seen)
                ),
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn on_a_terminal_the_user_gets_a_prompt_job_control_and_the_escape_keys_as_virt_rescue() {
    let links = tempfile::tempdir().unwrap();
    let status = guestwright()
        .args(["install-links"])
        .arg(links.path())
        .status()
        .unwrap();
    assert!(status.success());
    let (master, slave) = openpty();
    let mut cmd = Command::new(links.path().join("virt-rescue"));
    if std::env::var_os("GUESTWRIGHT_ACCEL").is_none() {
        cmd.env("GUESTWRIGHT_ACCEL", "tcg");
    }
    cmd.arg("--scratch")
        .env("TERM", "xterm")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: setsid and TIOCSCTTY are async-signal-safe: the terminal becomes the child's
    // controlling terminal, as a user's is.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY as _, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut m = std::fs::File::from(master);
    let mut seen = Vec::new();
    let banner = expect(&mut m, &mut seen, "><rescue> ", DEADLINE);
    assert!(
        banner.contains("The virt-rescue escape key is \u{2018}^]\u{2019}.  Type \u{2018}^] h\u{2019} for help.\r\n"),
        "{banner}"
    );
    // The shell's terminal has the user's size, and the scratch disk is there.
    m.write_all(b"stty size; blockdev --getsize64 /dev/sda\n")
        .unwrap();
    let out = expect(&mut m, &mut seen, "><rescue> ", Duration::from_secs(60));
    assert!(out.contains("30 100\r\n10737418240\r\n"), "{out}");
    // Ctrl-C reaches the shell's foreground job, not guestwright.
    m.write_all(b"sleep 1000\n").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    m.write_all(b"\x03").unwrap();
    expect(&mut m, &mut seen, "><rescue> ", Duration::from_secs(60));
    // ^] h prints the escapes; ^] ^] passes the key itself (the shell sees one ^]).
    m.write_all(b"\x1dh").unwrap();
    let help = expect(
        &mut m,
        &mut seen,
        "type it twice\r\n",
        Duration::from_secs(30),
    );
    assert!(help.contains(" ^] q - quit virt-rescue\r\n"), "{help}");
    assert!(
        !help.contains(" i - print inspection data"),
        "no -i: {help}"
    );
    m.write_all(b"read -r x; printf '%s' \"$x\" | od -An -tx1\n")
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    m.write_all(b"\x1d\x1d\n").unwrap();
    let od = expect(&mut m, &mut seen, "><rescue> ", Duration::from_secs(30));
    assert!(od.contains(" 1d\r\n"), "{od}");
    // ^] q leaves at once; guestwright stops the appliance and exits 0.
    m.write_all(b"\x1dq").unwrap();
    expect(
        &mut m,
        &mut seen,
        "Syncing the disk now",
        Duration::from_secs(30),
    );
    let status = in_time(Duration::from_secs(120), move || child.wait().unwrap());
    assert_eq!(status.code(), Some(0));
}

#[test]
fn each_format_option_is_for_the_disks_after_it_as_in_virt_rescue() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.img");
    std::fs::File::create(&raw)
        .unwrap()
        .set_len(4 << 20)
        .unwrap();
    let qcow2 = dir.path().join("second.qcow2");
    let made = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&qcow2)
        .arg("8M")
        .status()
        .unwrap();
    assert!(made.success());
    let (raw, qcow2) = (
        raw.to_str().unwrap().to_owned(),
        qcow2.to_str().unwrap().to_owned(),
    );
    // The manual's own example: raw for the first, detection again for the second.
    let out = in_time(DEADLINE, move || {
        scripted(
            &[
                "rescue",
                "--format=raw",
                "-a",
                &raw,
                "--format",
                "-a",
                &qcow2,
            ],
            "echo sizes $(blockdev --getsize64 /dev/sda) $(blockdev --getsize64 /dev/sdb)\n",
        )
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Read as raw, the qcow2 file would be its few hundred KiB of header and tables.
    assert!(stdout.contains("sizes 4194304 8388608\r\n"), "{stdout}");
}
