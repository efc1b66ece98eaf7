//! Packer var-files: `.pkrvars.hcl` rendered from the pack's `vars/*.pkrvars.hcl.j2` templates
//! (minijinja, strict undefined) where every `{{ … }}` is written as an HCL literal by hcl-rs, and
//! the generated `hyops.pkrvars.hcl` of hyops' own variables. Output is a pure function of the
//! values: same inputs, same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

/// Folder in the pack holding var-file templates.
pub const VARS_TEMPLATE_DIR: &str = "vars";
/// Suffix of var-file templates.
pub const VARS_TEMPLATE_SUFFIX: &str = ".pkrvars.hcl.j2";

/// Why a var-file could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarsError {
    /// The template names a variable the context does not hold.
    #[error(
        "{template}:{line}: template variable `{variable}` is not defined\nhelp: the context holds `inputs.<name>` (the module's non-secret inputs), `environment` and `module`; secret inputs reach packer as PKR_VAR_<name>, never a file"
    )]
    Undefined {
        /// Pack-relative template path.
        template: String,
        /// 1-based line of the first use.
        line: usize,
        /// The dotted name (`inputs.region`).
        variable: String,
    },
    /// The template does not parse or render.
    #[error("{template}:{line}: {message}")]
    Template {
        /// Pack-relative template path.
        template: String,
        /// 1-based line.
        line: usize,
        /// minijinja's explanation.
        message: String,
    },
    /// The rendered file is not valid HCL.
    #[error(
        "{template} renders to invalid HCL at line {line}, column {column}: {message}\nhelp: write `name = {{{{ inputs.name }}}}`: hyops writes each value as an HCL literal, quotes included"
    )]
    NotHcl {
        /// Pack-relative template path.
        template: String,
        /// 1-based line in the rendered text.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's explanation.
        message: String,
    },
}

/// A JSON value as an HCL expression: strings are quoted with `${`/`%{` escaped, so a value can
/// never inject an interpolation into packer's evaluation.
pub fn hcl_expression(value: &Value) -> hcl::Expression {
    use hcl::{Expression, Number, ObjectKey};
    match value {
        Value::Null => Expression::Null,
        Value::Bool(b) => Expression::Bool(*b),
        Value::Number(n) => {
            let number = if let Some(i) = n.as_i64() {
                Number::from(i)
            } else if let Some(u) = n.as_u64() {
                Number::from(u)
            } else {
                n.as_f64()
                    .and_then(Number::from_f64)
                    .unwrap_or_else(|| Number::from(0))
            };
            Expression::Number(number)
        }
        Value::String(s) => Expression::String(s.clone()),
        Value::Array(items) => Expression::Array(items.iter().map(hcl_expression).collect()),
        Value::Object(map) => {
            let mut object = hcl::Object::new();
            // Sorted keys: the file must not depend on how the map was built.
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            for (k, v) in sorted {
                object.insert(
                    ObjectKey::Expression(Expression::String(k.clone())),
                    hcl_expression(v),
                );
            }
            Expression::Object(object)
        }
    }
}

/// One value as HCL text.
pub fn hcl_literal(value: &Value) -> String {
    hcl::format::to_string(&hcl_expression(value)).unwrap_or_else(|_| "null".to_owned())
}

/// `name = <literal>` lines for each variable, sorted by name.
pub fn hcl_assignments(vars: &BTreeMap<String, Value>) -> String {
    let mut out = String::new();
    for (name, value) in vars {
        out.push_str(name);
        out.push_str(" = ");
        out.push_str(&hcl_literal(value));
        out.push('\n');
    }
    out
}

/// The template context: `inputs`, `environment`, `module`.
#[derive(Debug, Clone, Default)]
pub struct VarsContext {
    /// Non-secret inputs.
    pub inputs: Map<String, Value>,
    /// Environment name.
    pub environment: String,
    /// Module id.
    pub module: String,
}

impl VarsContext {
    fn as_value(&self) -> Value {
        serde_json::json!({
            "inputs": self.inputs,
            "environment": self.environment,
            "module": self.module,
        })
    }

    fn has(&self, dotted: &str) -> bool {
        let root = self.as_value();
        let mut at = &root;
        for part in dotted.split('.') {
            match at.get(part) {
                Some(next) => at = next,
                None => return false,
            }
        }
        true
    }
}

