//! Artifacts registered in the ledger and the published outputs of attempts.
//!
//! Outputs are written while the attempt is still running (probes read them), but every read
//! here returns them only from an attempt whose latest event is `passed` (DESIGN.md invariant 5).
//! Outputs rows are write-once (primary key on run and attempt).

use hyops_contract::{ArtifactRef, AttemptStatus};

use crate::backend::{RowExt, with_backend};
use crate::ledger::{to_i64, to_u32, to_u64};
use crate::{Ledger, PassedOutputs, StoreError};

pub(crate) const INSERT_OUTPUTS: &str = "INSERT INTO outputs (run_id, attempt, artifact_digest, outputs_json, created_at_ms) \
     VALUES ($1, $2, $3, $4, $5)";

pub(crate) const INSERT_ARTIFACT: &str = "INSERT INTO artifacts \
     (digest, locator, digest_alg, size_bytes, schema_version, created_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest) DO NOTHING";

/// Outputs joined with their run and artifact, restricted to attempts whose latest event is
/// `passed`. `$PASSED` is bound as a parameter, not inlined, so both backends see the same text.
macro_rules! passed_outputs_select {
    () => {
        "SELECT o.run_id, o.attempt, r.fingerprint, o.outputs_json, \
         a.digest, a.locator, a.digest_alg, a.size_bytes, a.schema_version \
         FROM outputs o JOIN runs r ON r.run_id = o.run_id \
         JOIN artifacts a ON a.digest = o.artifact_digest \
         WHERE (SELECT e.status FROM attempt_events e WHERE e.run_id = o.run_id \
                AND e.attempt = o.attempt ORDER BY e.id DESC LIMIT 1) = $1"
    };
}

impl Ledger {
    /// Registers an artifact (idempotent: a digest is registered once).
    pub async fn record_artifact(
        &self,
        artifact: &ArtifactRef,
        created_at_ms: i64,
    ) -> Result<(), StoreError> {
        let action = || format!("register artifact {}", artifact.locator);
        with_backend!(&self.backend, |pool, kind, begin| {
            sqlx::query(INSERT_ARTIFACT)
                .bind(&artifact.digest)
                .bind(&artifact.locator)
                .bind(&artifact.digest_alg)
                .bind(to_i64(artifact.size_bytes))
                .bind(&artifact.schema_version)
                .bind(created_at_ms)
                .execute(pool)
                .await
                .map_err(StoreError::query(action()))?;
        });
        Ok(())
    }

    /// Records an attempt's published (redacted) outputs and the artifact holding them, once.
    pub async fn record_outputs(
        &self,
        run_id: &str,
        attempt: u32,
        artifact: &ArtifactRef,
        outputs_json: &str,
        created_at_ms: i64,
    ) -> Result<(), StoreError> {
        let action = || format!("record outputs of attempt {attempt} of run `{run_id}`");
        with_backend!(&self.backend, |pool, kind, begin| {
            let mut tx = pool
                .begin_with(begin)
                .await
                .map_err(StoreError::query(action()))?;
            sqlx::query(INSERT_ARTIFACT)
                .bind(&artifact.digest)
                .bind(&artifact.locator)
                .bind(&artifact.digest_alg)
                .bind(to_i64(artifact.size_bytes))
                .bind(&artifact.schema_version)
                .bind(created_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(action()))?;
            sqlx::query(INSERT_OUTPUTS)
                .bind(run_id)
                .bind(i64::from(attempt))
                .bind(&artifact.digest)
                .bind(outputs_json)
                .bind(created_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(action()))?;
            tx.commit().await.map_err(StoreError::query(action()))?;
        });
        Ok(())
    }

