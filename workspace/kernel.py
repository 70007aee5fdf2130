"""Start-up of the "Python (workspace)" kernel (``--IPKernelApp.extensions=workspace.kernel``).

It loads the ``%%sql`` magics (which bind ``ws``), completes SQL in ``%%sql`` cells and
table names in ``ws.table("...`` through the kernel's standard completion request
(:func:`register_completion`), shows a progress bar on queries that run over a second and
cancels them on the kernel's interrupt (:func:`register_progress`), makes Altair charts
render with JupyterLab's own Vega-Lite renderer, so they work without internet access, and
shows a :class:`~workspace.lake.errors.WorkspaceError` raised by a cell (an unknown table,
a write the OS refused, a schema mismatch) as its one-line message instead of a traceback:
those errors are user mistakes, and the message says what to do. The cell still fails (a
pipeline run stops there); ``%tb`` shows the full traceback when it is needed.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from workspace.lake.errors import WorkspaceError

if TYPE_CHECKING:
    import duckdb
    from IPython.core.completer import CompletionContext
    from IPython.core.interactiveshell import InteractiveShell

    from workspace.sql.complete import Completions, Names

log = logging.getLogger(__name__)
#: Identifier of the workspace's matcher in IPython's completer.
MATCHER_ID = "workspace.sql.complete"


def configure_altair() -> None:
    """Emit charts as the Vega-Lite mimetype (rendered by JupyterLab, offline).

    Altair's default renderer emits HTML that loads vega from a CDN, which fails on an
    offline install.
    """
    import altair as alt

    alt.renderers.enable("mimetype")


class _WhenImported(importlib.abc.MetaPathFinder):
    """Runs ``callback`` right after the module ``name`` is first imported.

    Importing altair takes 1.5-2 s of CPU; a kernel that never draws a chart should not pay
    it at start (pipeline kernels start by the dozen on a busy machine).
    """

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name, self.callback = name, callback

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once; the regular finders locate the module
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module, create_module, callback = (
            loader.exec_module,
            loader.create_module,
            self.callback,
        )

        class _Loader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> Any:
                return create_module(spec)

            def exec_module(self, module: Any) -> None:
                exec_module(module)
                sys.modules[fullname] = module  # callback may import it by name
                callback()

        spec.loader = _Loader()
        return spec


def configure_altair_when_imported() -> None:
    """:func:`configure_altair` now if altair is loaded, else as soon as a cell imports it."""
    if "altair" in sys.modules:
        configure_altair()
    elif not any(isinstance(f, _WhenImported) for f in sys.meta_path):
        sys.meta_path.insert(0, _WhenImported("altair", configure_altair))


def error_lines(exc: BaseException) -> list[str]:
    """How a workspace error is shown in a notebook: ``Type: message``, nothing else.

    Examples
    --------
    >>> from workspace.lake.errors import WorkspaceError
    >>> error_lines(WorkspaceError("Table 'gold.x' not found."))
    ["WorkspaceError: Table 'gold.x' not found."]
    """
    return f"{type(exc).__name__}: {exc}".splitlines()


def _show_workspace_error(
    shell: InteractiveShell, etype: type[BaseException], value: BaseException, tb: Any,
    tb_offset: int | None = None,
) -> list[str]:  # fmt: skip
    """IPython's custom exception handler: show the message only (see the module doc).

    A query stopped by the kernel's interrupt (DuckDB raises ``RuntimeError``) shows as
    :class:`~workspace.sql.progress.QueryCancelled`; any other ``RuntimeError`` as usual.
    """
    from workspace.sql.progress import CANCELLED_MESSAGE, QueryCancelled, is_interrupted_query

    if not isinstance(value, WorkspaceError):
        if not is_interrupted_query(value):
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return []
        etype, value = QueryCancelled, QueryCancelled(CANCELLED_MESSAGE)
    stb = error_lines(value)
    shell._showtraceback(etype, value, stb)  # the kernel sends it as the cell's error
    return stb


def quiet_workspace_errors(ipython: InteractiveShell) -> None:
    """Show :class:`WorkspaceError` raised by cells as one message (no traceback).

    So is a query cancelled by the kernel's interrupt (``QueryCancelled: ...``).

    Examples
    --------
    >>> from IPython.core.interactiveshell import InteractiveShell  # doctest: +SKIP
    >>> quiet_workspace_errors(InteractiveShell.instance())  # doctest: +SKIP
    """
    ipython.set_custom_exc((WorkspaceError, RuntimeError), _show_workspace_error)


class _Frames(Mapping[str, list[str]]):
    """The notebook's DataFrames (SQL reads them by name) -> their columns, read lazily."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self._ns = namespace

    def __getitem__(self, name: str) -> list[str]:
        from workspace.sql.complete import frame_columns

        columns = frame_columns(self._ns.get(name)) if not name.startswith("_") else None
        if columns is None:
            raise KeyError(name)
        return columns

    def __iter__(self) -> Iterator[str]:
        from workspace.sql.complete import frame_columns

        for name, value in list(self._ns.items()):
            if not name.startswith("_") and frame_columns(value) is not None:
                yield name

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _names(ws: Any) -> Names:
    """The tables of ``ws`` (none when ``ws`` is missing or its connection is unusable)."""
    import duckdb

    from workspace.lake.workspace import Workspace
    from workspace.sql.complete import Names, workspace_names

    if isinstance(ws, Workspace):
        try:
            return workspace_names(ws)
        except (duckdb.Error, WorkspaceError) as exc:  # closed, or the catalog is unreadable
            log.debug("completion without table names: %s", exc)
    return Names({})


