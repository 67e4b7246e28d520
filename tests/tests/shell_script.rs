//! `guestwright shell` in script mode: scripts with `-f`, on standard input and as commands
//! on the command line; exact output, exit codes, the first error stopping a script, `-`
//! ignoring it, read-only refusal, JSON, pipes and host commands. Each test shares one
//! launch among many commands.

use guestwright_tests::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run of the shell produced.
#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn shell(args: &[&str]) -> Command {
    let mut c = guestwright();
    c.arg("shell").args(args);
    c
}

fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Ran {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guestwright");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(cmd: &mut Command) -> Ran {
    run_with_stdin(cmd, b"")
}

fn script(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn base_files() -> Vec<File<'static>> {
    vec![
        file("/etc/hostname", "testhost\n"),
        file("/etc/os-release", "ID=debian\n"),
    ]
}

#[test]
fn a_script_writes_the_image_in_one_launch() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &base_files());
    let img_s = img.to_str().unwrap();
    let s = script(
        dir.path(),
        "edit.gw",
        "#!/usr/bin/env -S guestwright shell -f\n\
         # comments and blank lines are skipped\n\
         \n\
         mount /dev/sda1 /\n\
         read-file /etc/hostname\n\
         write-file /etc/hostname \"newhost\\n\"\n\
         write_file /etc/motd 'Hello, world\\n'\n\
         read-file /etc/hostname\n\
         read-file /etc/motd\n\
         read-file /etc/os-release | tr a-z A-Z\n\
         echo a  b   c\n\
         !echo from the host\n\
         <! printf 'echo one\\necho two\\n'\n\
         json on\n\
         read-file /etc/hostname\n\
         list-partitions\n\
         json off\n\
         list-devices\n",
    );
    let r = run(&mut shell(&["--rw", "-a", img_s, "-f", &s]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "testhost\n\
         newhost\n\
         Hello, world\\n\
         ID=DEBIAN\n\
         a b c\n\
         from the host\n\
         one\n\
         two\n\
         \"newhost\\n\"\n\
         [{\"device\":\"/dev/sda1\",\"number\":1,\"parent\":\"/dev/sda\",\"size\":65011712,\"start\":1048576}]\n\
         /dev/sda\n"
    );
    assert_eq!(r.stderr, "");
    assert_fsck_clean(&img);
    assert_eq!(debugfs_cat(&img, "/etc/hostname"), b"newhost\n");
    assert_eq!(debugfs_cat(&img, "/etc/motd"), b"Hello, world\\n");
}

