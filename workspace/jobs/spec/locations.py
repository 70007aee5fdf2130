"""Where the production pipelines live: the one rule for the ``scheduled/`` folder.

``$WORKSPACE_SCHEDULED`` wins; otherwise ``<root>/scheduled`` when a root folder is given
and it has one (the Jupyter server's ``root_dir``); otherwise ``./scheduled`` relative to
the current directory. The CLI's ``--scheduled`` option applies the same rule (an explicit
option, then the environment variable, then ``./scheduled``).

Examples
--------
>>> scheduled_root(environ={"WORKSPACE_SCHEDULED": "/srv/pipelines"}).as_posix()
'/srv/pipelines'
>>> scheduled_root(environ={}).name
'scheduled'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: Environment variable naming the pipelines folder.
SCHEDULED_ENV = "WORKSPACE_SCHEDULED"
#: The folder name used when nothing is configured.
DEFAULT_SCHEDULED = "scheduled"


def scheduled_root(
    root_dir: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """The absolute ``scheduled/`` folder (it may not exist yet).

    Parameters
    ----------
    root_dir
        A folder whose ``scheduled/`` sub-folder is used when it exists (the Jupyter
        server's root), after ``$WORKSPACE_SCHEDULED``.
    environ
        The environment to read (default ``os.environ``).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "scheduled").mkdir()
    >>> scheduled_root(root, environ={}) == root / "scheduled"
    True
    """
    env = os.environ if environ is None else environ
    configured = env.get(SCHEDULED_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    if root_dir is not None:
        candidate = Path(root_dir).expanduser().absolute() / DEFAULT_SCHEDULED
        if candidate.is_dir():
            return candidate
    return Path(DEFAULT_SCHEDULED).absolute()
