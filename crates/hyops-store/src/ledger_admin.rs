//! Admin events (append-only audit trail, seed 004) and `prune`, the only operation that deletes.
//!
//! Prune deletes old runs' rows (runs, attempts, attempt events, outputs, config versions) but
//! first records an admin event (action `prune`) and a tombstone per run in `pruned_runs`, in the
//! same transaction. Database triggers allow deleting attempt events only for tombstoned runs and
//! never allow updating or deleting admin events, so the rule holds even against hand-written SQL.
//! Artifact blobs are content-addressed and may be shared; prune leaves them (and their `artifacts`
//! rows) in place. The runner removes the pruned runs' evidence folders and work dirs afterwards
//! (`hyops_runner::retention`).

use std::collections::BTreeMap;

use hyops_contract::{AdminActionType, AdminEvent, AttemptStatus};

use crate::backend::{RowExt, with_backend};
use crate::ledger::{parse_status, to_u64};
use crate::{Ledger, PruneReport, PruneRequest, PrunedRun, StoreError};

const INSERT_ADMIN_EVENT: &str = "INSERT INTO admin_events \
     (admin_event_id, action_type, actor, observed_at_utc, reason, targets_json, before_json, after_json, result) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// An admin event as bound parameters.
struct AdminEventRow {
    action_type: String,
    targets_json: String,
    before_json: Option<String>,
    after_json: Option<String>,
}

impl AdminEventRow {
    fn new(event: &AdminEvent) -> Result<Self, StoreError> {
        let json = |what: &str, value: &serde_json::Value| {
            serde_json::to_string(value).map_err(|source| StoreError::Json {
                what: what.to_owned(),
                source,
            })
        };
        let action_type = match serde_json::to_value(event.action_type) {
            Ok(serde_json::Value::String(name)) => name,
            Ok(other) => other.to_string(),
            Err(source) => {
                return Err(StoreError::Json {
                    what: "admin action type".to_owned(),
                    source,
                });
            }
        };
        Ok(Self {
            action_type,
            targets_json: json("admin event targets", &serde_json::json!(event.targets))?,
            before_json: event
                .before
                .as_ref()
                .map(|v| json("admin event `before`", v))
                .transpose()?,
            after_json: event
                .after
                .as_ref()
                .map(|v| json("admin event `after`", v))
                .transpose()?,
        })
    }
}

/// Binds an [`AdminEvent`] to [`INSERT_ADMIN_EVENT`] and executes it on `$executor`.
macro_rules! insert_admin_event {
    ($event:expr, $row:expr, $executor:expr) => {
        sqlx::query(INSERT_ADMIN_EVENT)
            .bind(&$event.admin_event_id)
            .bind(&$row.action_type)
            .bind(&$event.actor)
            .bind(&$event.observed_at_utc)
            .bind(&$event.reason)
            .bind(&$row.targets_json)
            .bind(&$row.before_json)
            .bind(&$row.after_json)
            .bind(&$event.result)
            .execute($executor)
    };
}

/// A run as prune sees it.
struct PruneCandidate {
    run_id: String,
    target: String,
    env: String,
    seq: u64,
    passed: bool,
    in_flight: bool,
    /// A passed attempt of it published outputs (what `latest_passed_outputs` reads).
    has_outputs: bool,
    /// A destroy run whose tool started (or that recorded the prune's `gone_code`).
    destroyed: bool,
    /// Its newest event id (events are ordered across runs by id).
    last_event: i64,
}

impl Ledger {
    /// Appends an admin event. Ids are unique; events are never changed or removed.
    pub async fn append_admin_event(&self, event: &AdminEvent) -> Result<(), StoreError> {
        let row = AdminEventRow::new(event)?;
        let action = || format!("record admin event `{}`", event.admin_event_id);
        with_backend!(&self.backend, |pool, kind, begin| {
            insert_admin_event!(event, row, pool)
                .await
                .map_err(StoreError::query(action()))?;
        });
        Ok(())
    }

