-- Run store schema, version 5 (PRAGMA user_version = 5): re-enabling a pipeline starts its
-- schedule afresh.
--
-- Migration step 4 -> 5, run once by workspace/jobs/store/schema.py; never edit it once released.
-- Additive only: a version-4 store opens; its pipelines count as enabled.

-- disabled_at: since when the scheduler has seen the pipeline's pipeline.yaml say
-- `enabled: false` (NULL while enabled). When it says `enabled: true` again, enabled_at
-- becomes that moment, so no tick from before the re-enabling is ever run.
ALTER TABLE pipelines ADD COLUMN disabled_at TEXT;
