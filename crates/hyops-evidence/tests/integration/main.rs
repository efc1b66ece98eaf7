//! Integration tests of hyops-evidence: redaction, write-once evidence, manifest, verify, export, logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod evidence;
mod export;
mod logs;
mod redaction;
mod streaming;