    /// Every admin event, oldest first.
    pub async fn admin_events(&self) -> Result<Vec<AdminEvent>, StoreError> {
        let action = || "read admin events".to_owned();
        with_backend!(&self.backend, |pool, kind, begin| {
            let rows = sqlx::query(
                "SELECT admin_event_id, action_type, actor, observed_at_utc, reason, targets_json, \
                 before_json, after_json, result FROM admin_events ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .map_err(StoreError::query(action()))?;
            rows.iter().map(map_admin_event).collect()
        })
    }

    /// Deletes all but the newest `keep` runs of every (target, env), except each one's latest
    /// run with a passed attempt, its latest run with readable outputs (a later passed plan
    /// publishes none), a destroy that ran after that one (so destroyed outputs never become
    /// readable again), and runs still in flight. Records an
    /// admin event (action `prune`, targets = deleted run ids) in the same transaction. With
    /// `dry_run` the same choice is reported and nothing is written.
    pub async fn prune(&self, request: &PruneRequest) -> Result<PruneReport, StoreError> {
        let action = || "prune runs".to_owned();
        with_backend!(&self.backend, |pool, kind, begin| {
            let mut tx = pool
                .begin_with(begin)
                .await
                .map_err(StoreError::query(action()))?;
            let rows = sqlx::query(
                "SELECT r.run_id, r.target, r.env, r.seq, \
                 (SELECT COUNT(*) FROM attempts a WHERE a.run_id = r.run_id AND \
                    (SELECT e.status FROM attempt_events e WHERE e.run_id = a.run_id \
                     AND e.attempt = a.attempt ORDER BY e.id DESC LIMIT 1) = $1) AS passed_count, \
                 (SELECT e.status FROM attempt_events e WHERE e.run_id = r.run_id \
                  ORDER BY e.attempt DESC, e.id DESC LIMIT 1) AS latest_status, \
                 (SELECT COUNT(*) FROM outputs o WHERE o.run_id = r.run_id AND \
                    (SELECT e.status FROM attempt_events e WHERE e.run_id = o.run_id \
                     AND e.attempt = o.attempt ORDER BY e.id DESC LIMIT 1) = $1) AS outputs_count, \
                 (SELECT COUNT(*) FROM attempts a WHERE a.run_id = r.run_id AND r.stage = $2 \
                    AND (a.pid IS NOT NULL OR EXISTS (SELECT 1 FROM attempt_events g \
                         WHERE g.run_id = a.run_id AND g.attempt = a.attempt \
                         AND g.error_code = $3))) AS destroy_count, \
                 (SELECT MAX(e.id) FROM attempt_events e WHERE e.run_id = r.run_id) AS last_event \
                 FROM runs r ORDER BY r.target, r.env, r.seq DESC",
            )
            .bind(AttemptStatus::Passed.as_str())
            .bind(&request.destroy_stage)
            .bind(&request.gone_code)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(action()))?;
            let candidates = rows
                .iter()
                .map(|row| {
                    let in_flight = match row.opt_string("latest_status")? {
                        Some(status) => !parse_status(&status)?.is_terminal(),
                        None => false,
                    };
                    Ok(PruneCandidate {
                        run_id: row.string("run_id")?,
                        target: row.string("target")?,
                        env: row.string("env")?,
                        seq: to_u64(row.i64("seq")?, "runs.seq")?,
                        passed: row.i64("passed_count")? > 0,
                        in_flight,
                        has_outputs: row.i64("outputs_count")? > 0,
                        destroyed: row.i64("destroy_count")? > 0,
                        last_event: row.opt_i64("last_event")?.unwrap_or(0),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let (doomed, protected) = choose_prunable(&candidates, request.keep);
            let report = PruneReport {
                deleted_run_ids: doomed.iter().map(|c| c.run_id.clone()).collect(),
                deleted_runs: doomed
                    .iter()
                    .map(|c| PrunedRun {
                        run_id: c.run_id.clone(),
                        target: c.target.clone(),
                        env: c.env.clone(),
                    })
                    .collect(),
                protected_run_ids: protected.iter().map(|c| c.run_id.clone()).collect(),
                admin_event_id: request.admin_event_id.clone(),
            };
            if request.dry_run {
                tx.rollback().await.map_err(StoreError::query(action()))?;
                return Ok(report);
            }

            let event = AdminEvent {
                admin_event_id: request.admin_event_id.clone(),
                action_type: AdminActionType::Prune,
                actor: request.actor.clone(),
                observed_at_utc: request.observed_at_utc.clone(),
                reason: request.reason.clone(),
                targets: doomed.iter().map(|c| c.run_id.clone()).collect(),
                before: Some(serde_json::json!({ "runs": candidates.len() })),
                after: Some(serde_json::json!({
                    "runs": candidates.len() - doomed.len(),
                    "deleted": doomed.len(),
                    "keep_per_target_env": request.keep,
                })),
                result: Some("ok".to_owned()),
            };
            let event_row = AdminEventRow::new(&event)?;
            insert_admin_event!(event, event_row, &mut *tx)
                .await
                .map_err(StoreError::query(action()))?;
            for run in &doomed {
                sqlx::query(
                    "INSERT INTO pruned_runs (run_id, target, env, seq, admin_event_id) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&run.run_id)
                .bind(&run.target)
                .bind(&run.env)
                .bind(crate::ledger::to_i64(run.seq))
                .bind(&request.admin_event_id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(action()))?;
            }
            // Children first (foreign keys), each limited to this prune's tombstones.
            for statement in [
                "DELETE FROM attempt_events WHERE run_id IN (SELECT run_id FROM pruned_runs WHERE admin_event_id = $1)",
                "DELETE FROM outputs WHERE run_id IN (SELECT run_id FROM pruned_runs WHERE admin_event_id = $1)",
                "DELETE FROM config_versions WHERE run_id IN (SELECT run_id FROM pruned_runs WHERE admin_event_id = $1)",
                "DELETE FROM attempts WHERE run_id IN (SELECT run_id FROM pruned_runs WHERE admin_event_id = $1)",
                "DELETE FROM runs WHERE run_id IN (SELECT run_id FROM pruned_runs WHERE admin_event_id = $1)",
            ] {
                sqlx::query(statement)
                    .bind(&request.admin_event_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(action()))?;
            }
            tx.commit().await.map_err(StoreError::query(action()))?;
            Ok(report)
        })
    }

    /// The admin event that pruned `run_id`, if it was pruned.
    pub async fn pruned_by(&self, run_id: &str) -> Result<Option<String>, StoreError> {
        let action = || format!("look up whether run `{run_id}` was pruned");
        with_backend!(&self.backend, |pool, kind, begin| {
            sqlx::query_scalar("SELECT admin_event_id FROM pruned_runs WHERE run_id = $1")
                .bind(run_id)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::query(action()))
        })
    }
}

/// Splits runs beyond the newest `keep` of each (target, env) into (deleted, protected).
fn choose_prunable(
    candidates: &[PruneCandidate],
    keep: usize,
) -> (Vec<&PruneCandidate>, Vec<&PruneCandidate>) {
    let mut by_key: BTreeMap<(&str, &str), Vec<&PruneCandidate>> = BTreeMap::new();
    for candidate in candidates {
        by_key
            .entry((&candidate.target, &candidate.env))
            .or_default()
            .push(candidate);
    }
    let mut doomed = Vec::new();
    let mut protected = Vec::new();
    for runs in by_key.values_mut() {
        runs.sort_by_key(|r| std::cmp::Reverse(r.seq));
        let latest_passed = runs.iter().find(|r| r.passed).map(|r| r.seq);
        // The run whose outputs consumers read (a later passed plan publishes none), and a
        // destroy that ran after it, which is what makes those outputs unreadable.
        let with_outputs = runs.iter().find(|r| r.has_outputs);
        let destroy_after = with_outputs.and_then(|o| {
            runs.iter()
                .find(|r| r.destroyed && r.last_event > o.last_event)
                .map(|r| r.seq)
        });
        let keeps = |run: &PruneCandidate| {
            Some(run.seq) == latest_passed
                || Some(run.seq) == with_outputs.map(|o| o.seq)
                || Some(run.seq) == destroy_after
                || run.in_flight
        };
        for run in runs.iter().skip(keep) {
            if keeps(run) {
                protected.push(*run);
            } else {
                doomed.push(*run);
            }
        }
    }
    (doomed, protected)
}

fn map_admin_event(row: &impl RowExt) -> Result<AdminEvent, StoreError> {
    let parse_json = |column: &str, text: String| {
        serde_json::from_str::<serde_json::Value>(&text).map_err(|_| StoreError::Corrupt {
            what: format!("admin_events.{column}"),
            value: text,
        })
    };
    let action_text = row.string("action_type")?;
    let action_type =
        serde_json::from_value::<AdminActionType>(serde_json::Value::String(action_text.clone()))
            .map_err(|_| StoreError::Corrupt {
            what: "admin_events.action_type".to_owned(),
            value: action_text,
        })?;
    let targets_text = row.string("targets_json")?;
    let targets =
        serde_json::from_str::<Vec<String>>(&targets_text).map_err(|_| StoreError::Corrupt {
            what: "admin_events.targets_json".to_owned(),
            value: targets_text,
        })?;
    Ok(AdminEvent {
        admin_event_id: row.string("admin_event_id")?,
        action_type,
        actor: row.string("actor")?,
        observed_at_utc: row.string("observed_at_utc")?,
        reason: row.string("reason")?,
        targets,
        before: row
            .opt_string("before_json")?
            .map(|t| parse_json("before_json", t))
            .transpose()?,
        after: row
            .opt_string("after_json")?
            .map(|t| parse_json("after_json", t))
            .transpose()?,
        result: row.opt_string("result")?,
    })
}
