"""Start-up of the "Python (workspace)" kernel (``--IPKernelApp.extensions=workspace.kernel``).

It loads the ``%%sql`` magics (which bind ``ws``) and makes Altair charts render with
JupyterLab's own Vega-Lite renderer, so they work without internet access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


def configure_altair() -> None:
    """Emit charts as the Vega-Lite mimetype (rendered by JupyterLab, offline).

    Altair's default renderer emits HTML that loads vega from a CDN, which fails on an
    offline install.
    """
    import altair as alt

    alt.renderers.enable("mimetype")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Load the workspace into a kernel: ``%%sql``, ``ws`` and offline charts."""
    ipython.run_line_magic("load_ext", "workspace.sql")
    configure_altair()
