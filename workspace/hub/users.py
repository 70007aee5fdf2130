"""Workspace users: the registry entry, the OS account, and the running hub, kept in step.

A workspace user is three things:

1. an entry in ``$WORKSPACE_HOME/hub/users.yaml`` (group, admin) — the source of truth for
   hub groups, read by the hub config at start;
2. an OS account (``useradd -m -s /bin/bash``, home 0700) whose password PAM checks at login
   and under which :class:`LocalProcessSpawner` runs the user's server — so users cannot
   read each other's homes;
3. a hub user, group membership and admin flag — pushed to a running hub through its REST
   API with the ``workspace-cli`` service token, so a change needs no hub restart.

Every addition, change and removal is recorded in the audit trail, and a new admin raises a
security alert (:mod:`workspace.governance.audit`).
"""

from __future__ import annotations

import getpass
import grp
import json
import os
import pwd
import secrets
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workspace.api.auth import ADMINS, GROUPS, SERVER_GROUPS, STAKEHOLDERS, validate_user_name
from workspace.governance.audit import os_actor, record, record_user
from workspace.hub.deployment import HubPaths, Registry, UserEntry, load_registry, save_registry
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

ROOT_NEEDED = "per-user OS accounts need root; run as root or see README (Team deployment)"


class UserAdminError(WorkspaceError):
    """A user could not be added, changed or removed."""


@dataclass
class UserInfo:
    """One row of ``workspace users list``."""

    name: str
    group: str
    admin: bool
    os_account: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "admin": self.admin,
            "os_account": self.os_account,
        }


@dataclass
class AddResult:
    name: str
    entry: UserEntry
    created_os_account: bool
    password: str | None  # the password that was set (None: left unchanged)
    generated: bool  # True when the password was generated here
    hub_synced: bool


def generate_password() -> str:
    """A strong random initial password (about 120 bits, URL- and shell-safe)."""
    return secrets.token_urlsafe(15)


def os_account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _require_root() -> None:
    if os.geteuid() != 0:
        raise UserAdminError(ROOT_NEEDED)


def _run(cmd: list[str], *, input_text: str | None = None) -> None:
    exe = shutil.which(cmd[0]) or shutil.which(cmd[0], path="/usr/sbin:/sbin:/usr/bin")
    if exe is None:
        raise UserAdminError(f"{cmd[0]} not found; per-user OS accounts need the shadow utils")
    proc = subprocess.run(
        [exe, *cmd[1:]], input=input_text, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise UserAdminError(
            f"{' '.join(cmd)} failed "
            f"(exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
        )


def create_os_account(name: str) -> bool:
    """Create the OS account (home 0700) unless it exists; True when it was created."""
    if os_account_exists(name):
        return False
    _require_root()
    _run(["useradd", "-m", "-s", "/bin/bash", "-U", name])
    home = pwd.getpwnam(name).pw_dir
    os.chmod(home, 0o700)
    return True


def ensure_sandbox(name: str, paths: HubPaths) -> Path:
    """``$WORKSPACE_HOME/sandboxes/NAME`` owned by the user, 0700.

    The shared lake (catalog and data files) belongs to the account that runs the hub and
    the scheduler, readable by all and writable by none of the users: users read bronze,
    silver and gold and write only here, in their own sandbox lake.
    """
    sandboxes = paths.dir.parent / "sandboxes"
    sandboxes.mkdir(parents=True, exist_ok=True)
    os.chmod(sandboxes, 0o755)
    sandbox = sandboxes / name
    sandbox.mkdir(exist_ok=True)
    account = pwd.getpwnam(name)
    for root, dirs, files in os.walk(sandbox):
        for entry in [root, *(os.path.join(root, d) for d in dirs)]:
            os.chown(entry, account.pw_uid, account.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), account.pw_uid, account.pw_gid)
    os.chmod(sandbox, 0o700)
    return sandbox


