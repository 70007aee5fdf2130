"""``workspace sql QUERY``: run DuckDB SQL against the workspace and print the result.

It runs the same code as the ``%%sql`` magic (:func:`workspace.sql.runner.run_sql`).
"""

from __future__ import annotations

import csv
import json
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from workspace.sql.result import SqlResult


def _parse_params(values: tuple[str, ...]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs; values are read as JSON when they parse, else kept as text."""
    params: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name.isidentifier():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        try:
            params[name] = json.loads(raw)
        except ValueError:
            params[name] = raw
    return params


def _write_csv(result: SqlResult) -> None:
    out = sys.stdout
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for batch in result.batches():
        writer.writerows(zip(*(col.to_pylist() for col in batch.columns), strict=True))


def _write_json(result: SqlResult) -> None:
    out = sys.stdout
    out.write("[")
    first = True
    for batch in result.batches():
        for row in batch.to_pylist():
            out.write(("\n  " if first else ",\n  ") + json.dumps(row, default=str))
            first = False
    out.write("\n]\n" if not first else "]\n")


@click.command()
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="table: the first rows, the row count and the time; csv/json: every row.",
)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Value of the $NAME query parameter (JSON numbers, true/false, null, else text).",
)
@click.option("--max-rows", default=20, show_default=True, help="Rows shown with --format table.")
def sql(query: str, fmt: str, params: tuple[str, ...], max_rows: int) -> None:
    """Run DuckDB SQL against the workspace: QUERY, or - to read it from stdin.

    Tables resolve like in notebooks (sandbox, gold, silver, bronze). Several statements
    separated by ; run in order and the last result is printed.

    \b
    Examples:
      workspace sql "SELECT * FROM gold.revenue_by_nation"
      workspace sql "SELECT * FROM orders WHERE o_totalprice > \\$p" -p p=1000 --format csv
      echo "SHOW TABLES" | workspace sql -
    """
    import workspace
    from workspace.lake.errors import QueryError
    from workspace.sql.runner import one_line, run_sql

    if query == "-":
        query = sys.stdin.read()
    values = _parse_params(params)
    with workspace.connect() as ws:
        try:
            result = run_sql(ws.con, query, variables=values, display_rows=max_rows)
        except QueryError as exc:
            raise QueryError(one_line(str(exc)), statement=exc.statement, index=exc.index) from None
        if fmt == "csv":
            _write_csv(result)
        elif fmt == "json":
            _write_json(result)
        else:
            click.echo(repr(result))
        del result
