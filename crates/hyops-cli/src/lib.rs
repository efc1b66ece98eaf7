//! The `hyops` command line: settings, one file per command, plugin dispatch, identity, rendering.
//! The binary (`main.rs`) only calls [`dispatch::main`].

pub mod cli;
pub mod commands;
pub mod dispatch;
pub mod env_vars;
pub mod error;
pub mod exit_codes;
pub mod identity;
pub mod logging;
pub mod plugins;
pub mod render;
pub mod settings;

pub use dispatch::{main, run};
pub use error::{CliError, SettingsError};
