"""Small notebooks for tests: a ``parameters`` cell and a body, on a given kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat


def make_notebook(
    path: Path,
    params: str = "",
    body: str = "print('ok')",
    kernel: str = "python3",
    *,
    tagged: bool = True,
    stale_output: str | None = None,
) -> Path:
    """Write a two-cell notebook to ``path`` and return the path.

    ``tagged=False`` leaves the first cell without the ``parameters`` tag; ``stale_output``
    gives the body an output, as if the notebook had been run before.
    """
    cells = [nbformat.v4.new_code_cell(params), nbformat.v4.new_code_cell(body)]
    if tagged:
        cells[0].metadata["tags"] = ["parameters"]
    if stale_output is not None:
        cells[1].outputs = [nbformat.v4.new_output("stream", text=stale_output)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nbformat.write(nb, path)
    return path
