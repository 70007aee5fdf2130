"""Who opens a protected table's files, seen by the kernel: fanotify marks on its data folders.

The scheduler service (root) marks every folder under each protected table's ``data/`` for
``FAN_OPEN``. Each event carries the opening process, whose filesystem uid names the account
(a raw DuckDB read in a user's kernel counts, not only reads through services). An
(account, table) pair goes into the audit trail as ``protected_open`` at most once per
``every`` seconds; grants' ``last_used`` and the health page's "never used" read those
entries. Without root or fanotify, :func:`available` is False and nothing is recorded.
Design notes: docs/governance.md ("Access monitoring").
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import pwd
import select
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from workspace.governance import audit
from workspace.lake import protected
from workspace.lake.settings import Settings

log = logging.getLogger(__name__)

ACTION = "protected_open"
_FAN_CLOEXEC, _FAN_NONBLOCK, _FAN_CLASS_NOTIF = 0x1, 0x2, 0x0
_FAN_MARK_ADD = 0x1
_FAN_OPEN, _FAN_Q_OVERFLOW, _FAN_EVENT_ON_CHILD = 0x20, 0x4000, 0x08000000
_AT_FDCWD = -100
_EVENT = struct.Struct("=IBBHQii")  # struct fanotify_event_metadata


@dataclass(frozen=True)
class Opened:
    """One open of a protected table's file by an account."""

    user: str
    table: str
    pid: int
    file: str


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
    libc.fanotify_mark.argtypes = [
        ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p,
    ]  # fmt: skip
    return libc


def available() -> bool:
    """Whether this process may watch opens (root with ``CAP_SYS_ADMIN``, Linux fanotify)."""
    try:
        fd = _libc().fanotify_init(_FAN_CLOEXEC | _FAN_CLASS_NOTIF, os.O_RDONLY)
    except (OSError, AttributeError):
        return False
    if fd < 0:
        return False
    os.close(fd)
    return True


def _fsuid(pid: int) -> int | None:
    """The filesystem uid of a live process (what the kernel checked the open against)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[4])
    except (OSError, ValueError, IndexError):
        return None
    return None


class ReadWatch:
    """Marks the protected tables' data folders and records who opens their files.

    Examples
    --------
    >>> watch = ReadWatch(settings)  # doctest: +SKIP
    >>> watch.mark_all(); watch.poll(timeout=1.0)  # doctest: +SKIP
    [Opened(user='ana', table='silver.customers', pid=4242, file='ducklake-...parquet')]
    """

    def __init__(self, settings: Settings, *, every: float = 600.0) -> None:
        self.settings = settings
        self.every = every
        self._fd: int | None = None
        self._libc = _libc()
        self._recorded: dict[tuple[str, str], float] = {}
        self._names: dict[int, str | None] = {}

    def open(self) -> bool:
        """Start the fanotify group; False when this process may not watch."""
        if self._fd is None:
            flags = _FAN_CLOEXEC | _FAN_NONBLOCK | _FAN_CLASS_NOTIF
            fd = self._libc.fanotify_init(flags, os.O_RDONLY | os.O_CLOEXEC)
            if fd < 0:
                log.info("file opens of protected tables are not watched: %s",
                         os.strerror(ctypes.get_errno()))  # fmt: skip
                return False
            self._fd = fd
        return True

    def close(self) -> None:
        """Stop watching."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def mark_all(self) -> int:
        """Mark every folder of every protected table's data (new tables and folders too);
        returns the folders marked. Marks are idempotent, and go with a deleted folder."""
        if not self.open():
            return 0
        marked = 0
        for entry in protected.read_index(self.settings).values():
            data = protected.data_dir(protected.protected_root(self.settings, entry.table))
            if not entry.protected or not data.is_dir():
                continue
            for folder, _dirs, _files in os.walk(data):
                marked += self._mark(Path(folder))
        return marked

    def _mark(self, folder: Path) -> int:
        assert self._fd is not None
        rc = self._libc.fanotify_mark(
            self._fd, _FAN_MARK_ADD, _FAN_OPEN | _FAN_EVENT_ON_CHILD, _AT_FDCWD,
            os.fsencode(folder),
        )  # fmt: skip
        if rc < 0 and ctypes.get_errno() != errno.ENOENT:
            log.warning("cannot watch %s: %s", folder, os.strerror(ctypes.get_errno()))
        return int(rc == 0)

    def poll(self, timeout: float = 1.0) -> list[Opened]:
        """Wait up to ``timeout`` s for opens, record the new (account, table) pairs in the
        audit trail, and return every open seen (root's own are left out)."""
        if self._fd is None or not select.select([self._fd], [], [], timeout)[0]:
            return []
        seen: list[Opened] = []
        while True:
            try:
                buf = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            seen.extend(self._parse(buf))
        self._record(seen)
        return seen

    def _parse(self, buf: bytes) -> list[Opened]:
        out = []
        base = protected.protected_dir(self.settings)
        offset = 0
        while offset + _EVENT.size <= len(buf):
            length, _v, _r, _m, mask, fd, pid = _EVENT.unpack_from(buf, offset)
            offset += max(length, _EVENT.size)
            if fd < 0:
                if mask & _FAN_Q_OVERFLOW:
                    log.warning("fanotify queue overflow: some opens were not seen")
                continue
            try:
                path = Path(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                continue
            finally:
                os.close(fd)
            uid = _fsuid(pid)  # read at once: the opener may be a short-lived process
            user = self._user(uid) if uid else None  # None: root, or a process gone already
            try:
                table = path.relative_to(base).parts[0].split("@")[0]  # a row-filtered copy
            except (ValueError, IndexError):
                continue
            if user and pid != os.getpid() and not table.startswith("."):
                out.append(Opened(user, table, pid, path.name))
        return out

    def _user(self, uid: int) -> str | None:
        if uid not in self._names:
            try:
                self._names[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self._names[uid] = str(uid)
        return self._names[uid]

    def _record(self, seen: list[Opened]) -> None:
        now = time.monotonic()
        for o in seen:
            last = self._recorded.get((o.user, o.table))
            if last is not None and now - last < self.every:
                continue
            self._recorded[(o.user, o.table)] = now
            try:
                audit.record(o.user, ACTION, f"table:{o.table}", settings=self.settings,
                             file=o.file, pid=o.pid)  # fmt: skip
            except Exception:
                log.exception("could not record %s opening %s", o.user, o.table)

    def run_forever(self, stop: threading.Event, *, remark: float = 5.0) -> None:
        """Poll until ``stop`` is set, marking new tables and folders every ``remark`` s."""
        if not self.open():
            return
        next_mark = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() >= next_mark:
                    self.mark_all()
                    next_mark = time.monotonic() + remark
                try:
                    self.poll(timeout=1.0)
                except Exception:
                    log.exception("watching protected tables' opens failed; retrying")
        finally:
            self.close()

    def start(self, stop: threading.Event) -> threading.Thread | None:
        """Run :meth:`run_forever` on a daemon thread (None when this process may not watch)."""
        if not self.open():
            return None
        thread = threading.Thread(
            target=self.run_forever, args=(stop,), name="workspace-read-watch", daemon=True
        )
        thread.start()
        return thread
