"""Analytics Workspace: a notebook-centric lakehouse on DuckLake, Ibis, ``%%sql`` and Dask.

``Workspace``, ``WorkspaceError`` and ``connect`` are loaded from :mod:`workspace.lake` on
first use, so that importing a light submodule (the Jupyter server extension, the hub's
configuration helpers) does not load DuckDB, pandas and PyArrow.

Examples
--------
>>> import workspace
>>> ws = workspace.connect()                      # doctest: +SKIP
>>> ws.table("gold.revenue_by_nation").head()     # doctest: +SKIP
>>> client = workspace.cluster()                  # doctest: +SKIP
>>> password = workspace.secret("warehouse_password")  # doctest: +SKIP
>>> from workspace import params                  # parameters cells: params.dropdown(...)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distributed import Client

    from workspace.lake import Workspace, WorkspaceError, connect

__version__ = "0.1.0"

#: Names re-exported from :mod:`workspace.lake`, imported when first used.
_FROM_LAKE = frozenset({"Workspace", "WorkspaceError", "connect"})


def __getattr__(name: str) -> Any:
    if name == "params":  # widget parameters: ``from workspace import params``
        return importlib.import_module("workspace.params")
    if name in _FROM_LAKE:
        value = getattr(importlib.import_module("workspace.lake"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workspace' has no attribute {name!r}")


def cluster(**kwargs: Any) -> Client:
    """A ``distributed.Client``: see :func:`workspace.scale.cluster`."""
    from workspace.scale import cluster as _cluster

    return _cluster(**kwargs)


def secret(name: str) -> str:
    """The value of the pipeline secret ``name``: see :func:`workspace.governance.secrets.secret`.

    Examples
    --------
    >>> password = workspace.secret("warehouse_password")  # doctest: +SKIP
    """
    from workspace.governance.secrets import secret as _secret

    return _secret(name)


# fmt: off
__all__ = [
    "Workspace", "WorkspaceError", "__version__", "cluster", "connect", "params", "secret",
]
# fmt: on
