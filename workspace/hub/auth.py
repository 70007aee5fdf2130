"""The team deployment's authenticator: PAM passwords, the user registry, login lockout.

:class:`WorkspaceAuthenticator` (``c.JupyterHub.authenticator_class`` in
``hub_config/jupyterhub_config.py``) adds to JupyterHub's PAM authenticator: only users in
``$WORKSPACE_HOME/hub/users.yaml`` may log in, and a user name with too many failed logins is
locked for a while (refused without checking the password). Logins are audited.

Design notes (lockout settings, where the counts live): docs/hub.md, "Module notes".
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyterhub.auth import PAMAuthenticator
from tornado import web
from traitlets import Float, Integer, Unicode

from workspace.governance.audit import failed_login_burst, record
from workspace.hub.deployment import HubPaths, load_registry
from workspace.lake.settings import Settings

__all__ = ["LockedOutError", "LoginLockout", "WorkspaceAuthenticator"]


class LockedOutError(web.HTTPError):
    """A login refused because its user name is locked out (403, shown on the login form)."""

    def __init__(self, name: str, remaining: float) -> None:
        minutes = max(1, math.ceil(remaining / 60))
        message = (
            f"Too many failed logins for {name}; try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''} or ask an admin."
        )
        super().__init__(403, message)
        # JupyterHub's error rendering shows this text (on the login form for a form POST).
        self.jupyterhub_message = message
        self.remaining = remaining


class LoginLockout:
    """Failed-login bookkeeping per user name, in memory.

    Parameters
    ----------
    max_failures
        Failures within ``window`` seconds that lock the name (0 turns the lockout off).
    window
        Seconds over which failures are counted.
    lockout
        Seconds a locked name stays locked.
    clock
        Monotonic seconds (tests pass their own).
    max_names
        At most this many names are tracked; the oldest are forgotten first (a flood of
        made-up names cannot exhaust the hub's memory).

    Examples
    --------
    >>> t = [0.0]
    >>> lock = LoginLockout(max_failures=2, window=60, lockout=30, clock=lambda: t[0])
    >>> lock.begin("ada"); lock.failed("ada"); lock.locked_for("ada")
    0.0
    >>> lock.begin("ada"); lock.failed("ada"); lock.locked_for("ada")
    30.0
    >>> t[0] = 31.0; lock.locked_for("ada")
    0.0
    """

    def __init__(
        self,
        *,
        max_failures: int,
        window: float,
        lockout: float,
        clock: Callable[[], float] = time.monotonic,
        max_names: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.clock = clock
        self.max_names = max_names
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}

    def _prune(self, name: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(name, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def locked_for(self, name: str) -> float:
        """Seconds ``name`` stays locked (0.0: not locked)."""
        until = self._locked_until.get(name)
        if until is None:
            return 0.0
        remaining = until - self.clock()
        if remaining <= 0:
            del self._locked_until[name]
            self._failures.pop(name, None)
            return 0.0
        return remaining

    def begin(self, name: str) -> None:
        """Count an attempt as failed *before* the password is checked.

        Concurrent guesses therefore count against the limit too; :meth:`succeeded`
        clears the count when the password was right.
        """
        if self.max_failures <= 0:
            return
        now = self.clock()
        self._prune(name, now).append(now)
        if len(self._failures) > self.max_names:
            oldest = next(iter(self._failures))
            if oldest != name:
                del self._failures[oldest]
        if len(self._locked_until) > self.max_names:
            self._locked_until = {n: u for n, u in self._locked_until.items() if u > now}

    def failed(self, name: str) -> None:
        """The password was wrong: lock the name when it reached ``max_failures``."""
        if self.max_failures <= 0:
            return
        now = self.clock()
        if len(self._prune(name, now)) >= self.max_failures:
            self._locked_until[name] = now + self.lockout

    def succeeded(self, name: str) -> None:
        """The password was right: forget the name's failures."""
        self._failures.pop(name, None)
        self._locked_until.pop(name, None)


class WorkspaceAuthenticator(PAMAuthenticator):
    """PAM passwords, the workspace's user registry and a lockout after failed logins.

    Only users registered in ``users.yaml`` (``workspace users add``) may log in. A user
    name with too many failed logins is locked for a while; the login page tells the user
    how long.
    """

    hub_dir = Unicode(
        "",
        config=True,
        help="""The hub's state folder holding the user registry ``users.yaml``.

        Empty (the default) means ``$WORKSPACE_HOME/hub``.
        """,
    )

    lockout_max_failures = Integer(
        5,
        config=True,
        help="""Failed logins for one user name that lock it.

        After this many wrong passwords within ``lockout_window`` seconds, the name is
        locked for ``lockout_seconds``: further logins are refused without checking the
        password, and the login page says "Too many failed logins for NAME; try again in
        M minutes or ask an admin". Names that do not exist are locked the same way, so the
        answer does not tell which accounts exist. 0 turns the lockout off.

        The counts are kept in the hub's memory: they are cleared when the hub restarts,
        which is also how an admin unlocks a name before its time is up.
        Set by ``WORKSPACE_LOGIN_MAX_FAILURES`` in the workspace's hub config.
        """,
    )

    lockout_window = Float(
        900.0,
        config=True,
        help="""Seconds over which failed logins are counted (default 15 minutes).

        Set by ``WORKSPACE_LOGIN_FAILURE_WINDOW`` in the workspace's hub config.
        """,
    )

    lockout_seconds = Float(
        900.0,
        config=True,
        help="""Seconds a locked user name stays locked (default 15 minutes).

        Set by ``WORKSPACE_LOGIN_LOCKOUT_SECONDS`` in the workspace's hub config.
        """,
    )

    _lockout: LoginLockout | None = None

    @property
    def lockout(self) -> LoginLockout:
        """The lockout state of this hub process (made from the traits on first use)."""
        if self._lockout is None:
            self._lockout = LoginLockout(
                max_failures=self.lockout_max_failures,
                window=self.lockout_window,
                lockout=self.lockout_seconds,
            )
        return self._lockout

    def _paths(self) -> HubPaths:
        return HubPaths(Path(self.hub_dir)) if self.hub_dir else HubPaths.resolve()

    def _settings(self) -> Settings:
        """The workspace whose audit trail records this hub's logins and spawns."""
        return Settings.resolve(self._paths().dir.parent)

    async def authenticate(self, handler: Any, data: dict[str, Any]) -> str | None:
        """PAM, unless the name is locked out (then a 403 with the lockout message).

        Every login, failed login and refusal goes into the audit trail; a burst of
        failures raises a security alert (:func:`workspace.governance.audit.failed_login_burst`).
        """
        name = self.normalize_username(str((data or {}).get("username") or ""))
        remaining = self.lockout.locked_for(name)
        if remaining > 0:
            self.log.warning("Login for %r refused: locked out for %.0f s", name[:32], remaining)
            _audit_login(handler, name, "login_locked", self._settings())
            raise LockedOutError(name[:32], remaining)
        self.lockout.begin(name)
        result: str | None = await super().authenticate(handler, data)
        if result is None:
            _audit_login(handler, name, "login_failed", self._settings())
            failed_login_burst(
                name[:64],
                threshold=self.lockout_max_failures or 5,
                window=self.lockout_window,
                settings=self._settings(),
            )
            self.lockout.failed(name)
            remaining = self.lockout.locked_for(name)
            if remaining > 0:
                self.log.warning(
                    "User name %r locked for %.0f s after %d failed logins",
                    name[:32],
                    remaining,
                    self.lockout_max_failures,
                )
                raise LockedOutError(name[:32], remaining)
            return None
        self.lockout.succeeded(name)
        _audit_login(handler, result, "login", self._settings())
        return result

    def pre_spawn_start(self, user: Any, spawner: Any) -> Any:
        """Record the spawn in the audit trail, then PAM's own hook."""
        record(user.name, "spawn", f"server:{user.name}", settings=self._settings(),
               server=spawner.name or "")  # fmt: skip
        return super().pre_spawn_start(user, spawner)

    def post_spawn_stop(self, user: Any, spawner: Any) -> Any:
        """Record the stop in the audit trail, then PAM's own hook."""
        record(user.name, "server_stop", f"server:{user.name}", settings=self._settings(),
               server=spawner.name or "")  # fmt: skip
        return super().post_spawn_stop(user, spawner)

    def check_allowed(self, username: str, authentication: Any = None) -> bool:
        """Only users in the registry (re-read at each login).

        A user removed while the hub was down cannot log in with a stale hub record.
        """
        return username in load_registry(self._paths()).users


def _audit_login(handler: Any, name: str, action: str, settings: Settings) -> None:
    """One audit entry for a login attempt: the name tried and where it came from."""
    request = getattr(handler, "request", None)
    ip = getattr(request, "remote_ip", None)
    record(name[:64], action, f"user:{name[:64]}", settings=settings, ip=ip)
