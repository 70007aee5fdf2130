"""Pipeline secrets end to end: a real ``workspace run`` prints and raises a secret read with
``workspace.secret``; neither the executed notebook, the report, the run's error nor its log
shows the value. ``workspace promote`` refuses notebooks with hard-coded credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support.notebooks import make_notebook

from workspace.cli.main import cli

pytestmark = pytest.mark.slow

VALUE = "pw-Zq81-not-for-eyes"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / "secrets").mkdir(parents=True)
    (home / "secrets" / "secrets.yaml").write_text(f"warehouse_password: {VALUE}\n")
    (home / "secrets" / "secrets.yaml").chmod(0o600)
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    monkeypatch.setenv("WORKSPACE_USER", "tester")
    return home


def test_a_printed_secret_is_redacted_everywhere(home: Path, tmp_path: Path) -> None:
    from workspace.api.service import JobsService
    from workspace.jobs.paths import RUNNER_LOG
    from workspace.lake.settings import Settings

    nb = make_notebook(
        tmp_path / "leaky.ipynb",
        "n = 1",
        "import workspace\npw = workspace.secret('warehouse_password')\n"
        "print('connecting with', pw)\ndisplay({'text/plain': pw}, raw=True)\n"
        "raise ValueError(f'login failed for {pw}')",
    )
    result = CliRunner().invoke(cli, ["run", str(nb), "-q"], catch_exceptions=False)
    assert result.exit_code == 1 and "[secret warehouse_password]" in result.stdout
    assert VALUE not in result.output
    report = Path(result.stdout.split("report: ")[1].strip())
    executed = report.with_name("executed.ipynb")
    assert VALUE not in executed.read_text() and VALUE not in report.read_text()
    assert "connecting with [secret warehouse_password]" in executed.read_text()

    service = JobsService(Settings.resolve(), tmp_path)
    try:
        run = service.store.list_runs(limit=1)[0]
        attempt = service.store.get_run_detail(run.run_id).attempts[0]
        assert VALUE not in (attempt.error or "") and "[secret" in (attempt.error or "")
        log = service.attempt_log(run.run_id, attempt.attempt_id)
        assert log.source == "notebook" and VALUE not in log.text and "[secret" in log.text
        # a kernel's stray stderr in the executor's log file is redacted as it is read
        (executed.parent / RUNNER_LOG).write_text(f"libpq: bad password {VALUE}\n")
        log = service.attempt_log(run.run_id, attempt.attempt_id)
        assert (
            log.source == "log" and log.text == "libpq: bad password [secret warehouse_password]\n"
        )
    finally:
        service.store.close()


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ('aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"', "AWS Access Key"),
        ('password = "Summer2024-warehouse"', "Secret Keyword"),
    ],
)
def test_promote_refuses_hard_coded_credentials(
    home: Path, tmp_path: Path, code: str, kind: str
) -> None:
    nb = make_notebook(tmp_path / "daily.ipynb", "n = 1", f"x = n\n{code}")
    scheduled = tmp_path / "scheduled"
    result = CliRunner().invoke(
        cli, ["promote", str(nb), "--pipeline", "daily", "--scheduled", str(scheduled)]
    )
    assert result.exit_code == 2, result.output
    assert f"cell 2, line 2 ({kind})" in result.stderr
    assert 'workspace.secret("name")' in result.stderr
    assert not (scheduled / "daily").exists()