def workspace_completions(ipython: InteractiveShell, code: str, cursor: int) -> Completions | None:
    """What the workspace completes in ``code`` at ``cursor``; ``None``: not its business.

    SQL in a ``%%sql`` cell or after ``%sql``, and the table name in ``ws.table("...``
    (any method of a :class:`~workspace.lake.workspace.Workspace` taking a table name).

    Examples
    --------
    >>> workspace_completions(shell, '%%sql\\nSELECT * FROM gold.rev', 29)  # doctest: +SKIP
    Completions(fragment='gold.rev', items=(Completion(text='gold.revenue', kind='table'),))
    """
    from workspace.lake.workspace import Workspace
    from workspace.sql import complete

    namespace = ipython.user_ns
    found = complete.sql_at_cursor(code, cursor)
    if found is not None:
        magic = ipython.magics_manager.registry.get("SqlMagic")
        ws = namespace.get(getattr(magic, "workspace_variable", "ws"))
        sql, at = found
        public = (n for n in list(namespace) if not n.startswith("_"))
        return complete.complete_sql(
            sql, at, _names(ws), frames=_Frames(namespace), variables=public
        )
    line_start = code.rfind("\n", 0, cursor) + 1
    argument = complete.table_argument(code[line_start:cursor])
    if argument is None or not isinstance(namespace.get(argument[0]), Workspace):
        return None
    return complete.complete_table_name(argument[1], _names(namespace[argument[0]]))


def register_completion(ipython: InteractiveShell) -> None:
    """Add the workspace's matcher (:func:`workspace_completions`) to IPython's completer.

    It runs before the others (Jedi) and, when it has candidates, replaces theirs; so
    JupyterLab's Tab in a ``%%sql`` cell offers tables, columns, keywords and functions.
    """
    from IPython.core.completer import SimpleCompletion, context_matcher

    completer = ipython.Completer
    if any(getattr(m, "matcher_identifier", None) == MATCHER_ID for m in completer.custom_matchers):
        return

    @context_matcher(priority=100, identifier=MATCHER_ID)
    def workspace_matcher(context: CompletionContext) -> dict[str, Any]:
        lines = context.full_text.split("\n")
        cursor = sum(len(line) + 1 for line in lines[: context.cursor_line])
        try:
            found = workspace_completions(
                ipython, context.full_text, cursor + context.cursor_position
            )
        except Exception:  # a completion must never break the kernel or print a traceback
            log.exception("workspace completion failed")
            found = None
        if found is None:
            return {"completions": [], "suppress": False}
        return {
            "completions": [SimpleCompletion(c.text, type=c.kind) for c in found.items],
            "matched_fragment": found.fragment,
            "suppress": True,
            "ordered": True,
        }

    completer.custom_matchers.append(workspace_matcher)
    ipython.events.register("post_run_cell", _forget_names)


def _forget_names(*_: object) -> None:
    """A cell ran (and may have created tables): completion asks the catalog again."""
    from workspace.sql.complete_names import forget_names

    forget_names()


def notebook_connections(ipython: InteractiveShell) -> list[duckdb.DuckDBPyConnection]:
    """The DuckDB connections of the notebook: ``ws.con`` first, then any other workspace's
    or connection in a variable (an interrupt interrupts them all)."""
    import duckdb

    from workspace.lake.workspace import Workspace

    namespace = ipython.user_ns
    magic = ipython.magics_manager.registry.get("SqlMagic")
    first = namespace.get(getattr(magic, "workspace_variable", "ws"))
    found: list[duckdb.DuckDBPyConnection] = []
    for value in (first, *list(namespace.values())):
        con = value.con if isinstance(value, Workspace) else value
        if isinstance(con, duckdb.DuckDBPyConnection) and all(c is not con for c in found):
            found.append(con)
    return found


def register_progress(ipython: InteractiveShell) -> None:
    """Progress bars for queries running over a second, and cancel on the kernel's interrupt
    (:mod:`workspace.sql.progress`; ``%config QueryProgress.after = 3``)."""
    from workspace.sql.progress import CellProgress, QueryProgress

    config = QueryProgress(parent=ipython)
    configurables: list[Any] = ipython.configurables  # so that %config QueryProgress works
    configurables.append(config)
    CellProgress(ipython, lambda: notebook_connections(ipython), config).register()


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Load the workspace into a kernel: ``%%sql``, ``ws``, ``params``, completion, offline
    charts, clear errors."""
    from workspace import params  # light: widgets are imported when a bar is shown

    ipython.run_line_magic("load_ext", "workspace.sql")
    ipython.push({"params": params})  # parameters cells: region = params.dropdown(...)
    register_completion(ipython)
    register_progress(ipython)
    quiet_workspace_errors(ipython)
    configure_altair_when_imported()
