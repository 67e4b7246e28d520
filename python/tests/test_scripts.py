"""Scripts written for libguestfs's Python binding run unchanged: a script in the style of
libguestfs's python/examples/inspect_vm.py imports `guestfs` (here a one-line module that
re-exports guestwright's) and inspects an image the test builds."""

import os
import shutil
import subprocess
import sys
import textwrap

from conftest import OS_RELEASE, need

#: In the style of libguestfs's python/examples/inspect_vm.py, as a guestfs user writes it.
INSPECT_VM = textwrap.dedent('''\
    import sys
    import guestfs

    disk = sys.argv[1]
    g = guestfs.GuestFS(python_return_dict=True)
    g.add_drive_opts(disk, readonly=1)
    g.launch()
    roots = g.inspect_os()
    if len(roots) == 0:
        print("inspect_vm: no operating systems found", file=sys.stderr)
        sys.exit(1)
    for root in roots:
        print("Root device: %s" % root)
        print("  Version:      %d.%d" %
              (g.inspect_get_major_version(root), g.inspect_get_minor_version(root)))
        print("  Type:         %s" % (g.inspect_get_type(root)))
        print("  Distro:       %s" % (g.inspect_get_distro(root)))
        mps = g.inspect_get_mountpoints(root)
        for mp, device in sorted(mps.items(), key=lambda k: len(k[0])):
            try:
                g.mount_ro(device, mp)
            except RuntimeError as msg:
                print("%s (ignored)" % msg)
        filename = "/etc/issue.net"
        if g.is_file(filename):
            print("--- %s ---" % filename)
            for line in g.head_n(3, filename):
                print(line)
        print(g.cat("/etc/hostname"), end="")
        g.umount_all()
    g.shutdown()
    g.close()
''')


def test_inspect_vm_script_runs_unchanged(tmp_path):
    need("mkfs.ext4", "e2fsprogs")
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "os-release").write_text(OS_RELEASE)
    (tree / "etc" / "debian_version").write_text("12.5\n")
    (tree / "etc" / "hostname").write_text("scripted\n")
    (tree / "etc" / "fstab").write_text("LABEL=vmroot / ext4 defaults 0 1\n")
    (tree / "etc" / "issue.net").write_text("one\ntwo\nthree\nfour\n")
    # A binary for the architecture, as in the fixture's guest.
    (tree / "usr" / "bin").mkdir(parents=True)
    shutil.copy("/bin/ls", tree / "usr" / "bin" / "ls")
    (tree / "bin").symlink_to("usr/bin")
    image = tmp_path / "vm.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "vmroot", "-d", str(tree), str(image), "32M"],
                   check=True, timeout=60)
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "guestfs.py").write_text("from guestwright import *  # noqa\n")
    script = tmp_path / "inspect_vm.py"
    script.write_text(INSPECT_VM)
    env = dict(os.environ, PYTHONPATH=str(shim))
    out = subprocess.run([sys.executable, str(script), str(image)], env=env,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        "Root device: /dev/sda\n"
        "  Version:      12.5\n"
        "  Type:         linux\n"
        "  Distro:       debian\n"
        "--- /etc/issue.net ---\n"
        "one\ntwo\nthree\n"
        "scripted\n"
    )
