//! hyops' own log file, rotated by size: `hyops.log` → `hyops.log.1` → … → `hyops.log.<keep>`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::log_line::{LogLevel, format_log_line};
use crate::redactor::Redactor;

/// Why the log could not be written.
#[derive(Debug, thiserror::Error)]
#[error("failed to {step} log file `{}`", path.display())]
pub struct LogError {
    step: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

fn io(step: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LogError {
    let path = path.to_path_buf();
    move |source| LogError { step, path, source }
}

/// An append-only log that rotates once it would exceed `max_bytes`, keeping `keep` old files.
#[derive(Debug)]
pub struct RotatingLog {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
    keep: usize,
    redactor: Option<Redactor>,
}

impl RotatingLog {
    /// Opens (or creates) `path` for appending.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> Result<Self, LogError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io("create folder of", path))?;
        }
        let file = open_append(path)?;
        let size = file.metadata().map_err(io("stat", path))?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            size,
            max_bytes,
            keep,
            redactor: None,
        })
    }

    /// Passes every line through `redactor` before writing.
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Writes one formatted record.
    pub fn log(
        &mut self,
        at: SystemTime,
        level: LogLevel,
        component: &str,
        msg: &str,
    ) -> Result<(), LogError> {
        let line = format_log_line(at, level, component, msg);
        self.write_line(&line)
    }

    /// Appends `line` and a newline, rotating first if the file would grow past `max_bytes`.
    /// A single line longer than `max_bytes` is still written whole, into a fresh file.
    pub fn write_line(&mut self, line: &str) -> Result<(), LogError> {
        let mut bytes = match &self.redactor {
            Some(r) => r.redact_bytes(line.as_bytes()),
            None => line.as_bytes().to_vec(),
        };
        bytes.push(b'\n');
        if self.size > 0 && self.size + bytes.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file
            .write_all(&bytes)
            .map_err(io("write", &self.path))?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    fn numbered(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> Result<(), LogError> {
        self.file.flush().map_err(io("flush", &self.path))?;
        if self.keep == 0 {
            std::fs::remove_file(&self.path).map_err(io("remove", &self.path))?;
        } else {
            // The oldest is overwritten by the rename from keep-1; shift the rest up by one.
            for n in (1..self.keep).rev() {
                let from = self.numbered(n);
                if from.exists() {
                    std::fs::rename(&from, self.numbered(n + 1)).map_err(io("rotate", &from))?;
                }
            }
            std::fs::rename(&self.path, self.numbered(1)).map_err(io("rotate", &self.path))?;
        }
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io("open", path))
}
