-- Promotions between environments (`hyops promote TARGET --from E1 --to E2`). Append-only: one row
-- per decision, refused or carried out. Keep in step with ../sqlite/0002_promotions.sql.
CREATE TABLE promotions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target        TEXT   NOT NULL,
    from_env      TEXT   NOT NULL,
    to_env        TEXT   NOT NULL,
    -- `refused`, `passed` or `failed`.
    result        TEXT   NOT NULL,
    -- member -> the run in from_env whose PASS vouches for it (or why none does), as JSON.
    evidence_json TEXT   NOT NULL,
    -- The runs started in to_env, as JSON (empty when refused).
    runs_json     TEXT   NOT NULL,
    actor         TEXT   NOT NULL,
    at_ms         BIGINT NOT NULL
);
CREATE INDEX promotions_by_target ON promotions (target, id);
CREATE INDEX config_versions_by_digest ON config_versions (config_name, digest);

CREATE TRIGGER promotions_no_update BEFORE UPDATE ON promotions
    FOR EACH ROW EXECUTE FUNCTION hyops_reject_append_only();
CREATE TRIGGER promotions_no_delete BEFORE DELETE ON promotions
    FOR EACH ROW EXECUTE FUNCTION hyops_reject_append_only();