/// Renders one template. `name` is the pack-relative path used in errors.
pub fn render_vars_template(
    name: &str,
    source: &str,
    ctx: &VarsContext,
) -> Result<String, VarsError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_formatter(|out, _state, value| {
        let json = serde_json::to_value(value).unwrap_or(Value::Null);
        out.write_str(&hcl_literal(&json))
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
    });
    let template_error = |e: &minijinja::Error| VarsError::Template {
        template: name.to_owned(),
        line: e.line().unwrap_or(1),
        message: e.detail().unwrap_or(&e.kind().to_string()).to_owned(),
    };
    let template = env
        .template_from_named_str(name, source)
        .map_err(|e| template_error(&e))?;
    // Name the missing variable before rendering: minijinja's own error says only "undefined".
    let mut missing: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|v| !ctx.has(v))
        // minijinja's own globals (`range`, `dict`, …) are listed too, though always defined.
        .filter(|v| {
            let root = v.split('.').next().unwrap_or_default();
            !env.globals().any(|(g, _)| g == root)
        })
        .collect();
    missing.sort();
    if let Some(variable) = missing.first() {
        return Err(VarsError::Undefined {
            template: name.to_owned(),
            line: first_use_line(source, variable),
            variable: variable.clone(),
        });
    }
    let rendered = template
        .render(ctx.as_value())
        .map_err(|e| match e.kind() {
            minijinja::ErrorKind::UndefinedError => VarsError::Undefined {
                template: name.to_owned(),
                line: e.line().unwrap_or(1),
                variable: e.detail().unwrap_or("?").to_owned(),
            },
            _ => template_error(&e),
        })?;
    if let Err(e) = hcl::parse(&rendered) {
        let (line, column, message) = match &e {
            hcl::Error::Parse(p) => (
                p.location().line(),
                p.location().column(),
                p.message().to_owned(),
            ),
            other => (1, 1, other.to_string()),
        };
        return Err(VarsError::NotHcl {
            template: name.to_owned(),
            line,
            column,
            message,
        });
    }
    Ok(rendered)
}

fn first_use_line(source: &str, dotted: &str) -> usize {
    source
        .lines()
        .position(|l| l.contains(dotted))
        .map_or(1, |i| i + 1)
}

/// The pack's templates (`vars/*.pkrvars.hcl.j2`), sorted, as (pack-relative path, output file name).
pub fn template_list(work_dir: &Path) -> Vec<(String, String)> {
    let dir = work_dir.join(VARS_TEMPLATE_DIR);
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter_map(|n| {
                    n.strip_suffix(".j2")
                        .filter(|_| n.ends_with(VARS_TEMPLATE_SUFFIX))
                        .map(|out| (format!("{VARS_TEMPLATE_DIR}/{n}"), out.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> VarsContext {
        let mut inputs = Map::new();
        inputs.insert(
            "greeting".into(),
            Value::from("say \"hi\" ${var.x} %{ if }\n"),
        );
        inputs.insert("count".into(), Value::from(3));
        inputs.insert("tags".into(), serde_json::json!({"b": [1, 2.5], "a": true}));
        VarsContext {
            inputs,
            environment: "dev".into(),
            module: "img/base".into(),
        }
    }

    #[test]
    fn values_are_hcl_literals_with_interpolation_escaped() {
        let out = render_vars_template(
            "vars/a.pkrvars.hcl.j2",
            "greeting = {{ inputs.greeting }}\ncount = {{ inputs.count }}\ntags = {{ inputs.tags }}\nenv = {{ environment }}\n",
            &ctx(),
        )
        .unwrap();
        assert!(
            out.contains(r#"greeting = "say \"hi\" $${var.x} %%{ if }\n""#),
            "{out}"
        );
        assert!(out.contains("count = 3\n"), "{out}");
        assert!(out.contains("env = \"dev\"\n"), "{out}");
        let parsed: hcl::Body = hcl::parse(&out).unwrap();
        assert_eq!(parsed.attributes().count(), 4);
        let again = render_vars_template(
            "vars/a.pkrvars.hcl.j2",
            "greeting = {{ inputs.greeting }}\ncount = {{ inputs.count }}\ntags = {{ inputs.tags }}\nenv = {{ environment }}\n",
            &ctx(),
        )
        .unwrap();
        assert_eq!(out, again);
    }

    #[test]
    fn builtin_globals_are_not_missing_variables() {
        let out = render_vars_template(
            "vars/a.pkrvars.hcl.j2",
            "zones = [{% for i in range(inputs.count) %}\"z{{ i }}\", {% endfor %}]\n",
            &ctx(),
        )
        .unwrap();
        assert_eq!(out, "zones = [\"z0\", \"z1\", \"z2\", ]\n");
    }

    #[test]
    fn missing_variable_names_variable_and_line() {
        let err = render_vars_template(
            "vars/a.pkrvars.hcl.j2",
            "count = {{ inputs.count }}\n\nregion = {{ inputs.region }}\n",
            &ctx(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            VarsError::Undefined {
                template: "vars/a.pkrvars.hcl.j2".into(),
                line: 3,
                variable: "inputs.region".into()
            }
        );
        assert!(err.to_string().starts_with("vars/a.pkrvars.hcl.j2:3:"));
    }

    #[test]
    fn rendered_text_must_be_hcl() {
        let err = render_vars_template("v.j2", "x = = {{ inputs.count }}\n", &ctx()).unwrap_err();
        assert!(matches!(err, VarsError::NotHcl { line: 1, .. }), "{err}");
    }

    #[test]
    fn assignments_are_sorted() {
        let vars = BTreeMap::from([
            ("b".to_owned(), Value::from("x")),
            ("a".to_owned(), Value::from(true)),
        ]);
        assert_eq!(hcl_assignments(&vars), "a = true\nb = \"x\"\n");
    }
}
