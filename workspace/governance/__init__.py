"""Governance: the rules a team sets on its lake, enforced where the data is written.

* Naming standards (:mod:`workspace.governance.standards`): ``scheduled/standards.yaml``
  sets rules per layer for schema, table and column names and the metadata tables need;
  a write hook refuses shared-layer writes that break a name rule, ``workspace promote``
  refuses pipelines whose outputs break one, and ``workspace standards check`` lists every
  violation of an existing lake (docs/governance.md, "Naming standards").
* Tiers (:mod:`workspace.governance.tiers`, :mod:`~workspace.governance.classify`,
  :mod:`~workspace.governance.masking`): ``workspace classify`` moves a confidential or
  restricted table into its own root-only DuckLake (grants are POSIX ACLs,
  :mod:`workspace.governance.acl`) and publishes a masked projection after every write.
* The audit trail (:mod:`workspace.governance.audit`): an append-only, hash-chained log of
  logins, spawns, user changes, pipeline actions, report views and commits to shared
  layers, written by services and root into a store users cannot write;
  ``workspace audit`` reads it and ``workspace audit verify`` checks the chain.
* Secrets (:mod:`workspace.governance.secrets`): ``workspace.secret("name")`` resolves a
  named reference from the environment or a root-owned secrets file (a seam for Vault);
  the runner redacts the values from notebooks, reports and logs, and promotion refuses
  hard-coded credentials (:mod:`workspace.governance.secrets_scan`).

Depends on :mod:`workspace.lake` only; :mod:`workspace.jobs` and the command line use it.
Modules are imported on use: importing this package loads nothing heavy.
"""

from __future__ import annotations
