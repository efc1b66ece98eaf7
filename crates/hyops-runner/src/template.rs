//! `{{ … }}` templates: one syntax for probes, stack wiring, backend and workspace templates.
//!
//! Rendering uses minijinja with strict undefined behaviour (a missing variable is an error, never an
//! empty string) and no autoescaping (the output is not HTML). The roots are `inputs`, `outputs`,
//! `env` and `members`; see [`TemplateContext`].

use std::fmt;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::{Map, Value};

/// The variables a template can see.
///
/// The caller decides what goes into each root: `inputs` are the resolved input values (secret
/// inputs included, so anything rendered from them must pass the redactor before it is written),
/// `outputs` the published outputs of the current attempt, `env` the environment's variables (the
/// caller adds `name` for the environment name), `members` the stack wiring
/// (`members.<member>.outputs.<name>`).
#[derive(Clone, Default, Serialize)]
pub struct TemplateContext {
    /// Resolved input values.
    pub inputs: Map<String, Value>,
    /// Published outputs.
    pub outputs: Map<String, Value>,
    /// Environment variables and the environment name.
    pub env: Map<String, Value>,
    /// Upstream stack members.
    pub members: Map<String, Value>,
}

impl fmt::Debug for TemplateContext {
    // Values may be secrets, so Debug shows only the names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateContext")
            .field("inputs", &self.inputs.keys().collect::<Vec<_>>())
            .field("outputs", &self.outputs.keys().collect::<Vec<_>>())
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("members", &self.members.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TemplateContext {
    /// The root map called `name`, if it is one of the four roots.
    fn root(&self, name: &str) -> Option<&Map<String, Value>> {
        match name {
            "inputs" => Some(&self.inputs),
            "outputs" => Some(&self.outputs),
            "env" => Some(&self.env),
            "members" => Some(&self.members),
            _ => None,
        }
    }
}

/// A template that could not be rendered. Messages quote the template text (catalog content, never
/// a value) and, when known, where it is declared.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template names a variable the context does not have.
    #[error("undefined variable `{variable}` in template {template:?}{}\nhelp: {}", at(.declared_at), known_help(.variable, .known))]
    Undefined {
        /// The template text.
        template: String,
        /// Dotted path of the missing variable, e.g. `inputs.greetin`.
        variable: String,
        /// Keys that do exist at the level where the lookup failed.
        known: Vec<String>,
        /// `file:line:col` of the declaration, if the caller knows it.
        declared_at: Option<String>,
    },
    /// Syntax error or a failing expression (bad filter, wrong type, ...).
    #[error("invalid template {template:?}{}: {detail}", at(.declared_at))]
    Invalid {
        /// The template text.
        template: String,
        /// minijinja's explanation.
        detail: String,
        /// `file:line:col` of the declaration, if the caller knows it.
        declared_at: Option<String>,
        /// The underlying error.
        #[source]
        source: minijinja::Error,
    },
}

fn at(declared_at: &Option<String>) -> String {
    match declared_at {
        Some(site) => format!(" at {site}"),
        None => String::new(),
    }
}

fn known_help(variable: &str, known: &[String]) -> String {
    let parent = variable.rsplit_once('.').map_or("the context", |(p, _)| p);
    if known.is_empty() {
        format!("`{parent}` has no entries; roots are inputs, outputs, env, members")
    } else {
        format!("`{parent}` has: {}", known.join(", "))
    }
}

/// True when `text` contains template syntax; plain strings skip minijinja entirely.
fn has_template_syntax(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env
}

/// Renders one template string.
///
/// `declared_at` (`modules/x/module.yaml:14:5`) is quoted in errors. Strings without `{{`, `{%` or
/// `{#` are returned unchanged.
pub fn render_str(
    template: &str,
    ctx: &TemplateContext,
    declared_at: Option<&str>,
) -> Result<String, TemplateError> {
    if !has_template_syntax(template) {
        return Ok(template.to_owned());
    }
    let env = environment();
    let compiled = env
        .template_from_str(template)
        .map_err(|source| invalid(template, declared_at, source))?;
    compiled.render(ctx).map_err(|source| {
        if source.kind() == minijinja::ErrorKind::UndefinedError
            && let Some((variable, known)) = find_undefined(&compiled, ctx)
        {
            return TemplateError::Undefined {
                template: template.to_owned(),
                variable,
                known,
                declared_at: declared_at.map(str::to_owned),
            };
        }
        invalid(template, declared_at, source)
    })
}

/// Renders every string inside `value` (object values and array items, recursively); keys,
/// numbers, booleans and null are kept as they are.
pub fn render_value(
    value: &Value,
    ctx: &TemplateContext,
    declared_at: Option<&str>,
) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(text) => Value::String(render_str(text, ctx, declared_at)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| render_value(item, ctx, declared_at))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut rendered = Map::with_capacity(map.len());
            for (key, item) in map {
                rendered.insert(key.clone(), render_value(item, ctx, declared_at)?);
            }
            Value::Object(rendered)
        }
        other => other.clone(),
    })
}

