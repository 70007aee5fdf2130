"""The Lab server's kept lake connections reopen when a grant changes what the account reads.

A connection opened before a grant has not attached the table's protected catalog, so the
table's detail failed in the Lab until the server restarted. The key of a kept connection
now holds the protected tables the account can open (the OS decides; root can open any
existing one), so a new grant, or a revocation, gives a fresh connection on the next call.
"""

from __future__ import annotations

from workspace.lake import protected
from workspace.lake.settings import Settings
from workspace.lake.workspace import Workspace
from workspace.server.lake_access import LakeConnections


def test_a_new_readable_protected_table_reopens_the_connection(ws: Workspace) -> None:
    settings: Settings = ws.settings
    ws.write("silver.kept", ws.sql("SELECT 1 AS x"))
    lakes = LakeConnections()
    try:
        first = lakes.get(settings)
        assert lakes.get(settings) is first  # kept while nothing changes

        entry = protected.ProtectedEntry("silver.secret", "confidential", "legal", "Secret")
        protected.write_index(settings, {entry.table: entry})
        assert lakes.get(settings) is first  # listed, but its catalog cannot be opened yet

        catalog = protected.catalog_file(protected.protected_root(settings, entry.table))
        catalog.parent.mkdir(parents=True)
        catalog.touch()  # now open()-able by this account, as after a grant
        second = lakes.get(settings)
        assert second is not first

        catalog.unlink()  # as after a revocation
        assert lakes.get(settings) is not second
    finally:
        lakes.close_all()