#[test]
fn the_first_error_stops_a_script_unless_the_command_starts_with_dash() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &base_files());
    let img_s = img.to_str().unwrap();

    // From a file: stops at the failing command, exit status 1.
    let s = script(
        dir.path(),
        "fail.gw",
        "mount /dev/sda1 /\nread-file /etc/hostname\nread-file /missing\necho not reached\n",
    );
    let r = run(&mut shell(&["-a", img_s, "-f", &s]));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "testhost\n");
    // As guestfish words it: the script's name and line, libguestfs's operation name.
    assert_eq!(
        r.stderr,
        format!("{s}:3: libguestfs: error: download: /missing: No such file or directory\n")
    );

    // On standard input, with `-`: reported, and the script goes on to succeed.
    let r = run_with_stdin(
        &mut shell(&["-a", img_s, "-m", "/dev/sda1"]),
        b"-read-file /missing\nread-file /etc/hostname\n-no-such-command\necho reached\n",
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "testhost\nreached\n");
    assert_eq!(r.stderr.lines().count(), 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "*stdin*:1: libguestfs: error: download: /missing: No such file or directory\n\
         no-such-command: unknown command\n"
    );

    // Commands on the command line, separated by ':'.
    let r = run(&mut shell(&[
        "-a",
        img_s,
        "-m",
        "/dev/sda1",
        "read-file",
        "/etc/hostname",
        ":",
        "-read-file",
        "/nope",
        ":",
        "read-file",
        "/etc/os-release",
        ":",
        "read-file",
        "/missing",
        ":",
        "echo",
        "not reached",
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "testhost\nID=debian\n");
    // Commands on the command line are line 0 of standard input, as in guestfish.
    assert_eq!(
        r.stderr,
        "*stdin*:0: libguestfs: error: download: /nope: No such file or directory\n\
         *stdin*:0: libguestfs: error: download: /missing: No such file or directory\n"
    );
}

#[test]
fn writes_through_a_read_only_drive_are_discarded_and_the_image_never_changes() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &base_files());
    let before = sha256(&img);
    // As in libguestfs: a plain mount of a read-only image is writable, on a throwaway
    // overlay.
    let r = run(&mut shell(&[
        "--ro",
        "-a",
        img.to_str().unwrap(),
        "mount",
        "/dev/sda1",
        "/",
        ":",
        "write-file",
        "/etc/hostname",
        "evil",
        ":",
        "cat",
        "/etc/hostname",
    ]));
    assert_eq!((r.code, r.stdout.as_str()), (0, "evil\n"), "{r:?}");
    assert_eq!(sha256(&img), before, "the image changed");
    // Even a new partition table and filesystem (libguestfs's
    // qemu-snapshot-isolation-add-drive-ro.sh) through add-ro.
    let text = format!(
        "add-ro {}\n\
         run\n\
         part-disk /dev/sda mbr\n\
         mkfs ext2 /dev/sda1\n\
         mount /dev/sda1 /\n\
         write /test This_is_a_test\n\
         fill-pattern abc 5M /test2\n\
         umount-all\n\
         sync\n",
        img.display()
    );
    let s = script(dir.path(), "ro.gw", &text);
    let r = run(&mut shell(&["-f", &s]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(sha256(&img), before, "the image changed");
    // -m with --ro mounts read-only, as guestfish does: the kernel refuses the write.
    let r = run(&mut shell(&[
        "--ro",
        "-a",
        img.to_str().unwrap(),
        "-m",
        "/dev/sda1",
        "write-file",
        "/etc/hostname",
        "evil",
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("/etc/hostname: Read-only file system"),
        "{}",
        r.stderr
    );
    assert_eq!(sha256(&img), before, "the image changed");
}

#[test]
fn add_blocksize_sets_the_sector_size_the_appliance_sees() {
    // libguestfs's test-add-drive-with-blocksize.sh.
    for (words, want) in [
        (&["blocksize:4096"][..], "4096\n"),
        (&["blocksize:512"][..], "512\n"),
        (&[][..], "512\n"),
    ] {
        let mut args = vec!["--ro", "add", "/dev/null"];
        args.extend_from_slice(words);
        args.extend_from_slice(&[":", "run", ":", "blockdev-getss", "/dev/sda"]);
        let r = run(&mut shell(&args));
        assert_eq!((r.code, r.stdout.as_str()), (0, want), "{words:?}: {r:?}");
    }
    for bad in ["256", "1000", "8192"] {
        let r = run(&mut shell(&[
            "--ro",
            "add",
            "/dev/null",
            &format!("blocksize:{bad}"),
        ]));
        assert_eq!(r.code, 1, "blocksize:{bad} is refused: {r:?}");
        assert!(
            r.stderr.contains("blocksize parameter is invalid"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn a_is_read_write_by_default_as_in_guestfish() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &base_files());
    let r = run_with_stdin(
        &mut shell(&["-a", img.to_str().unwrap(), "-m", "/dev/sda1"]),
        b"write /etc/hostname changed\ncat /etc/hostname\n",
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "changed\n"), "{r:?}");
    assert_eq!(r.stderr, "");
    assert_fsck_clean(&img);
    assert_eq!(debugfs_cat(&img, "/etc/hostname"), b"changed");
}

#[test]
fn drives_added_in_the_script_and_a_lazy_launch() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &base_files());
    let ro = gpt_ext4(dir.path(), "ro.img", &[file("/etc/hostname", "second\n")]);
    let before = sha256(&ro);
    let text = format!(
        "help add\n\
         add {} format:raw\n\
         add-ro {}\n\
         run\n\
         -add {}\n\
         list-devices\n\
         mount /dev/sdb1 /\n\
         read-file /etc/hostname\n\
         umount-all\n\
         mount /dev/sda1 /\n\
         write-file /etc/hostname \"changed\\n\"\n\
         shutdown\n\
         mount /dev/sda1 /\n\
         read-file /etc/hostname\n",
        img.display(),
        ro.display(),
        img.display()
    );
    let s = script(dir.path(), "drives.gw", &text);
    let r = run(&mut shell(&["-f", &s]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r
        .stdout
        .starts_with("add IMAGE [readonly:true|false] [format:FORMAT] [protocol:P] [server:S] [username:U] [iface:..]"));
    assert!(
        r.stdout.ends_with("/dev/sda\n/dev/sdb\nsecond\nchanged\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("the appliance is running; drives are added before it starts"),
        "{}",
        r.stderr
    );
    assert!(r
        .stderr
        .contains("ro.img is read-only: writes to it are discarded"));
    assert_eq!(sha256(&ro), before);
    assert_eq!(debugfs_cat(&img, "/etc/hostname"), b"changed\n");
}

#[test]
fn usage_errors_help_and_exit_codes_without_an_appliance() {
    let r = run(&mut shell(&["--no-such-option"]));
    assert_eq!(r.code, 2, "{r:?}");
    let r = run(&mut shell(&["-rm", "/x"]));
    assert_eq!(r.code, 2, "{r:?}");
    let r = run(&mut shell(&[":", "-echo", "-x", ":", "echo", "y"]));
    assert_eq!((r.code, r.stdout.as_str()), (0, "-x\ny\n"), "{r:?}");
    let r = run(&mut shell(&["-f", "/dev/null", "echo", "x"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("not both"), "{}", r.stderr);

    // Help comes from the table: every operation is listed, by group.
    let r = run(&mut shell(&[
        "help", ":", "help", "mount", ":", "help", "copy-out",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    for op in guestwright::protocol::OPERATIONS
        .iter()
        .filter(|op| op.group != "internal")
    {
        assert!(r.stdout.contains(&op.shell_name()), "{} missing", op.name);
    }
    assert!(r
        .stdout
        .contains("\nmount device mountpoint [options:..] [fstype:..] [readonly:..]\n"));
    assert!(r.stdout.contains("copy-out PATH... HOSTDIR"));

    // Host-side commands need no appliance, and -x (libguestfs's call trace, as guestfish)
    // traces library calls only: here the handle's shutdown and close at the end.
    let r = run(&mut shell(&[
        "-x", "lcd", "/tmp", ":", "!pwd", ":", "time", "echo", "a b", ":", "json", ":", "json",
        "on", ":", "json",
    ]));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "/tmp\na b\noff\non\n"),
        "{r:?}"
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(lines[0].starts_with("elapsed time: "), "{}", r.stderr);
    assert_eq!(
        lines[1..],
        [
            "libguestfs: trace: shutdown",
            "libguestfs: trace: shutdown = 0",
            "libguestfs: trace: close"
        ],
        "{}",
        r.stderr
    );

    // A script with guestwright as its interpreter.
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("hello.gw");
    std::fs::write(
        &exe,
        "#!/usr/bin/env -S guestwright shell -f\n# a comment\necho hello from a script\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::join_paths(
        std::iter::once(guestwright_bin().parent().unwrap().to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ),
    )
    .unwrap();
    let r = run(Command::new(&exe).env("PATH", path));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "hello from a script\n"),
        "{r:?}"
    );

    // A mistake in a command's words is found before anything is launched.
    let r = run(&mut shell(&["mount", "sda1", "/"]));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "*stdin*:0: libguestfs: error: mount_options: mount_options_stub: sda1: No such file \
         or directory\n"
    );
    let r = run(&mut shell(&["muont", "/dev/sda1", "/"]));
    assert_eq!(
        r.stderr,
        "muont: unknown command\n\
         Did you mean to open a disk image?  guestfish -a disk.img\n\
         For a list of commands:             guestfish -h\n\
         For complete documentation:         man guestfish\n"
    );
    // A wrong number of words, as guestfish says it.
    let r = run(&mut shell(&["echo", "x", ":", "cat"]));
    assert_eq!((r.code, r.stdout.as_str()), (1, "x\n"), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: incorrect number of arguments\nusage: cat path\n\
         type 'help cat' for more help on cat\n"
    );
    // No drive: guestfish's answer, without a launch.
    let r = run(&mut shell(&["cat", "/etc/hostname"]));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "*stdin*:0: libguestfs: error: download: call launch before using this function\n\
         (in guestfish, don't forget to use the 'run' command)\n"
    );

    // The appliance cannot start: exit status 3.
    let r = run(shell(&["run"]).env("GUESTWRIGHT_QEMU", "/nonexistent/qemu"));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("cannot launch the appliance"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_guestfish_script_with_transfers_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &base_files());
    let host = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    std::fs::write(host("up.txt"), "uploaded\n").unwrap();
    let text = format!(
        "mount /dev/sda1 /\n\
         ls /etc\n\
         cat /etc/hostname\n\
         write /etc/motd \"Welcome\\n\"\n\
         mkdir-p /srv/app/data\n\
         upload {up} /srv/app/data/up.txt\n\
         upload -<<END /srv/app/data/here.txt\n\
         line one\n\
         line two\n\
         END\n\
         cat /srv/app/data/here.txt\n\
         download /srv/app/data/up.txt {down}\n\
         download /etc/motd -\n\
         checksum sha256 /srv/app/data/up.txt\n\
         tar-out /srv {tar}\n\
         tar-out /srv - | tar tf - | sort\n\
         ls /srv/app/data\n\
         part-list /dev/sda | grep -v part_uuid\n",
        up = host("up.txt"),
        down = host("down.txt"),
        tar = host("srv.tar"),
    );
    let s = script(dir.path(), "transfers.gf", &text);
    let r = run(&mut shell(&["--rw", "-a", img.to_str().unwrap(), "-f", &s]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "hostname\nos-release\n\
         testhost\n\n\
         line one\nline two\n\n\
         Welcome\n\
         cc55d9dd9d9cce2a469483f4610d735d219b12b8dfe0c6e5e3a4b6336c3ccefc\n\
         ./\n./app/\n./app/data/\n./app/data/here.txt\n./app/data/up.txt\n\
         here.txt\nup.txt\n\
         [0] = {\n  part_num: 1\n  part_start: 1048576\n  part_end: 66060287\n  \
         part_size: 65011712\n}\n"
    );
    assert_eq!(r.stderr, "");
    assert_eq!(std::fs::read(host("down.txt")).unwrap(), b"uploaded\n");
    let listing = run_host(Command::new("tar").arg("tf").arg(host("srv.tar")));
    assert!(listing.contains("app/data/up.txt\n"), "{listing}");
    assert_fsck_clean(&img);
    assert_eq!(
        debugfs_cat(&img, "/srv/app/data/here.txt"),
        b"line one\nline two\n"
    );
    assert_eq!(debugfs_cat(&img, "/etc/motd"), b"Welcome\n");

    // The same kind of work as commands on the command line; `upload -` reads the shell's
    // standard input, `download ... -` writes to its standard output.
    let r = run_with_stdin(
        &mut shell(&[
            "--rw",
            "-a",
            img.to_str().unwrap(),
            "-m",
            "/dev/sda1",
            "mkdir-p",
            "/x/y",
            ":",
            "upload",
            "-",
            "/x/y/stdin.txt",
            ":",
            "download",
            "/x/y/stdin.txt",
            "-",
            ":",
            "checksum",
            "md5",
            "/x/y/stdin.txt",
            ":",
            "cat",
            "/srv/app/data/up.txt",
        ]),
        b"from stdin\n",
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "from stdin\n5f0cd7c4e8b2a1ad06fb00e2fa2a8b6a\nuploaded\n\n"
            .replace("5f0cd7c4e8b2a1ad06fb00e2fa2a8b6a", &md5(b"from stdin\n"))
    );
    assert_eq!(debugfs_cat(&img, "/x/y/stdin.txt"), b"from stdin\n");
}

fn run_host(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&guestwright_tests::run(cmd).stdout).into_owned()
}

fn md5(data: &[u8]) -> String {
    let mut child = Command::new("md5sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("md5sum (coreutils)");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn copy_in_copy_out_and_edit() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[
            file("/etc/hostname", "testhost\n"),
            File {
                path: "/srv/bin/tool",
                content: b"#!/bin/sh\n",
                mode: 0o4755,
            },
            file("/srv/data/a.txt", "a\n"),
        ],
    );
    // A host tree to copy in: a file, a directory, a symlink.
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/file.txt"), "host file\n").unwrap();
    std::os::unix::fs::symlink("sub/file.txt", src.join("link")).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let text = format!(
        "mount /dev/sda1 /\n\
         # hostile entries for copy-out: an absolute symlink and a device node\n\
         ln-s /etc/shadow /srv/data/evil\n\
         mknod-c 0644 1 3 /srv/data/null\n\
         copy-out /srv {out}\n\
         copy-in {src} /etc\n\
         ls /etc/src\n\
         cat /etc/src/sub/file.txt\n\
         readlink /etc/src/link\n\
         stat /etc/hostname | grep ^ino:\n\
         edit /etc/hostname\n\
         stat /etc/hostname | grep ^ino:\n\
         cat /etc/hostname\n",
        out = out.display(),
        src = src.display(),
    );
    let s = script(dir.path(), "copy.gw", &text);
    // The editor changes nothing the first time: the file is not rewritten.
    let r = run(shell(&["--rw", "-a", img.to_str().unwrap(), "-f", &s]).env("EDITOR", "true"));
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    // `cat` ends its string with a newline, as guestfish does: a file ending with one
    // prints an empty line after it.
    assert_eq!(
        lines[..5],
        ["link", "sub", "host file", "", "sub/file.txt"],
        "{r:?}"
    );
    assert_eq!(lines[5], lines[6], "an unchanged file was replaced");
    assert_eq!(lines[7..], ["testhost", ""]);
    assert_eq!(
        r.stderr,
        "guestwright: copy-out: skipped '/srv/data/null' (not a file, directory or link)\n"
    );

    // copy-out: links stay links, setuid is dropped, the device node is not made.
    let srv = out.join("srv");
    assert_eq!(std::fs::read(srv.join("data/a.txt")).unwrap(), b"a\n");
    assert_eq!(
        std::fs::read_link(srv.join("data/evil")).unwrap(),
        Path::new("/etc/shadow")
    );
    let mode = std::fs::metadata(srv.join("bin/tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755);
    assert!(std::fs::symlink_metadata(srv.join("data/null")).is_err());

    // Now an editor that changes the file: it is replaced atomically (a new inode).
    let s = script(
        dir.path(),
        "edit.gw",
        "mount /dev/sda1 /\n\
         stat /etc/hostname | grep ^ino:\n\
         edit /etc/hostname\n\
         stat /etc/hostname | grep ^ino:\n\
         cat /etc/hostname\n",
    );
    let r = run(shell(&["--rw", "-a", img.to_str().unwrap(), "-f", &s])
        .env("EDITOR", "sed -i s/testhost/edited/"));
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_ne!(lines[0], lines[1]);
    assert_eq!(lines[2], "edited");
    assert_fsck_clean(&img);
    assert_eq!(debugfs_cat(&img, "/etc/hostname"), b"edited\n");
}

#[test]
fn dash_i_mounts_the_guest_as_it_would() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "os.img",
        &[
            file(
                "/etc/os-release",
                "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
            ),
            file("/etc/hostname", "oshost\n"),
            file("/etc/fstab", "LABEL=root / ext4 defaults 0 1\n"),
            file("/usr/bin/true", ""),
        ],
    );
    let r = run(&mut shell(&[
        "-a",
        img.to_str().unwrap(),
        "-i",
        "cat",
        "/etc/hostname",
        ":",
        "mounts",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "oshost\n\n/dev/sda1\n");

    // No operating system: -i fails before any command runs.
    let plain = gpt_ext4(dir.path(), "data.img", &[file("/data.txt", "x")]);
    let r = run(&mut shell(&[
        "-a",
        plain.to_str().unwrap(),
        "-i",
        "echo",
        "not reached",
    ]));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("no operating system was found"),
        "{}",
        r.stderr
    );
}

/// Runs a shell with `stdin` as its script; kills it (and fails) after `deadline`.
fn run_within(cmd: &mut Command, stdin: &[u8], deadline: Duration) -> Ran {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guestwright");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(deadline) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // Its QEMU has a parent-death signal and goes with it.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("the shell did not finish within {deadline:?}");
        }
    };
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The names in a host directory, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const PRECIOUS: &[u8] = b"precious bytes, not to be lost\n";

/// Host files, one per output command, each holding [`PRECIOUS`] with mode 0640.
fn precious_files(dir: &Path, names: &[&str]) {
    use std::os::unix::fs::PermissionsExt;
    for n in names {
        let p = dir.join(n);
        std::fs::write(&p, PRECIOUS).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
}

fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

const OUTPUTS: [&str; 7] = [
    "download",
    "download-offset",
    "tar-out",
    "tgz-out",
    "checksums-out",
    "find0",
    "copy-out",
];

#[test]
fn a_failed_output_command_leaves_the_host_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[
            file("/etc/hostname", "testhost\n"),
            file("/data/a.txt", "alpha\n"),
        ],
    );
    // A guest name whose download fails after copy-out has chosen its host file.
    debugfs_write(&img, "symlink dangling /nowhere\n");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    precious_files(&out, &OUTPUTS);
    let o = |n: &str| out.join(n).to_str().unwrap().to_string();
    let script = format!(
        "-download /does-not-exist {}\n\
         -download-offset /does-not-exist {} 0 10\n\
         -tar-out /does-not-exist {}\n\
         -tar-out /does-not-exist {} compress:gzip\n\
         -checksums-out sha256 /does-not-exist {}\n\
         -find0 /does-not-exist {}\n\
         -copy-out /dangling {}\n\
         echo done\n",
        o("download"),
        o("download-offset"),
        o("tar-out"),
        o("tgz-out"),
        o("checksums-out"),
        o("find0"),
        out.to_str().unwrap(),
    );
    // copy-out names its file after the guest's.
    std::fs::rename(out.join("copy-out"), out.join("dangling")).unwrap();
    let r = run_within(
        &mut shell(&["-a", img.to_str().unwrap(), "-m", "/dev/sda1"]),
        script.as_bytes(),
        Duration::from_secs(300),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "done\n");
    assert_eq!(
        r.stderr.lines().count(),
        7,
        "one error per command: {}",
        r.stderr
    );
    let mut expected: Vec<String> = OUTPUTS
        .iter()
        .map(|n| n.replace("copy-out", "dangling"))
        .collect();
    expected.sort();
    assert_eq!(names_in(&out), expected, "no temporary file is left");
    for n in &expected {
        assert_eq!(std::fs::read(out.join(n)).unwrap(), PRECIOUS, "{n} changed");
        assert_eq!(mode_of(&out.join(n)), 0o640, "{n}");
    }
}

#[test]
fn a_successful_output_command_replaces_the_host_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[
            file("/etc/hostname", "testhost\n"),
            file("/data/a.txt", "alpha\n"),
        ],
    );
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    precious_files(&out, &OUTPUTS);
    std::fs::rename(out.join("copy-out"), out.join("hostname")).unwrap();
    let o = |n: &str| out.join(n).to_str().unwrap().to_string();
    let script = format!(
        "download /etc/hostname {}\n\
         download-offset /etc/hostname {} 4 4\n\
         tar-out /data {}\n\
         tar-out /data {} compress:gzip\n\
         checksums-out sha256 /data {}\n\
         find0 /data {}\n\
         copy-out /etc/hostname {}\n",
        o("download"),
        o("download-offset"),
        o("tar-out"),
        o("tgz-out"),
        o("checksums-out"),
        o("find0"),
        out.to_str().unwrap(),
    );
    let r = run_within(
        &mut shell(&["-a", img.to_str().unwrap(), "-m", "/dev/sda1"]),
        script.as_bytes(),
        Duration::from_secs(300),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stderr, "");
    assert_eq!(std::fs::read(out.join("download")).unwrap(), b"testhost\n");
    assert_eq!(std::fs::read(out.join("download-offset")).unwrap(), b"host");
    assert_eq!(
        String::from_utf8(std::fs::read(out.join("checksums-out")).unwrap()).unwrap(),
        format!("{}  ./a.txt\n", sha256_hex(b"alpha\n"))
    );
    assert_eq!(std::fs::read(out.join("find0")).unwrap(), b"a.txt\0");
    assert_eq!(std::fs::read(out.join("hostname")).unwrap(), b"testhost\n");
    for (name, flags) in [("tar-out", "-xOf"), ("tgz-out", "-xzOf")] {
        let listed = Command::new("tar")
            .arg(flags)
            .arg(out.join(name))
            .arg("./a.txt")
            .output()
            .unwrap();
        assert!(listed.status.success(), "{name}: {listed:?}");
        assert_eq!(listed.stdout, b"alpha\n", "{name}");
    }
    // Replaced files keep their mode; copy-out's is its own (0600).
    for n in ["download", "tar-out", "checksums-out", "find0"] {
        assert_eq!(mode_of(&out.join(n)), 0o640, "{n}");
    }
    assert_eq!(mode_of(&out.join("hostname")), 0o600);
    let mut expected: Vec<String> = OUTPUTS
        .iter()
        .map(|n| n.replace("copy-out", "hostname"))
        .collect();
    expected.sort();
    assert_eq!(names_in(&out), expected, "no temporary file is left");
}

