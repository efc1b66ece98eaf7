//! Explicit overrides passed by the caller: `HYOPS_INPUT_<NAME>` variables and `--set name=value`.
//! The library never reads the process environment itself, so resolution stays pure.

use std::collections::BTreeMap;

use serde_json::Value;

/// Prefix of input override variables.
pub const INPUT_ENV_PREFIX: &str = "HYOPS_INPUT_";

/// Overrides above the catalog layers, lowest first: variables, then `--set`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `HYOPS_INPUT_<NAME>` variables, full variable name -> raw text. Variables that match no
    /// declared input are ignored (they may be meant for another module).
    pub env_inputs: BTreeMap<String, String>,
    /// `--set name=value` arguments in command-line order; a later one wins.
    pub set: Vec<String>,
}

impl Overrides {
    /// Keeps only the `HYOPS_INPUT_*` variables of an environment listing.
    pub fn from_env_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
        set: Vec<String>,
    ) -> Self {
        Self {
            env_inputs: vars
                .into_iter()
                .filter(|(k, _)| k.starts_with(INPUT_ENV_PREFIX))
                .collect(),
            set,
        }
    }
}

/// The variable that overrides input `name`: upper-cased, `-` replaced by `_`.
pub fn env_var_for_input(name: &str) -> String {
    format!(
        "{INPUT_ENV_PREFIX}{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// Splits `name=value`; `None` when there is no `=` or the name is empty.
pub fn split_set(arg: &str) -> Option<(&str, &str)> {
    let (name, value) = arg.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then_some((name, value))
}

/// Candidate typed values of override text, most specific first: the text parsed as JSON
/// (`8080`, `true`, `null`, `"x"`, `[1,2]`) when it parses, then the text as a plain string.
/// The resolver takes the first candidate the input's schema accepts.
pub fn candidates(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(text.trim()) {
        out.push(v);
    }
    let s = Value::String(text.to_string());
    if !out.contains(&s) {
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_json_scalars_then_falls_back_to_text() {
        assert_eq!(candidates("8080"), vec![json!(8080), json!("8080")]);
        assert_eq!(candidates("hello"), vec![json!("hello")]);
        assert_eq!(candidates("\"x\""), vec![json!("x"), json!("\"x\"")]);
        assert_eq!(split_set("a=b=c"), Some(("a", "b=c")));
        assert_eq!(split_set("=x"), None);
        assert_eq!(env_var_for_input("api-token"), "HYOPS_INPUT_API_TOKEN");
    }
}
