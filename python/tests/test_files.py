"""Files through the binding: bytes in, the same bytes out; errors with their errno; the
Python types of results; streams to and from host files."""

import errno
import hashlib

import pytest

import guestwright


def test_write_then_read_back_byte_exact(g):
    data = bytes(range(256)) * 64 + b"\0after a NUL\n\xff"
    g.write("/blob", data)
    assert g.read_file("/blob") == data
    assert g.filesize("/blob") == len(data)
    assert g.checksum("sha256", "/blob") == hashlib.sha256(data).hexdigest()


def test_cat_returns_str_as_libguestfs(g):
    g.write("/hello.txt", "héllo\nworld\n")
    assert g.cat("/hello.txt") == "héllo\nworld\n"
    assert g.read_lines("/hello.txt") == ["héllo", "world"]


def test_missing_file_raises_error_with_enoent(g):
    with pytest.raises(guestwright.Error) as e:
        g.cat("/no/such/file")
    assert e.value.errno == errno.ENOENT
    assert "No such file or directory" in str(e.value)
    # libguestfs's exception is a RuntimeError, and is also known as GuestFSError.
    assert isinstance(e.value, RuntimeError)
    assert guestwright.GuestFSError is guestwright.Error


def test_bad_arguments(g):
    with pytest.raises(TypeError):
        g.mount("/dev/sda1")
    with pytest.raises(TypeError):
        g.mkdir("/a", bogus=True)
    with pytest.raises(guestwright.Error) as e:
        g.mkdir("relative/path")
    assert e.value.errno == errno.EINVAL


def test_results_are_python_types(g):
    g.mkdir_p("/dir/sub")
    g.touch("/dir/f")
    assert sorted(g.ls("/dir")) == ["f", "sub"]
    assert g.is_dir("/dir/sub") is True
    assert g.is_file("/dir/sub") is False
    assert g.exists("/dir/f") is True
    st = g.stat("/dir/f")
    assert isinstance(st, dict) and st["size"] == 0
    assert g.vfs_type("/dev/sda1") == "ext4"
    assert g.list_devices()[0] == "/dev/sda"
    # libguestfs's mountpoints: device to mountpoint (a dict with python_return_dict).
    assert g.mountpoints() == {"/dev/sda1": "/"}
    g.chmod(0o640, "/dir/f")
    assert g.stat("/dir/f")["mode"] & 0o777 == 0o640


def test_optional_arguments_as_keywords(g):
    g.write("/k.txt", "x")
    # mount's optional arguments by keyword: remount nothing, but the call must parse.
    g.mkdir("/mnt2")
    g.write_append("/k.txt", b"yz")
    assert g.cat("/k.txt") == "xyz"
    assert g.is_file("/k.txt", followsymlinks=True) is True


def test_upload_and_download(g, tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(b"\x00\x01" * 300000)
    g.upload(src, "/up.bin")
    dst = tmp_path / "out.bin"
    g.download("/up.bin", str(dst))
    assert dst.read_bytes() == src.read_bytes()


def test_readonly_drive_leaves_the_image_unchanged(ext4_image):
    before = hashlib.sha256(ext4_image.read_bytes()).hexdigest()
    with guestwright.GuestFS() as h:
        h.add_drive_opts(str(ext4_image), format="raw", readonly=True)
        h.launch()
        h.mount("/dev/sda", "/")
        assert h.cat("/hello") == "hello from the host\n"
        # Writes go to a throw-away overlay: visible now, never in the image.
        h.write("/hello", "changed\n")
        assert h.cat("/hello") == "changed\n"
        h.shutdown()
    assert hashlib.sha256(ext4_image.read_bytes()).hexdigest() == before