fn sha256_hex(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    std::fs::write(&p, data).unwrap();
    sha256(&p)
}

#[test]
fn ctrl_c_during_a_download_leaves_the_host_file_as_it_was() {
    // Incompressible data, packed with xz: slow enough under TCG to be interrupted.
    let big = noise(24 << 20);
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[File {
            path: "/big/data",
            content: &big,
            mode: 0o644,
        }],
    );
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    precious_files(&out, &["archive"]);
    let script = format!(
        "tar-out /big {} compress:xz\necho not reached\n",
        out.join("archive").display()
    );
    let mut child = shell(&["-a", img.to_str().unwrap(), "-m", "/dev/sda1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let pid = child.id().to_string();
    let kill = |sig: &str| {
        let _ = Command::new("kill").args([sig, &pid]).status();
    };
    // Wait until the archive is being written beside the file, then press Ctrl-C.
    let started = Instant::now();
    let temp = loop {
        let part = names_in(&out)
            .into_iter()
            .find(|n| n.contains("guestwright-part"))
            .map(|n| out.join(n));
        if let Some(p) = part.filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0)) {
            break p;
        }
        if started.elapsed() > Duration::from_secs(240) || child.try_wait().unwrap().is_some() {
            kill("-KILL");
            panic!(
                "the transfer never started writing: {:?}",
                child.wait_with_output()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    kill("-INT");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(done) = rx.recv_timeout(Duration::from_secs(120)) else {
        kill("-KILL");
        panic!("the shell did not stop after Ctrl-C");
    };
    let done = done.unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cancel"), "{stderr}");
    assert_eq!(done.stdout, b"");
    assert!(!temp.exists(), "the temporary file is left");
    assert_eq!(names_in(&out), ["archive"]);
    assert_eq!(std::fs::read(out.join("archive")).unwrap(), PRECIOUS);
}

#[test]
fn a_dash_covers_errors_in_the_arguments_too() {
    // No appliance is needed: every line fails before anything is sent.
    let r = run_within(
        &mut shell(&[]),
        b"-write /x \"unterminated\n\
          -read-file \"\\xff\"\n\
          -cat /a |\n\
          -mkdir\n\
          -mkdir /a /b\n\
          -download-offset /x ten 10 /dev/null\n\
          -mount /dev/sda1 / bogus:1\n\
          -add\n\
          -json maybe\n\
          echo reached\n",
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "reached\n");
    // One error per line; guestfish's wrong-number-of-words message (the two `mkdir`
    // lines) is three lines long. An optional argument nobody knows is refused before the
    // appliance is needed, in guestfish's words.
    assert!(
        r.stderr
            .contains("mount: unknown optional argument \"bogus:1\"\n"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.lines().count(),
        13,
        "one error per line: {}",
        r.stderr
    );
    assert_eq!(
        r.stderr
            .matches("error: incorrect number of arguments")
            .count(),
        2
    );
    // Without the dash, the same syntax error stops the script.
    let r = run_within(
        &mut shell(&[]),
        b"write /x \"unterminated\necho not reached\n",
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "");
}

#[test]
fn after_qemu_is_killed_run_or_the_next_command_starts_a_new_appliance() {
    let big = noise(24 << 20);
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[
            file("/etc/hostname", "testhost\n"),
            File {
                path: "/big/data",
                content: &big,
                mode: 0o644,
            },
        ],
    );
    // `!` runs under sh, whose parent is the shell: its QEMU is that process's child
    // (matched by process name: the sh's own command line names it too).
    let qemu = "$(pgrep -P $PPID '^qemu')";
    let script = format!(
        "read-file /etc/hostname\n\
         !kill -KILL {qemu}; sleep 1\n\
         run\n\
         read-file /etc/hostname\n\
         !(sleep 3; kill -KILL {qemu}) >/dev/null 2>&1 &\n\
         -tar-out /big /dev/null compress:xz\n\
         read-file /etc/hostname\n\
         echo done\n\
         !kill -KILL {qemu}; sleep 1\n\
         scratch 10M\n\
         list-devices\n"
    );
    let r = run_within(
        &mut shell(&["-a", img.to_str().unwrap(), "-m", "/dev/sda1"]),
        script.as_bytes(),
        Duration::from_secs(400),
    );
    assert_eq!(r.code, 0, "{r:?}");
    // A drive can be added once QEMU is gone, as in libguestfs's
    // tests/protocol/test-qemudie-synch.sh.
    assert_eq!(
        r.stdout,
        "testhost\ntesthost\ntesthost\ndone\n/dev/sda\n/dev/sdb\n"
    );
    // Once for the idle appliance found dead by `run`, once for the one killed under
    // tar-out (after its own error), once for the one found dead by `scratch`.
    assert_eq!(
        r.stderr.matches("the appliance is gone").count(),
        3,
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("starts a new one"), "{}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    let died = lines
        .iter()
        .position(|l| l.starts_with("guestwright: tar_out"))
        .unwrap_or_else(|| panic!("tar-out's error: {}", r.stderr));
    assert!(
        lines[died + 1..]
            .iter()
            .any(|l| l.contains("the appliance is gone")),
        "{}",
        r.stderr
    );
}

/// libguestfs's tests/protocol/test-qemudie-{midcommand,synch,killsub}.sh: QEMU stopped with
/// a plain `kill` (SIGTERM) during a call, or while idle, fails that call at once (not after
/// the 1000 s it asked for) and the handle is back in its configuration state: a drive can
/// be added and a new appliance run. `kill-subprocess` does the same on purpose.
#[test]
fn qemu_stopped_with_sigterm_fails_the_call_and_the_handle_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let script = "scratch 10M\n\
         run\n\
         pid | cat > qemu.pid\n\
         ! sleep 2 ; kill $(cat qemu.pid) &\n\
         -sleep 1000\n\
         scratch 10M\n\
         run\n\
         ping-daemon\n\
         list-devices\n\
         pid | cat > qemu.pid\n\
         ! kill $(cat qemu.pid) ; sleep 2\n\
         -sleep 1\n\
         scratch 10M\n\
         run\n\
         list-devices\n\
         kill-subprocess\n\
         -sleep 1\n\
         scratch 10M\n\
         run\n\
         list-devices\n\
         echo done\n";
    let started = Instant::now();
    let r = run_within(
        shell(&[]).current_dir(dir.path()),
        script.as_bytes(),
        Duration::from_secs(300),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(250),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        r.stdout,
        "/dev/sda\n/dev/sdb\n/dev/sda\n/dev/sdb\n/dev/sdc\n\
         /dev/sda\n/dev/sdb\n/dev/sdc\n/dev/sdd\ndone\n"
    );
    // Both sleeps failed, saying why; the one after kill-subprocess did not start QEMU.
    assert_eq!(
        r.stderr.matches("sleep: the appliance died").count(),
        2,
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("sleep: call launch before using this function"),
        "{}",
        r.stderr
    );
}

/// Incompressible bytes.
fn noise(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in v.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    v
}

/// `chmod`, `chown`, `setxattr`, `touch` and `edit` on a symbolic link the user names do
/// what guestfish 1.48 does (checked by running it): chmod, chown and setxattr change the
/// file the link points to and fail with ENOENT on a dangling link; touch refuses any link
/// (guestfish: "touch can only be used on a regular files"), so a dangling one never creates
/// its target; edit changes the target and leaves the link a link.
#[test]
fn links_named_in_the_shell_behave_as_in_guestfish() {
    use guestwright_tests::tree::ext4_tree;
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[file("/etc/target", "target\n"), file("/etc/t2", "t2\n")],
    );
    let s = script(
        dir.path(),
        "links.gw",
        "mount /dev/sda1 /\n\
         ln-s /etc/target /etc/link\n\
         ln-s /etc/nothere /etc/dangle\n\
         ln-s /etc/t2 /etc/rel\n\
         chmod 0600 /etc/link\n\
         chown 123 456 /etc/link\n\
         setxattr user.foo bar /etc/link\n\
         -touch /etc/dangle\n\
         -touch /etc/link\n\
         edit /etc/rel\n\
         -chmod 0600 /etc/dangle\n\
         -chown 1 1 /etc/dangle\n\
         -setxattr user.x y /etc/dangle\n\
         -edit /etc/dangle\n\
         echo ==\n\
         getxattr /etc/target user.foo\n",
    );
    let r = run(shell(&["--rw", "-a", img.to_str().unwrap(), "-f", &s])
        .env("EDITOR", "sed -i s/t2/edited/"));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "==\nbar", "{r:?}");
    let errors: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(errors.len(), 6, "one error per refused command: {r:?}");
    for (line, want) in errors.iter().zip([
        // As guestfish words them: the operation, the link, strerror.
        "/etc/dangle: Too many levels of symbolic links",
        "/etc/link: Too many levels of symbolic links",
        "No such file or directory",
        "No such file or directory",
        "No such file or directory",
        "No such file or directory",
    ]) {
        assert!(line.contains(want), "want {want:?} in {line:?}");
    }
    assert_fsck_clean(&img);
    let tree = ext4_tree(&img);
    let node = |p: &str| {
        let n = &tree[p];
        (n.kind, n.mode, n.uid, n.gid, n.content.clone())
    };
    assert_eq!(
        node("/etc/target"),
        ('f', 0o600, 123, 456, b"target\n".to_vec())
    );
    assert_eq!(node("/etc/link"), ('l', 0, 0, 0, b"/etc/target".to_vec()));
    assert_eq!(
        node("/etc/dangle"),
        ('l', 0, 0, 0, b"/etc/nothere".to_vec())
    );
    assert_eq!(node("/etc/rel"), ('l', 0, 0, 0, b"/etc/t2".to_vec()));
    assert_eq!(node("/etc/t2").4, b"edited\n");
    assert!(
        !tree.contains_key("/etc/nothere"),
        "touch created the link's target"
    );
}

