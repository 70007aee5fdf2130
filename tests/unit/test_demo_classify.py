"""``workspace demo --classify``: the customer tables become confidential with masked copies.

The default demo keeps them in the shared lake (the tour notebooks read them as any user);
the flag classifies ``bronze.customer`` and ``silver.customers`` (which hold the same names)
confidential: the shared lake keeps no name, and the masked projections join on the hash.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import workspace
from workspace.cli.main import cli


def test_demo_classify_masks_the_customer_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    monkeypatch.setenv("WORKSPACE_SCHEDULED", str(tmp_path / "no-scheduled"))
    args = ["demo", "--scale", "0.01", "--no-notebooks", "--classify"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert "silver.customers                 confidential, masked as" in out.output
    again = CliRunner().invoke(cli, [*args, "--force"])  # a rebuild writes to the protected lakes
    assert again.exit_code == 0, again.output
    assert "already confidential" in again.output, again.output
    lake = home / "lake"
    name = b"Customer#000000042"
    assert not [p for p in lake.rglob("*") if p.is_file() and name in p.read_bytes()]
    with workspace.connect(home) as ws:
        masked = ws.table("silver.customers_masked").to_pandas()
        assert set(masked["address"]) == {"[redacted]"}
        assert masked["phone"].str.match(r"^\*+\d{4}$").all()
        joined = (
            ws.sql(
                "SELECT count(*) AS n FROM silver.customers_masked s "
                "JOIN bronze.customer_masked b ON s.name = b.c_name"
            )
            .to_pandas()["n"]
            .iloc[0]
        )
        assert joined == len(masked) > 0
        # the owner (here: the catalog's owner) still reads the source, for the gold marts
        assert ws.table("silver.customers").count().execute() == len(masked)
