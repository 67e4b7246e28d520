"""Inspection through the binding, of the small Debian-like root the fixture made."""

import pytest

import guestwright


def test_inspect_os_finds_the_guest(g):
    try:
        roots = g.inspect_os()
        assert roots == ["/dev/sdb1"]
        assert g.inspect_get_roots() == roots
        root = roots[0]
        assert g.inspect_get_type(root) == "linux"
        assert g.inspect_get_distro(root) == "debian"
        assert g.inspect_get_major_version(root) == 12
        assert g.inspect_get_minor_version(root) == 5
        assert g.inspect_get_hostname(root) == "pyguest"
        assert g.inspect_get_arch(root) == "x86_64"
        assert g.inspect_get_package_format(root) == "deb"
        assert g.inspect_get_mountpoints(root) == {"/": "/dev/sdb1"}
        assert g.inspect_get_filesystems(root) == ["/dev/sdb1"]
        assert g.inspect_is_live(root) is False
        with pytest.raises(guestwright.Error):
            g.inspect_get_type("/dev/sda1")
        # Mount as the guest would, and read through the mountpoints.
        for mp, dev in sorted(g.inspect_get_mountpoints(root).items()):
            g.mount_ro(dev, mp)
        assert g.cat("/etc/hostname") == "pyguest\n"
    finally:
        g.umount_all()
        g.mount("/dev/sda1", "/")


def test_inspect_get_before_inspect_os_fails():
    h = guestwright.GuestFS()
    assert h.inspect_get_roots() == []
    with pytest.raises(guestwright.Error):
        h.inspect_get_type("/dev/sda1")
