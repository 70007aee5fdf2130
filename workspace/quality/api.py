"""``ws.quality``: declare a table's contract, run its checks, read their recorded results.

Reached as ``ws.quality`` (the lake builds it through the ``workspace.accessors`` entry
point, so :mod:`workspace.lake` never imports this package). Entry points: the methods of
:class:`Quality` (``contract``, ``check``, ``report``, ``results``, ``remove_contract``).

Design notes: docs/quality.md, "Module notes".
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import duckdb

from workspace.lake.errors import TableNotFoundError
from workspace.lake.names import TableRef, resolve_write
from workspace.quality.checks import check_now, find_contract
from workspace.quality.checks_report import CheckReport
from workspace.quality.checks_results import read_results, record_results
from workspace.quality.contract import (
    Contract,
    ContractError,
    contract_path,
    save_contract,
    validate_contract,
)

if TYPE_CHECKING:
    import pandas as pd

    from workspace.lake.workspace import Workspace

__all__ = ["Quality"]


class Quality:
    """Contracts and checks of the workspace's tables. Reached as ``ws.quality``.

    Examples
    --------
    >>> import pandas as pd
    >>> _ = ws.write("orders", pd.DataFrame({"id": [1, 2], "total": [5.0, 7.5]}), mode="overwrite")
    >>> c = ws.quality.contract("orders", key="id", checks=[
    ...     {"type": "unique", "columns": "id"}, {"type": "range", "column": "total", "min": 0}])
    >>> ws.quality.check("orders")[["name", "status"]].values.tolist()
    [['unique(id)', 'pass'], ['range(total)', 'pass']]
    >>> from workspace.quality import QualityCheckError
    >>> try:
    ...     ws.write("orders", pd.DataFrame({"id": [2], "total": [-1.0]}))
    ... except QualityCheckError as exc:
    ...     print(exc)
    Write to sandbox.orders rolled back by 2 failing checks: check unique(id) on column id: ...
    >>> len(ws.table("orders").execute())  # the write was rolled back
    2
    >>> ws.quality.remove_contract("orders")
    True
    """

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def resolve(self, table: str) -> TableRef:
        """The table a contract is about: an existing table, else where a write would go."""
        try:
            return self._ws.resolve(table)
        except TableNotFoundError:  # a contract may be declared before the first write
            return resolve_write(table)

    def contract(
        self,
        table: str,
        *,
        checks: list[Any] | None = None,
        key: str | list[str] | None = None,
        description: str | None = None,
        owner: str | None = None,
        replace: bool = False,
    ) -> Contract | None:
        """The contract of ``table``; with any other argument, declare (and save) it.

        Parameters
        ----------
        checks:
            Checks as mappings (``{"type": "not_null", "column": "id"}``) or models
            (:class:`workspace.quality.NotNull` ...). Without ``replace``, a check with the
            name of a declared one replaces it and the others are kept.
        key:
            Columns that identify a row, shown as example keys of violations.
        replace:
            Start from an empty contract instead of the current one.

        Examples
        --------
        >>> ws.quality.contract("silver.customers", key="id",
        ...     checks=[{"type": "not_null", "column": "name"}]).checks[0].name
        'not_null(name)'
        >>> ws.quality.contract("silver.customers").key
        ['id']
        >>> ws.quality.remove_contract("silver.customers")
        True
        """
        ref = self.resolve(table)
        current, path = find_contract(self._ws, ref)
        if checks is None and key is None and description is None and owner is None:
            return current
        base = current.model_dump(by_alias=True) if current and not replace else {}
        merged: dict[str, Any] = {**base, "table": ref.display}
        for name, value in (("key", key), ("description", description), ("owner", owner)):
            if value is not None:
                merged[name] = value
        if checks is not None:
            new = [c.model_dump(by_alias=True) if hasattr(c, "model_dump") else c for c in checks]
            source = f"ws.quality.contract({table!r})"
            added = validate_contract({"checks": new}, source=source, table=ref.display)
            by_name = {c.name: raw for c, raw in zip(added.checks, new, strict=True)}
            merged["checks"] = [by_name.pop(c.get("name"), c) for c in merged.get("checks", [])]
            merged["checks"] += list(by_name.values())  # the new ones, in the given order
        contract = validate_contract(
            merged, source=f"ws.quality.contract({table!r})", table=ref.display
        )
        self._check_columns(ref, contract)
        try:
            save_contract(path, contract)
        except OSError as exc:  # the OS decides who writes a layer's contracts
            raise ContractError(
                f"Cannot save the contract of {ref.display} to {path}: {exc.strerror or exc}. "
                "Contracts are written by whoever may write the table: for bronze, silver and "
                "gold, declare it in the pipeline that writes the table."
            ) from None
        return contract

    def _check_columns(self, ref: TableRef, contract: Contract) -> None:
        try:
            rows = self._ws.con.execute(f"DESCRIBE {ref.sql}").fetchall()
        except duckdb.Error:  # the table does not exist yet: checked at its first write
            return
        columns = [r[0] for r in rows]
        for check in contract.checks:
            missing = [c for c in check.columns() if c not in columns]
            if missing:
                raise ContractError(
                    f"Contract of {ref.display}: check {check.name} names column "
                    f"{', '.join(missing)}, which {ref.display} does not have (its columns: "
                    f"{', '.join(columns)}). Fix the column name."
                )

    def remove_contract(self, table: str) -> bool:
        """Delete the contract of ``table``; ``False`` when it had none."""
        path = contract_path(self._ws.settings, self.resolve(table))
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def report(self, table: str, *, as_of: dt.datetime | None = None) -> CheckReport:
        """Run ``table``'s checks now and record the results; every check's outcome."""
        ref = self._ws.resolve(table)
        contract, path = find_contract(self._ws, ref)
        if contract is None:
            raise ContractError(
                f"{ref.display} has no contract (looked for {path}). Declare one with "
                "ws.quality.contract(...) or write that file (docs/quality.md)."
            )
        report = check_now(self._ws, ref, contract, path, as_of=as_of)
        outcome = "failed" if report.blocking else ("warned" if report.findings else "passed")
        record_results(self._ws.settings, ref, report, trigger="manual", outcome=outcome)
        return report

    def check(self, table: str, *, as_of: dt.datetime | None = None) -> pd.DataFrame:
        """Run ``table``'s checks now: one row per check (name, type, column, status, ...)."""
        import pandas as pd

        return pd.DataFrame(self.report(table, as_of=as_of).to_json()["checks"])

    def results(self, table: str, *, limit: int = 20) -> pd.DataFrame:
        """Recorded check runs of ``table`` (writes and manual runs): one row per check."""
        import pandas as pd

        ref = self._ws.resolve(table)
        rows = []
        for run in read_results(self._ws.settings, ref, limit=limit):
            for c in run.get("checks", []):
                rows.append(
                    {k: run.get(k) for k in ("at", "trigger", "outcome", "snapshot_id", "user")}
                    | {k: c.get(k) for k in ("name", "type", "column", "severity", "status")}
                    | {"violations": c.get("violations"), "message": c.get("message")}
                )
        return pd.DataFrame(rows)
