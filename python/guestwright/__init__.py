"""guestwright: edit and inspect virtual machine disk images, with libguestfs's Python API.

    import guestwright
    g = guestwright.GuestFS()
    g.add_drive_opts("disk.img", format="qcow2", readonly=True)
    g.launch()
    g.mount("/dev/sda1", "/")
    print(g.cat("/etc/hostname"))
    g.shutdown()
    g.close()

`GuestFS` is libguestfs's `guestfs.GuestFS`: the same method names (underscored), optional
arguments as keywords, failures raised as `guestwright.Error` (a `RuntimeError`, like
`guestfs.GuestFSError`) with `errno`. Its methods for the appliance's operations are made
here, at import, from the table of operations compiled into the native module
(`_guestwright.operations()`, the table the shell's commands come from): nothing here names
one. Drives, launch, settings and inspection are written in the native module.

`GuestFS().version()` answers as libguestfs does, with the libguestfs API level guestwright
implements (major 1, minor 48, release 6), since callers test it for features;
`guestwright.__version__` is guestwright's own version.
"""

import inspect as _inspect
import keyword as _keyword
import os as _os

from . import _guestwright
from ._guestwright import Error

__all__ = ["GuestFS", "Error", "GuestFSError"]
__version__ = _guestwright.__version__

#: libguestfs's name for the exception.
GuestFSError = Error


class GuestFS(_guestwright.Handle):
    """A handle: add drives, `launch()`, call operations, `shutdown()`, `close()`.

    `GuestFS(python_return_dict=False, environment=True, close_on_exit=True)` as in
    libguestfs: hashtables come back as lists of pairs unless `python_return_dict=True`;
    settings come from the `GUESTWRIGHT_*` environment unless `environment=False`. A handle
    is also a context manager that closes it.
    """

    #: libguestfs's `add_drive_opts` is `add_drive`.
    add_drive_opts = _guestwright.Handle.add_drive

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _python_name(name):
    """An argument name Python accepts (`lambda` would become `lambda_`)."""
    return name + "_" if _keyword.iskeyword(name) else name


def hostfile_name(op):
    """The name of the host file argument of a streaming operation: `filename` as in
    libguestfs's `upload` and `download`, unless the operation has an argument of that name."""
    names = {a["name"] for a in op["args"]}
    return "filename" if "filename" not in names else "hostfile"


def _result(value, as_string):
    """The result as libguestfs's binding returns it: the native module shapes it
    (`guestwright.protocol.value`, the shapes guestfish prints); a libguestfs name whose
    result is a string where the table's operation returns bytes (`cat`) gets what precedes
    the first NUL, as text."""
    if as_string:
        return value.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    return value


def signature(op):
    """The Python signature of operation `op`: the host file of a streaming operation
    (before the table's arguments for an input stream, after the required ones for an
    output stream, as libguestfs's `upload(filename, remotefilename)` and
    `download(remotefilename, filename)`), the required arguments, then the optional ones
    as keywords defaulting to None."""
    P = _inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD)]
    required = [a for a in op["args"] if not a["optional"]]
    optional = [a for a in op["args"] if a["optional"]]
    if op["stream"] == "input":
        params.append(P(hostfile_name(op), P.POSITIONAL_OR_KEYWORD))
    params += [P(_python_name(a["name"]), P.POSITIONAL_OR_KEYWORD) for a in required]
    if op["stream"] == "output":
        params.append(P(hostfile_name(op), P.POSITIONAL_OR_KEYWORD))
    params += [P(_python_name(a["name"]), P.POSITIONAL_OR_KEYWORD, default=None) for a in optional]
    return _inspect.Signature(params)


def _method(op, name, as_string=False):
    sig = signature(op)
    table_name = {_python_name(a["name"]): a["name"] for a in op["args"]}
    hostfile = hostfile_name(op) if op["stream"] != "none" else None
    op_name = op["name"]

    def method(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs).arguments
        values = {table_name[k]: v for k, v in bound.items() if k in table_name}
        host = _os.fspath(bound[hostfile]) if hostfile else None
        value = self._call(op_name, values, host)
        return _result(value, as_string)

    method.__name__ = method.__qualname__ = name
    method.__qualname__ = "GuestFS." + name
    method.__signature__ = sig
    method.__doc__ = op["doc"]
    return method


def _inspect_method(fact):
    def method(self, root):
        return self._inspect_get(fact, root)

    method.__name__ = "inspect_" + fact
    method.__qualname__ = "GuestFS.inspect_" + fact
    method.__doc__ = "libguestfs's inspect_%s: from what inspect_os found." % fact
    return method


def _install():
    """Adds a method per operation of the table (and per libguestfs alias of one) and per
    inspection fact. A name the class defines already is never replaced."""
    ops = {op["name"]: op for op in _guestwright.operations()}
    aliases, string_results = _guestwright.aliases()
    wanted = [(name, op, False) for name, op in ops.items()]
    wanted += [(alias, ops[target], alias in string_results)
               for alias, target in aliases if target in ops]
    for name, op, as_string in wanted:
        if not hasattr(GuestFS, name):
            setattr(GuestFS, name, _method(op, name, as_string))
    for fact, _ in _guestwright.inspect_facts():
        if not hasattr(GuestFS, "inspect_" + fact):
            setattr(GuestFS, "inspect_" + fact, _inspect_method(fact))


_install()
