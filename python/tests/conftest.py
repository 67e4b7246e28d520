"""Fixtures of the binding's tests: one appliance shared by the tests of a session, booted
through the binding on images the fixtures make, and a deadline for every test.

The appliance runs under TCG unless GUESTWRIGHT_ACCEL says otherwise, as in tests/."""

import os
import shutil
import signal
import subprocess

import pytest

os.environ.setdefault("GUESTWRIGHT_ACCEL", "tcg")

import guestwright  # noqa: E402  (after the environment it reads)

#: The most one test may take, launches included.
DEADLINE_SECONDS = 300


@pytest.fixture(autouse=True)
def deadline(request):
    """Fails a test that runs longer than DEADLINE_SECONDS (SIGALRM interrupts a call)."""

    def expired(signum, frame):
        raise TimeoutError("%s ran past its deadline of %d s" % (request.node.name, DEADLINE_SECONDS))

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(DEADLINE_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)
    return str(path)


def need(program, package):
    if shutil.which(program) is None:
        pytest.fail("%s is missing: install the Debian package %s (scripts/setup)" % (program, package))


#: The fake Debian 12 of the second disk, which inspect_os must find.
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'


@pytest.fixture(scope="session")
def g(tmp_path_factory):
    """A launched handle with two empty disks: /dev/sda1 (ext4, mounted on /) for the
    tests to write on, and /dev/sdb1 (ext4 labelled `pyroot`) holding a small Debian-like
    root for inspection. Each test leaves /dev/sda1 mounted on /."""
    d = tmp_path_factory.mktemp("guestwright")
    h = guestwright.GuestFS(python_return_dict=True)
    h.add_drive_opts(sparse(d / "data.img", 64 << 20), format="raw")
    h.add_drive(sparse(d / "os.img", 64 << 20), format="raw", readonly=False)
    h.launch()
    try:
        for disk in ("/dev/sda", "/dev/sdb"):
            h.part_disk(disk, "mbr")
        h.mkfs("ext4", "/dev/sda1")
        h.mkfs("ext4", "/dev/sdb1", label="pyroot")
        h.mount("/dev/sdb1", "/")
        for dir in ("/etc", "/usr/bin"):
            h.mkdir_p(dir)
        h.ln_s("usr/bin", "/bin")
        h.write("/etc/os-release", OS_RELEASE)
        h.write("/etc/debian_version", "12.5\n")
        h.write("/etc/hostname", "pyguest\n")
        h.write("/etc/fstab", "LABEL=pyroot / ext4 defaults 0 1\n")
        h.upload("/bin/ls", "/usr/bin/ls")
        h.umount_all()
        h.mount("/dev/sda1", "/")
        yield h
    finally:
        h.shutdown()
        h.close()


@pytest.fixture(scope="session")
def ext4_image(tmp_path_factory):
    """A 16 MiB ext4 image made on the host with one file, /hello."""
    need("mkfs.ext4", "e2fsprogs")
    d = tmp_path_factory.mktemp("ro")
    tree = d / "tree"
    tree.mkdir()
    (tree / "hello").write_text("hello from the host\n")
    image = d / "ro.img"
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-d", str(tree), str(image), "16M"],
        check=True,
        timeout=60,
    )
    return image
