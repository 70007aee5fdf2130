"""Per-user read access to a folder tree, with POSIX ACLs (the OS decides, at every open).

:func:`grant_read` adds ``user:NAME:r-x`` (directories) and ``user:NAME:r--`` (files) to a
tree, with a default ACL so files written later inherit it; :func:`revoke_read` removes
them. Set through ``libacl`` with :mod:`ctypes` (``pylibacl`` ships no wheels; the machines
have no ``acl`` headers or CLI). Design notes: docs/governance.md ("Module notes").

>>> import tempfile, pathlib
>>> tree = pathlib.Path(tempfile.mkdtemp())
>>> grant_read(tree, "root"); "root" in readers(tree)
True
>>> revoke_read(tree, "root"); readers(tree)
[]
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import pwd
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from workspace.lake.errors import WorkspaceError

_ACCESS = 0x8000  # ACL_TYPE_ACCESS
_DEFAULT = 0x4000  # ACL_TYPE_DEFAULT


class AclError(WorkspaceError):
    """An ACL could not be read or changed (no ACL support, not permitted, unknown user)."""


@cache
def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("acl") or "libacl.so.1"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise AclError(
            f"POSIX ACLs need libacl ({name}); install the 'libacl1' package: {exc}"
        ) from None
    lib.acl_get_file.restype = ctypes.c_void_p
    lib.acl_get_file.argtypes = [ctypes.c_char_p, ctypes.c_int]
    lib.acl_set_file.restype = ctypes.c_int
    lib.acl_set_file.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
    lib.acl_from_text.restype = ctypes.c_void_p
    lib.acl_from_text.argtypes = [ctypes.c_char_p]
    lib.acl_to_text.restype = ctypes.c_void_p
    lib.acl_to_text.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.acl_free.restype = ctypes.c_int
    lib.acl_free.argtypes = [ctypes.c_void_p]
    return lib


def _fail(what: str, path: Path) -> AclError:
    code = ctypes.get_errno()
    hint = (
        " (the file system does not support ACLs: mount it with 'acl')"
        if code == errno.EOPNOTSUPP
        else ""
    )
    return AclError(f"Could not {what} the ACL of {path}: {os.strerror(code)}{hint}")


def get_acl(path: Path, *, default: bool = False) -> list[str]:
    """The ACL entries of ``path`` as ``setfacl`` text lines (``user:ada:r-x``, ...)."""
    lib = _lib()
    handle = lib.acl_get_file(os.fsencode(path), _DEFAULT if default else _ACCESS)
    if not handle:
        raise _fail("read", path)
    try:
        text = lib.acl_to_text(handle, None)
        if not text:
            raise _fail("read", path)
        try:
            lines = ctypes.string_at(text).decode()
        finally:
            lib.acl_free(text)
    finally:
        lib.acl_free(handle)
    return [ln.split("#")[0].strip() for ln in lines.splitlines() if ln.split("#")[0].strip()]


def set_acl(path: Path, entries: list[str], *, default: bool = False) -> None:
    """Replace the ACL of ``path`` with ``entries`` (``setfacl`` text; a mask is added)."""
    lib = _lib()
    named = [e for e in entries if e.split(":")[1] and e.split(":")[0] in ("user", "group")]
    if named and not any(e.startswith("mask:") for e in entries):
        # the mask bounds every group-class entry: the union of theirs keeps a writer's rwx
        perms = [e.rsplit(":", 1)[1] for e in entries if e in named or e.startswith("group:")]
        mask = "".join(c if any(p[i] == c for p in perms) else "-" for i, c in enumerate("rwx"))
        entries = [*entries, f"mask::{mask}"]
    handle = lib.acl_from_text(",".join(entries).encode())
    if not handle:
        raise _fail("parse", path)
    try:
        if lib.acl_set_file(os.fsencode(path), _DEFAULT if default else _ACCESS, handle):
            raise _fail("change", path)
    finally:
        lib.acl_free(handle)


def _base(path: Path) -> list[str]:
    """The owner/group/other entries matching the file's mode bits (no named entries)."""
    mode = path.stat().st_mode

    def bits(shift: int) -> str:
        m = (mode >> shift) & 7
        return ("r" if m & 4 else "-") + ("w" if m & 2 else "-") + ("x" if m & 1 else "-")

    return [f"user::{bits(6)}", f"group::{bits(3)}", f"other::{bits(0)}"]


def _walk(root: Path) -> Iterator[Path]:
    yield root
    if root.is_dir() and not root.is_symlink():
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [*dirnames, *filenames]:
                yield Path(dirpath) / name


def _uid(user: str) -> str:
    try:
        pwd.getpwnam(user)
    except KeyError:
        raise AclError(f"No OS account named {user!r}: grants name existing users.") from None
    return user


def _change(root: Path, user: str, *, add: bool) -> None:
    tag = f"user:{_uid(user)}:"
    for path in _walk(root):
        if path.is_symlink():
            continue
        is_dir = path.is_dir()
        kinds = (False, True) if is_dir else (False,)
        for default in kinds:
            current = get_acl(path, default=default) if not default or _has_default(path) else []
            if default and not current:
                current = _base(path)
            kept = [e for e in current if not e.startswith(tag) and not e.startswith("mask:")]
            if add:
                kept.append(tag + ("r-x" if is_dir else "r--"))
            if not any(e.split(":")[1] for e in kept if e.startswith(("user:", "group:"))):
                kept = [e for e in kept if not e.startswith("mask:")]
            set_acl(path, kept, default=default)


def _has_default(path: Path) -> bool:
    try:
        return bool(get_acl(path, default=True))
    except AclError:
        return False


def grant_read(root: Path, user: str) -> None:
    """Let ``user`` read every file of ``root`` (and files written there later)."""
    _change(Path(root), user, add=True)


def revoke_read(root: Path, user: str) -> None:
    """Take back :func:`grant_read`: ``user`` cannot open anything below ``root`` any more."""
    _change(Path(root), user, add=False)


def readers(root: Path) -> list[str]:
    """Users named in the ACL of ``root`` itself (sorted)."""
    names = {e.split(":")[1] for e in get_acl(Path(root)) if e.startswith("user:")}
    return sorted(n for n in names if n)


def forget(root: Path, user: str) -> None:
    """Strip, from every file below ``root``, the entries naming ``user`` or a uid that has
    no account any more (a later account reusing the uid must not inherit them)."""
    root = Path(root)
    for path in [root, *root.rglob("*")] if root.exists() else []:
        for default in (False, True) if path.is_dir() else (False,):
            entries = get_acl(path, default=default)
            kept = [e for e in entries if not _orphan(e, user)]
            if kept != entries:
                set_acl(path, kept, default=default)


def has_orphans(root: Path) -> bool:
    """Whether the ACL of ``root`` itself names a uid that has no account any more."""
    return any(_orphan(e, "") for e in get_acl(Path(root)))


def _orphan(entry: str, user: str) -> bool:
    """Whether an ACL entry names ``user`` or a numeric uid that has no account."""
    kind, _, rest = entry.partition(":")
    name = rest.partition(":")[0]
    if kind != "user" or not name:
        return False
    if name == user:
        return True
    if not name.isdigit():
        return False
    try:
        pwd.getpwuid(int(name))
    except KeyError:
        return True
    return False
