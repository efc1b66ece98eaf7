//! The run lifecycle: recover orphans, fetch secrets, record the run, take the (target, env) lock,
//! run attempts with retries and backoff, release the lock.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyops_contract::{AttemptStatus, RunRecord, RunRequest};
use hyops_drivers::Stage;
use hyops_evidence::{Durability, Secret};
use hyops_process::CancellationToken;
use hyops_store::{
    ArtifactStore, AttemptEvent, Holder, Ledger, LockError, NewRun, RunHolder, local_holder_is_dead,
};

use crate::attempt::{AttemptPlan, AttemptSummary};
use crate::attempt_record::canonical_bytes;
use crate::error::{AttemptFailure, RunError};
use crate::layout::StateLayout;
use crate::progress::{NoProgress, Progress, RunEvent};
use crate::secrets::RunSecrets;
use crate::stack_slots::MemberSlot;
use crate::work_dirs::DeferredRemovals;

/// Reads one variable of hyops' own environment (injected so tests control it).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// How to run.
#[derive(Clone)]
pub struct RunOptions {
    /// `plan`, `apply` (what `hyops run` does) or `destroy`.
    pub stage: Stage,
    /// Keep the work dir of passed attempts.
    pub keep_workdir: bool,
    /// Wait up to this long for a held lock instead of failing at once.
    pub wait_lock: Option<Duration>,
    /// Cancels the run (Ctrl-C): the tool's group is stopped and the attempt recorded `cancelled`.
    pub cancel: CancellationToken,
    /// The catalog root (packs and `file:` secrets resolve against it).
    pub catalog_root: PathBuf,
    /// hyops' environment, for the profile's allowlist and secret references.
    pub lookup_env_os: EnvLookup,
    /// A saved plan (bytes of a `terraform-plan/v1` artifact) to apply instead of planning
    /// afresh: `hyops apply --plan RUN`. Only meaningful with [`Stage::Apply`].
    pub saved_plan: Option<Arc<Vec<u8>>>,
    /// Secret outputs of upstream stack members (secret name -> value), in memory only.
    pub upstream_secrets: BTreeMap<String, Secret>,
    /// Queue passed attempts' work dirs and every attempt's blanked io dir here instead of
    /// removing them as each attempt ends (a stack run removes them after its last member, see
    /// `work_dirs.rs`).
    pub deferred_removals: Option<DeferredRemovals>,
    /// The caller already ran crash recovery ([`Runner::recover`]) for this command, so
    /// [`Runner::run`] does not: a stack recovers once before its first member instead of once
    /// per member (each recovery scans the ledger's attempts, so per-member recovery made a
    /// stack's cost grow with the square of its size).
    pub recovered: bool,
    /// Commit to the ledger without fsyncing while holding its single SQLite connection (a
    /// stack's members): the write-ahead run record is synced with `Ledger::sync` before the
    /// tool is spawned, outside the connection; the verdict is carried to disk by a dependent's
    /// synced write-ahead record, or by the `Ledger::sync` the stack makes before it reports
    /// (see hyops-store's `ledger_sync.rs`).
    pub defer_ledger_sync: bool,
    /// A stack member's concurrency slot: acquired before its work dir and tool, given back once
    /// its tool and probes have passed (see `stack_slots.rs`).
    pub slot: Option<MemberSlot>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("stage", &self.stage)
            .field("keep_workdir", &self.keep_workdir)
            .field("wait_lock", &self.wait_lock)
            .field("catalog_root", &self.catalog_root)
            .finish_non_exhaustive()
    }
}

