-- Run store schema, version 3 (PRAGMA user_version = 3): who owns and who requested a run.
--
-- Migration step 2 -> 3, run once by workspace/jobs/store/schema.py; never edit it once released.
-- Additive only: a version-2 store opens, its runs keep their rows (owner unknown, NULL).

-- The pipeline's owner (pipeline.yaml `owner:`, a hub user name for user-owned pipelines), as
-- last registered; runs created without an explicit owner copy it.
ALTER TABLE pipelines ADD COLUMN owner TEXT;

-- owner: the pipeline's owner when the run was created.
-- requested_by: who asked for the run: the hub user (or CLI user) of a manual run or of the
-- last repair, 'scheduler' for schedule ticks, backfills and `after:` runs (whose upstream
-- run stays in triggered_by).
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN requested_by TEXT;
UPDATE runs SET requested_by = 'scheduler' WHERE trigger IN ('schedule', 'after', 'backfill');
