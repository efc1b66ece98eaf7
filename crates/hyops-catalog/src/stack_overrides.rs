//! `--set` on a stack run: `NAME=value` goes to every member whose module declares input `NAME`
//! (as `HYOPS_INPUT_<NAME>` does), `MEMBER.NAME=value` to member `MEMBER` only. An argument that
//! no member takes is one error, not one per member.

use std::collections::{BTreeMap, BTreeSet};

use hyops_contract::Stack;

use crate::catalog::Catalog;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::overrides::{Overrides, split_set};

/// Each member's overrides (the same variables, the `--set` arguments it takes, as `NAME=value`
/// in command-line order), or every argument no member takes.
pub fn member_overrides(
    catalog: &Catalog,
    stack: &Stack,
    overrides: &Overrides,
) -> Result<BTreeMap<String, Overrides>, Vec<Diagnostic>> {
    let inputs_of = |member: &str| {
        stack
            .members
            .get(member)
            .and_then(|m| catalog.modules.get(&m.module))
            .map(|m| {
                m.value
                    .inputs
                    .keys()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>()
            })
            .unwrap_or_default()
    };
    let mut per_member: BTreeMap<String, Overrides> = stack
        .members
        .keys()
        .map(|name| {
            let own = Overrides {
                env_inputs: overrides.env_inputs.clone(),
                set: Vec::new(),
            };
            (name.clone(), own)
        })
        .collect();
    let mut errors = Vec::new();
    for arg in &overrides.set {
        let Some((name, value)) = split_set(arg) else {
            errors.push(
                Diagnostic::error(
                    codes::BAD_OVERRIDE,
                    format!("`--set {arg}` is not `name=value`"),
                )
                .with_help("write `--set port=8080`, or `--set MEMBER.port=8080` for one member"),
            );
            continue;
        };
        let scoped = name
            .split_once('.')
            .filter(|(member, _)| stack.members.contains_key(*member));
        let (candidates, input): (Vec<&str>, &str) = match scoped {
            Some((member, input)) => (vec![member], input),
            None => (stack.members.keys().map(String::as_str).collect(), name),
        };
        let takers: Vec<&str> = candidates
            .into_iter()
            .filter(|m| inputs_of(m).contains(input))
            .collect();
        if takers.is_empty() {
            let (declared, message) = match scoped {
                Some((member, _)) => (
                    inputs_of(member),
                    format!(
                        "`--set {name}=…` names no input of member `{member}` (module `{}`)",
                        stack.members.get(member).map_or("", |m| m.module.as_str())
                    ),
                ),
                None => (
                    stack.members.keys().flat_map(|m| inputs_of(m)).collect(),
                    format!(
                        "`--set {name}=…` names no input of any member of stack `{}`",
                        stack.name
                    ),
                ),
            };
            errors.push(Diagnostic::error(codes::UNKNOWN_INPUT, message).with_help(format!(
                "`NAME=value` sets the input in every member declaring it, `MEMBER.NAME=value` in \
                 one member; declared inputs: {}",
                declared.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        for member in takers {
            if let Some(own) = per_member.get_mut(member) {
                own.set.push(format!("{input}={value}"));
            }
        }
    }
    if errors.is_empty() {
        Ok(per_member)
    } else {
        Err(errors)
    }
}
