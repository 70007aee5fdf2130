"""Governance: the rules a team sets on its lake, enforced where the data is written.

* naming standards (:mod:`workspace.governance.standards`, its write gate and check);
* tiers (:mod:`~workspace.governance.tiers`, :mod:`~workspace.governance.classify`,
  :mod:`~workspace.governance.masking`, :mod:`~workspace.governance.acl`): protected tables;
* the audit trail (:mod:`workspace.governance.audit`), hash-chained, users cannot write it;
* secrets (:mod:`workspace.governance.secrets`): ``workspace.secret("name")`` and redaction.

Depends on :mod:`workspace.lake` only; modules are imported on use. Overview of each area:
docs/governance.md ("Module notes" for this package).
"""

from __future__ import annotations
