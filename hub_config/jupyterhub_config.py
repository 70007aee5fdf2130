"""JupyterHub 6 configuration of the Analytics Workspace team deployment.

Started by ``workspace hub`` (``jupyterhub -f hub_config/jupyterhub_config.py``) as root, on
127.0.0.1. Everything it keeps lives in ``$WORKSPACE_HOME/hub/`` (see
``workspace/hub/deployment.py``); the users and their groups come from the registry
``$WORKSPACE_HOME/hub/users.yaml`` that ``workspace users add/remove`` maintains.

Environment
-----------
``WORKSPACE_HOME``, ``WORKSPACE_CATALOG``, ``WORKSPACE_DATA_PATH``
    The workspace, passed on to every user server and service.
``WORKSPACE_HUB_HOST`` / ``WORKSPACE_HUB_PORT``
    Where the proxy listens (default 127.0.0.1:8000): the only URL people use.
``WORKSPACE_HUB_API_PORT`` (8081), ``WORKSPACE_PROXY_API_PORT`` (8001),
``WORKSPACE_SCHEDULER_PORT`` (8082), ``WORKSPACE_REPORTS_PORT`` (8083)
    Internal ports on 127.0.0.1.
``WORKSPACE_HUB_SERVICES``
    Comma-separated hub-managed services to run (default: all of scheduler, reports,
    idle-culler). A service whose ``workspace`` command is not installed is skipped with a
    warning.
``WORKSPACE_MEM_LIMIT`` (4G), ``WORKSPACE_CPU_LIMIT`` (2)
    Per-user limits. The default ``LocalProcessSpawner`` only exports them to the server as
    ``MEM_LIMIT``/``CPU_LIMIT`` (JupyterLab's resource display reads them); it does **not**
    enforce them. ``systemdspawner`` (cgroups on one machine) and ``kubespawner`` (Kubernetes,
    see ``hub_config/`` for the z2jh example) enforce the same two settings.
``WORKSPACE_IDLE_TIMEOUT``
    Seconds of inactivity after which the idle culler stops a user server (default 3600).
``WORKSPACE_LOGIN_MAX_FAILURES`` (5), ``WORKSPACE_LOGIN_FAILURE_WINDOW`` (900),
``WORKSPACE_LOGIN_LOCKOUT_SECONDS`` (900)
    Login lockout: that many failed logins for one user name within the window (seconds)
    lock the name for that many seconds (see ``workspace/hub/auth.py``; 0 failures: off).

Roles (RBAC)
------------
=============  ==============================================================================
everyone       role ``user`` redefined to the bare minimum: read their own name and groups.
               It does **not** include ``self`` (which would give a server to everyone).
analysts,      ``workspace-member``: ``self`` (their own server), ``access:services``,
scientists,    ``custom:reports:view``; analysts and scientists also ``pipeline-runner``
engineers      (``custom:pipelines:run``), engineers ``pipeline-manager``
               (``custom:pipelines:manage`` + run).
stakeholders   ``stakeholder``: ``access:services!service=reports`` and ``custom:reports:view``
               only: no server, no other service. After login they land on the reports.
admins         the built-in ``admin`` role; the hub group ``admins`` adds every custom scope.
=============  ==============================================================================
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from workspace.api.auth import (
    ADMINS,
    ANALYSTS,
    CUSTOM_SCOPES,
    ENGINEERS,
    LEGAL,
    MANAGE_SCOPE,
    RUN_SCOPE,
    SCIENTISTS,
    SECURITY,
    SERVER_GROUPS,
    STAKEHOLDERS,
    VIEW_SCOPE,
)
from workspace.hub.auth import WorkspaceAuthenticator
from workspace.hub.deployment import (
    HubPaths,
    ensure_api_token,
    ensure_secret,
    load_registry,
)
from workspace.hub.hub_db import use_wal
from workspace.hub.singleuser import lab_server_args, server_path
from workspace.lake.settings import Settings

c = get_config()  # type: ignore[name-defined]  # noqa: F821

settings = Settings.resolve()
paths = HubPaths.resolve(settings)
paths.ensure_dir()
registry = load_registry(paths)
BIN = Path(sys.prefix) / "bin"


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


HOST = os.environ.get("WORKSPACE_HUB_HOST") or "127.0.0.1"
PORT = _port("WORKSPACE_HUB_PORT", 8000)

# -- the hub, the proxy and their state --------------------------------------------------------
c.JupyterHub.ip = HOST
c.JupyterHub.port = PORT
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = _port("WORKSPACE_HUB_API_PORT", 8081)
c.JupyterHub.db_url = paths.db_url
use_wal(paths.db_file)  # commits without fsync stalls of the hub's loop (workspace/hub/hub_db.py)
c.JupyterHub.cookie_secret_file = str(paths.cookie_secret)
c.JupyterHub.pid_file = str(paths.pid_file)
c.JupyterHub.cleanup_servers = False  # user servers survive a hub restart
c.JupyterHub.cleanup_proxy = True
# The PyPI port of configurable-http-proxy from this venv (not whatever is first on PATH).
c.ConfigurableHTTPProxy.command = [str(BIN / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_port('WORKSPACE_PROXY_API_PORT', 8001)}"
c.ConfigurableHTTPProxy.auth_token = ensure_secret(paths.proxy_token)
c.ConfigurableHTTPProxy.should_start = True
ensure_secret(paths.cookie_secret)


# -- who can log in: PAM (the OS accounts), the registry, a lockout after failed logins -------
c.JupyterHub.authenticator_class = WorkspaceAuthenticator
c.WorkspaceAuthenticator.hub_dir = str(paths.dir)
c.WorkspaceAuthenticator.lockout_max_failures = int(
    os.environ.get("WORKSPACE_LOGIN_MAX_FAILURES") or 5
)
c.WorkspaceAuthenticator.lockout_window = float(
    os.environ.get("WORKSPACE_LOGIN_FAILURE_WINDOW") or 900
)
c.WorkspaceAuthenticator.lockout_seconds = float(
    os.environ.get("WORKSPACE_LOGIN_LOCKOUT_SECONDS") or 900
)
c.Authenticator.allowed_users = set(registry.users)
c.Authenticator.admin_users = registry.admins()
c.Authenticator.allow_existing_users = False
c.Authenticator.any_allow_config = True
c.PAMAuthenticator.open_sessions = False  # no pam_systemd/logind session per login
c.JupyterHub.load_groups = {g: {"users": members} for g, members in registry.groups().items()}
c.JupyterHub.load_groups[ADMINS] = {"users": sorted(registry.admins())}


def _landing(handler):  # type: ignore[no-untyped-def]
    """Stakeholders have no server: after login they go to the reports."""
    user = handler.current_user
    if user is not None and any(g.name == STAKEHOLDERS for g in user.groups):
        return "/services/reports/"
    return ""  # everyone else: the default (spawn, then their Lab)


c.JupyterHub.default_url = _landing


def _reports_only(user):  # type: ignore[no-untyped-def]
    """No server of one's own (stakeholders): /hub/home links to the reports instead of
    offering "Start My Server" (hub_config/templates/home.html)."""
    if user is None or user.admin:
        return False
    return not any(g.name in SERVER_GROUPS for g in user.groups)


c.JupyterHub.template_paths = [str(Path(__file__).resolve().parent / "templates")]
c.JupyterHub.template_vars = {
    "workspace_reports_only": _reports_only,
    "workspace_reports_url": "/services/reports/",
}

# -- single-user servers: one OS account each -----------------------------------------------
# LocalProcessSpawner with starts queued by cores and servers seen up at once
# (workspace/hub/spawner.py).
c.JupyterHub.spawner_class = "workspace.hub.spawner.WorkspaceSpawner"
# jupyterhub-singleuser without two start-up costs every spawn paid (about 1.2 s CPU of 2.3 s,
# see workspace/hub/server_start.py); -P: the user's home is not on sys.path.
# WORKSPACE_SERVER_CMD replaces it (e.g. the stock `jupyterhub-singleuser`, as the benchmark's
# baseline does).
c.Spawner.cmd = os.environ.get("WORKSPACE_SERVER_CMD", "").split() or [
    str(BIN / "python"), "-P", "-m", "workspace.hub.server_start",
]  # fmt: skip
# The workspace kernel only (default and the only one in the Launcher); `workspace` on the
# PATH of terminals (workspace/hub/singleuser.py).
c.Spawner.args = lab_server_args(BIN)
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    "WORKSPACE_HOME": str(settings.home),
    "WORKSPACE_CATALOG": settings.catalog.raw,
    "WORKSPACE_DATA_PATH": str(settings.data_path),
    "WORKSPACE_USER": lambda spawner: spawner.user.name,
    "PATH": server_path(os.environ.get("PATH"), BIN),
}
c.Spawner.mem_limit = os.environ.get("WORKSPACE_MEM_LIMIT") or "4G"
c.Spawner.cpu_limit = float(os.environ.get("WORKSPACE_CPU_LIMIT") or 2)
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60
c.JupyterHub.init_spawners_timeout = 30

# -- scopes and roles ------------------------------------------------------------------------
c.JupyterHub.custom_scopes = CUSTOM_SCOPES  # workspace/api/auth.py
# The server's $JUPYTERHUB_API_TOKEN: the defaults (the `server` role) plus what the Lab's
# Pipelines panel needs to call the scheduler service as the user (the server extension
# forwards its jobs routes there, see workspace/server/scheduler_proxy.py). The hub grants
# only the subset the user holds: analysts get `run`, engineers `run` + `manage`.
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "access:services!service=scheduler",
    *CUSTOM_SCOPES,
]

c.JupyterHub.load_roles = [
    {
        "name": "user",
        "description": "Every user: know who they are (servers come from their group's role).",
        "scopes": ["read:users:name!user", "read:users:groups!user"],
    },
    {
        # JupyterHub's own `admin` role cannot be changed; hub admins are also in the group
        # `admins`, which adds the workspace's custom scopes.
        "name": "workspace-admin",
        "description": "Admins: every pipeline and report.",
        "scopes": ["access:services", *CUSTOM_SCOPES],
        "groups": [ADMINS],
    },
    {
        "name": "workspace-member",
        "description": "Run notebooks on their own server and use the workspace services.",
        "scopes": ["self", "access:services", VIEW_SCOPE],
        "groups": list(SERVER_GROUPS),
    },
    {
        "name": "pipeline-runner",
        "description": "Own and trigger their own pipelines.",
        "scopes": [RUN_SCOPE],
        # legal and security too: access requests go through the scheduler service
        "groups": [ANALYSTS, SCIENTISTS, LEGAL, SECURITY],
    },
    {
        "name": "pipeline-manager",
        "description": "Manage every pipeline.",
        "scopes": [RUN_SCOPE, MANAGE_SCOPE],
        "groups": [ENGINEERS],
    },
    {
        "name": "stakeholder",
        "description": "View reports only; no server.",
        "scopes": ["access:services!service=reports", VIEW_SCOPE],
        "groups": [STAKEHOLDERS],
    },
    {
        "name": "workspace-cli",
        "description": "The `workspace users` CLI: manage users, groups and their servers.",
        "scopes": ["admin:users", "admin:groups", "admin:servers", "list:services"],
        "services": ["workspace-cli"],
    },
]

# -- services --------------------------------------------------------------------------------
# What the hub OAuth token of a logged-in user carries to a service (intersected with the
# user's own scopes): identity, groups, and the workspace's custom scopes.
SERVICE_OAUTH_SCOPES = [
    "read:users:name!user",
    "read:users:groups!user",
    *CUSTOM_SCOPES,
]
SERVICE_ENV = {
    "WORKSPACE_HOME": str(settings.home),
    "WORKSPACE_CATALOG": settings.catalog.raw,
    "WORKSPACE_DATA_PATH": str(settings.data_path),
    "WORKSPACE_HUB_API_URL": f"http://127.0.0.1:{c.JupyterHub.hub_port}/hub/api",
}
if os.environ.get("WORKSPACE_SCHEDULED"):
    SERVICE_ENV["WORKSPACE_SCHEDULED"] = os.environ["WORKSPACE_SCHEDULED"]
# Pipeline kernels run as this unprivileged account (created by `workspace hub`), never as
# root; it owns the shared lake (see docs/security.md).
RUNNER_USER = os.environ.get("WORKSPACE_RUNNER_USER") or "ws-runner"
# Who may promote a pipeline straight into production (see docs/pipelines.md).
if os.environ.get("WORKSPACE_AUTO_APPROVE"):
    SERVICE_ENV["WORKSPACE_AUTO_APPROVE"] = os.environ["WORKSPACE_AUTO_APPROVE"]

_wanted = os.environ.get("WORKSPACE_HUB_SERVICES")
WANTED = (
    {s.strip() for s in _wanted.split(",") if s.strip()}
    if _wanted is not None
    else {"scheduler", "reports", "idle-culler"}
)


def _cli_supports(command: str, option: str | None = None) -> bool:
    """Whether this install's ``workspace`` CLI has ``command`` (and its ``option``)."""
    from workspace.cli.main import cli

    cmd = cli.commands.get(command)
    if cmd is None:
        return False
    return option is None or any(p.name == option for p in cmd.params)


