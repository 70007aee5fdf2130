"""Doctest namespace for ``pytest --doctest-modules workspace`` (``make test``).

Every docstring example that names ``ws`` runs against a small lake built here, in a
temporary ``WORKSPACE_HOME`` (never the developer's own): ``silver.customers`` (with a
``phone`` column flagged PII), ``gold.customer_segments`` and
``gold.revenue_by_nation_month``. Examples that need a running service (the scheduler, a
Dask cluster, a hub) stay marked ``# doctest: +SKIP``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def _doctest_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import pandas as pd

    from workspace.lake import Settings, Workspace

    home = tmp_path_factory.mktemp("doctest") / "home"
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("WORKSPACE_")}
    os.environ["WORKSPACE_HOME"] = str(home)
    os.environ["WORKSPACE_USER"] = "ana"
    ws = Workspace(Settings.resolve())
    customers = pd.DataFrame(
        {"id": [1, 2, 3], "name": ["Ann", "Bo", "Cy"], "phone": ["+31 20 1", "+1 212 2", None]}
    )
    ws.write("silver.customers", customers)
    ws.write("gold.customer_segments", pd.DataFrame({"segment": ["AUTO"], "customers": [2]}))
    ws.write(
        "gold.revenue_by_nation_month",
        pd.DataFrame({"nation": ["FRANCE"], "month": ["2024-01"], "revenue": [1234.5]}),
    )
    ws.catalog.annotate("silver.customers", columns={"phone": {"pii": True}})
    try:
        yield ws
    finally:
        ws.close()
        os.environ.pop("WORKSPACE_HOME", None)
        os.environ.pop("WORKSPACE_USER", None)
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, doctest_namespace: dict[str, Any]) -> None:
    """``ws`` (the small lake) and ``Path`` in every docstring example of the package."""
    if request.node.__class__.__name__ != "DoctestItem":
        return
    doctest_namespace["ws"] = request.getfixturevalue("_doctest_lake")
    doctest_namespace["Path"] = Path