impl RunOptions {
    /// Options reading the real process environment.
    pub fn new(stage: Stage, catalog_root: impl Into<PathBuf>) -> Self {
        Self {
            stage,
            keep_workdir: false,
            wait_lock: None,
            cancel: CancellationToken::new(),
            catalog_root: catalog_root.into(),
            lookup_env_os: Arc::new(|name| std::env::var_os(name)),
            saved_plan: None,
            upstream_secrets: BTreeMap::new(),
            deferred_removals: None,
            recovered: false,
            defer_ledger_sync: false,
            slot: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run as recorded.
    pub run: RunRecord,
    /// Every attempt in order.
    pub attempts: Vec<AttemptSummary>,
}

impl RunReport {
    /// Status of the last attempt.
    pub fn status(&self) -> AttemptStatus {
        self.attempts
            .last()
            .map(|a| a.status)
            .unwrap_or(self.run.status)
    }

    /// Whether the run passed.
    pub fn passed(&self) -> bool {
        self.status() == AttemptStatus::Passed
    }
}

/// Runs RunRequests against one state dir.
pub struct Runner {
    pub(crate) layout: StateLayout,
    pub(crate) ledger: Ledger,
    pub(crate) artifacts: ArtifactStore,
    pub(crate) host: String,
    pub(crate) progress: Arc<dyn Progress>,
    pub(crate) durability: Durability,
    /// Whether a tool of this runner, or of a stack member's runner made from it, has started
    /// folding the ledger's WAL: once per command (see `Runner::run_step`).
    pub(crate) wal_folded: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("state_dir", &self.layout.root())
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// Opens (creating if needed) the state dir, its SQLite ledger and local artifact store.
    pub async fn open(state_dir: &Path) -> Result<Self, RunError> {
        std::fs::create_dir_all(state_dir).map_err(|source| {
            let file = state_dir
                .ancestors()
                .find(|p| std::fs::metadata(p).is_ok_and(|m| !m.is_dir()));
            match file {
                Some(file) => RunError::StateDirIsFile {
                    path: state_dir.display().to_string(),
                    file: file.display().to_string(),
                },
                None => RunError::StateDir {
                    path: state_dir.display().to_string(),
                    source,
                },
            }
        })?;
        let layout = StateLayout::new(state_dir);
        let ledger = Ledger::open_sqlite(layout.ledger())
            .await
            .map_err(RunError::store("open the ledger"))?;
        let durability = Durability::default();
        let artifacts = artifact_store(&layout, durability)
            .map_err(RunError::store("open the artifact store"))?;
        Ok(Self::from_parts(layout, ledger, artifacts, durability))
    }

    /// Opens an existing state dir for reading only (its ledger `mode=ro`, nothing created), for
    /// a state dir this process cannot write. Reading runs, outputs, logs and evidence works;
    /// anything that writes fails, and [`Runner::recover`] must not be called (a run whose
    /// hyops died stays `running` until a command with write access recovers it).
    pub async fn open_read_only(state_dir: &Path) -> Result<Self, RunError> {
        let layout = StateLayout::new(state_dir);
        let ledger = Ledger::open_sqlite_read_only(layout.ledger())
            .await
            .map_err(RunError::store("open the ledger"))?;
        let artifacts = ArtifactStore::local(layout.root())
            .map_err(RunError::store("open the artifact store"))?;
        Ok(Self::from_parts(
            layout,
            ledger,
            artifacts,
            Durability::default(),
        ))
    }

    fn from_parts(
        layout: StateLayout,
        ledger: Ledger,
        artifacts: ArtifactStore,
        durability: Durability,
    ) -> Self {
        Self {
            layout,
            ledger,
            artifacts,
            host: host_name(),
            progress: Arc::new(NoProgress),
            durability,
            wal_folded: Default::default(),
        }
    }

    /// Makes evidence durable as `durability` says (default: one `syncfs` per sealed folder on
    /// Linux, see [`Durability`]). With `syncfs`, the artifacts an attempt stores are not fsynced
    /// one by one either: they are written before its evidence is sealed, so the seal's `syncfs`
    /// covers them, and the ledger registers them only with the attempt's final event.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        if durability == self.durability {
            return self;
        }
        // The state dir exists (open created it), so opening a store there cannot fail; if it
        // somehow does, the runner keeps its current durability and the store that matches it.
        if let Ok(artifacts) = artifact_store(&self.layout, durability) {
            self.artifacts = artifacts;
            self.durability = durability;
        }
        self
    }

    /// Puts work and io dirs under `work_root` instead of `<state dir>/work`: scratch (pack
    /// copies, inputs and outputs files) off the state dir's file system, so the evidence seal's
    /// file-system sync does not also flush it. `work_root` must belong to this state dir alone
    /// (run ids are unique per ledger only).
    pub fn with_work_root(mut self, work_root: impl Into<PathBuf>) -> Self {
        self.layout = self.layout.with_work_root(work_root);
        self
    }

    /// Reports progress to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The artifact store.
    pub fn artifacts(&self) -> &ArtifactStore {
        &self.artifacts
    }

    /// The state layout.
    pub fn layout(&self) -> &StateLayout {
        &self.layout
    }

