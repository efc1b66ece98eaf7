//! Promotion between environments: which run in the source environment vouches for a target's
//! exact configuration (module, profile and pack digests with a PASS), and the append-only record
//! of each promotion decision.

use hyops_contract::AttemptStatus;
use serde::{Deserialize, Serialize};

use crate::backend::{RowExt, with_backend};
use crate::{Ledger, StoreError};

/// One promotion decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    /// Module id or stack name.
    pub target: String,
    /// Environment whose PASSes vouch.
    pub from_env: String,
    /// Environment promoted to.
    pub to_env: String,
    /// `refused`, `passed` or `failed`.
    pub result: String,
    /// Member -> vouching run (or why none), as JSON.
    pub evidence: serde_json::Value,
    /// Runs started in `to_env`, as JSON.
    pub runs: serde_json::Value,
    /// Who promoted (the OS user).
    pub actor: String,
    /// When, epoch ms.
    pub at_ms: i64,
}

impl Ledger {
    /// The newest run of `target` in `env` that PASSed with exactly these config digests
    /// (`(config_name, digest)` pairs such as `("module:web/site", "sha256:…")`).
    pub async fn passed_run_with_configs(
        &self,
        target: &str,
        env: &str,
        configs: &[(String, String)],
    ) -> Result<Option<String>, StoreError> {
        let action = || format!("find a PASS of {target}@{env} with the same configuration");
        with_backend!(&self.backend, |pool, kind, begin| {
            let runs: Vec<String> = sqlx::query_scalar(
                "SELECT r.run_id FROM runs r WHERE r.target = $2 AND r.env = $3 AND EXISTS ( \
                   SELECT 1 FROM attempts a WHERE a.run_id = r.run_id AND \
                   (SELECT e.status FROM attempt_events e WHERE e.run_id = a.run_id \
                    AND e.attempt = a.attempt ORDER BY e.id DESC LIMIT 1) = $1) \
                 ORDER BY r.seq DESC",
            )
            .bind(AttemptStatus::Passed.as_str())
            .bind(target)
            .bind(env)
            .fetch_all(pool)
            .await
            .map_err(StoreError::query(action()))?;
            for run_id in runs {
                let mut all = true;
                for (name, digest) in configs {
                    let found: Option<String> = sqlx::query_scalar(
                        "SELECT run_id FROM config_versions \
                         WHERE run_id = $1 AND config_name = $2 AND digest = $3",
                    )
                    .bind(&run_id)
                    .bind(name)
                    .bind(digest)
                    .fetch_optional(pool)
                    .await
                    .map_err(StoreError::query(action()))?;
                    if found.is_none() {
                        all = false;
                        break;
                    }
                }
                if all {
                    return Ok(Some(run_id));
                }
            }
            Ok(None)
        })
    }

    /// Appends a promotion decision.
    pub async fn record_promotion(&self, p: &Promotion) -> Result<(), StoreError> {
        let action = || format!("record the promotion of {}", p.target);
        with_backend!(&self.backend, |pool, kind, begin| {
            sqlx::query(
                "INSERT INTO promotions (target, from_env, to_env, result, evidence_json, \
                 runs_json, actor, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&p.target)
            .bind(&p.from_env)
            .bind(&p.to_env)
            .bind(&p.result)
            .bind(p.evidence.to_string())
            .bind(p.runs.to_string())
            .bind(&p.actor)
            .bind(p.at_ms)
            .execute(pool)
            .await
            .map_err(StoreError::query(action()))?;
        });
        Ok(())
    }

    /// Every promotion decision of `target`, oldest first.
    pub async fn promotions(&self, target: &str) -> Result<Vec<Promotion>, StoreError> {
        let action = || format!("read the promotions of {target}");
        with_backend!(&self.backend, |pool, kind, begin| {
            let rows = sqlx::query(
                "SELECT target, from_env, to_env, result, evidence_json, runs_json, actor, at_ms \
                 FROM promotions WHERE target = $1 ORDER BY id",
            )
            .bind(target)
            .fetch_all(pool)
            .await
            .map_err(StoreError::query(action()))?;
            rows.iter()
                .map(|row| {
                    let json = |col: &str| -> Result<serde_json::Value, StoreError> {
                        serde_json::from_str(&row.string(col)?).map_err(|source| StoreError::Json {
                            what: format!("promotions.{col}"),
                            source,
                        })
                    };
                    Ok(Promotion {
                        target: row.string("target")?,
                        from_env: row.string("from_env")?,
                        to_env: row.string("to_env")?,
                        result: row.string("result")?,
                        evidence: json("evidence_json")?,
                        runs: json("runs_json")?,
                        actor: row.string("actor")?,
                        at_ms: row.i64("at_ms")?,
                    })
                })
                .collect()
        })
    }
}
