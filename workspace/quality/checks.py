"""Run a table's declared checks: now (:func:`run_checks`), or inside a write's transaction.

:func:`evaluate` runs every check of a :class:`~workspace.quality.contract.Contract` in as few
scans as it can (:mod:`workspace.quality.checks_sql`) and returns a :class:`CheckReport`:
one :class:`Outcome` per check (``pass``, ``fail`` or ``error``) and the findings of those
that did not pass. A check that raises is an ``error`` outcome, never a data failure.

Design notes (transactions, example keys, PII): docs/quality.md, "Module notes".
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from workspace.lake.engine import is_contention
from workspace.lake.names import TableRef, resolve_read
from workspace.lake.snapshots import history
from workspace.lake.sqlerrors import clean_message
from workspace.quality import checks_sql as cs
from workspace.quality.checks_registry import resolve, to_result
from workspace.quality.checks_report import CheckReport, finding_of, mask_pii
from workspace.quality.contract import (
    AcceptedValues,
    Check,
    Contract,
    Freshness,
    NotNull,
    PythonCheck,
    Range,
    Relationships,
    RowCount,
    SchemaCheck,
    SqlCheck,
    Unique,
    contract_path,
    load_contract,
)
from workspace.quality.findings import Finding

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace

__all__ = ["CheckReport", "Outcome", "evaluate", "find_contract", "run_checks"]

log = logging.getLogger(__name__)
Outcome = cs.Outcome
_ROW_CHECKS = (NotNull, AcceptedValues, Range)


_cache: dict[Path, tuple[tuple[int, int], Contract]] = {}


def find_contract(ws: Workspace, ref: TableRef) -> tuple[Contract | None, Path]:
    """The contract of ``ref`` and its path (``None`` when there is no file); cached by mtime."""
    path = contract_path(ws.settings, ref)
    try:
        st = path.stat()
    except FileNotFoundError:
        return None, path
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _cache.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1], path
    contract = load_contract(path, ref)
    _cache[path] = (stamp, contract)
    return contract, path


def run_checks(ws: Workspace, table: str, *, as_of: dt.datetime | None = None) -> list[Finding]:
    """Run the checks declared in ``table``'s contract now; the findings of those that fail.

    A table without a contract has no findings. Checks that pass report nothing; a check
    that fails reports a finding of kind ``check`` with its declared severity; a check that
    cannot run reports a finding of severity ``error`` saying it failed to run. ``as_of``
    evaluates freshness at that time (default: now).

    Examples
    --------
    >>> run_checks(ws, "silver.customers")  # no contract: nothing to report
    []
    """
    ref = ws.resolve(table)
    contract, path = find_contract(ws, ref)
    if contract is None:
        return []
    return check_now(ws, ref, contract, path, as_of=as_of).findings


def check_now(
    ws: Workspace,
    ref: TableRef,
    contract: Contract,
    path: Path | None,
    *,
    as_of: dt.datetime | None = None,
) -> CheckReport:
    """Run ``contract`` on the committed table, all checks on one snapshot."""
    con = ws.con
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException:  # the user's own open transaction: read in it
        return evaluate(ws, ref, contract, con=con, path=path, now=as_of)
    try:
        return evaluate(ws, ref, contract, con=con, path=path, now=as_of)
    finally:
        con.execute("ROLLBACK")


def evaluate(
    ws: Workspace,
    ref: TableRef,
    contract: Contract,
    *,
    con: duckdb.DuckDBPyConnection,
    path: Path | None = None,
    written_sql: str | None = None,
    in_write: bool = False,
    now: dt.datetime | None = None,
) -> CheckReport:
    """Run every check of ``contract`` on ``ref`` through ``con`` (see the module docstring)."""
    started = time.perf_counter()
    columns = {r[0]: r[1] for r in con.execute(f"DESCRIBE {ref.sql}").fetchall()}
    key = [k for k in contract.example_key() if k in columns] or list(columns)[:1]
    t = cs.Target(con, ref, columns, key, written_sql, in_write, now or dt.datetime.now(dt.UTC))
    report = CheckReport(ref.display, str(path) if path else None)
    run = _Runner(ws, t, report)
    run.all(contract.checks)
    order = {id(c): i for i, c in enumerate(contract.checks)}
    report.outcomes.sort(key=lambda o: order.get(id(o.check), len(order)))
    mask_pii(con, ref, report.outcomes)
    for o in report.outcomes:
        if o.status != "pass":
            finding = finding_of(ref, o)
            o.message = finding.message
            report.findings.append(finding)
    report.seconds = time.perf_counter() - started
    return report


class _Runner:
    """Runs checks in order: the shared scans first, then one query per remaining check."""

    def __init__(self, ws: Workspace, t: cs.Target, report: CheckReport) -> None:
        self.ws, self.t, self.report = ws, t, report
        self.written_cols: set[str] | None = None
        # unique checks on an integer key: (relation scanned, min, max, count)
        self.key_stats: dict[int, tuple[Any, ...]] = {}
        self.done: set[int] = set()  # checks that already have an outcome
        self.preds: dict[int, tuple[str, cs.Aggregate]] = {}  # row checks: predicate, scan
        if t.written_sql is not None:
            rows = t.con.execute(f"DESCRIBE SELECT * FROM {t.written_sql}").fetchall()
            self.written_cols = {r[0] for r in rows}

    def all(self, checks: list[Check]) -> None:
        pending: list[Check] = []
        for check in checks:
            missing = self.t.missing(check.columns())
            if missing:
                self._add(cs.Outcome(check, "error", detail=self._missing(missing)))
            else:
                pending.append(check)
        scans = [c for c in pending if self._in_scan(c)]
        self._scans(scans)
        scanned = {id(c) for c in scans if not isinstance(c, Unique)}
        for check in pending:
            if id(check) not in scanned and id(check) not in self.done:
                self._guarded(check, lambda c=check: self._one(c))  # type: ignore[misc]

    def _in_scan(self, check: Check) -> bool:
        """Whether the shared scan computes (part of) ``check``."""
        if isinstance(check, Freshness):
            return check.column is not None
        if isinstance(check, Unique):  # an integer key: its min, max and count
            cols = check.columns()
            return len(cols) == 1 and cs.is_integer(self.t.columns[cols[0]])
        return isinstance(check, (*_ROW_CHECKS, RowCount))

    def _missing(self, missing: list[str]) -> str:
        return (
            f"column {', '.join(missing)} does not exist in {self.t.ref.display} (its columns: "
            f"{', '.join(self.t.columns)}); fix the contract or the table"
        )

    def _add(self, outcome: cs.Outcome) -> None:
        self.report.outcomes.append(outcome)

    # -- the shared scans ----------------------------------------------------------------
    def _scans(self, checks: Sequence[Check]) -> None:
        t = self.t
        whole = cs.Aggregate(t.table_sql)
        written = cs.Aggregate(t.written_sql) if t.written_sql else None
        slots: list[tuple[Check, cs.Aggregate, int]] = []
        for check in checks:
            agg = whole
            own = isinstance(check, (*_ROW_CHECKS, Unique))
            if written and own and self._written_for(check, key=not isinstance(check, Unique)):
                agg = written  # an append: only the rows it adds (unique: see _one)
            index = self._plan(check, agg)
            if isinstance(index, cs.Reason):
                self._add(cs.Outcome(check, "error", detail=f"failed to run: {index}"))
            elif index is not None:
                slots.append((check, agg, index))
        results: dict[int, tuple[Any, ...] | Exception] = {}
        took: dict[int, float] = {}
        failing: dict[int, list[cs.Outcome]] = {}
        for agg in {id(a): a for _, a, _ in slots}.values():
            started = time.perf_counter()
            results[id(agg)] = self._run_aggregate(agg)
            took[id(agg)] = time.perf_counter() - started
        for check, agg, index in slots:
            row = results[id(agg)]
            if isinstance(row, Exception):
                outcome = cs.Outcome(check, "error", detail=f"failed to run: {_clean(row)}")
                self.done.add(id(check))
            elif isinstance(check, Unique):  # finished by _one, with these numbers
                self.key_stats[id(check)] = (agg.relation, *row[index : index + 3])
                continue
            else:
                outcome = self._judge(check, row, index)
                if outcome.status == "fail" and isinstance(check, _ROW_CHECKS):
                    failing.setdefault(id(agg), []).append(outcome)
            outcome.seconds = took[id(agg)]  # the shared scan's time
            self._add(outcome)
        for outcomes in failing.values():
            self._examples(outcomes)

    def _examples(self, outcomes: list[cs.Outcome]) -> None:
        """Up to 5 example keys (and values) of failed row checks: a second, rarer scan."""
        source = self.preds[id(outcomes[0].check)][1]
        agg = cs.Aggregate(source.relation)
        slots = []
        for o in outcomes:
            pred = self.preds[id(o.check)][0]
            index = agg.add(f"min({cs.key_expr(self.t.key)}, 5) FILTER (WHERE {pred})")
            if isinstance(o.check, (AcceptedValues, Range)):
                agg.add(f"approx_top_k({cs.q(o.check.column)}, 5) FILTER (WHERE {pred})")
            slots.append((o, index))
        used = set(re.findall(r"\$(p\d+)\b", agg.sql()))
        agg.params = {k: v for k, v in source.params.items() if k in used}
        row = self._run_aggregate(agg)
        if isinstance(row, Exception):  # the counts stand; the examples are missing
            return
        for o, index in slots:
            o.examples, o.example_key = list(row[index] or []), list(self.t.key)
            if isinstance(o.check, (AcceptedValues, Range)):
                o.example_values = list(row[index + 1] or [])

    def _plan(self, check: Check, agg: cs.Aggregate) -> int | cs.Reason | None:
        t = self.t
        if isinstance(check, RowCount):
            return agg.add("count(*)")
        if isinstance(check, Unique):
            c = cs.q(check.columns()[0])
            index = agg.add(f"min({c})")
            agg.add(f"max({c})")
            agg.add(f"count({c})")
            return index
        if isinstance(check, Freshness):
            if check.column is None:
                return None  # the last commit: no scan
            if not cs.is_temporal(t.columns[check.column]):
                return cs.Reason(
                    f"{check.column} is {t.columns[check.column]}, not a date or timestamp"
                )
            return agg.add(f"epoch(max({cs.q(check.column)}))")
        pred = cs.row_predicate(check, t, agg)
        if isinstance(pred, cs.Reason):
            return pred
        self.preds[id(check)] = (pred, agg)
        return agg.add(f"count(*) FILTER (WHERE {pred})")

    def _run_aggregate(self, agg: cs.Aggregate) -> tuple[Any, ...] | Exception:
        try:
            return agg.run(self.t.con)
        except duckdb.Error as exc:
            if is_contention(exc):
                raise
            self._after_error(exc)
            return exc

    def _judge(self, check: Check, row: tuple[Any, ...], i: int) -> cs.Outcome:
        if isinstance(check, RowCount):
            n = int(row[i])
            ok = (check.min is None or n >= check.min) and (check.max is None or n <= check.max)
            return cs.Outcome(check, "pass" if ok else "fail", 0 if ok else 1, observed={"rows": n})
        if isinstance(check, Freshness):
            return self._freshness(check, row[i])
        n = int(row[i])
        return cs.Outcome(check, "pass") if n == 0 else cs.Outcome(check, "fail", n)

    def _freshness(self, check: Freshness, newest: Any) -> cs.Outcome:
        now = self.t.now.timestamp()
        if newest is None:
            return cs.Outcome(check, "fail", 1, observed={"newest": None})
        age = max(0.0, now - float(newest))
        ok = age <= check.max_age.total_seconds()
        return cs.Outcome(check, "pass" if ok else "fail", 0 if ok else 1, observed={"age": age})

    # -- one query each ------------------------------------------------------------------
    def _guarded(self, check: Check, fn: Callable[[], cs.Outcome]) -> None:
        if self.report.aborted:
            detail = f"not run: {self.report.aborted}"
            self._add(cs.Outcome(check, "error", detail=detail))
            return
        started = time.perf_counter()
        try:
            outcome = fn()
        except Exception as exc:
            if isinstance(exc, duckdb.Error) and is_contention(exc):
                raise
            if isinstance(exc, duckdb.Error):
                self._after_error(exc, check)
            outcome = cs.Outcome(check, "error", detail=f"failed to run: {_clean(exc)}")
        outcome.seconds = time.perf_counter() - started
        self._add(outcome)

    def _after_error(self, exc: Exception, check: Check | None = None) -> None:
        """After a failed query: is the transaction still usable?"""
        con = self.t.con
        try:
            con.execute("SELECT 1").fetchall()
            return
        except duckdb.Error:
            pass
        if self.t.in_write:
            name = f"check {check.name}" if check else "a check query"
            self.report.aborted = f"{name} aborted the write's transaction ({_clean(exc)})"
        else:  # a read-only run: start a fresh read transaction and go on
            con.execute("ROLLBACK")
            con.execute("BEGIN TRANSACTION")

    def _one(self, check: Check) -> cs.Outcome:
        t, con = self.t, self.t.con
        if isinstance(check, Freshness):  # of the last commit
            if t.in_write:
                return cs.Outcome(check, "pass", observed={"age": 0.0})
            snaps = history(con, t.ref)
            newest = snaps[-1].time.timestamp() if snaps else None
            return self._freshness(check, newest)
        if isinstance(check, Unique):
            stats = self.key_stats.get(id(check))
            if stats is not None and cs.distinct_integers(con, check, t, *stats):
                return cs.Outcome(check, "pass")  # proven; else the GROUP BY decides
            row = con.execute(cs.unique_query(check, t, self._written_for(check))).fetchone()
            assert row is not None
            keys, rows = int(row[0]), int(row[1])
            if keys == 0:
                return cs.Outcome(check, "pass")
            return cs.Outcome(
                check, "fail", rows, list(row[2] or []), observed={"duplicated": keys},
                example_key=check.columns(),
            )  # fmt: skip
        if isinstance(check, Relationships):
            return self._relationships(check)
        if isinstance(check, SqlCheck):
            return self._sql(check)
        if isinstance(check, SchemaCheck):
            problems, column = cs.schema_diff(check, t)
            if not problems:
                return cs.Outcome(check, "pass")
            return cs.Outcome(check, "fail", len(problems), problems, observed={"column": column})
        assert isinstance(check, PythonCheck)
        return self._python(check)

    def _written_for(self, check: Check, key: bool = False) -> str | None:
        """The rows an append adds, when they have every column ``check`` (and the key) needs."""
        need = {*check.columns(), *(self.t.key if key else [])}
        if self.t.written_sql and self.written_cols is not None and need <= self.written_cols:
            return self.t.written_sql
        return None

    def _relationships(self, check: Relationships) -> cs.Outcome:
        t = self.t
        other = resolve_read(t.con, check.to)
        other_cols = {r[0]: r[1] for r in t.con.execute(f"DESCRIBE {other.sql}").fetchall()}
        if check.target_column not in other_cols:
            return cs.Outcome(
                check, "error",
                detail=f"column {check.target_column} does not exist in {other.display} "
                f"(its columns: {', '.join(other_cols)}); fix the contract",
            )  # fmt: skip
        relation = self._written_for(check, key=True) or t.table_sql
        sql = cs.relationships_query(check, t, other, other_cols[check.target_column], relation)
        row = t.con.execute(sql).fetchone()
        assert row is not None
        n = int(row[0])
        if n == 0:
            return cs.Outcome(check, "pass")
        return cs.Outcome(check, "fail", n, list(row[1] or []), example_key=list(t.key))

    def _sql(self, check: SqlCheck) -> cs.Outcome:
        query = cs.sql_check_query(check, self.t)
        if isinstance(query, cs.Reason):
            return cs.Outcome(check, "error", detail=f"failed to run: {query}")
        cur = self.t.con.execute(query)
        names = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
        if not rows:
            return cs.Outcome(check, "pass")
        key = [k for k in self.t.key if k in names]
        examples = [
            (r[names.index(key[0])] if len(key) == 1 else {k: r[names.index(k)] for k in key})
            for r in rows
        ] if key else []  # fmt: skip
        return cs.Outcome(check, "fail", int(rows[0][0]), examples, example_key=key)

    def _python(self, check: PythonCheck) -> cs.Outcome:
        fn = resolve(check.function)
        table = self.ws.ibis.table(
            self.t.ref.name, database=(self.t.ref.catalog, self.t.ref.schema)
        )
        kwargs = dict(check.args)
        if check.column:
            kwargs["column"] = check.column
        result = to_result(fn(table, **kwargs), check.function)
        if result.passed:
            return cs.Outcome(check, "pass")
        return cs.Outcome(
            check, "fail", result.violations, list(result.examples)[:5], detail=result.message,
            example_key=list(self.t.key),
        )  # fmt: skip


def _clean(exc: BaseException) -> str:
    if isinstance(exc, duckdb.Error):
        return clean_message(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
