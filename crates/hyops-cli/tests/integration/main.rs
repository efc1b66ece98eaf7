//! Integration tests of the `hyops` binary, run from outside as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod catalog_root;
mod catalog_yaml;
mod common;
mod completions;
mod identity;
mod init;
mod pack_contract;
mod plugins;
mod resolve;
mod validate;
mod version;
