"""Pipeline code runs as the unprivileged runner account, never as the scheduler's account.

The papermill driver of an attempt runs in the scheduler service; the **kernel**, where the
pipeline's code runs, is started as the runner account (``WORKSPACE_RUNNER_USER``) with a
clean environment (:func:`kernel_environment`), a private scratch folder
(:class:`KernelScratch`), umask 022 and no supplementary groups. The runner owns the shared
lake (:func:`prepare_lake`).

Design notes: docs/pipelines.md, "Module notes"; the trust model: docs/security.md.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workspace.lake.errors import ConfigurationError
from workspace.lake.settings import Settings

log = logging.getLogger(__name__)

#: Environment variable naming the runner account.
RUNNER_ENV = "WORKSPACE_RUNNER_USER"
#: The runner account the team deployment creates.
DEFAULT_RUNNER = "ws-runner"
#: Prefix of the per-pipeline sandbox "user" (``sandboxes/pipeline_<name>``).
PIPELINE_SANDBOX_PREFIX = "pipeline_"

#: Variables a kernel inherits from the driver's environment (everything else is dropped).
_KEEP = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "TERM", "OMP_NUM_THREADS"})
_KEEP_PREFIXES = ("LC_", "OPENBLAS_", "MKL_", "WORKSPACE_")
#: Never passed on, whatever the prefix.
_SECRET = frozenset({"WORKSPACE_SCHEDULER_TOKEN", "WORKSPACE_HUB_API_URL"})


@dataclass(frozen=True)
class RunnerAccount:
    """The OS account pipeline kernels run as.

    Examples
    --------
    >>> runner = RunnerAccount.lookup("root")
    >>> runner.uid
    0
    """

    name: str
    uid: int
    gid: int

    @classmethod
    def lookup(cls, name: str) -> RunnerAccount:
        """The account ``name``; :class:`ConfigurationError` when it does not exist."""
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ConfigurationError(
                f"the runner account {name!r} ({RUNNER_ENV}) does not exist; create it with "
                f"`useradd --system --user-group --shell /usr/sbin/nologin {name}` (`workspace "
                "hub` does this) or unset the variable"
            ) from None
        return cls(name, entry.pw_uid, entry.pw_gid)

    def popen_kwargs(self) -> dict[str, Any]:
        """``subprocess.Popen`` arguments that start a process as this account."""
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "umask": 0o022}

    def chown(self, path: Path, *, group: int | None = None) -> None:
        os.chown(path, self.uid, self.gid if group is None else group)


def runner_account(environ: dict[str, str] | None = None) -> RunnerAccount | None:
    """The runner account configured in ``WORKSPACE_RUNNER_USER``, if any.

    Without it, kernels run as the current account (a single-user Lab), and a root process
    logs a warning once.

    Examples
    --------
    >>> runner_account({}) is None
    True
    """
    env = os.environ if environ is None else environ
    name = (env.get(RUNNER_ENV) or "").strip()
    if not name:
        if os.geteuid() == 0:
            _warn_root_once()
        return None
    account = RunnerAccount.lookup(name)
    if os.geteuid() not in (0, account.uid):
        raise ConfigurationError(
            f"{RUNNER_ENV}={name} but this process runs as uid {os.geteuid()}, which cannot "
            "start processes as another account; run the scheduler as root or unset it"
        )
    return account


_warned = False


def _warn_root_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning(
            "pipeline kernels run as root: set %s to an unprivileged account (the team "
            "deployment uses %s)",
            RUNNER_ENV,
            DEFAULT_RUNNER,
        )


def ensure_runner_account(name: str = DEFAULT_RUNNER) -> RunnerAccount:
    """Create the system account ``name`` (no login shell, no home) unless it exists."""
    if not _exists(name):
        useradd = shutil.which("useradd") or shutil.which("useradd", path="/usr/sbin:/sbin")
        if useradd is None:
            raise ConfigurationError("useradd not found: cannot create the runner account")
        proc = subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", name],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise ConfigurationError(
                f"could not create the runner account {name!r}: {proc.stderr.strip()}"
            )
    return RunnerAccount.lookup(name)


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def kernel_environment(
    base: dict[str, str] | os._Environ[str], extra: dict[str, str]
) -> dict[str, str]:
    """The environment of a pipeline kernel: a short allow-list of ``base`` plus ``extra``.

    Tokens and other variables of the scheduler's own environment (``JUPYTERHUB_*``, cloud
    credentials, ...) are dropped.

    Examples
    --------
    >>> env = kernel_environment({"PATH": "/bin", "JUPYTERHUB_API_TOKEN": "t"}, {"A": "1"})
    >>> sorted(env)
    ['A', 'PATH']
    """
    kept = {
        k: v
        for k, v in base.items()
        if (k in _KEEP or k.startswith(_KEEP_PREFIXES)) and k not in _SECRET
    }
    return kept | {k: v for k, v in extra.items() if k not in _SECRET}


class KernelScratch:
    """A private folder for one kernel, in the system's temporary folder.

    Created 0700 under a random name and given to the runner, so no other account but the
    service can read it; short enough for the kernel's Unix sockets (a socket path has at
    most 107 bytes). Removed when the attempt ends.
    """

    def __init__(self, runner: RunnerAccount | None) -> None:
        self.runner = runner
        self.path = Path(tempfile.mkdtemp(prefix="ws-kernel-"))
        if runner is not None:
            runner.chown(self.path)

    @property
    def home(self) -> Path:
        return self.path

    def file(self, name: str) -> Path:
        return self.path / name

    def give(self, path: Path) -> Path:
        """Hand a file the service wrote (the connection file) to the runner."""
        if self.runner is not None:
            self.runner.chown(path)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def pipeline_sandbox_user(pipeline: str) -> str:
    """The sandbox name of a pipeline's unqualified writes.

    Examples
    --------
    >>> pipeline_sandbox_user("daily-sales")
    'pipeline_daily-sales'
    """
    return f"{PIPELINE_SANDBOX_PREFIX}{pipeline}"


def prepare_pipeline_sandbox(settings: Settings, runner: RunnerAccount, owner: str | None) -> None:
    """Create the pipeline's sandbox folder: the runner writes it, its owner's group reads it.

    ``settings.sandbox_path`` is ``sandboxes/pipeline_<name>``: 0750, owner ``ws-runner``,
    group the owner's personal group (``useradd -U``), so nobody else can read it.
    """
    sandbox = settings.sandbox_path
    sandbox.parent.mkdir(parents=True, exist_ok=True)
    if not sandbox.parent.stat().st_mode & 0o001:  # made under umask 077: let users enter
        os.chmod(sandbox.parent, 0o755)
    sandbox.mkdir(exist_ok=True)
    group = runner.gid
    if owner:
        try:
            group = grp.getgrnam(owner).gr_gid
        except KeyError:
            group = runner.gid
    for root, dirs, files in os.walk(sandbox):
        for name in [*dirs, *files]:
            runner.chown(Path(root) / name, group=group)
    runner.chown(sandbox, group=group)
    os.chmod(sandbox, 0o750)


def prepare_lake(settings: Settings, runner: RunnerAccount) -> int:
    """Give the shared lake to the runner: it (and root) may write, users only read.

    The SQLite catalog and the Parquet files become ``runner``-owned, folders 0755 and files
    0644. Returns how many entries changed owner. A PostgreSQL catalog's rights are the
    database's business (grant the runner's role write, users read).
    """
    changed = 0
    targets = [settings.lake_data_path]
    catalog = settings.catalog.path if settings.catalog.kind == "sqlite" else None
    if catalog is not None and catalog.parent.is_relative_to(settings.home):
        targets.insert(0, catalog.parent)  # the lake folder (SQLite's journal files too)
    elif catalog is not None:  # a catalog elsewhere: only its own files
        for sidecar in catalog.parent.glob(catalog.name + "*"):
            changed += _own(str(sidecar), runner, 0o644)
    for top in targets:
        if not top.exists():
            continue
        for root, dirs, files in os.walk(top):
            for name in [root, *(os.path.join(root, d) for d in dirs)]:
                changed += _own(name, runner, 0o755)
            for f in files:
                changed += _own(os.path.join(root, f), runner, 0o644)
    return changed


def _own(path: str, runner: RunnerAccount, mode: int) -> int:
    st = os.lstat(path)
    if st.st_uid == runner.uid and (st.st_mode & 0o7777) == mode:
        return 0
    os.lchown(path, runner.uid, runner.gid)
    os.chmod(path, mode)
    return 1


def runner_for_service() -> RunnerAccount | None:
    """The runner account when this process may hand files to it (it runs as root)."""
    runner = runner_account()
    return runner if runner is not None and os.geteuid() == 0 else None


def traversable(base: Path, target: Path) -> None:
    """Let other accounts enter (not list) every folder from ``base`` down to ``target``.

    Used on the service's private folders that lead to something the runner must reach;
    what is inside stays protected by its own mode.
    """
    path = base
    for part in ("", *target.relative_to(base).parts):
        path = path / part if part else path
        if path.is_dir():
            os.chmod(path, os.stat(path).st_mode & 0o7777 | 0o111)


def give_tree(runner: RunnerAccount, top: Path) -> None:
    """Make ``top`` and everything below it the runner's; ``top`` itself 0700."""
    for root, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), runner.uid, runner.gid)
    os.chown(top, runner.uid, runner.gid)
    os.chmod(top, 0o700)


def share_with_runner(runner: RunnerAccount, top: Path) -> None:
    """Let the runner read ``top`` (a pipeline's folder): group runner, 0750 / 0640.

    The kernel starts in the pipeline's folder and may read the files next to its notebook;
    other accounts may not.
    """
    for root, dirs, files in os.walk(top):
        for name in dirs:
            os.lchown(os.path.join(root, name), 0, runner.gid)
            os.chmod(os.path.join(root, name), 0o750)
        for name in files:
            os.lchown(os.path.join(root, name), 0, runner.gid)
            os.chmod(os.path.join(root, name), 0o640)
    os.chown(top, 0, runner.gid)
    os.chmod(top, 0o750)
