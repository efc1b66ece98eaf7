//! The one template syntax: `{{ root.a.b }}` with roots `inputs`, `outputs`, `env`, `members`.
//! This module only parses; what a path may name is checked by the caller.

/// One `{{ … }}` occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    /// Dotted path segments, e.g. `["members", "net", "outputs", "vpc_id"]`.
    pub path: Vec<String>,
    /// The expression text as written (trimmed).
    pub text: String,
}

/// Every template in `s`, or a message describing the first malformed one.
pub fn parse_templates(s: &str) -> Result<Vec<TemplateRef>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("`{{` is not closed by `}}`".to_string());
        };
        let expr = after[..end].trim();
        if expr.is_empty() {
            return Err("empty template `{{ }}`".to_string());
        }
        let path: Vec<String> = expr.split('.').map(str::to_string).collect();
        let valid = path.iter().all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        if !valid {
            return Err(format!(
                "`{{{{ {expr} }}}}` is not a dotted name; templates hold only paths like `inputs.port` (no filters or expressions)"
            ));
        }
        out.push(TemplateRef {
            path,
            text: expr.to_string(),
        });
        rest = &after[end + 2..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_rejects_malformed() {
        let t = parse_templates("a {{ inputs.port }}/{{outputs.url}}").unwrap();
        assert_eq!(t[0].path, ["inputs", "port"]);
        assert_eq!(t[1].text, "outputs.url");
        assert!(parse_templates("{{ inputs.x").is_err());
        assert!(parse_templates("{{ inputs.x | upper }}").is_err());
        assert!(parse_templates("{{ }}").is_err());
        assert!(parse_templates("no templates").unwrap().is_empty());
    }
}
