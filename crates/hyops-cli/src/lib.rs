//! The `hyops` command line: settings, one file per command, plugin dispatch, identity, rendering.
//! The binary (`main.rs`) only calls [`dispatch::main`].

pub mod catalog_access;
pub mod cli;
pub mod commands;
pub mod dispatch;
pub mod env_vars;
pub mod error;
pub mod exit_codes;
pub mod identity;
pub mod logging;
pub mod plugins;
pub mod progress_view;
pub mod render;
pub mod runtime;
pub mod settings;
pub mod sources_sync;
pub mod stack_progress_view;

pub use dispatch::{main, run};
pub use error::{CliError, SettingsError};
