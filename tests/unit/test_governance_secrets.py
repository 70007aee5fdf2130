"""Secrets: resolution order, clear errors, the backend seam, redaction and the scanner."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

import workspace
from workspace.governance.secrets import (
    Redactor,
    SecretNotFoundError,
    redactor,
    register_backend,
    secret,
)
from workspace.governance.secrets_scan import hard_coded_secrets
from workspace.lake.errors import ConfigurationError


@pytest.fixture
def secrets_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    path = folder / "secrets.yaml"
    path.write_text(
        "warehouse_password: from-the-file-123\napi_token: {backend: memory, ref: 'kv/app#token'}\n"
    )
    path.chmod(0o640)
    monkeypatch.setenv("WORKSPACE_HOME", str(tmp_path))
    monkeypatch.delenv("WORKSPACE_SECRETS_FILE", raising=False)
    for key in [k for k in os.environ if k.startswith("WORKSPACE_SECRET_")]:
        monkeypatch.delenv(key)

    class Memory:
        def fetch(self, ref: str) -> str:
            return {"kv/app#token": "tok-from-vault-9"}[ref]

    register_backend("memory", Memory())
    return path


def test_file_then_environment_and_the_backend_seam(
    secrets_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert workspace.secret("warehouse_password") == "from-the-file-123"
    assert secret("api_token") == "tok-from-vault-9"
    monkeypatch.setenv("WORKSPACE_SECRET_WAREHOUSE_PASSWORD", "from-the-env-456")
    assert secret("warehouse_password") == "from-the-env-456"  # the environment wins


def test_unknown_invalid_and_unsafe(secrets_home: Path) -> None:
    with pytest.raises(SecretNotFoundError) as unknown:
        secret("nope")
    message = str(unknown.value)
    assert "No secret 'nope'" in message and "WORKSPACE_SECRET_NOPE" in message
    assert str(secrets_home) in message
    with pytest.raises(SecretNotFoundError, match="not valid"):
        secret("Bad-Name")
    secrets_home.chmod(0o644)  # readable by every account: refused, not used
    with pytest.raises(ConfigurationError, match="chmod 0640"):
        secret("warehouse_password")


def test_redactor_covers_every_source_and_split_output(secrets_home: Path) -> None:
    r = redactor()
    assert r.text("a from-the-file-123 b tok-from-vault-9") == (
        "a [secret warehouse_password] b [secret api_token]"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(x)")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="pw from-the-"),
        nbformat.v4.new_output("stream", name="stdout", text="file-123\n"),
        nbformat.v4.new_output(
            "error", ename="ValueError", evalue="from-the-file-123", traceback=["from-the-file-123"]
        ),
        nbformat.v4.new_output("display_data", data={"text/html": "<b>tok-from-vault-9</b>"}),
    ]
    assert r.notebook(nb) == 3
    text = nbformat.writes(nb)
    assert "from-the-file-123" not in text and "tok-from-vault-9" not in text
    assert nb.cells[0].outputs[0]["text"] == "pw [secret warehouse_password]\n"
    assert not Redactor({"short": "abc"})  # too short to redact safely


def test_the_scanner_names_cell_and_kind() -> None:
    cells = [
        nbformat.v4.new_markdown_cell("# Load"),
        nbformat.v4.new_code_cell('pw = workspace.secret("warehouse_password")'),
        nbformat.v4.new_code_cell('x = 1\naws = "AKIAIOSFODNN7EXAMPLE"'),
        nbformat.v4.new_code_cell('password = "hunter2-Summer!"'),
        nbformat.v4.new_code_cell('password = "known-fixture-1"  # pragma: allowlist secret'),
    ]
    found = hard_coded_secrets(nbformat.v4.new_notebook(cells=cells))
    assert [(f.cell, f.line, f.kind) for f in found] == [
        (3, 2, "AWS Access Key"),
        (4, 1, "Secret Keyword"),
    ]
