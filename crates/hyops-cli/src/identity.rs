//! The build identity embedded by `build.rs`: what `hyops identity` and `hyops --version` report.

use serde::Serialize;

/// hyops' version (`CARGO_PKG_VERSION`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Short git commit at build time, or `unknown` (built outside a checkout).
pub const GIT_COMMIT: &str = env!("HYOPS_BUILD_GIT_COMMIT");

/// `hyops --version` text after the binary name: `0.1.0 (abcdef123456)`.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("HYOPS_BUILD_GIT_COMMIT"),
    ")"
);

/// Everything known about how this binary was built. Fixed at build time; no clock, no host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Crate version.
    pub version: &'static str,
    /// Short git commit, or `unknown`.
    pub git_commit: &'static str,
    /// `rustc -V` of the compiler that built it.
    pub rustc: &'static str,
    /// Target triple.
    pub target: &'static str,
    /// Cargo build profile (`debug` or `release`).
    pub profile: &'static str,
    /// Enabled cargo features of `hyops-cli`, sorted.
    pub features: Vec<&'static str>,
}

impl Identity {
    /// The identity of the running binary.
    pub fn current() -> Self {
        let features = env!("HYOPS_BUILD_FEATURES");
        Self {
            version: VERSION,
            git_commit: GIT_COMMIT,
            rustc: env!("HYOPS_BUILD_RUSTC"),
            target: env!("HYOPS_BUILD_TARGET"),
            profile: env!("HYOPS_BUILD_PROFILE"),
            features: features.split(',').filter(|f| !f.is_empty()).collect(),
        }
    }

    /// `(KEY, value)` pairs in the env-file order, as `/etc/runner/image.env` lists them.
    pub fn env_pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HYOPS_VERSION", self.version.to_string()),
            ("HYOPS_GIT_COMMIT", self.git_commit.to_string()),
            ("HYOPS_RUSTC", self.rustc.to_string()),
            ("HYOPS_TARGET_TRIPLE", self.target.to_string()),
            ("HYOPS_PROFILE", self.profile.to_string()),
            ("HYOPS_FEATURES", self.features.join(",")),
        ]
    }

    /// The env-file text: one `KEY=VALUE` line per field, values quoted when a shell would split them.
    pub fn to_env_file(&self) -> String {
        self.env_pairs()
            .into_iter()
            .map(|(k, v)| format!("{k}={}\n", env_file_value(&v)))
            .collect()
    }
}

/// A value as it may appear after `KEY=` in an env file that both `sh` (`. file`) and systemd /
/// docker `--env-file` readers accept: bare when it is made only of safe characters, otherwise
/// double-quoted with `"`, `\`, `$` and `` ` `` escaped.
pub fn env_file_value(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "._-+:/,@%".contains(c);
    if value.chars().all(safe) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_values_are_quoted_only_when_needed() {
        assert_eq!(env_file_value("0.1.0"), "0.1.0");
        assert_eq!(env_file_value(""), "");
        assert_eq!(
            env_file_value("rustc 1.94.0 (abc 2026-01-01)"),
            "\"rustc 1.94.0 (abc 2026-01-01)\""
        );
        assert_eq!(env_file_value("a\"b$c"), "\"a\\\"b\\$c\"");
    }

    #[test]
    fn version_line_carries_the_commit() {
        assert!(VERSION_LINE.starts_with(VERSION));
        assert!(VERSION_LINE.contains(GIT_COMMIT));
    }
}
