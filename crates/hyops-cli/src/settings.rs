//! Where the catalog and the state directory are, decided once from flags, environment and the
//! current directory (DESIGN.md invariant 2: explicit root, never `.git`, never walking up).
//!
//! Resolution is lazy: commands that need no catalog (`identity`, `completions`, `init`, plugins
//! that do not care) never fail because there is none.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env_vars::{EnvVars, non_empty};
use crate::error::SettingsError;

/// The file whose presence marks a catalog root.
pub const CATALOG_MANIFEST: &str = "hyops.yaml";

/// Name of the default state directory under the catalog root.
pub const DEFAULT_STATE_DIR: &str = ".hyops";

/// How the catalog root was chosen, reported in errors and `--output json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogSource {
    /// `--catalog DIR`
    Flag,
    /// `HYOPS_CATALOG`
    Env,
    /// The current directory holds `hyops.yaml`.
    CurrentDir,
}

impl std::fmt::Display for CatalogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Flag => "--catalog",
            Self::Env => EnvVars::HYOPS_CATALOG,
            Self::CurrentDir => "the current directory",
        })
    }
}

/// A resolved catalog root: an absolute directory that holds `hyops.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogRoot {
    /// Absolute path (symlinks are kept as written, not resolved).
    pub path: PathBuf,
    /// How it was chosen.
    pub source: CatalogSource,
}

/// Inputs to resolution, captured once so resolution is testable without touching the process.
#[derive(Debug, Clone, Default)]
pub struct SettingsInputs {
    /// `--catalog`
    pub catalog_flag: Option<PathBuf>,
    /// `--state-dir`
    pub state_dir_flag: Option<PathBuf>,
    /// `HYOPS_CATALOG` (empty counts as unset)
    pub catalog_env: Option<OsString>,
    /// `HYOPS_STATE_DIR` (empty counts as unset)
    pub state_dir_env: Option<OsString>,
    /// The current directory, if it could be read.
    pub cwd: Option<PathBuf>,
}

impl SettingsInputs {
    /// Captures flags plus the process environment and current directory.
    pub fn from_process(catalog_flag: Option<PathBuf>, state_dir_flag: Option<PathBuf>) -> Self {
        Self {
            catalog_flag,
            state_dir_flag,
            catalog_env: non_empty(EnvVars::HYOPS_CATALOG),
            state_dir_env: non_empty(EnvVars::HYOPS_STATE_DIR),
            cwd: std::env::current_dir().ok(),
        }
    }
}

/// Outcome of catalog lookup before any command said whether it needs one.
#[derive(Debug, Clone)]
enum CatalogLookup {
    Found(CatalogRoot),
    /// Nothing explicit and no `hyops.yaml` in the current directory.
    NotFound {
        cwd: PathBuf,
    },
}

/// Resolved locations. Cheap to build; errors surface only from the accessors that need them.
#[derive(Debug, Clone)]
pub struct Settings {
    catalog: Result<CatalogLookup, SettingsError>,
    state_dir_explicit: Option<PathBuf>,
}

impl Settings {
    /// Resolves the catalog root (flag > env > current directory with `hyops.yaml`) and the state
    /// directory override (flag > env).
    pub fn resolve(inputs: SettingsInputs) -> Self {
        let catalog = resolve_catalog(&inputs);
        let state_dir_explicit = inputs
            .state_dir_flag
            .or_else(|| inputs.state_dir_env.map(PathBuf::from))
            .map(|p| absolutize(&p, inputs.cwd.as_deref()));
        Self {
            catalog,
            state_dir_explicit,
        }
    }

    /// The catalog root, or an error saying how to select one. For commands that need a catalog.
    pub fn catalog_root(&self) -> Result<&CatalogRoot, SettingsError> {
        match &self.catalog {
            Ok(CatalogLookup::Found(root)) => Ok(root),
            Ok(CatalogLookup::NotFound { cwd }) => Err(SettingsError::NoCatalog {
                has_git: cwd.join(".git").exists(),
                cwd: cwd.clone(),
            }),
            Err(e) => Err(e.clone()),
        }
    }

    /// The catalog root if one is selected; `Ok(None)` when none is (no flag, no env, no
    /// `hyops.yaml` here). An explicitly named catalog that is broken is still an error.
    pub fn optional_catalog_root(&self) -> Result<Option<&CatalogRoot>, SettingsError> {
        match &self.catalog {
            Ok(CatalogLookup::Found(root)) => Ok(Some(root)),
            Ok(CatalogLookup::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.clone()),
        }
    }

    /// The state directory: `--state-dir`, `HYOPS_STATE_DIR`, else `<catalog>/.hyops/`.
    pub fn state_dir(&self) -> Result<PathBuf, SettingsError> {
        if let Some(dir) = &self.state_dir_explicit {
            return Ok(dir.clone());
        }
        Ok(self.catalog_root()?.path.join(DEFAULT_STATE_DIR))
    }