def give_tour(name: str, group: str) -> Path | None:
    """Copy the tour notebooks into a new Lab user's home (``~/tour``), owned by them.

    Stakeholders get no server, so no tour. Existing files are kept.
    """
    if group == STAKEHOLDERS:
        return None
    from workspace.demo import copy_notebooks

    account = pwd.getpwnam(name)
    tour = Path(account.pw_dir) / "tour"
    copy_notebooks(tour)
    for entry in [tour, *tour.iterdir()]:
        os.chown(entry, account.pw_uid, account.pw_gid)
    return tour


def set_password(name: str, password: str) -> None:
    _require_root()
    if ":" in password or "\n" in password:
        raise UserAdminError("a password cannot contain ':' or a line break")
    _run(["chpasswd"], input_text=f"{name}:{password}\n")


def remove_os_account(name: str, *, delete_home: bool) -> bool:
    if not os_account_exists(name):
        return False
    _require_root()
    _run(["userdel", *(["-r"] if delete_home else []), name])
    # useradd -U made a same-name group; userdel normally removes it, but be sure.
    try:
        grp.getgrnam(name)
    except KeyError:
        pass
    else:
        subprocess.run(["groupdel", name], capture_output=True, check=False)
    return True


# -- the running hub -------------------------------------------------------------------------


class HubClient:
    """A tiny JupyterHub REST client authenticated with the ``workspace-cli`` token."""

    def __init__(self, api_url: str, token: str, timeout: float = 10.0):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def for_paths(cls, paths: HubPaths) -> HubClient | None:
        """A client for the hub running on this home, or None when none is running."""
        try:
            url = paths.url_file.read_text(encoding="utf-8").strip()
            token = paths.api_token.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not url or not token:
            return None
        client = cls(url.rstrip("/") + "/hub/api", token, timeout=5.0)
        try:
            client.request("GET", "/")
        except (OSError, UserAdminError):
            return None
        return client

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.api_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and method in {"GET", "DELETE"}:
                return None
            detail = exc.read().decode(errors="replace")[:300]
            raise UserAdminError(f"hub API {method} {path}: HTTP {exc.code} {detail}") from exc
        return json.loads(raw) if raw else None

    def sync_user(self, name: str, entry: UserEntry) -> None:
        """Create the hub user if missing, set the admin flag and the one group."""
        user = self.request("GET", f"/users/{name}")
        if user is None:
            self.request("POST", f"/users/{name}", {"admin": entry.admin})
        elif bool(user.get("admin")) != entry.admin:
            self.request("PATCH", f"/users/{name}", {"admin": entry.admin})
        for group in (*GROUPS, ADMINS):
            body = {"users": [name]}
            if group == entry.group or (group == ADMINS and entry.admin):
                self.request("POST", f"/groups/{group}/users", body)
            else:
                self.request("DELETE", f"/groups/{group}/users", body)

    def delete_user(self, name: str) -> None:
        user = self.request("GET", f"/users/{name}")
        if user is None:
            return
        if user.get("server") or user.get("pending"):
            self.request("DELETE", f"/users/{name}/server")
        self.request("DELETE", f"/users/{name}")


# -- operations ------------------------------------------------------------------------------