services: list[dict[str, object]] = [
    {
        "name": "workspace-cli",
        "api_token": ensure_api_token(paths),
        "display": False,
    }
]
if "scheduler" in WANTED:
    if _cli_supports("scheduler", "hub"):
        # User servers reach the service directly (its routes live under its hub prefix).
        c.Spawner.environment["WORKSPACE_SCHEDULER_URL"] = (
            f"http://127.0.0.1:{_port('WORKSPACE_SCHEDULER_PORT', 8082)}/services/scheduler/"
        )
        services.append(
            {
                "name": "scheduler",
                "url": f"http://127.0.0.1:{_port('WORKSPACE_SCHEDULER_PORT', 8082)}",
                "command": [sys.executable, "-m", "workspace.cli.main", "scheduler", "--hub"],
                "environment": {**SERVICE_ENV, "WORKSPACE_RUNNER_USER": RUNNER_USER},
                "oauth_no_confirm": True,
                "oauth_client_allowed_scopes": SERVICE_OAUTH_SCOPES,
                "display": True,
            }
        )
    else:
        print("workspace hub: `workspace scheduler --hub` not installed; no scheduler service")
if "reports" in WANTED:
    if _cli_supports("reports-service"):
        services.append(
            {
                "name": "reports",
                "url": f"http://127.0.0.1:{_port('WORKSPACE_REPORTS_PORT', 8083)}",
                "command": [sys.executable, "-m", "workspace.cli.main", "reports-service"],
                "environment": SERVICE_ENV,
                "oauth_no_confirm": True,
                "oauth_client_allowed_scopes": SERVICE_OAUTH_SCOPES,
                "display": True,
            }
        )
    else:
        print("workspace hub: `workspace reports-service` not installed; no reports service")
if "idle-culler" in WANTED:
    culler = shutil.which("jupyterhub-idle-culler", path=str(BIN))
    services.append(
        {
            "name": "idle-culler",
            "command": [
                culler or str(BIN / "jupyterhub-idle-culler"),
                f"--timeout={int(os.environ.get('WORKSPACE_IDLE_TIMEOUT') or 3600)}",
            ],
        }
    )
    c.JupyterHub.load_roles.append(
        {
            "name": "idle-culler",
            "description": "Stop idle user servers.",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["idle-culler"],
        }
    )
c.JupyterHub.services = services
