//! Integration tests of hyops-store: real SQLite files in temp dirs, and the same ledger tests
//! against PostgreSQL when `HYOPS_TEST_PG_URL` is set (see scripts/pg-test-cluster.sh).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

mod artifacts;
mod attempts;
mod errors;
mod locks;
mod outputs;
mod promotions;
mod prune;
mod runs;