def add_user(
    name: str,
    group: str,
    *,
    admin: bool = False,
    password: str | None = None,
    paths: HubPaths | None = None,
    os_accounts: bool = True,
) -> AddResult:
    """Register ``name`` in ``group``, create its OS account and set its password.

    A new OS account gets ``password`` or a generated one; an existing account keeps its
    password unless ``password`` is given. With a hub running, the change is applied live.
    """
    validate_user_name(name)
    if group not in GROUPS:
        raise UserAdminError(f"unknown group {group!r}; choose one of {', '.join(GROUPS)}")
    paths = paths or HubPaths.resolve()
    entry = UserEntry.model_validate({"group": group, "admin": admin})
    created = False
    generated = False
    if os_accounts:
        _require_root()
        created = create_os_account(name)
        if password is None and created:
            password, generated = generate_password(), True
        if password is not None:
            set_password(name, password)
        ensure_sandbox(name, paths)
        if created:
            give_tour(name, group)
    registry = load_registry(paths)
    before = registry.users.get(name)
    registry.users[name] = entry
    save_registry(registry, paths)
    was = None if before is None else before.model_dump()  # audited, with a new-admin alert
    settings = Settings.resolve(paths.dir.parent)
    record_user(name, entry.model_dump(), was, settings,
                os_account_created=created, password_set=password is not None)  # fmt: skip
    if os_accounts:  # a group's grants follow its members at once
        from workspace.governance.access import AccessService, store_path  # duckdb: lazily

        if store_path(settings).exists():
            AccessService(settings).sync(name)
    synced = False
    client = HubClient.for_paths(paths)
    if client is not None:
        client.sync_user(name, entry)
        synced = True
    return AddResult(name, entry, created, password, generated, synced)


def list_users(paths: HubPaths | None = None) -> list[UserInfo]:
    registry = load_registry(paths or HubPaths.resolve())
    return [
        UserInfo(name, entry.group, entry.admin, os_account_exists(name))
        for name, entry in sorted(registry.users.items())
    ]


@dataclass
class RemoveResult:
    """What ``workspace users remove`` did."""

    name: str
    registered: bool  # was in the registry (now unregistered)
    os_account_removed: bool
    home_deleted: bool
    sandbox: Path | None  # the sandbox folder that was deleted (None: there was none)
    paused: list[str]  # the user's pipelines now paused
    transferred: list[str]  # the user's pipelines now owned by ``transfer_to``
    transfer_to: str | None


def sandbox_dir(name: str, paths: HubPaths) -> Path:
    """``$WORKSPACE_HOME/sandboxes/NAME``."""
    return paths.dir.parent / "sandboxes" / name


def _check_heir(name: str, heir: str, registry: Registry) -> None:
    """``heir`` may take over ``name``'s pipelines: a registered user who has a Lab."""
    if heir == name:
        raise UserAdminError(f"cannot transfer {name}'s pipelines to {name}, who is being removed")
    entry = registry.users.get(heir)
    if entry is None:
        raise UserAdminError(
            f"cannot transfer {name}'s pipelines to {heir!r}: not a workspace user "
            "(see `workspace users list`)"
        )
    if entry.group not in SERVER_GROUPS and not entry.admin:
        raise UserAdminError(
            f"cannot transfer {name}'s pipelines to {heir}: {entry.group} do not own "
            f"pipelines; pick an analyst, scientist, engineer or admin"
        )


def hand_over_pipelines(
    name: str,
    *,
    transfer_to: str | None,
    scheduled_root: Path,
    settings: Settings,
    by: str,
) -> tuple[list[str], list[str]]:
    """Pause ``name``'s pipelines, or make ``transfer_to`` their owner. Returns (paused,
    transferred) pipeline names.

    Owners are what the scheduler's run store records; the change goes through
    :class:`~workspace.api.service.JobsService` (pause, and ``transfer_owner``, which
    records who handed the pipeline over and when). Nothing to do without a run store.
    """
    from workspace.api.service import JobsService
    from workspace.jobs.models import PipelineNotFoundError
    from workspace.jobs.spec.pipeline import PipelineSpecError
    from workspace.jobs.store.schema import store_path

    if not store_path(settings).exists():
        return [], []
    service = JobsService(settings, scheduled_root)
    try:
        service.sync_owners()  # folders the service has not met yet get their owner
        owned = sorted(p.name for p in service.store.list_pipelines() if p.owner == name)
        paused: list[str] = []
        transferred: list[str] = []
        for pipeline in owned:
            if transfer_to is not None:
                service.transfer_owner(pipeline, transfer_to, by=by, reason=f"{name} was removed")
                transferred.append(pipeline)
                continue
            try:
                service.pause(pipeline, requested_by=by)
            except (PipelineNotFoundError, PipelineSpecError):
                service.store.pause(pipeline)  # its folder is gone or invalid: the record
            paused.append(pipeline)
        return paused, transferred
    finally:
        service.store.close()


