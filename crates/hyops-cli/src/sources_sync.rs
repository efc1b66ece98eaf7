//! `hyops sources sync`: clone or update each `sources:` entry of `hyops.yaml` under
//! `<state_dir>/sources/<name>` with the `git` binary, check out the ref's commit detached, and pin
//! it in `hyops.lock` (and `packer-state.json`). Dirty working trees are refused; `--frozen`
//! fails when a ref no longer resolves to the locked commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use hyops_contract::{LOCK_VERSION, Lock, LockedSource, SourceSpec};
use serde::Serialize;

/// Why a sync failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SourcesError {
    /// `git` could not run or failed.
    #[error("`git {args}` failed for source `{source_name}`: {stderr}")]
    #[diagnostic(
        code(hyops::sources::git),
        help("check the URL and ref in hyops.yaml; the command ran in {}", dir.display())
    )]
    Git {
        /// The source.
        source_name: String,
        /// The arguments.
        args: String,
        /// Where it ran.
        dir: PathBuf,
        /// git's complaint (or the spawn error).
        stderr: String,
    },
    /// The checkout has local changes.
    #[error("source `{source_name}` has local changes in {}", dir.display())]
    #[diagnostic(
        code(hyops::sources::dirty),
        help(
            "hyops never overwrites work: commit or discard the changes (`git -C {} status`), then sync again",
            dir.display()
        )
    )]
    Dirty {
        /// The source.
        source_name: String,
        /// The checkout.
        dir: PathBuf,
    },
    /// The ref resolves to nothing.
    #[error("ref `{git_ref}` of source `{source_name}` is not a branch, tag or commit of {url}")]
    #[diagnostic(code(hyops::sources::unknown_ref))]
    UnknownRef {
        /// The source.
        source_name: String,
        /// The ref.
        git_ref: String,
        /// The URL.
        url: String,
    },
    /// `--frozen` and the lock disagrees.
    #[error("source `{source_name}`: {problem}")]
    #[diagnostic(
        code(hyops::sources::frozen),
        help(
            "run `hyops sources sync` without --frozen to move the pin, review and commit hyops.lock"
        )
    )]
    Frozen {
        /// The source.
        source_name: String,
        /// What differs.
        problem: String,
    },
    /// More than one source failed (each is listed; hyops.lock is left as it was).
    #[error("{count} of {total} sources failed to sync; hyops.lock was not written:\n{problems}")]
    #[diagnostic(
        code(hyops::sources::several),
        help("fix each source above, then sync again; the sources that synced are checked out")
    )]
    Several {
        /// How many failed.
        count: usize,
        /// How many are declared.
        total: usize,
        /// One `- <problem>` line per failed source.
        problems: String,
    },
    /// A file could not be written.
    #[error("failed to write {what}: {problem}")]
    #[diagnostic(code(hyops::sources::write))]
    Write {
        /// Which file.
        what: &'static str,
        /// Why.
        problem: String,
    },
}

/// What happened to one source.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SyncedSource {
    /// Source name.
    pub name: String,
    /// URL.
    pub url: String,
    /// Ref as declared.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Commit checked out.
    pub commit: String,
    /// `cloned`, `updated` (the pin moved) or `unchanged`.
    pub action: &'static str,
}

