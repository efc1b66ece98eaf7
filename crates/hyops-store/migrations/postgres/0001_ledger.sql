-- hyops ledger, PostgreSQL flavour. Keep in step with ../sqlite/0001_ledger.sql: same tables, columns
-- and meaning; only types and trigger syntax differ. Times are epoch milliseconds; JSON is TEXT.

CREATE TABLE run_sequences (
    target   TEXT   NOT NULL,
    env      TEXT   NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (target, env)
);

CREATE TABLE runs (
    run_id        TEXT   NOT NULL PRIMARY KEY,
    target        TEXT   NOT NULL,
    env           TEXT   NOT NULL,
    seq           BIGINT NOT NULL,
    fingerprint   TEXT   NOT NULL,
    stage         TEXT   NOT NULL,
    request_json  TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (target, env, seq)
);
CREATE INDEX runs_created ON runs (created_at_ms);

CREATE TABLE attempts (
    run_id        TEXT   NOT NULL REFERENCES runs (run_id),
    attempt       BIGINT NOT NULL CHECK (attempt >= 1),
    created_at_ms BIGINT NOT NULL,
    host          TEXT,
    runner_pid    BIGINT,
    pid           BIGINT,
    evidence_path TEXT,
    PRIMARY KEY (run_id, attempt)
);

CREATE TABLE attempt_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      TEXT    NOT NULL,
    attempt     BIGINT  NOT NULL,
    status      TEXT    NOT NULL,
    at_ms       BIGINT  NOT NULL,
    exit_code   BIGINT,
    error_code  TEXT,
    message     TEXT,
    retryable   BOOLEAN,
    detail_json TEXT,
    FOREIGN KEY (run_id, attempt) REFERENCES attempts (run_id, attempt)
);
CREATE INDEX attempt_events_by_attempt ON attempt_events (run_id, attempt, id);
CREATE INDEX attempt_events_by_status ON attempt_events (status);

CREATE TABLE artifacts (
    digest         TEXT   NOT NULL PRIMARY KEY,
    locator        TEXT   NOT NULL,
    digest_alg     TEXT   NOT NULL,
    size_bytes     BIGINT NOT NULL,
    schema_version TEXT,
    created_at_ms  BIGINT NOT NULL
);

CREATE TABLE outputs (
    run_id          TEXT   NOT NULL,
    attempt         BIGINT NOT NULL,
    artifact_digest TEXT   NOT NULL REFERENCES artifacts (digest),
    outputs_json    TEXT   NOT NULL,
    created_at_ms   BIGINT NOT NULL,
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

CREATE TABLE locks (
    target          TEXT   NOT NULL,
    env             TEXT   NOT NULL,
    run_id          TEXT   NOT NULL,
    pid             BIGINT NOT NULL,
    host            TEXT   NOT NULL,
    acquired_at_ms  BIGINT NOT NULL,
    heartbeat_at_ms BIGINT NOT NULL,
    PRIMARY KEY (target, env)
);

CREATE TABLE admin_events (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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

CREATE TABLE pruned_runs (
    run_id         TEXT   NOT NULL PRIMARY KEY,
    target         TEXT   NOT NULL,
    env            TEXT   NOT NULL,
    seq            BIGINT NOT NULL,
    admin_event_id TEXT   NOT NULL
);

CREATE FUNCTION hyops_reject_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE FUNCTION hyops_attempt_events_delete_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pruned_runs p WHERE p.run_id = OLD.run_id) THEN
        RAISE EXCEPTION 'attempt_events is append-only (only prune deletes, and only tombstoned runs)'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER attempt_events_no_update BEFORE UPDATE ON attempt_events
    FOR EACH ROW EXECUTE FUNCTION hyops_reject_append_only();
CREATE TRIGGER attempt_events_delete_only_pruned BEFORE DELETE ON attempt_events
    FOR EACH ROW EXECUTE FUNCTION hyops_attempt_events_delete_guard();
CREATE TRIGGER admin_events_no_update BEFORE UPDATE ON admin_events
    FOR EACH ROW EXECUTE FUNCTION hyops_reject_append_only();
CREATE TRIGGER admin_events_no_delete BEFORE DELETE ON admin_events
    FOR EACH ROW EXECUTE FUNCTION hyops_reject_append_only();
