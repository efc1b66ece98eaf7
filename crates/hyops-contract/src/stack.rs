//! `stacks/<name>.yaml`: module instances wired together.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiVersion;

/// `kind: Stack`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StackKind {
    /// The only value.
    Stack,
}

/// A composition of module instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// Always `hyops/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: ApiVersion,
    /// Always `Stack`.
    pub kind: StackKind,
    /// Equals the file stem.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Member name -> module instance.
    pub members: BTreeMap<String, StackMember>,
}

/// One module instance in a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackMember {
    /// Module id.
    pub module: String,
    /// Input values; strings may wire outputs: `"{{ members.net.outputs.vpc_id }}"`.
    #[serde(default)]
    pub inputs: BTreeMap<String, serde_json::Value>,
    /// Extra ordering edges beyond those implied by wiring.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}
