"""The attempt log read from an executed notebook numbers cells like ``failing_cell``."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workspace.jobs.execution.attempt_log import notebook_text


def test_cells_are_numbered_as_in_the_users_notebook(tmp_path: Path) -> None:
    banner = new_markdown_cell("An Exception was encountered at cell 2")
    banner.metadata["tags"] = ["papermill-error-cell-tag"]
    params = new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    injected = new_code_cell("x = 2")
    injected.metadata["tags"] = ["injected-parameters"]
    loads = new_code_cell("print('loaded')")
    loads.outputs = [new_output("stream", text="loaded 1500 rows\n")]
    fails = new_code_cell("1/0")
    fails.outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero")]
    nb = new_notebook(cells=[banner, params, injected, loads, fails])
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    text = notebook_text(path)
    assert text.startswith("[cell 2]\nloaded 1500 rows\n")  # 1-based: parameters is cell 1
    assert "[cell 3]\nZeroDivisionError: division by zero" in text
