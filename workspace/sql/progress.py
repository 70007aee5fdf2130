"""Progress and cancel of long queries in a notebook.

While a cell runs, a :class:`ProgressWatcher` thread polls DuckDB's ``query_progress()`` on
the workspace connection. Once a query has run for :attr:`QueryProgress.after` seconds
(1 s) it shows a progress bar: an ipywidgets bar whose plain-text form is a text line, for
frontends that do not render widgets (or a text line alone, ``QueryProgress.widgets =
False``), updated a few times a second and blanked when the cell ends, so that stored
notebooks and reports keep no trace of it.

Interrupting the kernel (the ■ button, SIGINT) interrupts the running DuckDB queries with
``con.interrupt()``. DuckDB's own Ctrl-C handling only stops *waiting* for the query: the
query would run on, and the connection's next statement would wait for it. After the
interrupt the connection is usable at once, and the cell fails with :class:`QueryCancelled`.
:class:`CellProgress` does both around every cell of a kernel (``workspace.kernel``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
from traitlets import Bool, Float, default
from traitlets.config import Configurable

from workspace.lake.errors import WorkspaceError

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

#: Width of the text bar, in characters.
BAR_WIDTH = 24


class QueryCancelled(WorkspaceError):
    """The query was cancelled: the kernel was interrupted while it ran."""


CANCELLED_MESSAGE = (
    "The query was cancelled (the kernel was interrupted). The connection is still usable: "
    "run the cell again, or change it first."
)


def is_interrupted_query(exc: BaseException) -> bool:
    """Whether ``exc`` is how DuckDB reports a query stopped by an interrupt.

    Examples
    --------
    >>> is_interrupted_query(RuntimeError("Query interrupted")), is_interrupted_query(ValueError())
    (True, False)
    """
    if isinstance(exc, duckdb.InterruptException):
        return True
    return isinstance(exc, RuntimeError) and str(exc).strip() == "Query interrupted"


def progress_line(percent: float | None, elapsed: float) -> str:
    """The text form of the progress of a query (``percent`` ``None``: not known).

    Examples
    --------
    >>> progress_line(50, 3.21)
    'Query [############............]  50% · 3.2 s · interrupt the kernel (■) to cancel'
    >>> progress_line(None, 75)
    'Query running · 1 min 15 s · interrupt the kernel (■) to cancel'
    """
    took = f"{elapsed:.1f} s" if elapsed < 60 else f"{int(elapsed // 60)} min {int(elapsed % 60)} s"
    if percent is None:
        head = "Query running"
    else:
        done = round(max(0.0, min(100.0, percent)) / 100 * BAR_WIDTH)
        head = f"Query [{'#' * done}{'.' * (BAR_WIDTH - done)}] {percent:3.0f}%"
    return f"{head} · {took} · interrupt the kernel (■) to cancel"


class ProgressView(Protocol):
    """Where progress is shown: updated from the watcher's thread, closed when the cell ends."""

    def update(self, percent: float | None, elapsed: float) -> None: ...

    def close(self) -> None: ...


class TextProgress:
    """Progress as one text line, replaced in place (``update_display``)."""

    def __init__(self) -> None:
        self._handle: Any = None

    def update(self, percent: float | None, elapsed: float) -> None:
        from IPython.display import display

        bundle = {"text/plain": progress_line(percent, elapsed)}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.update({"text/plain": ""}, raw=True)


class WidgetProgress:
    """Progress as an ipywidgets bar; its plain-text form is the text line."""

    def __init__(self) -> None:
        import ipywidgets

        self._bar = ipywidgets.FloatProgress(
            value=0, min=0, max=100, description="Query", bar_style="info"
        )
        self._label = ipywidgets.Label("")
        self._box = ipywidgets.HBox([self._bar, self._label])
        self._handle: Any = None

    def update(self, percent: float | None, elapsed: float) -> None:
        from IPython.display import display

        self._bar.value = percent if percent is not None else 0
        line = progress_line(percent, elapsed)
        self._label.value = (
            line.split(" · ", 1)[1] if percent is None else line[line.index("]") + 1 :]
        )
        if self._handle is None:
            view = {"model_id": self._box.model_id, "version_major": 2, "version_minor": 0}
            bundle = {"application/vnd.jupyter.widget-view+json": view, "text/plain": line}
            self._handle = display(bundle, raw=True, display_id=True)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.update({"text/plain": ""}, raw=True)
        self._box.close()
        self._bar.close()
        self._label.close()


