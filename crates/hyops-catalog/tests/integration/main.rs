//! hyops-catalog integration tests: real catalogs on disk, validated and resolved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod invalid_fixtures;
mod many_modules;
mod resolve;
mod support;
mod valid_catalog;
