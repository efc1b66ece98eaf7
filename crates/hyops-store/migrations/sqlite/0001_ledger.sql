-- hyops ledger, SQLite flavour. Keep in step with ../postgres/0001_ledger.sql: same tables, columns
-- and meaning; only types and trigger syntax differ. Times are epoch milliseconds; JSON is TEXT.

-- Per-(target, env) run counter. Never decremented and never pruned, so a pruned run's seq (and run_id)
-- is never handed out again.
CREATE TABLE run_sequences (
    target   TEXT    NOT NULL,
    env      TEXT    NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (target, env)
);

CREATE TABLE runs (
    run_id        TEXT    NOT NULL PRIMARY KEY,
    target        TEXT    NOT NULL,
    env           TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    fingerprint   TEXT    NOT NULL,
    stage         TEXT    NOT NULL,
    request_json  TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (target, env, seq)
);
CREATE INDEX runs_created ON runs (created_at_ms);

CREATE TABLE attempts (
    run_id        TEXT    NOT NULL REFERENCES runs (run_id),
    attempt       INTEGER NOT NULL CHECK (attempt >= 1),
    created_at_ms INTEGER NOT NULL,
    host          TEXT,
    runner_pid    INTEGER,
    pid           INTEGER,
    evidence_path TEXT,
    PRIMARY KEY (run_id, attempt)
);

-- Append-only: the current status of an attempt is its event with the highest id.
CREATE TABLE attempt_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    at_ms       INTEGER NOT NULL,
    exit_code   INTEGER,
    error_code  TEXT,
    message     TEXT,
    retryable   INTEGER,
    detail_json TEXT,
    FOREIGN KEY (run_id, attempt) REFERENCES attempts (run_id, attempt)
);
CREATE INDEX attempt_events_by_attempt ON attempt_events (run_id, attempt, id);
CREATE INDEX attempt_events_by_status ON attempt_events (status);

CREATE TABLE artifacts (
    digest         TEXT    NOT NULL PRIMARY KEY,
    locator        TEXT    NOT NULL,
    digest_alg     TEXT    NOT NULL,
    size_bytes     INTEGER NOT NULL,
    schema_version TEXT,
    created_at_ms  INTEGER NOT NULL
);

-- Published (redacted) outputs of an attempt. Readable only while the attempt's latest event is
-- `passed` (DESIGN.md invariant 5); the ledger's read queries enforce that, not the writer.
CREATE TABLE outputs (
    run_id                  TEXT    NOT NULL,
    attempt                 INTEGER NOT NULL,
    artifact_digest         TEXT    NOT NULL REFERENCES artifacts (digest),
    outputs_json            TEXT    NOT NULL,
    created_at_ms           INTEGER NOT NULL,
    PRIMARY KEY (run_id, attempt),
    FOREIGN KEY (run_id, attempt) REFERENCES attempts (run_id, attempt)
);

CREATE TABLE config_versions (
    run_id         TEXT NOT NULL REFERENCES runs (run_id),
    config_name    TEXT NOT NULL,
    config_version TEXT NOT NULL,
    digest         TEXT,
    locator        TEXT,
    PRIMARY KEY (run_id, config_name)
);

-- One row per held (target, env). The holder is the hyops process that owns the run.
CREATE TABLE locks (
    target          TEXT    NOT NULL,
    env             TEXT    NOT NULL,
    run_id          TEXT    NOT NULL,
    pid             INTEGER NOT NULL,
    host            TEXT    NOT NULL,
    acquired_at_ms  INTEGER NOT NULL,
    heartbeat_at_ms INTEGER NOT NULL,
    PRIMARY KEY (target, env)
);

-- Append-only audit trail of operator actions (seed 004 AdminEvent).
CREATE TABLE admin_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    admin_event_id   TEXT NOT NULL UNIQUE,
    action_type      TEXT NOT NULL,
    actor            TEXT NOT NULL,
    observed_at_utc  TEXT NOT NULL,
    reason           TEXT NOT NULL,
    targets_json     TEXT NOT NULL,
    before_json      TEXT,
    after_json       TEXT,
    result           TEXT
);

-- Tombstones written by `prune` before it deletes a run's rows; they stay, so a pruned run_id is
-- known as pruned (by which admin event) rather than unknown.
CREATE TABLE pruned_runs (
    run_id         TEXT    NOT NULL PRIMARY KEY,
    target         TEXT    NOT NULL,
    env            TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    admin_event_id TEXT    NOT NULL
);

-- Invariant 4 enforced by the database itself: events and admin events are never rewritten, admin
-- events never deleted, and attempt events deleted only for runs that prune has tombstoned.
CREATE TRIGGER attempt_events_no_update BEFORE UPDATE ON attempt_events
BEGIN
    SELECT RAISE(ABORT, 'attempt_events is append-only');
END;
CREATE TRIGGER attempt_events_delete_only_pruned BEFORE DELETE ON attempt_events
WHEN NOT EXISTS (SELECT 1 FROM pruned_runs p WHERE p.run_id = OLD.run_id)
BEGIN
    SELECT RAISE(ABORT, 'attempt_events is append-only (only prune deletes, and only tombstoned runs)');
END;
CREATE TRIGGER admin_events_no_update BEFORE UPDATE ON admin_events
BEGIN
    SELECT RAISE(ABORT, 'admin_events is append-only');
END;
CREATE TRIGGER admin_events_no_delete BEFORE DELETE ON admin_events
BEGIN
    SELECT RAISE(ABORT, 'admin_events is append-only');
END;
