//! `packer-state.json` under the state dir: packer and plugin versions, source commit SHAs,
//! manifest hashes per (environment, module) and last-run metadata. Replaced atomically (temp
//! file, fsync, rename, fsync dir) so a crash leaves either the old or the new file, never a torn one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DriverError;

/// File name under the state dir.
pub const STATE_FILE: &str = "packer-state.json";
/// Schema of the file.
pub const STATE_SCHEMA: &str = "packer-state/v1";

/// The packer binary last seen, so the next run can skip `packer version` when it is unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackerBinary {
    /// The program as resolved on PATH (or as configured).
    pub path: String,
    /// Reported version (`1.6.6`).
    pub version: String,
    /// File size, part of the cache key.
    pub size: u64,
    /// Modification time (unix ms), part of the cache key.
    pub mtime_ms: i64,
}

/// A pinned source as used by a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// Git URL.
    pub url: String,
    /// Commit checked out.
    pub commit: String,
}

/// The last manifest of one (environment, module).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestState {
    /// `sha256:<hex>` of the manifest.
    pub sha256: String,
    /// Packer's run uuid.
    pub run_uuid: Option<String>,
    /// Artifact ids.
    pub artifact_ids: Vec<String>,
    /// RFC 3339.
    pub updated_at: String,
}

/// The last packer run in this state dir.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// Module id.
    pub module: String,
    /// Environment.
    pub environment: String,
    /// `plan` or `apply`.
    pub stage: String,
    /// Whether the tool work succeeded.
    pub success: bool,
    /// Packer's exit code.
    pub exit_code: Option<i32>,
    /// RFC 3339.
    pub finished_at: String,
    /// The request's fingerprint.
    pub fingerprint: String,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackerState {
    /// Always [`STATE_SCHEMA`].
    pub schema: String,
    /// The packer binary.
    pub packer: Option<PackerBinary>,
    /// Builder type -> where its code came from (`bundled with packer 1.6.6`: 1.6 has no
    /// external plugin installs).
    pub plugins: BTreeMap<String, String>,
    /// Source name -> pin.
    pub sources: BTreeMap<String, SourceState>,
    /// `<environment>/<module>` -> last manifest.
    pub manifests: BTreeMap<String, ManifestState>,
    /// The last run.
    pub last_run: Option<LastRun>,
}

impl Default for PackerState {
    fn default() -> Self {
        Self {
            schema: STATE_SCHEMA.to_owned(),
            packer: None,
            plugins: BTreeMap::new(),
            sources: BTreeMap::new(),
            manifests: BTreeMap::new(),
            last_run: None,
        }
    }
}

impl PackerState {
    /// The file's path.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(STATE_FILE)
    }

    /// Reads the state; a missing file is the empty state, a file that does not parse is an
    /// error (hyops never overwrites what it cannot read).
    pub fn load(state_dir: &Path) -> Result<Self, DriverError> {
        let path = Self::path(state_dir);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(DriverError::Io {
                action: "read",
                path,
                source: e,
            }),
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| DriverError::Io {
                action: "parse",
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
        }
    }

    /// Read-modify-write under an exclusive lock on `packer-state.json.lock`, so two packer runs
    /// finishing at once in one state dir never lose each other's update.
    pub fn update(state_dir: &Path, change: impl FnOnce(&mut Self)) -> Result<(), DriverError> {
        let lock_path = state_dir.join(format!("{STATE_FILE}.lock"));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(DriverError::io("open", &lock_path))?;
        lock.lock().map_err(DriverError::io("lock", &lock_path))?;
        let mut state = Self::load(state_dir)?;
        change(&mut state);
        state.save(state_dir)
        // The lock is released when `lock` is dropped, after the rename.
    }

    /// Writes the state atomically.
    pub fn save(&self, state_dir: &Path) -> Result<(), DriverError> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        replace_atomically(&Self::path(state_dir), &bytes, || {})
    }
}

/// Replaces `path` with `bytes`: a temp file beside it (create-new), write, fsync, `before_rename`,
/// rename over `path`, fsync the folder. `before_rename` exists for crash tests.
pub fn replace_atomically(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(),
) -> Result<(), DriverError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(DriverError::io("create", dir))?;
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // A leftover from a crashed process with a recycled pid is garbage: the rename never happened.
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(DriverError::io("create", &tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(DriverError::io("write", &tmp))?;
    drop(file);
    before_rename();
    std::fs::rename(&tmp, path).map_err(DriverError::io("rename", path))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(DriverError::io("sync", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_updates_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    PackerState::update(&dir, |s| {
                        s.plugins.insert(format!("p{i}"), "x".into());
                    })
                    .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(PackerState::load(dir.path()).unwrap().plugins.len(), 8);
    }

    #[test]
    fn round_trips_and_missing_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            PackerState::load(dir.path()).unwrap(),
            PackerState::default()
        );
        let mut state = PackerState::default();
        state.plugins.insert("null".into(), "bundled".into());
        state.save(dir.path()).unwrap();
        assert_eq!(PackerState::load(dir.path()).unwrap(), state);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only the state file remains");
    }

    #[test]
    fn unreadable_state_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(PackerState::path(dir.path()), b"{torn").unwrap();
        assert!(PackerState::load(dir.path()).is_err());
    }

    /// Guards atomicity: the process is SIGKILLed after the temp file is written and before the
    /// rename; the old state must still be there and parse.
    #[test]
    fn crash_between_temp_write_and_rename_keeps_old_state() {
        const CHILD: &str = "HYOPS_TEST_STATE_CRASH_DIR";
        if let Some(dir) = std::env::var_os(CHILD) {
            let dir = PathBuf::from(dir);
            let mut state = PackerState::load(&dir).unwrap();
            state.plugins.insert("new".into(), "x".repeat(100_000));
            let bytes = serde_json::to_vec(&state).unwrap();
            let _ = replace_atomically(&PackerState::path(&dir), &bytes, || {
                let _ = nix_kill_self();
            });
            unreachable!("the process was killed before the rename");
        }
        let dir = tempfile::tempdir().unwrap();
        let mut old = PackerState::default();
        old.plugins.insert("old".into(), "1".into());
        old.save(dir.path()).unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "packer_state::tests::crash_between_temp_write_and_rename_keeps_old_state",
                "--nocapture",
            ])
            .env(CHILD, dir.path())
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "child must die by SIGKILL: {status:?}"
        );
        assert_eq!(PackerState::load(dir.path()).unwrap(), old);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n.contains(".tmp-")),
            "the temp file was written before the kill: {names:?}"
        );
    }

    fn nix_kill_self() -> std::io::Result<()> {
        std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status()
            .map(|_| ())
    }
}
