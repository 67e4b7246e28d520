"""The binding covers the table of operations, and its committed stubs match the table."""

import inspect
import pathlib

from guestwright import GuestFS, _guestwright, _stubgen, hostfile_name

STUBS = pathlib.Path(__file__).resolve().parent.parent / "guestwright" / "__init__.pyi"


def test_every_operation_is_a_method():
    every = _guestwright.operations(include_internal=True)
    public = _guestwright.operations()
    missing = [op["name"] for op in public if not callable(getattr(GuestFS, op["name"], None))]
    exposed = len(public) - len(missing)
    internal = len(every) - len(public)
    print(
        "python API coverage: %d/%d operations of the table exposed (%d internal to the library)"
        % (exposed, len(every), internal)
    )
    assert missing == []
    # Only the library's own operations are left out (poweroff: use shutdown()).
    assert all(op["group"] == "internal" for op in every if op not in public)


def test_methods_have_the_table_signature_and_help():
    for op in _guestwright.operations():
        if hasattr(_guestwright.Handle, op["name"]):
            # Answered by the library as libguestfs does (`version`), not by the appliance.
            continue
        m = getattr(GuestFS, op["name"])
        params = list(inspect.signature(m).parameters.values())[1:]
        table = [a["name"] for a in op["args"]]
        host = hostfile_name(op) if op["stream"] != "none" else None
        names = [p.name.rstrip("_") for p in params if p.name != host]
        assert names == table, op["name"]
        assert m.__doc__ == op["doc"]


def test_libguestfs_names_are_there():
    for name in ["cat", "write", "add_drive_opts", "add_drive_ro", "launch", "shutdown",
                 "close", "inspect_os", "inspect_get_mountpoints", "inspect_get_distro"]:
        assert callable(getattr(GuestFS, name)), name


def test_stubs_match_the_table():
    generated = _stubgen.stubs()
    assert STUBS.read_text() == generated, (
        "python/guestwright/__init__.pyi is out of date: regenerate it with "
        "`python -m guestwright._stubgen > python/guestwright/__init__.pyi`"
    )
