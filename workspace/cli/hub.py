"""``workspace hub``: start the team deployment (JupyterHub, its proxy and the services)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from workspace.lake.errors import ConfigurationError

ADMIN_NAME = "admin"  # env WORKSPACE_HUB_ADMIN overrides (tests use their own names)
CONFIG_NAME = "jupyterhub_config.py"


def find_config() -> Path:
    """``hub_config/jupyterhub_config.py`` of the repo checkout this package runs from."""
    override = os.environ.get("WORKSPACE_HUB_CONFIG")
    candidates = [Path(override)] if override else []
    package_root = Path(__file__).resolve().parents[2]
    candidates += [
        package_root / "hub_config" / CONFIG_NAME,
        Path.cwd() / "hub_config" / CONFIG_NAME,
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigurationError(
        f"cannot find hub_config/{CONFIG_NAME} (looked in "
        f"{', '.join(str(p) for p in candidates)}); run from a checkout of the repository "
        "or set WORKSPACE_HUB_CONFIG=/path/to/jupyterhub_config.py"
    )


def unreachable_dirs(*also: Path) -> list[Path]:
    """Folders on the way to this Python (and to ``also``) that other OS users cannot traverse.

    User servers run as the users' own accounts and execute this venv's interpreter and read
    the lake; a Python under ``/root`` (0700), for one, cannot start for them.
    """
    targets = [Path(os.path.realpath(sys.executable)), Path(sys.prefix), *also]
    seen: list[Path] = []
    for target in targets:
        for p in [*reversed(target.parents), target]:
            if p not in seen and p.is_dir() and not p.stat().st_mode & 0o001:
                seen.append(p)
    return seen


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=None,
    type=int,
    help="Public port (default: env WORKSPACE_HUB_PORT, else 8000).",
)
@click.option(
    "--grant-traverse",
    is_flag=True,
    help="Give other users traverse (o+x, not read) on the folders leading to this Python "
    "and the workspace home, so their servers can start (what `make up` does).",
)
@click.option(
    "--ssl-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TLS certificate (PEM, with its chain) for the public port: serve https.",
)
@click.option(
    "--ssl-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The certificate's private key (PEM; keep it 0600, root's).",
)
def hub(
    host: str,
    port: int | None,
    grant_traverse: bool,
    ssl_cert: Path | None = None,
    ssl_key: Path | None = None,
) -> None:
    """Start JupyterHub for the team: logins, per-user Labs, scheduler and reports services.

    Runs as root (each user's server runs as their own OS account). On the first start it
    creates the admin account `admin` and writes its password to
    $WORKSPACE_HOME/hub/admin-password (0600); it prints where the password is, never the
    password. Ctrl-C stops the hub; user servers keep running and are picked up by the next
    start. With --ssl-cert and --ssl-key the public port speaks TLS (docs/governance.md).
    """
    from workspace.hub.deployment import HubPaths, ensure_api_token
    from workspace.hub.users import ROOT_NEEDED, add_user
    from workspace.lake.settings import Settings

    if os.geteuid() != 0:
        raise ConfigurationError(
            f"{ROOT_NEEDED}. Without root the hub cannot run each user's server as that user."
        )
    if (ssl_cert is None) != (ssl_key is None):
        raise ConfigurationError("TLS needs both --ssl-cert and --ssl-key (PEM files).")
    config = find_config()
    settings = Settings.resolve()
    paths = HubPaths.resolve(settings)
    paths.ensure_dir()
    ensure_api_token(paths)
    port = port or int(os.environ.get("WORKSPACE_HUB_PORT") or 8000)
    url = f"{'https' if ssl_cert else 'http'}://{host}:{port}"
    from workspace.governance.audit import ensure_audit_dir, os_actor, record

    ensure_audit_dir(settings)  # root's 0700 folder, before any service writes to it
    record(os_actor(), "hub_start", "hub", url=url, tls=ssl_cert is not None)
    paths.url_file.write_text("", encoding="utf-8")  # no live hub until it is up

    from workspace.api.auth import ENGINEERS
    from workspace.hub.deployment import load_registry
    from workspace.jobs.paths import scheduled_root

    admin_name = os.environ.get("WORKSPACE_HUB_ADMIN") or ADMIN_NAME
    first_start = admin_name not in load_registry(paths).users
    if first_start:
        result = add_user(admin_name, ENGINEERS, admin=True, paths=paths)
        password = result.password
        if password is None:  # the OS account existed: give it a fresh known password
            from workspace.hub.users import generate_password, set_password

            password = generate_password()
            set_password(admin_name, password)
        fd = os.open(paths.admin_password, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
        os.chmod(paths.admin_password, 0o600)

    scheduled = scheduled_root()  # $WORKSPACE_SCHEDULED, else ./scheduled
    paths.scheduled_file.write_text(f"{scheduled}\n", encoding="utf-8")
    env = dict(os.environ)
    env.update(
        {
            "WORKSPACE_HOME": str(settings.home),
            "WORKSPACE_CATALOG": settings.catalog.raw,
            "WORKSPACE_DATA_PATH": str(settings.data_path),
            "WORKSPACE_HUB_HOST": host,
            "WORKSPACE_HUB_PORT": str(port),
            # the services run in the hub folder: give them the pipelines folder absolute
            "WORKSPACE_SCHEDULED": str(scheduled),
        }
    )
    env.pop("WORKSPACE_USER", None)
    from workspace.jobs.execution.isolation import DEFAULT_RUNNER, RUNNER_ENV, ensure_runner_account

    runner = ensure_runner_account(os.environ.get(RUNNER_ENV) or DEFAULT_RUNNER)
    env[RUNNER_ENV] = runner.name
    blocked = unreachable_dirs(settings.home)
    if blocked and grant_traverse:
        for folder in blocked:
            os.chmod(folder, folder.stat().st_mode | 0o001)
        click.echo(f"Granted o+x (traverse, not list) on: {', '.join(map(str, blocked))}")
        blocked = []
    if blocked:
        click.secho(
            "Warning: users' servers run as their own OS accounts, which cannot reach this "
            f"Python ({os.path.realpath(sys.executable)}): {', '.join(map(str, blocked))} "
            "lack o+x. Install the venv where every user can execute it (e.g. /opt) or "
            "`chmod o+x` those folders (or pass --grant-traverse); spawns fail until then.",
            fg="yellow",
            err=True,
        )
    click.echo(f"Starting JupyterHub at {url}/hub/login (state in {paths.dir})")
    # Never the password itself: stdout ends up in whatever log captures it.
    click.echo(f"  admin user:     {admin_name}")
    click.echo(
        f"  admin password: in {paths.admin_password} (0600, root only; "
        f"`cat {paths.admin_password}`)"
        + ("" if first_start else ", unless changed since the first start")
    )
    click.echo("  add users:      workspace users add NAME --group analysts|scientists|...")
    tls = ["--ssl-cert", str(ssl_cert), "--ssl-key", str(ssl_key)] if ssl_cert else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config), *tls],
        cwd=paths.dir,
        env=env,
        start_new_session=True,  # Ctrl-C reaches only us; we forward it once
        # A shell's background job starts with SIGINT ignored, and the hub's services would
        # inherit that and ignore the hub's SIGINT at shutdown (the hub then waits forever).
        preexec_fn=_default_signals,
    )
    # Tell `workspace users` where the live hub is (read back by HubClient.for_paths); with
    # TLS, the hub's own API port on loopback (plain http, no certificate to check).
    if ssl_cert is not None:
        api_port = int(os.environ.get("WORKSPACE_HUB_API_PORT") or 8081)
        paths.url_file.write_text(f"http://127.0.0.1:{api_port}\n")
    else:
        paths.url_file.write_text(f"http://127.0.0.1:{port}\n" if host in {"0.0.0.0", ""} else url)

    def _forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    try:
        code = proc.wait()
    finally:
        paths.url_file.unlink(missing_ok=True)
    sys.exit(code)
