"""Governance: the rules a team sets on its lake, enforced where the data is written.

* Naming standards (:mod:`workspace.governance.standards`): ``scheduled/standards.yaml``
  sets rules per layer for schema, table and column names and the metadata tables need;
  a write hook refuses shared-layer writes that break a name rule, ``workspace promote``
  refuses pipelines whose outputs break one, and ``workspace standards check`` lists every
  violation of an existing lake (docs/governance.md, "Naming standards").

Depends on :mod:`workspace.lake` only; :mod:`workspace.jobs` and the command line use it.
Modules are imported on use: importing this package loads nothing heavy.
"""

from __future__ import annotations
