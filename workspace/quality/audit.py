"""Write-audit-publish: a table's checks run inside the write's transaction, before COMMIT.

:class:`QualityGate` is a :class:`workspace.lake.hooks.WriteHook`, installed through the
entry point ``workspace.write_hooks: quality`` (so every process that writes runs it:
notebooks, pipeline kernels, Dask writes, the CLI). For a table with a contract it runs the
checks on the table as the write leaves it (an append's row checks look only at the rows
it adds). A failed ``error`` check, or a check of severity ``error`` that cannot run, raises
:class:`QualityCheckError`: the transaction rolls back, DuckLake publishes no snapshot and
readers keep seeing the previous one. ``warn`` checks are logged and recorded. Every run
is recorded beside the table (:mod:`workspace.quality.checks_results`).

A table without a contract costs one ``stat`` of its contract path per write.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from workspace.lake.errors import WorkspaceError
from workspace.lake.hooks import WriteContext, WriteHook
from workspace.quality.checks import evaluate, find_contract
from workspace.quality.checks_report import CheckReport, check_column
from workspace.quality.checks_results import record_results
from workspace.quality.contract import ContractError
from workspace.quality.task_checks import (
    declared_contract,
    merge_contracts,
    record_task_result,
    task_source,
)

if TYPE_CHECKING:
    from workspace.lake.writes import WriteResult
    from workspace.quality.findings import Finding

__all__ = ["QualityCheckError", "QualityGate"]

log = logging.getLogger(__name__)


class QualityCheckError(WorkspaceError):
    """A write was rolled back because a blocking check of its table failed.

    Attributes
    ----------
    table:
        The table written, ``layer.name``.
    findings:
        The findings of the checks that blocked it (and of any other failed check).
    report:
        Every check's outcome.
    """

    def __init__(self, report: CheckReport) -> None:
        self.table = report.table
        self.report = report
        self.findings: list[Finding] = list(report.findings)
        blocking = report.blocking or [o for o in report.outcomes if o.status == "error"]
        parts = []
        for o in blocking:
            column = check_column(o.check)
            on = f" on column {column}" if column else ""
            what = o.message.split(" failed: ", 1)[-1] if o.status == "fail" else o.message
            if o.status == "error":
                what = "failed to run: " + o.message.split(" failed to run: ", 1)[-1]
            parts.append(f"check {o.check.name}{on}: {what}")
        if report.aborted and not parts:
            parts.append(report.aborted)
        where = f" or the contract {report.contract}" if report.contract else ""
        super().__init__(
            f"Write to {report.table} rolled back by {len(parts)} failing check"
            f"{'s' if len(parts) != 1 else ''}: {'; '.join(parts)}. Nothing was written and "
            f"readers still see the previous snapshot; fix the data{where}."
        )


class QualityGate(WriteHook):
    """Runs a table's contract in its writes (see the module docstring)."""

    order = 20

    def before_commit(self, ctx: WriteContext) -> None:
        try:
            contract, path = find_contract(ctx.ws, ctx.ref)
        except ContractError as exc:
            raise ContractError(
                f"{exc} Nothing was written to {ctx.ref.display}: fix the contract, then write "
                "again."
            ) from None
        own, contract = contract, merge_contracts(contract, declared_contract(ctx.ref))
        if contract is None or not contract.checks:
            return
        written = ctx.written_sql if ctx.mode == "append" else None
        report = evaluate(
            ctx.ws, ctx.ref, contract, con=ctx.con, path=path if own else None,
            written_sql=written, in_write=True,
        )  # fmt: skip
        if contract is not own:  # a pipeline task declares checks of the table
            report.contract = task_source(report.contract)
        ctx.state["quality"] = report
        if report.blocking or report.aborted:
            record_results(
                ctx.ws.settings, ctx.ref, report, trigger="write", outcome="blocked",
                mode=ctx.mode, rows=ctx.rows,
            )  # fmt: skip
            record_task_result(report, "blocked")
            raise QualityCheckError(report)
        for finding in report.findings:
            log.warning("%s (severity warn; the write goes ahead)", finding.message)

    def after_commit(self, ctx: WriteContext, result: WriteResult) -> None:
        report = ctx.state.pop("quality", None)
        if not isinstance(report, CheckReport):
            return
        record_task_result(report, "warned" if report.findings else "passed")
        record_results(
            ctx.ws.settings, ctx.ref, report, trigger="write",
            outcome="warned" if report.findings else "passed", mode=ctx.mode,
            rows=result.rows, snapshot_id=result.snapshot_id,
        )  # fmt: skip
