//! Secret type, streaming redactor, write-once evidence files, MANIFEST and verification.
//!
//! Every byte hyops writes passes a [`Redactor`] (DESIGN invariant 6); every evidence file is
//! written once and then read-only, and a folder is trusted only if it matches its MANIFEST.json
//! (invariant 4).

mod durability;
mod evidence_dir;
mod export;
mod gram_filter;
mod log_line;
mod manifest;
mod redactor;
mod rotating_log;
mod secret;
mod stream_redactor;
mod verify;
mod write_once;

pub use durability::Durability;
pub use evidence_dir::{EvidenceDir, EvidenceError, LogWriter};
pub use export::{ExportError, export};
pub use log_line::{LogLevel, format_log_line, format_timestamp};
pub use manifest::{
    FileEntry, MANIFEST_FILE, MANIFEST_SCHEMA_VERSION, Manifest, manifest_digest, seal_partial,
};
pub use redactor::{MIN_SECRET_CHARS, Redactor, RedactorError};
pub use rotating_log::{LogError, RotatingLog};
pub use secret::Secret;
pub use stream_redactor::StreamRedactor;
pub use verify::{VerifyError, VerifyProblem, VerifyReport, verify, verify_with_digest};
pub use write_once::{
    READ_ONLY_MODE, WriteOnceError, make_read_only, sync_dir, write_once, write_once_unsynced_dir,
};
