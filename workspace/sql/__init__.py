"""``workspace.sql``: SQL cells (``%%sql``) and the ``workspace sql`` command.

Load the magics in a notebook with ``%load_ext workspace.sql`` (the "Python (workspace)"
kernel does it on start). Loading binds ``ws = workspace.connect()`` unless ``ws`` exists.

Examples
--------
>>> from workspace.sql import run_sql
>>> import duckdb
>>> run_sql(duckdb.connect(), "SELECT 6 * $n AS answer", variables={"n": 7}).df().answer.tolist()
[42]
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from workspace.sql.result import SqlResult
from workspace.sql.runner import run_sql

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%%sql``/``%sql`` and bind ``ws`` (``%load_ext workspace.sql``).

    Also shows ibis tables (``ws.table(...)``) as the interactive result grid.

    ``ws`` is connected with :func:`workspace.connect` from the environment
    (``WORKSPACE_HOME``, ``WORKSPACE_USER``, ...). If that fails the magics are still
    registered and the reason is printed as one line.
    """
    from workspace.lake import WorkspaceError, connect
    from workspace.sql.display import register_display
    from workspace.sql.magic import SqlMagic

    magics = SqlMagic(shell=ipython)
    ipython.register_magics(magics)
    register_display(ipython)
    name = magics.workspace_variable
    if name not in ipython.user_ns:
        try:
            ipython.user_ns[name] = connect()
        except WorkspaceError as exc:
            print(f"workspace.sql: could not connect {name}: {exc}", file=sys.stderr)


__all__ = ["SqlResult", "load_ipython_extension", "run_sql"]