def remove_user(
    name: str,
    *,
    delete_home: bool = False,
    keep_sandbox: bool = False,
    transfer_to: str | None = None,
    scheduled_root: Path | None = None,
    paths: HubPaths | None = None,
    os_accounts: bool = True,
    by: str | None = None,
) -> RemoveResult:
    """Remove a workspace user: their pipelines, sandbox, hub user, registry entry and OS
    account.

    In this order, so that a failure leaves nothing half-removed that matters:

    1. their pipelines are paused (no scheduled run any more; manual runs by engineers still
       work), or handed over to ``transfer_to`` (a registered user with a Lab);
    2. their server is stopped and the hub user deleted (a running hub);
    3. the registry entry goes;
    4. their sandbox ``$WORKSPACE_HOME/sandboxes/NAME`` is deleted, unless ``keep_sandbox``
       (then it is given to root, so an account that later gets the same uid cannot read
       it);
    5. their access grants end, and their ACL entries and row-filtered copies go;
    6. the OS account is removed (with its home if ``delete_home``).

    ``scheduled_root`` defaults to ``$WORKSPACE_SCHEDULED``, else the folder the last
    ``workspace hub`` gave its services, else ``./scheduled``.

    Examples
    --------
    >>> remove_user("ada", transfer_to="bob").transferred  # doctest: +SKIP
    ['daily_sales']
    """
    from workspace.jobs.paths import scheduled_root as default_scheduled_root

    paths = paths or HubPaths.resolve()
    registry = load_registry(paths)
    registered = name in registry.users
    if not registered and not (os_accounts and os_account_exists(name)):
        raise UserAdminError(f"no workspace user {name!r}; see `workspace users list`")
    if transfer_to is not None:
        _check_heir(name, transfer_to, registry)
    if os_accounts:
        _require_root()
    settings = Settings.resolve(paths.dir.parent)
    paused, transferred = hand_over_pipelines(
        name,
        transfer_to=transfer_to,
        scheduled_root=Path(
            scheduled_root
            or os.environ.get("WORKSPACE_SCHEDULED")
            or paths.scheduled_root()
            or default_scheduled_root()
        ),
        settings=settings,
        by=by or getpass.getuser(),
    )
    client = HubClient.for_paths(paths)
    if client is not None:
        client.delete_user(name)
    if registered:
        registry.users.pop(name)
        save_registry(registry, paths)
    sandbox: Path | None = None
    folder = sandbox_dir(name, paths)
    if folder.exists() and keep_sandbox:
        _give_to_root(folder)
    elif folder.exists():
        shutil.rmtree(folder)
        sandbox = folder
    if os_accounts:  # while the name still resolves: grants end, ACL entries and copies go
        from workspace.governance.access import AccessService, store_path

        if store_path(settings).exists():
            AccessService(settings).forget(name)
    removed = remove_os_account(name, delete_home=delete_home) if os_accounts else False
    record(
        by or os_actor(), "user_remove", f"user:{name}", settings=settings, paused=paused,
        transferred=transferred, transfer_to=transfer_to, os_account_removed=removed,
    )  # fmt: skip
    return RemoveResult(
        name=name,
        registered=registered,
        os_account_removed=removed,
        home_deleted=removed and delete_home,
        sandbox=sandbox,
        paused=paused,
        transferred=transferred,
        transfer_to=transfer_to,
    )


def _give_to_root(folder: Path) -> None:
    """chown -R root:root and 0700 on the top, so no user (nor a reused uid) can read it."""
    for root, dirs, files in os.walk(folder):
        for entry in [root, *(os.path.join(root, d) for d in dirs)]:
            os.chown(entry, 0, 0, follow_symlinks=False)
        for f in files:
            os.chown(os.path.join(root, f), 0, 0, follow_symlinks=False)
    os.chmod(folder, 0o700)