/// A libvirt test-driver node whose guest `g` (running, as the test driver starts it) has a
/// disk without a format, a raw one, a qcow2 one and one marked `<readonly/>`.
fn libvirt_node(disks: &[&Path]) -> String {
    let disk = |p: &Path, driver: &str, extra: &str| {
        format!(
            "<disk type='file'>{driver}<source file='{}'/>{extra}</disk>",
            p.display()
        )
    };
    format!(
        "<node><domain type='test'><name>g</name><os><type>hvm</type></os>\
         <memory>524288</memory><devices>{}{}{}{}</devices></domain></node>",
        disk(disks[0], "", "<target dev='hda'/>"),
        disk(
            disks[1],
            "<driver name='qemu' type='raw'/>",
            "<target dev='hdb'/>"
        ),
        disk(
            disks[2],
            "<driver name='qemu' type='qcow2'/>",
            "<target dev='hdc'/>"
        ),
        disk(
            disks[3],
            "<driver name='qemu' type='raw'/>",
            "<target dev='hdd'/><readonly/>"
        ),
    )
}

#[test]
fn d_and_domain_add_a_libvirt_guests_disks_all_or_none() {
    require("virsh", "libvirt-clients");
    require("qemu-img", "qemu-utils");
    let dir = tempfile::tempdir().unwrap();
    let imgs: Vec<std::path::PathBuf> = (1..=4)
        .map(|i| dir.path().join(format!("d{i}.img")))
        .collect();
    for (i, p) in imgs.iter().enumerate() {
        let fmt = if i == 2 { "qcow2" } else { "raw" };
        let st = Command::new("qemu-img")
            .args(["create", "-q", "-f", fmt])
            .arg(p)
            .arg("1M")
            .status()
            .unwrap();
        assert!(st.success());
    }
    let node = dir.path().join("node.xml");
    let refs: Vec<&Path> = imgs.iter().map(|p| p.as_path()).collect();
    std::fs::write(&node, libvirt_node(&refs)).unwrap();
    let uri = format!("test://{}", node.display());
    let name = |i: usize| imgs[i].display().to_string();

    // -c/-d read-only: every disk, with the formats libvirt gives.
    let r = run(&mut shell(&["-c", &uri, "--ro", "-d", "g", "debug-drives"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        format!(
            "{} readonly protocol=file\n{} readonly format=raw protocol=file\n\
             {} readonly format=qcow2 protocol=file\n{} readonly format=raw protocol=file\n",
            name(0),
            name(1),
            name(2),
            name(3)
        )
    );

    // The guest is running: writing to its disks is refused.
    let r = run(&mut shell(&["-c", &uri, "-d", "g", "debug-drives"]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("running"), "{r:?}");
    assert_eq!(r.stdout, "");

    // The domain command: the count, then readonlydisk:ignore leaves the <readonly/> disk out.
    let r = run_with_stdin(
        &mut shell(&[]),
        format!("domain g libvirturi:{uri} readonly:true readonlydisk:ignore\ndebug-drives\n")
            .as_bytes(),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("3\n"), "{r:?}");
    assert!(!r.stdout.contains(&name(3)), "{r:?}");

    // A missing disk adds none of them.
    std::fs::remove_file(&imgs[2]).unwrap();
    let r = run_with_stdin(
        &mut shell(&[]),
        format!("-domain g libvirturi:{uri} readonly:true\ndebug-drives\n").as_bytes(),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    assert!(r.stderr.contains("d3.img"), "{r:?}");
}

/// guestfish's `mount-local` / `mount-local-run` (libguestfs's fish/test-mount-local.sh):
/// the mount exists as soon as `mount-local` returns, so a host command started before
/// `mount-local-run` writes through it; `mount-local-run` serves until `guestwright umount`
/// (guestunmount) from that command, and the shell then goes on with the same appliance.
/// In between, only host commands, `echo` and the mount-local commands run.
#[test]
fn mount_local_serves_the_tree_until_guestunmount_then_the_shell_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &base_files());
    let mp = dir.path().join("mp");
    std::fs::create_dir(&mp).unwrap();
    let mp_s = mp.to_str().unwrap();
    let bin = guestwright_bin();
    let text = format!(
        "-mount-local-run\n\
         mount /dev/sda1 /\n\
         mount-local {mp_s}\n\
         -cat /etc/hostname\n\
         echo mounted\n\
         !(cat {mp_s}/etc/hostname > {mp_s}/copy && echo hello > {mp_s}/new && \
           mkdir {mp_s}/d && ln -s new {mp_s}/d/link && sync && {bin} umount {mp_s}; \
           echo umount=$? > {dir}/status) >/dev/null 2>&1 &\n\
         mount-local-run\n\
         cat /copy\n\
         cat /new\n\
         readlink /d/link\n\
         -mount-local-run\n\
         mount-local {mp_s} readonly:true\n\
         umount-local\n\
         -umount-local\n\
         echo done\n",
        bin = bin.display(),
        dir = dir.path().display(),
    );
    let r = run_within(
        &mut shell(&["--rw", "-a", img.to_str().unwrap()]),
        text.as_bytes(),
        Duration::from_secs(600),
    );
    assert_eq!(r.code, 0, "{r:?}");
    // A string result is printed with a newline of its own after it, as guestfish does.
    assert_eq!(
        r.stdout, "mounted\ntesthost\n\nhello\n\nnew\ndone\n",
        "{r:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("status")).unwrap(),
        "umount=0\n"
    );
    let errors: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(errors.len(), 4, "{r:?}");
    assert!(
        errors[0].contains("you must call guestfs_mount_local first"),
        "{r:?}"
    );
    assert!(
        errors[1].contains("cat: the appliance is lent to the local mount"),
        "{r:?}"
    );
    assert!(
        errors[2].contains("you must call guestfs_mount_local first"),
        "{r:?}"
    );
    assert!(errors[3].contains("no filesystem is mounted"), "{r:?}");
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!info.contains(mp_s), "still mounted: {info}");
    assert_fsck_clean(&img);
    assert_eq!(debugfs_cat(&img, "/new"), b"hello\n");
    assert_eq!(debugfs_cat(&img, "/copy"), b"testhost\n");
}
