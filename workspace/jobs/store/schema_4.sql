-- Run store schema, version 4 (PRAGMA user_version = 4): identity, review and sharing of
-- pipelines are recorded by the scheduler service, not declared in pipeline.yaml.
--
-- Migration step 3 -> 4, run once by workspace/jobs/store/schema.py; never edit it once released.
-- Additive only: a version-3 store opens; its pipelines are 'approved' (they were already in
-- production) and private until their owner (or an engineer) shares them.

-- approval: 'pending' from a promotion that needs review until an engineer or admin approves
-- it (a pending pipeline is also paused, and no run of it can be created); 'approved' else.
ALTER TABLE pipelines ADD COLUMN approval TEXT NOT NULL DEFAULT 'approved'
    CHECK (approval IN ('pending', 'approved'));
ALTER TABLE pipelines ADD COLUMN promoted_by TEXT;
ALTER TABLE pipelines ADD COLUMN promoted_at TEXT;
ALTER TABLE pipelines ADD COLUMN approved_by TEXT;
ALTER TABLE pipelines ADD COLUMN approved_at TEXT;

-- audience: who may read the pipeline's reports besides its owner, engineers and admins, as
-- JSON {"groups": [...], "users": [...]}; NULL means private (not shared).
ALTER TABLE pipelines ADD COLUMN audience TEXT;
ALTER TABLE pipelines ADD COLUMN audience_by TEXT;
ALTER TABLE pipelines ADD COLUMN audience_at TEXT;

-- adopted_at: when the bootstrap values of a folder installed in scheduled/ by its operators
-- (pipeline.yaml's owner: and audience:) were taken, once; NULL: not yet.
ALTER TABLE pipelines ADD COLUMN adopted_at TEXT;

-- What happened to a pipeline, by whom: promoted, approved, owner (every change of owner,
-- with the previous one), audience (shared, unshared). The owner history is the 'owner' rows.
CREATE TABLE pipeline_events (
    event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline   TEXT NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('promoted', 'approved', 'owner', 'audience')),
    actor      TEXT,
    detail     TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX pipeline_events_by_pipeline ON pipeline_events (pipeline, event_id);
