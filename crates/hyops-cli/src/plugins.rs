//! Plugin discovery: executables named `hyops-<name>` in `HYOPS_PLUGIN_PATH` dirs, then `PATH` dirs.
//!
//! The first match wins; later files of the same name are *shadowed*. A plugin named like a core
//! command is *ignored*: core commands are dispatched first and can never be taken over.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env_vars::EnvVars;

/// File name prefix of plugin executables.
pub const PLUGIN_PREFIX: &str = "hyops-";

/// Which variable a search directory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SearchOrigin {
    /// `HYOPS_PLUGIN_PATH`
    #[serde(rename = "HYOPS_PLUGIN_PATH")]
    PluginPath,
    /// `PATH`
    #[serde(rename = "PATH")]
    Path,
}

impl SearchOrigin {
    /// The variable's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PluginPath => EnvVars::HYOPS_PLUGIN_PATH,
            Self::Path => EnvVars::PATH,
        }
    }
}

/// One directory searched for plugins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchDir {
    /// The directory as listed in the variable.
    pub dir: PathBuf,
    /// The variable it came from.
    pub from: SearchOrigin,
}

/// The ordered plugin search path.
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    dirs: Vec<SearchDir>,
}

/// Whether a listed plugin would run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginStatus {
    /// `hyops <name>` runs this file.
    Active,
    /// An earlier directory has a plugin of the same name.
    Shadowed,
    /// The name is a core command; core commands always win.
    Ignored,
}

/// One `hyops-<name>` executable found on the search path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginEntry {
    /// The command name (`hello` for `hyops-hello`).
    pub name: String,
    /// The executable.
    pub path: PathBuf,
    /// The search directory it is in.
    pub dir: PathBuf,
    /// Which variable listed that directory.
    pub from: SearchOrigin,
    /// Whether it would run.
    pub status: PluginStatus,
    /// For `shadowed`: the executable that runs instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadowed_by: Option<PathBuf>,
}

impl SearchPath {
    /// The search path from the process environment.
    pub fn from_env() -> Self {
        Self::from_values(
            std::env::var_os(EnvVars::HYOPS_PLUGIN_PATH).as_deref(),
            std::env::var_os(EnvVars::PATH).as_deref(),
        )
    }

    /// The search path from the two variables' values. Empty entries are dropped: in `PATH` they
    /// mean "the current directory", and running whatever lies there is not explicit. A directory
    /// listed twice is searched once, at its first position.
    pub fn from_values(plugin_path: Option<&OsStr>, path: Option<&OsStr>) -> Self {
        let mut seen = HashSet::new();
        let mut dirs = Vec::new();
        for (value, from) in [
            (plugin_path, SearchOrigin::PluginPath),
            (path, SearchOrigin::Path),
        ] {
            let Some(value) = value else { continue };
            for dir in std::env::split_paths(value) {
                if dir.as_os_str().is_empty() || !seen.insert(dir.clone()) {
                    continue;
                }
                dirs.push(SearchDir { dir, from });
            }
        }
        Self { dirs }
    }

    /// The directories, in search order.
    pub fn dirs(&self) -> &[SearchDir] {
        &self.dirs
    }

    /// The executable `hyops <name>` would run, with the directory it was found in.
    pub fn find(&self, name: &str) -> Option<(PathBuf, &SearchDir)> {
        if !is_valid_plugin_name(name) {
            return None;
        }
        let file = format!("{PLUGIN_PREFIX}{name}");
        self.dirs.iter().find_map(|d| {
            let candidate = d.dir.join(&file);
            is_executable_file(&candidate).then_some((candidate, d))
        })
    }

    /// Every plugin on the search path, in search order (then by name within a directory), with
    /// its status. `core` lists command names plugins can never take.
    pub fn list(&self, core: &BTreeSet<String>) -> Vec<PluginEntry> {
        let mut first_by_name: std::collections::HashMap<String, PathBuf> = Default::default();
        let mut out = Vec::new();
        for search_dir in &self.dirs {
            let Ok(read) = std::fs::read_dir(&search_dir.dir) else {
                continue;
            };
            let mut found: Vec<(String, PathBuf)> = read
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let file_name = entry.file_name();
                    let name = file_name.to_str()?.strip_prefix(PLUGIN_PREFIX)?.to_string();
                    let path = entry.path();
                    (is_valid_plugin_name(&name) && is_executable_file(&path))
                        .then_some((name, path))
                })
                .collect();
            found.sort();
            for (name, path) in found {
                let (status, shadowed_by) = if core.contains(&name) {
                    (PluginStatus::Ignored, None)
                } else if let Some(winner) = first_by_name.get(&name) {
                    (PluginStatus::Shadowed, Some(winner.clone()))
                } else {
                    first_by_name.insert(name.clone(), path.clone());
                    (PluginStatus::Active, None)
                };
                out.push(PluginEntry {
                    name,
                    path,
                    dir: search_dir.dir.clone(),
                    from: search_dir.from,
                    status,
                    shadowed_by,
                });
            }
        }
        out
    }
}

/// A plugin name is one path component that does not look like a flag or a hidden file.
pub fn is_valid_plugin_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with(['.', '-']) && !name.contains(['/', '\\', '\0'])
}

/// A regular file (after following symlinks) with an execute bit.
fn is_executable_file(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(dir: &Path, name: &str, exec: bool) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(format!("{PLUGIN_PREFIX}{name}"));
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        let mode = if exec { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn first_directory_wins_and_later_ones_are_shadowed() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let winner = plugin(a.path(), "hello", true);
        plugin(b.path(), "hello", true);
        plugin(b.path(), "identity", true);
        plugin(b.path(), "notexec", false);
        let search =
            SearchPath::from_values(Some(a.path().as_os_str()), Some(b.path().as_os_str()));
        assert_eq!(search.find("hello").unwrap().0, winner);
        assert!(search.find("notexec").is_none());
        assert!(search.find("../hello").is_none());

        let core: BTreeSet<String> = ["identity".to_string()].into();
        let list = search.list(&core);
        let summary: Vec<_> = list
            .iter()
            .map(|p| (p.name.as_str(), p.status, p.from))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("hello", PluginStatus::Active, SearchOrigin::PluginPath),
                ("hello", PluginStatus::Shadowed, SearchOrigin::Path),
                ("identity", PluginStatus::Ignored, SearchOrigin::Path),
            ]
        );
        assert_eq!(list[1].shadowed_by.as_deref(), Some(winner.as_path()));
    }

    #[test]
    fn empty_entries_never_mean_the_current_directory() {
        let search = SearchPath::from_values(Some(OsStr::new("::")), Some(OsStr::new("/a::/a")));
        assert_eq!(search.dirs().len(), 1);
        assert_eq!(search.dirs()[0].dir, PathBuf::from("/a"));
    }
}
