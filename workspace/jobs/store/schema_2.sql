-- Run store schema, version 2 (PRAGMA user_version = 2): which attempts wrote which lake tables.
--
-- Migration step 1 -> 2, run once by workspace/jobs/store/schema.py; never edit it once released.

-- One row per committed lake write of an attempt, from the kernel's writes.jsonl
-- (workspace.lake.writes). pipeline and task_name are copied from the run and task, so that
-- "who writes silver.x" is one indexed read. A write is recorded whatever the attempt's end:
-- a notebook that failed after committing still changed the table.
CREATE TABLE table_writes (
    attempt_id  INTEGER NOT NULL REFERENCES attempts (attempt_id) ON DELETE CASCADE,
    run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    pipeline    TEXT NOT NULL,
    task_name   TEXT NOT NULL,
    table_name  TEXT NOT NULL,
    snapshot_id INTEGER NOT NULL,
    rows        INTEGER NOT NULL,
    written_at  TEXT NOT NULL,
    UNIQUE (attempt_id, table_name, snapshot_id)
) STRICT;
CREATE INDEX table_writes_by_table ON table_writes (table_name, written_at);
