"""add_drive_opts takes libguestfs 1.48's optional arguments: a drive served over NBD
(qemu-nbd, started here with a deadline), a 4096-byte sector size, and a clear error for
what guestwright cannot do."""

import errno
import socket
import subprocess
import time

import pytest

import guestwright
from conftest import need


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def nbd_server(ext4_image, tmp_path):
    """qemu-nbd serving a copy of the ext4 image read-only on a TCP port."""
    need("qemu-nbd", "qemu-utils")
    copy = tmp_path / "served.img"
    copy.write_bytes(ext4_image.read_bytes())
    port = free_port()
    proc = subprocess.Popen(["qemu-nbd", "--read-only", "--persistent", "--format=raw",
                             "--bind=127.0.0.1", "--port=%d" % port, str(copy)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("qemu-nbd did not start serving on port %d" % port)
                time.sleep(0.1)
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_protocol_nbd(nbd_server):
    with guestwright.GuestFS() as h:
        h.add_drive_opts("", format="raw", readonly=True, protocol="nbd",
                         server=["tcp:127.0.0.1:%d" % nbd_server])
        h.launch()
        h.mount("/dev/sda", "/")
        assert h.cat("/hello") == "hello from the host\n"
        h.shutdown()


def test_blocksize_4096(tmp_path):
    image = tmp_path / "4k.img"
    with open(image, "wb") as f:
        f.truncate(32 << 20)
    with guestwright.GuestFS() as h:
        h.add_drive_opts(str(image), format="raw", blocksize=4096)
        h.launch()
        assert h.blockdev_getss("/dev/sda") == 4096
        h.shutdown()


def test_unsupported_arguments_are_named(tmp_path):
    image = tmp_path / "x.img"
    image.write_bytes(b"\0" * 1024 * 1024)
    h = guestwright.GuestFS()
    for kwargs, word in [({"label": "data"}, "label"), ({"secret": "s"}, "secret"),
                         ({"blocksize": 1024}, "blocksize"),
                         ({"server": ["h"]}, "server"),
                         ({"protocol": "gluster", "server": ["h"]}, "gluster")]:
        with pytest.raises(guestwright.Error) as e:
            h.add_drive_opts(str(image), format="raw", **kwargs)
        assert word in str(e.value)
        assert e.value.errno == errno.EINVAL
    # Accepted and meaningless here, as libguestfs callers pass them.
    h.add_drive_opts(str(image), format="raw", iface="virtio", name="x", cachemode="unsafe",
                     discard="besteffort", copyonread=True)
