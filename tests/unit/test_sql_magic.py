"""``%%sql`` and ``%sql`` in a real IPython shell, on a real workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.terminal.interactiveshell import TerminalInteractiveShell
from IPython.testing.globalipapp import start_ipython

import workspace
from workspace.lake import QueryError, Workspace
from workspace.sql import load_ipython_extension
from workspace.sql.magic import SqlMagic, SqlUsageError
from workspace.sql.result import SqlResult


@pytest.fixture
def shell(ws_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """The test IPython shell with the extension loaded and ``ws`` bound from the env."""
    monkeypatch.setenv("WORKSPACE_HOME", str(ws_home))
    monkeypatch.setenv("WORKSPACE_USER", "tester")
    start_ipython()  # once per process: IPython's test-friendly global shell
    ip = TerminalInteractiveShell.instance()
    ip.user_ns.pop("ws", None)
    load_ipython_extension(ip)
    yield ip
    ws = ip.user_ns.pop("ws", None)
    for name in ("out", "r", "evil", "low", "frame"):
        ip.user_ns.pop(name, None)
    ip.run_line_magic("config", "SqlMagic.display_rows = 10")
    if ws is not None:
        ws.close()


def _run(ip: InteractiveShell, cell: str) -> object:
    result = ip.run_cell(cell)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


def test_loading_binds_ws_from_environment(shell: InteractiveShell, ws_home: Path) -> None:
    ws = shell.user_ns["ws"]
    assert isinstance(ws, Workspace)
    assert ws.settings.home == ws_home.absolute()
    assert ws.settings.user == "tester"


def test_loading_keeps_an_existing_ws(shell: InteractiveShell, tmp_path: Path) -> None:
    mine = workspace.connect(tmp_path / "other", user="someone")
    old = shell.user_ns["ws"]
    shell.user_ns["ws"] = mine
    try:
        load_ipython_extension(shell)
        assert shell.user_ns["ws"] is mine
    finally:
        shell.user_ns["ws"] = old
        mine.close()


def test_cell_shows_table_with_count_and_time(shell: InteractiveShell) -> None:
    result = _run(shell, "%%sql\nSELECT range AS i, 'row ' || range AS label FROM range(25)")
    assert isinstance(result, SqlResult)
    html = result._repr_html_()
    assert "<th>label</th>" in html and "<td>row 9</td>" in html and "row 10" not in html
    assert "25 rows" in html and " ms" in html
    assert "25 rows" in repr(result)


def test_output_option_keeps_whole_result_as_pandas(shell: InteractiveShell) -> None:
    _run(shell, "%%sql -o out\nSELECT range AS i FROM range(25)")
    out = shell.user_ns["out"]
    assert isinstance(out, pd.DataFrame)
    assert out.i.tolist() == list(range(25))


def test_line_magic_returns_result(shell: InteractiveShell) -> None:
    _run(shell, "low = 3\nr = %sql SELECT range AS i FROM range(10) WHERE i >= $low")
    r = shell.user_ns["r"]
    assert isinstance(r, SqlResult)
    assert r.df().i.tolist() == list(range(3, 10))
    _run(shell, "%sql -o out SELECT 42 AS answer")
    assert shell.user_ns["out"].answer.tolist() == [42]


def test_several_statements_show_the_last(shell: InteractiveShell) -> None:
    result = _run(
        shell,
        "%%sql\nCREATE TABLE sandbox.m AS SELECT 1 AS a;\n"
        "INSERT INTO sandbox.m VALUES (2);\nSELECT sum(a) AS s FROM m",
    )
    assert isinstance(result, SqlResult)
    assert result.df().s.tolist() == [3]


def test_injection_through_a_variable_is_a_value(shell: InteractiveShell) -> None:
    shell.user_ns["ws"].write("victims", pd.DataFrame({"name": ["alice"]}))
    shell.user_ns["evil"] = "'; DROP TABLE sandbox.victims; --"
    result = _run(shell, "%%sql\nSELECT count(*) AS n FROM victims WHERE name = $evil")
    assert isinstance(result, SqlResult)
    assert result.df().n.tolist() == [0]
    assert "sandbox.victims" in shell.user_ns["ws"].tables()


def test_notebook_dataframes_are_queryable(shell: InteractiveShell) -> None:
    _run(shell, "import pandas as pd\nframe = pd.DataFrame({'a': [1, 2, 3]})")
    result = _run(shell, "%%sql\nSELECT max(a) AS m FROM frame")
    assert isinstance(result, SqlResult)
    assert result.df().m.tolist() == [3]


def test_display_rows_is_configurable(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", "SqlMagic.display_rows = 3")
    result = _run(shell, "%%sql\nSELECT * FROM range(50)")
    assert isinstance(result, SqlResult)
    assert result._repr_html_().count("<tr>") == 1 + 3
    assert "fetched" in SqlMagic.class_traits()["display_rows"].help


def test_error_is_one_message_without_traceback(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = shell.run_cell("%%sql\nSELECT 1;\nSELECT * FROM no_such_table")
    assert isinstance(result.error_in_exec, QueryError)
    printed = capsys.readouterr()
    shown = printed.out + printed.err
    assert "no_such_table" in shown and "ws.catalog.list()" in shown
    assert "statement 2" in shown
    assert "Traceback" not in shown and "File " not in shown and "magic.py" not in shown


def test_missing_variable_error_names_it(shell: InteractiveShell) -> None:
    with pytest.raises(QueryError, match=r"\$nope_var"):
        _run(shell, "%%sql\nSELECT $nope_var")


def test_bad_usage_is_reported(shell: InteractiveShell) -> None:
    with pytest.raises(SqlUsageError, match="Unexpected text"):
        _run(shell, "%%sql SELECT 1\nSELECT 2")
    ws = shell.user_ns.pop("ws")
    try:
        with pytest.raises(SqlUsageError, match="No workspace in the variable 'ws'"):
            _run(shell, "%sql SELECT 1")
    finally:
        shell.user_ns["ws"] = ws
