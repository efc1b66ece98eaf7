//! Integration tests of the `hyops` binary, run from outside as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ansible_run;
mod catalog_root;
mod catalog_yaml;
mod common;
mod completions;
mod identity;
mod init;
mod pack_contract;
mod packer_run;
mod packer_sources;
mod plugins;
mod resolve;
mod run_evidence;
mod run_lock;
mod run_process;
mod run_quickstart;
mod run_secrets;
mod run_support;
mod run_verdicts;
mod stack_commands;
mod stack_run;
mod stack_support;
mod terraform_run;
mod validate;
mod version;
