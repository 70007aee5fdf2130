"""The ``%%sql`` and ``%sql`` magics: DuckDB SQL on the notebook's workspace connection."""

from __future__ import annotations

import re
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Integer, Unicode

from workspace.lake.errors import WorkspaceError
from workspace.sql.result import SqlResult
from workspace.sql.runner import run_sql

_OPTIONS = re.compile(
    r"^\s*(?:(?:-o|--output)(?:\s+|=)(?P<name>[A-Za-z_]\w*)\b)?\s*(?P<rest>.*)$", re.S
)


class SqlUsageError(WorkspaceError):
    """The magic was called wrongly (bad option, no workspace bound)."""


def quiet(exc: WorkspaceError) -> WorkspaceError:
    """Make IPython show ``exc`` as one message, without a traceback.

    IPython renders exceptions that have ``_render_traceback_`` with that method alone.
    """
    message = f"{type(exc).__name__}: {exc}"
    exc._render_traceback_ = lambda: message.splitlines()  # type: ignore[attr-defined]
    return exc


@magics_class
class SqlMagic(Magics):
    """Run DuckDB SQL on the workspace (the ``ws`` variable of the notebook).

    Configure it with ``%config SqlMagic.display_rows = 20`` or in ``ipython_config.py``
    (``c.SqlMagic.display_rows = 20``).

    Examples
    --------
    ::

        %load_ext workspace.sql

        %%sql -o top
        SELECT nation, sum(revenue) AS revenue
        FROM gold.revenue_by_nation_month
        WHERE revenue > $min_revenue
        GROUP BY ALL ORDER BY revenue DESC

        r = %sql SELECT 42 AS answer
    """

    display_rows = Integer(
        10,
        help="""How many rows a SQL result shows in the notebook. Only these rows are
        fetched from DuckDB to display a result; use `%%sql -o NAME`, `result.df()` or
        `result.arrow()` to get all rows.""",
    ).tag(config=True)

    register_frames = Bool(
        True,
        help="""Let SQL cells query pandas, polars and pyarrow DataFrames of the notebook by
        their variable name (`SELECT * FROM my_df`). A DataFrame variable takes precedence
        over a lake table of the same unqualified name while the cell runs; qualify the
        table (`gold.orders`) to read the lake one.""",
    ).tag(config=True)

    interactive = Bool(
        True,
        help="""Show SQL results as the interactive grid (scroll, sort, filter and download in
        the kernel's DuckDB) where widgets render; the static table is always in the output
        too, for reports and nbconvert. False shows only the static table.""",
    ).tag(config=True)

    workspace_variable = Unicode(
        "ws",
        help="""Name of the notebook variable holding the workspace whose connection SQL cells
        use. Loading the extension binds it with workspace.connect() unless it is
        already defined.""",
    ).tag(config=True)

    @line_cell_magic
    def sql(self, line: str, cell: str | None = None) -> SqlResult | None:
        """Run DuckDB SQL on the workspace and show the last result.

        ``%%sql [-o NAME]`` runs the statements of the cell; ``%sql [-o NAME] QUERY`` runs one
        line and returns the result object. ``$name`` binds the notebook variable ``name``
        as a query parameter (never pasted into the SQL). With ``-o NAME`` the whole result is
        also stored as a pandas DataFrame in the variable ``NAME``.
        """
        try:
            return self._run(line, cell)
        except WorkspaceError as exc:
            raise quiet(exc) from None

    def _run(self, line: str, cell: str | None) -> SqlResult | None:
        match = _OPTIONS.match(line)
        assert match is not None  # the pattern matches every string
        output, rest = match.group("name"), match.group("rest")
        if cell is None:
            query = rest
        else:
            if rest.strip():
                raise SqlUsageError(
                    f"Unexpected text after %%sql: {rest.strip()!r}. The only option is "
                    "-o NAME (store the result as a pandas DataFrame); SQL goes in the cell body."
                )
            query = cell
        if cell is None and rest.startswith("-") and not rest.startswith("--"):
            raise SqlUsageError(f"Unknown option in {line.strip()!r}: the only option is -o NAME.")
        namespace: dict[str, Any] = self.shell.user_ns if self.shell is not None else {}
        ws = namespace.get(self.workspace_variable)
        con = getattr(ws, "con", None)
        if con is None:
            raise SqlUsageError(
                f"No workspace in the variable {self.workspace_variable!r}. Run "
                f"`{self.workspace_variable} = workspace.connect()` (import workspace first), "
                "or %load_ext workspace.sql."
            )
        result = run_sql(
            con,
            query,
            variables=namespace,
            output="pandas" if output else "duckdb",
            display_rows=self.display_rows,
            register_frames=self.register_frames,
        )
        result.interactive = self.interactive
        if output:
            namespace[output] = result.df()
        return result


__all__ = ["SqlMagic", "SqlUsageError", "quiet"]
