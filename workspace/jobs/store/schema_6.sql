-- Run store schema, version 6 (PRAGMA user_version = 6): what each attempt used.
--
-- Migration step 5 -> 6, run once by workspace/jobs/store/schema.py; never edit it once released.
-- Additive only: a version-5 store opens; its attempts have no resources ('{}').

-- resources: a JSON object (workspace.jobs.models.AttemptResources): wall_seconds,
-- cpu_seconds and peak_rss_bytes of the kernel's process tree, rows_written, bytes_written,
-- queue_wait_seconds and lateness_seconds (set when the attempt is claimed).
ALTER TABLE attempts ADD COLUMN resources TEXT NOT NULL DEFAULT '{}';
