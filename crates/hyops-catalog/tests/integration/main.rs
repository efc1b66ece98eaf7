//! hyops-catalog integration tests: real catalogs on disk, validated and resolved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
mod resolve;
mod valid_catalog;
