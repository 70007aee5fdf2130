-- Run store schema, version 1 (PRAGMA user_version = 1).
--
-- All times are UTC ISO-8601 text with microseconds and a "+00:00" suffix, so that text order
-- is time order. JSON columns hold small documents (parameters, item values, outputs).
-- Later versions are added as new migration steps in workspace/jobs/store/schema.py; never edit a
-- released step.

-- One row per pipeline the scheduler knows. enabled_at: no scheduled run is ever created for
-- a time before this (set once, on first registration).
CREATE TABLE pipelines (
    name        TEXT PRIMARY KEY,
    paused      INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    enabled_at  TEXT NOT NULL,
    paused_at   TEXT,
    spec_hash   TEXT,
    updated_at  TEXT NOT NULL
) STRICT;

-- One row per run. UNIQUE (pipeline, scheduled_for) is the exactly-once guarantee for
-- scheduled runs (manual runs have scheduled_for NULL, and NULLs never collide);
-- UNIQUE (pipeline, triggered_by) does the same for runs started after an upstream run.
-- A repair keeps the run id and increments repair_generation.
CREATE TABLE runs (
    run_id            TEXT PRIMARY KEY,
    pipeline          TEXT NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
    scheduled_for     TEXT,
    trigger           TEXT NOT NULL
                      CHECK (trigger IN ('schedule', 'manual', 'after', 'backfill')),
    triggered_by      TEXT REFERENCES runs (run_id) ON DELETE SET NULL,
    state             TEXT NOT NULL DEFAULT 'queued' CHECK (state IN
                      ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
    repair_generation INTEGER NOT NULL DEFAULT 0,
    parameters        TEXT NOT NULL DEFAULT '{}',
    report_path       TEXT,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    UNIQUE (pipeline, scheduled_for),
    UNIQUE (pipeline, triggered_by)
) STRICT;
CREATE INDEX runs_by_date ON runs (pipeline, coalesce(scheduled_for, created_at));
CREATE INDEX runs_by_state ON runs (state, pipeline);

-- One row per task of a run; fan-out items are tasks of their own ("report[2]").
CREATE TABLE tasks (
    run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    task_key    TEXT NOT NULL,
    name        TEXT NOT NULL,
    item_index  INTEGER,
    item_value  TEXT,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                ('pending', 'queued', 'running', 'succeeded', 'failed', 'skipped',
                 'upstream_failed', 'timed_out', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    outputs     TEXT NOT NULL DEFAULT '{}',
    reason      TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, task_key)
) STRICT;
CREATE INDEX tasks_by_state ON tasks (state);

-- One row per execution of a task. Never deleted by a repair: repair_generation tells which
-- pass of the run an attempt belongs to. 'lost' = orphaned (its heartbeat went stale).
CREATE TABLE attempts (
    attempt_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id            TEXT NOT NULL,
    task_key          TEXT NOT NULL,
    number            INTEGER NOT NULL,
    repair_generation INTEGER NOT NULL,
    state             TEXT NOT NULL DEFAULT 'running' CHECK (state IN
                      ('running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost')),
    executor          TEXT,
    worker            TEXT,
    pid               INTEGER,
    pool              TEXT,
    started_at        TEXT NOT NULL,
    heartbeat_at      TEXT NOT NULL,
    finished_at       TEXT,
    error             TEXT,
    failing_cell      INTEGER,
    notebook_path     TEXT,
    report_path       TEXT,
    log_path          TEXT,
    UNIQUE (run_id, task_key, number),
    FOREIGN KEY (run_id, task_key) REFERENCES tasks (run_id, task_key) ON DELETE CASCADE
) STRICT;
CREATE INDEX attempts_running ON attempts (state, heartbeat_at);

-- A held slot of a named pool. Capacity comes from configuration and is checked by the
-- claim, under BEGIN IMMEDIATE; a slot disappears with its attempt's end.
CREATE TABLE pool_slots (
    pool        TEXT NOT NULL,
    attempt_id  INTEGER NOT NULL UNIQUE REFERENCES attempts (attempt_id) ON DELETE CASCADE,
    acquired_at TEXT NOT NULL,
    PRIMARY KEY (pool, attempt_id)
) STRICT;

-- Small, human-readable history of a run (state changes, repairs, orphan recovery).
CREATE TABLE run_events (
    event_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    task_key  TEXT,
    at        TEXT NOT NULL,
    level     TEXT NOT NULL DEFAULT 'info' CHECK (level IN ('info', 'warning', 'error')),
    message   TEXT NOT NULL
) STRICT;
CREATE INDEX run_events_by_run ON run_events (run_id, event_id);
