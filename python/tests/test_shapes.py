"""Results have the Python types and shapes libguestfs 1.48's binding (`import guestfs`)
gives, for operations of each of its return kinds: RStringList, RHashtable, RStruct,
RStructList, RBool, RInt, RInt64, RString, RBufferOut."""

import guestwright


def test_string_lists_are_lists_of_str(g):
    assert g.list_devices() == ["/dev/sda", "/dev/sdb"]
    assert g.list_partitions() == ["/dev/sda1", "/dev/sdb1"]
    assert g.mounts() == ["/dev/sda1"]
    g.write("/lines.txt", "a\nb\nc\n")
    assert g.head_n(2, "/lines.txt") == ["a", "b"]
    assert all(type(x) is str for x in g.list_devices() + g.ls("/"))


def test_hashtables_are_dicts(g):
    # The fixture's handle has python_return_dict=True.
    assert g.list_filesystems() == {"/dev/sda1": "ext4", "/dev/sdb1": "ext4"}
    assert g.mountpoints() == {"/dev/sda1": "/"}
    tune = g.tune2fs_l("/dev/sda1")
    assert isinstance(tune, dict) and tune["Filesystem magic number"] == "0xEF53"


def test_structs_are_dicts_with_libguestfs_field_names(g):
    g.write("/five", "12345")
    st = g.statns("/five")
    assert list(st) == [
        "st_dev", "st_ino", "st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev", "st_size",
        "st_blksize", "st_blocks", "st_atime_sec", "st_atime_nsec", "st_mtime_sec",
        "st_mtime_nsec", "st_ctime_sec", "st_ctime_nsec", "st_spare1", "st_spare2",
        "st_spare3", "st_spare4", "st_spare5", "st_spare6",
    ]
    assert st["st_size"] == 5 and all(type(v) is int for v in st.values())
    assert g.lstatns("/five")["st_ino"] == st["st_ino"]
    old = g.stat("/five")
    assert list(old) == ["dev", "ino", "mode", "nlink", "uid", "gid", "rdev", "size",
                         "blksize", "blocks", "atime", "mtime", "ctime"]
    assert old["size"] == 5
    assert set(g.statvfs("/")) == {"bsize", "frsize", "blocks", "bfree", "bavail", "files",
                                   "ffree", "favail", "fsid", "flag", "namemax"}
    v = g.version()
    assert list(v) == ["major", "minor", "release", "extra"]
    assert all(type(v[k]) is int for k in ("major", "minor", "release"))
    assert type(v["extra"]) is str
    # The libguestfs API level implemented, which callers test for features.
    assert (v["major"], v["minor"], v["release"], v["extra"]) == (1, 48, 6, "")
    assert g.utsname()["uts_sysname"] == "Linux"


def test_struct_lists_are_lists_of_dicts(g):
    parts = g.part_list("/dev/sda")
    assert len(parts) == 1
    assert list(parts[0]) == ["part_num", "part_start", "part_end", "part_size"]
    p = parts[0]
    assert p["part_num"] == 1 and p["part_end"] - p["part_start"] + 1 == p["part_size"]
    g.touch("/x")
    g.setxattr("user.test", "valx", 3, "/x")
    assert g.getxattrs("/x") == [{"attrname": "user.test", "attrval": b"val"}]


def test_scalars(g):
    g.touch("/s")
    assert g.is_file("/s") is True and g.exists("/nope") is False
    assert type(g.filesize("/s")) is int
    assert type(g.blockdev_getsize64("/dev/sda")) is int
    assert g.blockdev_getsize64("/dev/sda") == 64 << 20
    assert g.vfs_type("/dev/sda1") == "ext4"
    assert g.blkid("/dev/sda1")["PART_ENTRY_NUMBER"] == "1"
    g.write("/b", b"\x00\xffz")
    assert g.read_file("/b") == b"\x00\xffz"
    assert g.part_get_parttype("/dev/sda") == "msdos"
    assert g.umask(0o022) == 0o022


def test_hashtables_are_pairs_without_return_dict(ext4_image):
    with guestwright.GuestFS() as h:
        h.add_drive_opts(str(ext4_image), format="raw", readonly=1)
        h.launch()
        assert h.list_filesystems() == [("/dev/sda", "ext4")]
        # blkid: libguestfs's hashtable of blkid's own keys, in blkid's order.
        info = h.blkid("/dev/sda")
        assert ("TYPE", "ext4") in info and ("DEVNAME", "/dev/sda") in info
        assert all(type(k) is str and type(v) is str for k, v in info)
        h.mount_ro("/dev/sda", "/")
        assert h.mountpoints() == [("/dev/sda", "/")]
        h.shutdown()