fn invalid(template: &str, declared_at: Option<&str>, source: minijinja::Error) -> TemplateError {
    let detail = match source.detail() {
        Some(detail) => format!("{}: {detail}", source.kind()),
        None => source.kind().to_string(),
    };
    TemplateError::Invalid {
        template: template.to_owned(),
        detail,
        declared_at: declared_at.map(str::to_owned),
        source,
    }
}

/// minijinja's strict mode says *that* something was undefined, not *what*. Walk the dotted paths
/// the template uses and report the first one the context cannot satisfy, with its siblings.
fn find_undefined(
    compiled: &minijinja::Template<'_, '_>,
    ctx: &TemplateContext,
) -> Option<(String, Vec<String>)> {
    let mut paths: Vec<String> = compiled.undeclared_variables(true).into_iter().collect();
    paths.sort();
    for path in paths {
        let mut parts = path.split('.');
        let root_name = parts.next()?;
        let Some(root) = ctx.root(root_name) else {
            let roots = ["env", "inputs", "members", "outputs"];
            return Some((
                root_name.to_owned(),
                roots.iter().map(|r| (*r).to_owned()).collect(),
            ));
        };
        let mut level = root;
        let mut walked = root_name.to_owned();
        for part in parts {
            walked.push('.');
            walked.push_str(part);
            match level.get(part) {
                Some(Value::Object(next)) => level = next,
                Some(_) => break,
                None => {
                    let mut known: Vec<String> = level.keys().cloned().collect();
                    known.sort();
                    return Some((walked, known));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx() -> TemplateContext {
        let mut ctx = TemplateContext::default();
        ctx.inputs.insert("greeting".into(), json!("hello"));
        ctx.inputs.insert("port".into(), json!(8080));
        ctx.outputs
            .insert("url".into(), json!("http://127.0.0.1:8080"));
        ctx.env.insert("name".into(), json!("dev"));
        ctx.members
            .insert("net".into(), json!({"outputs": {"vpc_id": "vpc-1"}}));
        ctx
    }

    #[test]
    fn renders_every_root() {
        let text = "{{ outputs.url }}/{{ inputs.greeting }}?p={{ inputs.port }}&e={{ env.name }}&v={{ members.net.outputs.vpc_id }}";
        assert_eq!(
            render_str(text, &ctx(), None).unwrap(),
            "http://127.0.0.1:8080/hello?p=8080&e=dev&v=vpc-1"
        );
    }

    #[test]
    fn does_not_html_escape() {
        let mut c = ctx();
        c.inputs.insert("raw".into(), json!("<a href=\"x\">&</a>"));
        assert_eq!(
            render_str("{{ inputs.raw }}", &c, None).unwrap(),
            "<a href=\"x\">&</a>"
        );
    }

    #[test]
    fn plain_strings_pass_through_untouched() {
        assert_eq!(
            render_str("^http://{2}", &ctx(), None).unwrap(),
            "^http://{2}"
        );
    }

    #[test]
    fn undefined_variable_names_variable_template_site_and_siblings() {
        let err = render_str(
            "{{ inputs.greetin }}!",
            &ctx(),
            Some("modules/x/module.yaml:14:5"),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert_eq!(
            msg,
            "undefined variable `inputs.greetin` in template \"{{ inputs.greetin }}!\" at modules/x/module.yaml:14:5\nhelp: `inputs` has: greeting, port"
        );
    }

    #[test]
    fn undefined_nested_member_output_is_named() {
        let err = render_str("{{ members.net.outputs.subnet }}", &ctx(), None).unwrap_err();
        assert!(
            err.to_string().contains("`members.net.outputs.subnet`"),
            "{err}"
        );
        assert!(err.to_string().contains("vpc_id"), "{err}");
    }

    #[test]
    fn unknown_root_is_named_with_the_valid_roots() {
        let err = render_str("{{ input.greeting }}", &ctx(), None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("undefined variable `input`"), "{msg}");
        assert!(msg.contains("env, inputs, members, outputs"), "{msg}");
    }

    #[test]
    fn syntax_error_quotes_template_and_site() {
        let err = render_str("{{ inputs.greeting ", &ctx(), Some("m.yaml:3:1")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("invalid template \"{{ inputs.greeting \" at m.yaml:3:1: syntax error"),
            "{msg}"
        );
    }

    #[test]
    fn render_value_renders_nested_strings_only() {
        let value = json!({"a": ["{{ inputs.greeting }}", 1, true, null], "{{ k }}": {"b": "{{ env.name }}"}});
        let rendered = render_value(&value, &ctx(), None).unwrap();
        assert_eq!(
            rendered,
            json!({"a": ["hello", 1, true, null], "{{ k }}": {"b": "dev"}})
        );
    }

    #[test]
    fn debug_hides_values() {
        let mut c = ctx();
        c.inputs.insert("token".into(), json!("s3cr3t-value"));
        let shown = format!("{c:?}");
        assert!(shown.contains("token"));
        assert!(!shown.contains("s3cr3t-value"));
    }
}
