//! Spawn failures, classified once as retryable or not.

use std::ffi::OsString;
use std::path::PathBuf;

/// Why a process could not be run (it never started, or waiting on it failed).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program was not found on the child's `PATH`.
    #[error(
        "program `{}` not found in PATH `{}`\nhelp: install it, add its folder to the PATH the profile passes, or give an absolute path",
        program.to_string_lossy(),
        path_var.as_ref().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| "<unset>".to_owned())
    )]
    ProgramNotFound {
        /// The program as given.
        program: OsString,
        /// The `PATH` of the child environment, if set.
        path_var: Option<OsString>,
    },
    /// The program exists but cannot be executed.
    #[error("permission denied executing `{}`\nhelp: check the file is executable (chmod +x) and its folder is searchable", program.display())]
    PermissionDenied {
        /// The resolved program path.
        program: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The working directory does not exist (or is not a directory).
    #[error("working directory `{}` does not exist or is not a directory", cwd.display())]
    CwdMissing {
        /// The working directory.
        cwd: PathBuf,
    },
    /// Any other spawn failure.
    #[error("failed to spawn `{}`", program.display())]
    Spawn {
        /// The resolved program path.
        program: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for the process failed.
    #[error("failed to wait for process {pid}")]
    Wait {
        /// The process id.
        pid: u32,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The private runtime of [`crate::run_capture`] could not be built.
    #[error("failed to start the async runtime for a captured command")]
    Runtime {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl ProcessError {
    /// Whether trying again later may succeed: resource exhaustion (EAGAIN, ENOMEM, ENFILE, EMFILE)
    /// is transient; a missing program, a permission problem or a missing directory is not.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Spawn { source, .. } | Self::Runtime { source } | Self::Wait { source, .. } => {
                is_transient(source)
            }
            Self::ProgramNotFound { .. }
            | Self::PermissionDenied { .. }
            | Self::CwdMissing { .. } => false,
        }
    }
}

fn is_transient(err: &std::io::Error) -> bool {
    use nix::errno::Errno;
    matches!(
        err.raw_os_error().map(Errno::from_raw),
        Some(Errno::EAGAIN | Errno::ENOMEM | Errno::ENFILE | Errno::EMFILE | Errno::EINTR)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_exhaustion_is_retryable_but_not_found_is_not() {
        let eagain = ProcessError::Spawn {
            program: "x".into(),
            source: std::io::Error::from_raw_os_error(nix::libc::EAGAIN),
        };
        assert!(eagain.retryable());
        let enoent = ProcessError::ProgramNotFound {
            program: "x".into(),
            path_var: None,
        };
        assert!(!enoent.retryable());
        let eacces = ProcessError::Spawn {
            program: "x".into(),
            source: std::io::Error::from_raw_os_error(nix::libc::EACCES),
        };
        assert!(!eacces.retryable());
    }
}
