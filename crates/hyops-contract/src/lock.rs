//! `hyops.lock`: the commit each catalog source is pinned to, written by `hyops sources sync` and
//! committed by users next to `hyops.yaml`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The lock file's format version.
pub const LOCK_VERSION: u32 = 1;

/// `hyops.lock` (JSON, sorted keys, trailing newline).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Always [`LOCK_VERSION`].
    pub version: u32,
    /// Source name -> pin.
    pub sources: BTreeMap<String, LockedSource>,
}

/// One pinned source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LockedSource {
    /// Git URL as declared in `hyops.yaml`.
    pub url: String,
    /// The ref as declared (branch, tag or commit).
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The full commit SHA the ref resolved to.
    pub commit: String,
}