fn git(name: &str, dir: &Path, args: &[&str]) -> Result<String, SourcesError> {
    let fail = |stderr: String| SourcesError::Git {
        source_name: name.to_owned(),
        args: args.join(" "),
        dir: dir.to_path_buf(),
        stderr,
    };
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn resolve_ref(name: &str, dir: &Path, spec: &SourceSpec) -> Result<String, SourcesError> {
    let candidates = [
        format!("refs/remotes/origin/{}^{{commit}}", spec.git_ref),
        format!("refs/tags/{}^{{commit}}", spec.git_ref),
        format!("{}^{{commit}}", spec.git_ref),
    ];
    for c in &candidates {
        if let Ok(sha) = git(name, dir, &["rev-parse", "--verify", "--quiet", c]) {
            return Ok(sha);
        }
    }
    Err(SourcesError::UnknownRef {
        source_name: name.to_owned(),
        git_ref: spec.git_ref.clone(),
        url: spec.url.clone(),
    })
}

/// Syncs every source against the pins of `lock` (the catalog's `hyops.lock`, loaded and
/// checked with it); writes `hyops.lock` unless `frozen`. Returns what happened, in declaration
/// order. `on_wait` is called when packer builds reading the sources hold them and the sync waits
/// for those to end.
pub fn sync(
    sources: &[SourceSpec],
    lock: &Lock,
    catalog_root: &Path,
    state_dir: &Path,
    frozen: bool,
    on_wait: impl FnOnce(),
) -> Result<Vec<SyncedSource>, SourcesError> {
    // Held while checkouts move: a packer build reading one holds it shared until it ends.
    let _moving = hyops_drivers::packer::sources_lock(state_dir, true, on_wait).map_err(|e| {
        SourcesError::Write {
            what: "the sources lock",
            problem: e.to_string(),
        }
    })?;
    let base = state_dir.join("sources");
    std::fs::create_dir_all(&base).map_err(|e| SourcesError::Write {
        what: "the sources folder",
        problem: e.to_string(),
    })?;
    let mut new_lock = Lock {
        version: LOCK_VERSION,
        ..Lock::default()
    };
    let mut done = Vec::new();
    let mut failed = Vec::new();
    // Every source is tried, so one sync reports every problem; hyops.lock is written only when
    // all of them synced (a failed source keeps its old pin).
    for spec in sources {
        match sync_one(spec, &base, lock, frozen) {
            Ok((synced, locked)) => {
                new_lock.sources.insert(spec.name.clone(), locked);
                done.push(synced);
            }
            Err(e) => failed.push(e),
        }
    }
    if failed.len() == 1 {
        return Err(failed.remove(0));
    }
    if !failed.is_empty() {
        return Err(SourcesError::Several {
            count: failed.len(),
            total: sources.len(),
            problems: failed
                .iter()
                .map(|e| format!("- {e}"))
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    if !frozen {
        let mut bytes = serde_json::to_vec_pretty(&new_lock).unwrap_or_default();
        bytes.push(b'\n');
        hyops_drivers::packer_state::replace_atomically(
            &catalog_root.join("hyops.lock"),
            &bytes,
            || {},
        )
        .map_err(|e| SourcesError::Write {
            what: "hyops.lock",
            problem: e.to_string(),
        })?;
    }
    record_in_state(state_dir, &done)?;
    Ok(done)
}

/// Clones or updates one source, checks out its ref's commit, and returns what happened and the
/// pin to record.
fn sync_one(
    spec: &SourceSpec,
    base: &Path,
    lock: &Lock,
    frozen: bool,
) -> Result<(SyncedSource, LockedSource), SourcesError> {
    let name = spec.name.as_str();
    let dir = base.join(name);
    let cloned = !dir.join(".git").exists();
    if cloned {
        let target = dir.to_string_lossy().into_owned();
        git(
            name,
            base,
            &["clone", "--quiet", "--no-checkout", &spec.url, &target],
        )?;
    } else {
        if !git(name, &dir, &["status", "--porcelain"])?.is_empty() {
            return Err(SourcesError::Dirty {
                source_name: name.to_owned(),
                dir,
            });
        }
        git(name, &dir, &["remote", "set-url", "origin", &spec.url])?;
        git(
            name,
            &dir,
            &["fetch", "--quiet", "--tags", "--prune", "origin"],
        )?;
    }
    let commit = resolve_ref(name, &dir, spec)?;
    let locked = lock.sources.get(name);
    if frozen {
        let problem = match locked {
            None => Some("is not pinned in hyops.lock".to_owned()),
            Some(l) if l.url != spec.url || l.git_ref != spec.git_ref => Some(format!(
                "hyops.lock pins {} @ {}, hyops.yaml says {} @ {}",
                l.url, l.git_ref, spec.url, spec.git_ref
            )),
            Some(l) if l.commit != commit => Some(format!(
                "ref `{}` is now at {commit} but hyops.lock pins {}",
                spec.git_ref, l.commit
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(SourcesError::Frozen {
                source_name: name.to_owned(),
                problem,
            });
        }
    }
    git(name, &dir, &["checkout", "--quiet", "--detach", &commit])?;
    let action = if cloned {
        "cloned"
    } else if locked.is_some_and(|l| l.commit == commit) {
        "unchanged"
    } else {
        "updated"
    };
    let pin = LockedSource {
        url: spec.url.clone(),
        git_ref: spec.git_ref.clone(),
        commit: commit.clone(),
    };
    let synced = SyncedSource {
        name: name.to_owned(),
        url: spec.url.clone(),
        git_ref: spec.git_ref.clone(),
        commit,
        action,
    };
    Ok((synced, pin))
}

/// The seed wants the pins next to packer's state too, so a build's provenance is in one file.
fn record_in_state(state_dir: &Path, done: &[SyncedSource]) -> Result<(), SourcesError> {
    use hyops_drivers::packer_state::{PackerState, SourceState};
    let write_err = |e: hyops_drivers::DriverError| SourcesError::Write {
        what: "packer-state.json",
        problem: e.to_string(),
    };
    let mut state = PackerState::load(state_dir).map_err(write_err)?;
    for s in done {
        state.sources.insert(
            s.name.clone(),
            SourceState {
                url: s.url.clone(),
                commit: s.commit.clone(),
            },
        );
    }
    state.save(state_dir).map_err(write_err)
}