    /// Runs `request` to a verdict: every attempt is recorded, evidence sealed, the lock released.
    pub async fn run(
        &self,
        request: &RunRequest,
        options: &RunOptions,
    ) -> Result<RunReport, RunError> {
        if !options.recovered {
            self.recover().await?;
        }
        let lookup = Arc::clone(&options.lookup_env_os);
        let mut secrets = RunSecrets::fetch(
            request,
            &options.catalog_root,
            |name| lookup(name).and_then(|v| v.into_string().ok()),
            &options.upstream_secrets,
        )?;
        let redactor = secrets.redactor().clone();
        let request_json = String::from_utf8_lossy(&canonical_bytes(
            &serde_json::to_value(request).unwrap_or_default(),
        ))
        .into_owned();
        // The run, its lock when free and attempt 1 as `running`: one commit on the common path.
        let env = request.environment.name.as_str();
        let first_evidence =
            |run_id: &str| self.layout.evidence_rel(env, &request.target, run_id, 1);
        let created = self
            .ledger
            .create_run_and_lock(
                &NewRun {
                    target: request.target.clone(),
                    env: request.environment.name.clone(),
                    fingerprint: request.fingerprint.clone(),
                    stage: stage_name(options.stage).to_owned(),
                    request_json: redactor.redact_str(&request_json),
                    created_at_ms: now_ms(),
                },
                &request.config_versions(),
                RunHolder {
                    pid: std::process::id(),
                    host: &self.host,
                    start_first_attempt: Some(&first_evidence),
                    defer_sync: options.defer_ledger_sync,
                },
            )
            .await
            .map_err(RunError::store("record the run"))?;
        if options.defer_ledger_sync {
            // The write-ahead record is on disk before anything is spawned; the fsync runs
            // without holding the ledger's connection, which the other members go on using.
            self.ledger
                .sync()
                .await
                .map_err(RunError::store("sync the run record"))?;
        }
        let run = created.run;
        self.progress.event(&RunEvent::RunCreated {
            run_id: run.run_id.clone(),
            target: run.target.clone(),
            env: run.env.clone(),
        });

        let holder = Holder {
            run_id: run.run_id.clone(),
            pid: std::process::id(),
            host: self.host.clone(),
        };
        if !created.locked
            && let Err(error) = self.lock(request, &holder, options).await
        {
            // The run exists; record why it never ran so the ledger tells the whole story.
            self.record_refused(&run.run_id, &error).await?;
            return Err(error);
        }
        let result = self
            .attempts(
                request,
                &run,
                options,
                &mut secrets,
                created.first_attempt_started,
            )
            .await;
        // The last attempt's final event released the lock in its own transaction; release it
        // here only when the attempts ended some other way (a ledger error).
        let released = match &result {
            Ok((_, true)) => Ok(true),
            _ => self
                .ledger
                .release_lock(&request.target, &request.environment.name, &run.run_id)
                .await
                .map_err(RunError::store("release the run lock")),
        };
        let (attempts, _) = result?;
        released?;
        // The ledger derives the same from the events just appended; no need to read it back.
        let run = RunRecord {
            status: attempts.last().map(|a| a.status).unwrap_or(run.status),
            attempts: u32::try_from(attempts.len()).unwrap_or(u32::MAX),
            updated_at_ms: now_ms(),
            ..run
        };
        Ok(RunReport { run, attempts })
    }

