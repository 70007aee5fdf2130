"""Start-up of the "Python (workspace)" kernel (``--IPKernelApp.extensions=workspace.kernel``).

It loads the ``%%sql`` magics (which bind ``ws``), makes Altair charts render with
JupyterLab's own Vega-Lite renderer, so they work without internet access, and shows a
:class:`~workspace.lake.errors.WorkspaceError` raised by a cell (an unknown table, a write
the OS refused, a schema mismatch) as its one-line message instead of a traceback: those
errors are user mistakes, and the message says what to do. The cell still fails (a
pipeline run stops there); ``%tb`` shows the full traceback when it is needed.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


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
    """IPython's custom exception handler: show the message only (see the module doc)."""
    stb = error_lines(value)
    shell._showtraceback(etype, value, stb)  # the kernel sends it as the cell's error
    return stb


def quiet_workspace_errors(ipython: InteractiveShell) -> None:
    """Show :class:`WorkspaceError` raised by cells as one message (no traceback).

    Examples
    --------
    >>> from IPython.core.interactiveshell import InteractiveShell  # doctest: +SKIP
    >>> quiet_workspace_errors(InteractiveShell.instance())  # doctest: +SKIP
    """
    from workspace.lake.errors import WorkspaceError

    ipython.set_custom_exc((WorkspaceError,), _show_workspace_error)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Load the workspace into a kernel: ``%%sql``, ``ws``, offline charts, clear errors."""
    ipython.run_line_magic("load_ext", "workspace.sql")
    quiet_workspace_errors(ipython)
    configure_altair_when_imported()