    /// The outputs of the newest passed attempt of (target, env), if any attempt ever passed.
    pub async fn latest_passed_outputs(
        &self,
        target: &str,
        env: &str,
    ) -> Result<Option<PassedOutputs>, StoreError> {
        let action = || format!("read the outputs of {target}@{env}");
        with_backend!(&self.backend, |pool, kind, begin| {
            let row = sqlx::query(concat!(
                passed_outputs_select!(),
                " AND r.target = $2 AND r.env = $3 ORDER BY r.seq DESC, o.attempt DESC LIMIT 1"
            ))
            .bind(AttemptStatus::Passed.as_str())
            .bind(target)
            .bind(env)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::query(action()))?;
            row.as_ref().map(map_passed_outputs).transpose()
        })
    }

    /// The newest run of (target, env) at `destroy_stage` whose tool started after `passed`'s
    /// attempt had passed (its last event comes later), if any: the outputs of that PASS
    /// describe resources a destroy has (or may have) removed. A destroy whose tool never
    /// started (refused by the lock, or skipped) removes nothing and does not count, unless one
    /// of its events carries `gone_code`: what the target made went with what it depended on.
    pub async fn destroyed_after(
        &self,
        target: &str,
        env: &str,
        passed: &PassedOutputs,
        destroy_stage: &str,
        gone_code: &str,
    ) -> Result<Option<String>, StoreError> {
        let action = || {
            format!(
                "look for a destroy of {target}@{env} after run {}",
                passed.run_id
            )
        };
        with_backend!(&self.backend, |pool, kind, begin| {
            sqlx::query_scalar(
                "SELECT d.run_id FROM runs d JOIN attempts da ON da.run_id = d.run_id \
                 WHERE d.target = $1 AND d.env = $2 AND d.stage = $3 \
                 AND (da.pid IS NOT NULL OR EXISTS (SELECT 1 FROM attempt_events g \
                      WHERE g.run_id = da.run_id AND g.attempt = da.attempt \
                      AND g.error_code = $6)) \
                 AND (SELECT MAX(e.id) FROM attempt_events e \
                      WHERE e.run_id = da.run_id AND e.attempt = da.attempt) > \
                     (SELECT MAX(e.id) FROM attempt_events e \
                      WHERE e.run_id = $4 AND e.attempt = $5) \
                 ORDER BY d.seq DESC LIMIT 1",
            )
            .bind(target)
            .bind(env)
            .bind(destroy_stage)
            .bind(&passed.run_id)
            .bind(i64::from(passed.attempt))
            .bind(gone_code)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::query(action()))
        })
    }

    /// The outputs of a given run, only if one of its attempts passed.
    pub async fn passed_outputs_of_run(
        &self,
        run_id: &str,
    ) -> Result<Option<PassedOutputs>, StoreError> {
        let action = || format!("read the outputs of run `{run_id}`");
        with_backend!(&self.backend, |pool, kind, begin| {
            let row = sqlx::query(concat!(
                passed_outputs_select!(),
                " AND o.run_id = $2 ORDER BY o.attempt DESC LIMIT 1"
            ))
            .bind(AttemptStatus::Passed.as_str())
            .bind(run_id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::query(action()))?;
            row.as_ref().map(map_passed_outputs).transpose()
        })
    }

    /// The registered artifact with this digest (`sha256:<hex>`), if any.
    pub async fn artifact(&self, digest: &str) -> Result<Option<ArtifactRef>, StoreError> {
        let action = || format!("read artifact {digest}");
        with_backend!(&self.backend, |pool, kind, begin| {
            let row = sqlx::query(
                "SELECT digest, locator, digest_alg, size_bytes, schema_version \
                 FROM artifacts WHERE digest = $1",
            )
            .bind(digest)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::query(action()))?;
            row.as_ref().map(map_artifact).transpose()
        })
    }

    /// The fingerprint of the newest run of (target, env) that has a passed attempt (for
    /// `--affected`: unchanged fingerprint → nothing to do).
    pub async fn last_passed_fingerprint(
        &self,
        target: &str,
        env: &str,
    ) -> Result<Option<String>, StoreError> {
        let action = || format!("read the last passed fingerprint of {target}@{env}");
        with_backend!(&self.backend, |pool, kind, begin| {
            sqlx::query_scalar(
                "SELECT r.fingerprint FROM runs r WHERE r.target = $2 AND r.env = $3 AND EXISTS ( \
                   SELECT 1 FROM attempts a WHERE a.run_id = r.run_id AND \
                   (SELECT e.status FROM attempt_events e WHERE e.run_id = a.run_id \
                    AND e.attempt = a.attempt ORDER BY e.id DESC LIMIT 1) = $1) \
                 ORDER BY r.seq DESC LIMIT 1",
            )
            .bind(AttemptStatus::Passed.as_str())
            .bind(target)
            .bind(env)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::query(action()))
        })
    }
}

fn map_passed_outputs(row: &impl RowExt) -> Result<PassedOutputs, StoreError> {
    Ok(PassedOutputs {
        run_id: row.string("run_id")?,
        attempt: to_u32(row.i64("attempt")?, "outputs.attempt")?,
        fingerprint: row.string("fingerprint")?,
        artifact: map_artifact(row)?,
        outputs_json: row.string("outputs_json")?,
    })
}

fn map_artifact(row: &impl RowExt) -> Result<ArtifactRef, StoreError> {
    Ok(ArtifactRef {
        locator: row.string("locator")?,
        digest: row.string("digest")?,
        digest_alg: row.string("digest_alg")?,
        size_bytes: to_u64(row.i64("size_bytes")?, "artifacts.size_bytes")?,
        schema_version: row.opt_string("schema_version")?,
    })
}