    /// The state directory if it can be known without error.
    pub fn optional_state_dir(&self) -> Result<Option<PathBuf>, SettingsError> {
        if let Some(dir) = &self.state_dir_explicit {
            return Ok(Some(dir.clone()));
        }
        Ok(self
            .optional_catalog_root()?
            .map(|root| root.path.join(DEFAULT_STATE_DIR)))
    }
}

fn resolve_catalog(inputs: &SettingsInputs) -> Result<CatalogLookup, SettingsError> {
    let cwd = inputs.cwd.as_deref();
    let explicit = inputs
        .catalog_flag
        .clone()
        .map(|p| (p, CatalogSource::Flag))
        .or_else(|| {
            inputs
                .catalog_env
                .clone()
                .map(|p| (PathBuf::from(p), CatalogSource::Env))
        });
    if let Some((given, source)) = explicit {
        let path = absolutize(&given, cwd);
        if !path.is_dir() {
            return Err(SettingsError::CatalogNotADirectory {
                path: given,
                source_name: source.to_string(),
            });
        }
        if !path.join(CATALOG_MANIFEST).is_file() {
            return Err(SettingsError::CatalogWithoutManifest {
                path: given,
                source_name: source.to_string(),
            });
        }
        return Ok(CatalogLookup::Found(CatalogRoot { path, source }));
    }
    let Some(cwd) = cwd else {
        return Err(SettingsError::NoCurrentDir);
    };
    if cwd.join(CATALOG_MANIFEST).is_file() {
        return Ok(CatalogLookup::Found(CatalogRoot {
            path: cwd.to_path_buf(),
            source: CatalogSource::CurrentDir,
        }));
    }
    // Not an error yet: only commands that need a catalog turn this into one.
    Ok(CatalogLookup::NotFound {
        cwd: cwd.to_path_buf(),
    })
}

/// `path` made absolute against `cwd`, without `.` components and without resolving symlinks.
fn absolutize(path: &Path, cwd: Option<&Path>) -> PathBuf {
    let joined = match cwd {
        Some(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    };
    joined
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CATALOG_MANIFEST), "kind: Catalog\n").unwrap();
        dir
    }

    #[test]
    fn flag_beats_env_beats_current_dir() {
        let (a, b, c) = (catalog_dir(), catalog_dir(), catalog_dir());
        let inputs = SettingsInputs {
            catalog_flag: Some(a.path().to_path_buf()),
            catalog_env: Some(b.path().into()),
            cwd: Some(c.path().to_path_buf()),
            ..Default::default()
        };
        let s = Settings::resolve(inputs.clone());
        assert_eq!(s.catalog_root().unwrap().path, a.path());
        assert_eq!(s.catalog_root().unwrap().source, CatalogSource::Flag);

        let s = Settings::resolve(SettingsInputs {
            catalog_flag: None,
            ..inputs.clone()
        });
        assert_eq!(s.catalog_root().unwrap().path, b.path());
        assert_eq!(s.catalog_root().unwrap().source, CatalogSource::Env);

        let s = Settings::resolve(SettingsInputs {
            catalog_flag: None,
            catalog_env: None,
            ..inputs
        });
        assert_eq!(s.catalog_root().unwrap().source, CatalogSource::CurrentDir);
        assert_eq!(
            s.state_dir().unwrap(),
            c.path().join(DEFAULT_STATE_DIR),
            "state dir defaults under the catalog"
        );
    }

    #[test]
    fn git_checkout_without_manifest_is_not_a_catalog_and_parents_are_not_searched() {
        let parent = catalog_dir();
        let child = parent.path().join("sub");
        std::fs::create_dir_all(child.join(".git")).unwrap();
        let s = Settings::resolve(SettingsInputs {
            cwd: Some(child.clone()),
            ..Default::default()
        });
        assert!(s.optional_catalog_root().unwrap().is_none());
        assert!(s.optional_state_dir().unwrap().is_none());
        let err = s.catalog_root().unwrap_err();
        assert!(
            matches!(err, SettingsError::NoCatalog { has_git: true, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn explicit_catalog_must_hold_the_manifest() {
        let empty = tempfile::tempdir().unwrap();
        let s = Settings::resolve(SettingsInputs {
            catalog_env: Some(empty.path().into()),
            ..Default::default()
        });
        assert!(matches!(
            s.optional_catalog_root(),
            Err(SettingsError::CatalogWithoutManifest { .. })
        ));
    }

    #[test]
    fn state_dir_flag_beats_env_and_needs_no_catalog() {
        let s = Settings::resolve(SettingsInputs {
            state_dir_flag: Some("st".into()),
            state_dir_env: Some("/env/state".into()),
            cwd: Some("/srv/catalog".into()),
            ..Default::default()
        });
        assert_eq!(s.state_dir().unwrap(), PathBuf::from("/srv/catalog/st"));
        let s = Settings::resolve(SettingsInputs {
            state_dir_env: Some("/env/state".into()),
            cwd: Some("/nowhere".into()),
            ..Default::default()
        });
        assert_eq!(s.state_dir().unwrap(), PathBuf::from("/env/state"));
    }
}