class ProgressWatcher:
    """Polls ``con.query_progress()`` from a thread while a cell runs; shows it after ``after``.

    Parameters
    ----------
    con:
        The connection whose queries are watched.
    view:
        Makes the view the first time there is something to show.
    after, interval:
        Seconds before the first view, and between updates.
    unknown:
        Show a running query whose progress DuckDB cannot estimate (``-1``); a ``%%sql``
        cell always runs one, a Python cell may run none.

    Examples
    --------
    >>> import duckdb
    >>> watcher = ProgressWatcher(duckdb.connect(), TextProgress, after=1.0)
    >>> watcher.start(); watcher.stop(); watcher.shown
    False
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        view: Callable[[], ProgressView],
        *,
        after: float = 1.0,
        interval: float = 0.25,
        unknown: bool = False,
    ) -> None:
        self.con, self._make_view = con, view
        self.after, self.interval, self.unknown = after, interval, unknown
        self._done = threading.Event()
        self._view: ProgressView | None = None
        self._thread = threading.Thread(target=self._watch, name="workspace-progress", daemon=True)
        self._started = 0.0

    @property
    def shown(self) -> bool:
        """Whether the progress was shown."""
        return self._view is not None

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and blank the view (call from the thread that runs the cell)."""
        self._done.set()
        self._thread.join(timeout=5)
        if self._view is not None:
            with contextlib.suppress(Exception):  # the frontend may be gone
                self._view.close()

    def _watch(self) -> None:
        if self._done.wait(self.after):
            return
        while not self._done.is_set():
            try:
                percent = self.con.query_progress()
            except (duckdb.Error, RuntimeError):  # closed by the cell
                return
            if percent >= 0 or self.unknown:
                if self._view is None:
                    self._view = self._make_view()
                self._view.update(percent if percent >= 0 else None, self._elapsed())
            if self._done.wait(self.interval):
                return

    def _elapsed(self) -> float:
        return time.monotonic() - self._started


def enable_progress(con: duckdb.DuckDBPyConnection) -> None:
    """Make DuckDB track the progress of ``con``'s queries, without printing a bar itself."""
    con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")


def interrupt(connections: Sequence[duckdb.DuckDBPyConnection]) -> None:
    """Interrupt whatever ``connections`` run (a no-op on an idle or closed connection)."""
    for con in connections:
        with contextlib.suppress(duckdb.Error, RuntimeError):
            con.interrupt()


class QueryProgress(Configurable):
    """Progress bars of long queries in the workspace kernel.

    Set in a notebook with ``%config QueryProgress.after = 3``, or in ``ipython_config.py``.
    """

    enabled = Bool(
        help="""Show a progress bar while a query of a cell runs longer than `after` seconds.
        Interrupting the kernel cancels queries either way. Default: on, except in pipeline
        runs (WORKSPACE_RUN_ID is set), where nobody watches and the bar would only add
        outputs to the executed notebook.""",
    ).tag(config=True)

    @default("enabled")
    def _enabled_default(self) -> bool:
        return not os.environ.get("WORKSPACE_RUN_ID")

    after = Float(1.0, min=0.0, help="Seconds a query runs before its progress bar is shown.").tag(
        config=True
    )
    interval = Float(0.25, min=0.05, help="Seconds between two updates of a progress bar.").tag(
        config=True
    )
    widgets = Bool(
        True,
        help="""Show the bar as an ipywidgets progress bar (its text form is a text line).
        False: a text line only, for frontends without widgets.""",
    ).tag(config=True)


class CellProgress:
    """Around every cell of a shell: progress of its queries, and cancel on interrupt.

    ``connections()`` gives the DuckDB connections of the notebook, the one to watch first
    (``ws.con``); an interrupt interrupts them all.
    """

    def __init__(
        self,
        shell: InteractiveShell,
        connections: Callable[[], list[duckdb.DuckDBPyConnection]],
        config: QueryProgress,
    ) -> None:
        self.shell, self.connections, self.config = shell, connections, config
        self._watcher: ProgressWatcher | None = None
        self._saved_handler: Any = None
        self._enabled: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()

    def register(self) -> None:
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def pre_run_cell(self, info: Any) -> None:
        with contextlib.suppress(ValueError):  # not the main thread: keep the handler
            self._saved_handler = signal.signal(signal.SIGINT, self._on_interrupt)
        connections = self.connections()
        if not self.config.enabled or not connections:
            return
        con = connections[0]
        if con not in self._enabled:
            try:
                enable_progress(con)
            except (duckdb.Error, RuntimeError):  # closed, or in a failed transaction
                return
            self._enabled.add(con)
        raw = getattr(info, "raw_cell", "") or ""
        view: Callable[[], ProgressView] = TextProgress
        if self.config.widgets and _has_widgets():
            view = WidgetProgress
        self._watcher = ProgressWatcher(
            con,
            view,
            after=self.config.after,
            interval=self.config.interval,
            unknown=raw.lstrip().startswith("%%sql"),
        )
        self._watcher.start()

    def post_run_cell(self, result: Any) -> None:
        if is_interrupted_query(getattr(result, "error_in_exec", None) or Exception()):
            result.error_in_exec = QueryCancelled(CANCELLED_MESSAGE)  # the reply's ename
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        if self._saved_handler is not None:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGINT, self._saved_handler)
            self._saved_handler = None

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        interrupt(self.connections())
        raise KeyboardInterrupt


def _has_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = [
    "CellProgress",
    "ProgressWatcher",
    "QueryCancelled",
    "QueryProgress",
    "TextProgress",
    "WidgetProgress",
    "interrupt",
    "is_interrupted_query",
    "progress_line",
]