    async fn attempts(
        &self,
        request: &RunRequest,
        run: &RunRecord,
        options: &RunOptions,
        secrets: &mut RunSecrets,
        first_started: bool,
    ) -> Result<(Vec<AttemptSummary>, bool), RunError> {
        let plan = AttemptPlan {
            request,
            stage: options.stage,
            run_id: &run.run_id,
            pack_dir: options.catalog_root.join(&request.pack.path),
            options,
            tool_records: Default::default(),
        };
        let max = request.execution.max_attempts.max(1);
        let mut attempts = Vec::new();
        for attempt in 1..=max {
            let started = attempt == 1 && first_started;
            let (summary, retry) = self.run_attempt(&plan, attempt, started, secrets).await?;
            attempts.push(summary);
            if !retry {
                // The last attempt released the lock with its final event.
                return Ok((attempts, true));
            }
            let backoff = request.execution.backoff_ms;
            self.progress.event(&RunEvent::Retrying {
                next_attempt: attempt + 1,
                backoff_ms: backoff,
            });
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(backoff)) => {}
                () = options.cancel.cancelled() => break,
            }
        }
        Ok((attempts, false))
    }

    async fn lock(
        &self,
        request: &RunRequest,
        holder: &Holder,
        options: &RunOptions,
    ) -> Result<(), RunError> {
        self.lock_target(&request.target, &request.environment.name, holder, options)
            .await
    }

    /// Takes the (target, env) lock for `holder`, taking it over from a dead local holder (whose
    /// running attempts become `lost`), waiting up to `options.wait_lock` for a live one.
    pub(crate) async fn lock_target(
        &self,
        target: &str,
        env: &str,
        holder: &Holder,
        options: &RunOptions,
    ) -> Result<(), RunError> {
        let deadline = options.wait_lock.map(|w| Instant::now() + w);
        let mut announced = false;
        loop {
            let taken = self
                .ledger
                .take_over_stale_lock(
                    target,
                    env,
                    holder,
                    now_ms(),
                    local_holder_is_dead(&self.host),
                )
                .await;
            match taken {
                Ok(None) => return Ok(()),
                Ok(Some(dead)) => {
                    self.mark_lost(
                        &dead.run_id,
                        "its hyops process died while holding the lock",
                    )
                    .await?;
                    return Ok(());
                }
                Err(LockError::Held {
                    holder: other,
                    acquired_at_ms,
                    ..
                }) if deadline.is_some_and(|d| Instant::now() < d) => {
                    if !announced {
                        self.progress.event(&RunEvent::WaitingForLock {
                            holder: format!(
                                "run {} (pid {} on {})",
                                other.run_id, other.pid, other.host
                            ),
                        });
                        announced = true;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(200)) => {}
                        () = options.cancel.cancelled() => return Err(RunError::from(LockError::Held {
                            target: target.to_owned(),
                            env: env.to_owned(),
                            holder: other,
                            acquired_at_ms,
                        })),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn record_refused(&self, run_id: &str, error: &RunError) -> Result<(), RunError> {
        let failure = AttemptFailure::new("hyops::run::locked", error.to_string(), true);
        self.ledger
            .start_attempt(&hyops_store::NewAttempt {
                run_id: run_id.to_owned(),
                attempt: 1,
                host: self.host.clone(),
                runner_pid: std::process::id(),
                evidence_path: None,
                at_ms: now_ms(),
            })
            .await
            .map_err(RunError::store("record the refused run"))?;
        let mut event = AttemptEvent::new(AttemptStatus::Cancelled, now_ms());
        event.error_code = Some(failure.code.to_owned());
        event.message = Some(failure.message);
        event.retryable = Some(true);
        self.ledger
            .append_event(run_id, 1, &event)
            .await
            .map_err(RunError::store("record the refused run"))?;
        Ok(())
    }

    /// Appends `lost` to every unfinished attempt of `run_id`, seals their evidence as partial and
    /// removes their inputs files (which may hold secrets).
    pub(crate) async fn mark_lost(&self, run_id: &str, why: &str) -> Result<(), RunError> {
        let attempts = self
            .ledger
            .attempts(run_id)
            .await
            .map_err(RunError::store("read attempts of a dead run"))?;
        for attempt in attempts.iter().filter(|a| !a.status.is_terminal()) {
            if let Some(pid) = attempt.pid {
                crate::recovery::stop_orphan_group(pid);
            }
            // A later step of a multi-step driver left its pid beside the work dir.
            let pid_file = self.layout.io_dir(run_id, attempt.attempt).join("tool.pid");
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
            {
                crate::recovery::stop_orphan_group(pid);
            }
            if let Some(rel) = &attempt.evidence_path {
                let dir = self.layout.abs(rel);
                if dir.exists() {
                    let _ = hyops_evidence::seal_partial(&dir);
                }
            }
            let _ = std::fs::remove_dir_all(self.layout.io_dir(run_id, attempt.attempt));
            let mut event = AttemptEvent::new(AttemptStatus::Lost, now_ms());
            event.error_code = Some("hyops::run::lost".to_owned());
            event.message = Some(format!("attempt {} lost: {why}", attempt.attempt));
            event.retryable = Some(true);
            self.ledger
                .append_event(run_id, attempt.attempt, &event)
                .await
                .map_err(RunError::store("record a lost attempt"))?;
        }
        Ok(())
    }
}

/// The ledger's stage name: `hyops run` applies.
pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Plan => "plan",
        Stage::Apply => "run",
        Stage::Destroy => "destroy",
    }
}

/// Epoch milliseconds now (recorded as a field, never part of an identity).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// This machine's host name, recorded on attempts and locks.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The local artifact store for `durability`: unsynced when the evidence seal's `syncfs` also
/// reaches the blobs (artifacts and evidence on the state dir's file system), fsynced otherwise.
fn artifact_store(
    layout: &StateLayout,
    durability: Durability,
) -> Result<ArtifactStore, hyops_store::StoreError> {
    let root = layout.root();
    let rides_on_seal = !durability.per_file()
        && same_file_system(root, &root.join("artifacts"), &root.join("evidence"));
    if rides_on_seal {
        ArtifactStore::local_unsynced(root)
    } else {
        ArtifactStore::local(root)
    }
}

/// Whether `a` and `b` (each, if it does not exist yet, created later inside `root`) are on
/// `root`'s file system, so one `syncfs` there flushes both.
fn same_file_system(root: &Path, a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(root_dev) = std::fs::metadata(root).map(|m| m.dev()) else {
        return false;
    };
    [a, b].iter().all(|p| match std::fs::metadata(p) {
        Ok(m) => m.dev() == root_dev,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    })
}
